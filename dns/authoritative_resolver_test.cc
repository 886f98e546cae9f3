#include "dns/authoritative_resolver.h"

#include <string>
#include <vector>

#include "dns/message.h"
#include "gtest/gtest.h"

namespace mxkit::dns {
namespace {

ResourceRecord A(std::string name, uint8_t last) {
  return {std::move(name), RrType::kA, 300, AData{{192, 0, 2, last}}};
}
ResourceRecord Txt(std::string name, std::string text) {
  return {std::move(name), RrType::kTxt, 300, TxtData{{std::move(text)}}};
}

AuthoritativeResolver MakeResolver() {
  ServedZone example;
  example.apex = "example.test";
  example.records = {
      A("mx.example.test", 1),
      {"www.example.test", RrType::kCname, 300, NameData{"mx.example.test"}},
      Txt("example.test", "v=spf1 ip4:192.0.2.0/24 -all"),
      A("nx.example.test", 3),
      A("servfail.example.test", 5),
      A("timeout.example.test", 7),
      A("trunc.example.test", 8),
      A("refused.example.test", 9),
  };
  // 40 strings of 100 octets: over the 512 octets of plain UDP (RFC 1035
  // §4.2.1), so the UDP answer is truncated and TCP carries it.
  for (int i = 0; i < 40; ++i) {
    example.records.push_back(
        Txt("big.example.test", std::string(100, static_cast<char>('a' + i % 26))));
  }
  example.faults = {
      {"nx.example.test", std::nullopt, ServeFault::kNxDomain},
      {"servfail.example.test", std::nullopt, ServeFault::kServfail},
      {"timeout.example.test", std::nullopt, ServeFault::kTimeout},
      {"trunc.example.test", RrType::kA, ServeFault::kTruncate},
      {"refused.example.test", std::nullopt, ServeFault::kRefused},
  };
  ServedZone signed_zone;
  signed_zone.apex = "signed.test";
  signed_zone.authenticated = true;
  signed_zone.records = {A("host.signed.test", 4)};
  absl::StatusOr<AuthoritativeResponder> r = AuthoritativeResponder::Create({example, signed_zone});
  EXPECT_TRUE(r.ok()) << r.status();
  return AuthoritativeResolver(*std::move(r));
}

// Field by field, records through their wire form (resolver.h's RDATA
// structs have no operator== of their own).
void ExpectSameResult(const LookupResult& a, const LookupResult& b, const std::string& what) {
  EXPECT_EQ(a.status, b.status) << what;
  EXPECT_EQ(a.detail, b.detail) << what;
  EXPECT_EQ(a.authenticated, b.authenticated) << what;
  ASSERT_EQ(a.records.size(), b.records.size()) << what;
  for (size_t i = 0; i < a.records.size(); ++i) {
    EXPECT_TRUE(ToWireRecord(a.records[i]) == ToWireRecord(b.records[i])) << what << " record " << i;
  }
  ASSERT_EQ(a.cname_chain.size(), b.cname_chain.size()) << what;
  for (size_t i = 0; i < a.cname_chain.size(); ++i) {
    EXPECT_TRUE(ToWireRecord(a.cname_chain[i]) == ToWireRecord(b.cname_chain[i])) << what;
  }
}

struct Row {
  std::string name;
  RrType type;
  LookupStatus status;
  size_t records;
  std::string detail_has;  // "" when no detail is expected
};

class AuthoritativeResolverTable : public testing::TestWithParam<Row> {};

TEST_P(AuthoritativeResolverTable, AnswersAsAStubWouldSeeTheResponder) {
  const Row& row = GetParam();
  AuthoritativeResolver resolver = MakeResolver();
  bool called = false;
  LookupResult got;
  resolver.Lookup(row.name, row.type, [&](LookupResult r) {
    called = true;
    got = std::move(r);
  });
  ASSERT_TRUE(called) << "completes inline";
  EXPECT_EQ(got.status, row.status) << row.name << " " << got.detail;
  EXPECT_EQ(got.records.size(), row.records) << row.name;
  if (row.detail_has.empty()) {
    EXPECT_EQ(got.detail, "") << row.name;
  } else {
    EXPECT_NE(got.detail.find(row.detail_has), std::string::npos) << got.detail;
  }
}

// The cache is invisible: a repeated lookup (answered from it, not from the
// responder) is field for field what the wire gave the first time, for every
// kind of answer and fault, and a fresh resolver (an empty cache) agrees.
TEST_P(AuthoritativeResolverTable, RepeatedLookupIsAnsweredFromTheCacheUnchanged) {
  const Row& row = GetParam();
  AuthoritativeResolver resolver = MakeResolver();
  LookupResult first = resolver.LookupSync(row.name, row.type);
  const uint64_t wire = resolver.wire_lookups();
  EXPECT_EQ(wire, 1u) << row.name;
  for (int i = 0; i < 3; ++i) {
    LookupResult again = resolver.LookupSync(row.name, row.type);
    ExpectSameResult(first, again, row.name);
  }
  EXPECT_EQ(resolver.wire_lookups(), wire) << "answered from the cache: " << row.name;
  ExpectSameResult(first, MakeResolver().LookupSync(row.name, row.type), row.name);
}

INSTANTIATE_TEST_SUITE_P(
    Zones, AuthoritativeResolverTable,
    testing::Values(
        Row{"mx.example.test", RrType::kA, LookupStatus::kAnswer, 1, ""},
        Row{"MX.Example.Test.", RrType::kA, LookupStatus::kAnswer, 1, ""},
        Row{"www.example.test", RrType::kA, LookupStatus::kAnswer, 1, ""},
        Row{"example.test", RrType::kTxt, LookupStatus::kAnswer, 1, ""},
        Row{"example.test", RrType::kA, LookupStatus::kNoData, 0, ""},
        Row{"missing.example.test", RrType::kA, LookupStatus::kNxDomain, 0, ""},
        Row{"nx.example.test", RrType::kA, LookupStatus::kNxDomain, 0, ""},
        Row{"servfail.example.test", RrType::kA, LookupStatus::kTemporaryFailure, 0,
            "from fakemx's DNS"},
        Row{"timeout.example.test", RrType::kA, LookupStatus::kTemporaryFailure, 0,
            "timeout: fakemx's DNS did not answer timeout.example.test A"},
        Row{"trunc.example.test", RrType::kA, LookupStatus::kAnswer, 1, ""},
        Row{"big.example.test", RrType::kTxt, LookupStatus::kAnswer, 40, ""},
        Row{"refused.example.test", RrType::kA, LookupStatus::kPermanentFailure, 0,
            "from fakemx's DNS"},
        Row{"outside.invalid", RrType::kA, LookupStatus::kPermanentFailure, 0,
            "from fakemx's DNS"},
        Row{"a..example.test", RrType::kA, LookupStatus::kPermanentFailure, 0,
            "cannot query \"a..example.test\""},
        Row{std::string(300, 'a') + ".test", RrType::kA, LookupStatus::kPermanentFailure, 0,
            "cannot query"}));

TEST(AuthoritativeResolver, SignedZonesAnswerWithAdAndOthersWithout) {
  AuthoritativeResolver resolver = MakeResolver();
  LookupResult signed_answer = resolver.LookupSync("host.signed.test", RrType::kA);
  ASSERT_TRUE(signed_answer.ok()) << signed_answer.detail;
  EXPECT_TRUE(signed_answer.authenticated);
  LookupResult plain = resolver.LookupSync("mx.example.test", RrType::kA);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain.authenticated);
}

TEST(AuthoritativeResolver, FollowsCnameChainAsTheResponderServesIt) {
  AuthoritativeResolver resolver = MakeResolver();
  LookupResult r = resolver.LookupSync("www.example.test", RrType::kA);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.cname_chain.size(), 1u);
  EXPECT_EQ(r.cname_chain[0].name, "www.example.test");
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(std::get<AData>(r.records[0].data).address[3], 1);
}

TEST(AuthoritativeResolver, CopiesShareTheZones) {
  AuthoritativeResolver original = MakeResolver();
  AuthoritativeResolver copy = original;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(original.LookupSync("mx.example.test", RrType::kA).ok());
    EXPECT_TRUE(copy.LookupSync("mx.example.test", RrType::kA).ok());
  }
}

// The name is cached as asked: the records' owner names echo the query's
// case, so another spelling is another entry, with its own owner names.
TEST(AuthoritativeResolver, CacheKeepsTheCaseOfEachSpelling) {
  AuthoritativeResolver resolver = MakeResolver();
  LookupResult lower = resolver.LookupSync("mx.example.test", RrType::kA);
  LookupResult mixed = resolver.LookupSync("MX.Example.Test", RrType::kA);
  ASSERT_TRUE(lower.ok() && mixed.ok());
  EXPECT_EQ(resolver.wire_lookups(), 2u);
  EXPECT_EQ(lower.records[0].name, "mx.example.test");
  EXPECT_EQ(mixed.records[0].name, "MX.Example.Test");
  EXPECT_EQ(resolver.LookupSync("MX.Example.Test", RrType::kA).records[0].name, "MX.Example.Test");
  // The type is part of the key.
  EXPECT_EQ(resolver.LookupSync("mx.example.test", RrType::kTxt).status, LookupStatus::kNoData);
  EXPECT_EQ(resolver.wire_lookups(), 3u);
}

// Bounded: past kMaxCachedAnswers distinct names the cache starts over, and
// answers stay right (an evicted name is asked on the wire again).
TEST(AuthoritativeResolver, CacheIsBoundedAndStaysCorrectPastItsLimit) {
  AuthoritativeResolver resolver = MakeResolver();
  const size_t n = AuthoritativeResolver::kMaxCachedAnswers + 10;
  for (size_t i = 0; i < n; ++i) {
    EXPECT_EQ(resolver.LookupSync("n" + std::to_string(i) + ".example.test", RrType::kA).status,
              LookupStatus::kNxDomain);
  }
  EXPECT_EQ(resolver.wire_lookups(), n);
  // n0 was dropped when the cache was emptied: asked again, same answer.
  EXPECT_EQ(resolver.LookupSync("n0.example.test", RrType::kA).status, LookupStatus::kNxDomain);
  EXPECT_EQ(resolver.wire_lookups(), n + 1);
  // The last name is still cached.
  resolver.LookupSync("n" + std::to_string(n - 1) + ".example.test", RrType::kA);
  EXPECT_EQ(resolver.wire_lookups(), n + 1);
}

TEST(AuthoritativeResolver, CopiesShareTheCache) {
  AuthoritativeResolver original = MakeResolver();
  AuthoritativeResolver copy = original;
  EXPECT_TRUE(original.LookupSync("mx.example.test", RrType::kA).ok());
  EXPECT_TRUE(copy.LookupSync("mx.example.test", RrType::kA).ok());
  EXPECT_EQ(copy.wire_lookups(), 1u);
}

}  // namespace
}  // namespace mxkit::dns
