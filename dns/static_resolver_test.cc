#include "dns/static_resolver.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::dns {
namespace {

ResourceRecord Txt(std::string name, std::vector<std::string> strings) {
  return ResourceRecord{std::move(name), RrType::kTxt, 300, TxtData{std::move(strings)}};
}
ResourceRecord A(std::string name, uint8_t last) {
  return ResourceRecord{std::move(name), RrType::kA, 300, AData{{192, 0, 2, last}}};
}
ResourceRecord Cname(std::string name, std::string target) {
  return ResourceRecord{std::move(name), RrType::kCname, 300, NameData{std::move(target)}};
}

TEST(StaticResolver, AnswersAddedRecordsCaseInsensitively) {
  StaticResolver resolver;
  resolver.Add(Txt("Example.COM.", {"v=spf1 ", "-all"}));
  LookupResult result = resolver.LookupSync("example.com", RrType::kTxt);
  ASSERT_EQ(result.status, LookupStatus::kAnswer);
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].name, "Example.COM");
  EXPECT_EQ(std::get<TxtData>(result.records[0].data).strings,
            (std::vector<std::string>{"v=spf1 ", "-all"}));
  EXPECT_TRUE(result.cname_chain.empty());
}

TEST(StaticResolver, CompletesInline) {
  StaticResolver resolver;
  resolver.Add(A("a.example", 1));
  bool called = false;
  resolver.Lookup("a.example.", RrType::kA, [&](LookupResult r) {
    called = true;
    EXPECT_TRUE(r.ok());
  });
  EXPECT_TRUE(called);
}

TEST(StaticResolver, LookupInlineAnswersAsLookupSyncDoes) {
  StaticResolver resolver;
  resolver.Add(A("a.example", 1));
  resolver.Add(A("a.example", 2));
  for (std::string_view name : {"A.Example.", "nx.example", "example", "bad..name"}) {
    LookupResult sync = resolver.LookupSync(name, RrType::kA);
    LookupResult out;
    ASSERT_TRUE(resolver.LookupInline(name, RrType::kA, out)) << name;
    EXPECT_EQ(out.status, sync.status) << name;
    EXPECT_EQ(out.records.size(), sync.records.size()) << name;
    EXPECT_EQ(out.detail, sync.detail) << name;
  }
}

TEST(StaticResolver, DistinguishesNxDomainFromNoData) {
  StaticResolver resolver;
  resolver.Add(A("a.example", 1));
  EXPECT_EQ(resolver.LookupSync("a.example", RrType::kMx).status, LookupStatus::kNoData);
  EXPECT_EQ(resolver.LookupSync("b.example", RrType::kMx).status, LookupStatus::kNxDomain);
}

// RFC 8020 §2 / RFC 4592 §2.2.2: a name with no records of its own but some
// below it exists, so a real server answers NOERROR with no data; NXDOMAIN
// would claim that nothing below it exists either. DMARC's tree walk and np=,
// and SPF's void-lookup count, see the difference.
TEST(StaticResolver, AnswersNoDataForEmptyNonTerminals) {
  StaticResolver resolver;
  resolver.Add(Txt("_dmarc.Sub.Example.COM.", {"v=DMARC1; p=none"}));
  EXPECT_EQ(resolver.LookupSync("_dmarc.sub.example.com", RrType::kTxt).status,
            LookupStatus::kAnswer);
  for (const char* ent : {"sub.example.com", "SUB.example.com.", "example.com", "com", "."}) {
    LookupResult result = resolver.LookupSync(ent, RrType::kTxt);
    EXPECT_EQ(result.status, LookupStatus::kNoData) << ent;
    EXPECT_TRUE(result.records.empty()) << ent;
  }
  // Siblings and names below the record still do not exist.
  EXPECT_EQ(resolver.LookupSync("other.example.com", RrType::kTxt).status,
            LookupStatus::kNxDomain);
  EXPECT_EQ(resolver.LookupSync("x._dmarc.sub.example.com", RrType::kTxt).status,
            LookupStatus::kNxDomain);
  EXPECT_EQ(resolver.LookupSync("example.net", RrType::kTxt).status, LookupStatus::kNxDomain);
  // The chain's end decides, so a CNAME to an empty non-terminal is no data.
  resolver.Add(Cname("alias.example.net", "sub.example.com"));
  LookupResult alias = resolver.LookupSync("alias.example.net", RrType::kA);
  EXPECT_EQ(alias.status, LookupStatus::kNoData);
  EXPECT_EQ(alias.cname_chain.size(), 1u);
  // Records added later at an empty non-terminal are answered.
  resolver.Add(A("example.com", 9));
  EXPECT_EQ(resolver.LookupSync("example.com", RrType::kA).status, LookupStatus::kAnswer);
  EXPECT_EQ(resolver.LookupSync("example.com", RrType::kTxt).status, LookupStatus::kNoData);
  // A fault on an empty non-terminal still fails the lookup.
  resolver.AddFault("com", Fault::kServfail);
  EXPECT_EQ(resolver.LookupSync("com", RrType::kTxt).status, LookupStatus::kTemporaryFailure);
  // Only records make names exist: empty non-terminals are not counted.
  EXPECT_EQ(resolver.size(), 3u);
}

TEST(StaticResolver, WildcardOwnerMakesItsParentAnEmptyNonTerminal) {
  StaticResolver resolver;
  resolver.Add(A("*.w.example", 1));
  EXPECT_EQ(resolver.LookupSync("w.example", RrType::kA).status, LookupStatus::kNoData);
  // Wildcards are not expanded (see dns/README.md).
  EXPECT_EQ(resolver.LookupSync("x.w.example", RrType::kA).status, LookupStatus::kNxDomain);
}

TEST(StaticResolver, FaultsFailEveryTypeWithTheirDetail) {
  StaticResolver resolver;
  resolver.Add(A("slow.example", 1));
  resolver.AddFault("slow.example.", Fault::kTimeout);
  resolver.AddFault("BROKEN.example", Fault::kServfail);
  for (RrType type : {RrType::kA, RrType::kTxt}) {
    LookupResult slow = resolver.LookupSync("slow.example", type);
    EXPECT_EQ(slow.status, LookupStatus::kTemporaryFailure);
    EXPECT_EQ(slow.detail, "timeout");
    EXPECT_TRUE(slow.records.empty());
    LookupResult broken = resolver.LookupSync("broken.example", type);
    EXPECT_EQ(broken.status, LookupStatus::kTemporaryFailure);
    EXPECT_EQ(broken.detail, "SERVFAIL");
  }
}

TEST(StaticResolver, TypedFaultsFailOnlyThatType) {
  StaticResolver resolver;
  resolver.Add(A("mixed.example", 1));
  resolver.AddFault("mixed.example", RrType::kTxt, Fault::kServfail);
  EXPECT_EQ(resolver.LookupSync("mixed.example", RrType::kA).status, LookupStatus::kAnswer);
  LookupResult txt = resolver.LookupSync("mixed.example", RrType::kTxt);
  EXPECT_EQ(txt.status, LookupStatus::kTemporaryFailure);
  EXPECT_EQ(txt.detail, "SERVFAIL");
  EXPECT_EQ(resolver.LookupSync("mixed.example", RrType::kMx).status, LookupStatus::kNoData);
  // A fault for every type wins over the typed one.
  resolver.AddFault("mixed.example", Fault::kTimeout);
  EXPECT_EQ(resolver.LookupSync("mixed.example", RrType::kTxt).detail, "timeout");
}

TEST(StaticResolver, FollowsCnameChainsAndReportsThem) {
  StaticResolver resolver;
  resolver.Add(Cname("www.example", "web.example"));
  resolver.Add(Cname("web.example", "host.example"));
  resolver.Add(A("host.example", 7));
  LookupResult result = resolver.LookupSync("www.example", RrType::kA);
  ASSERT_EQ(result.status, LookupStatus::kAnswer);
  ASSERT_EQ(result.records.size(), 1u);
  EXPECT_EQ(result.records[0].name, "host.example");
  ASSERT_EQ(result.cname_chain.size(), 2u);
  EXPECT_EQ(result.cname_chain[0].name, "www.example");
  EXPECT_EQ(result.cname_chain[1].name, "web.example");
  // The CNAME itself is answered when asked for.
  LookupResult cname = resolver.LookupSync("www.example", RrType::kCname);
  ASSERT_EQ(cname.status, LookupStatus::kAnswer);
  EXPECT_EQ(std::get<NameData>(cname.records[0].data).name, "web.example");
  // The chain's end decides NXDOMAIN vs no data.
  EXPECT_EQ(resolver.LookupSync("www.example", RrType::kMx).status, LookupStatus::kNoData);
  resolver.Add(Cname("dangling.example", "nowhere.example"));
  EXPECT_EQ(resolver.LookupSync("dangling.example", RrType::kA).status, LookupStatus::kNxDomain);
}

TEST(StaticResolver, FaultOnCnameTargetFailsTheLookup) {
  StaticResolver resolver;
  resolver.Add(Cname("alias.example", "target.example"));
  resolver.AddFault("target.example", Fault::kServfail);
  LookupResult result = resolver.LookupSync("alias.example", RrType::kTxt);
  EXPECT_EQ(result.status, LookupStatus::kTemporaryFailure);
  EXPECT_EQ(result.detail, "SERVFAIL");
}

TEST(StaticResolver, DetectsCnameLoops) {
  StaticResolver resolver;
  resolver.Add(Cname("a.example", "b.example"));
  resolver.Add(Cname("b.example", "A.example."));
  LookupResult result = resolver.LookupSync("a.example", RrType::kA);
  EXPECT_EQ(result.status, LookupStatus::kPermanentFailure);
  EXPECT_NE(result.detail.find("loop"), std::string::npos) << result.detail;
}

TEST(StaticResolver, BoundsCnameChains) {
  StaticResolver resolver;
  for (size_t i = 0; i <= StaticResolver::kMaxCnameChain; ++i) {
    resolver.Add(Cname("c" + std::to_string(i) + ".example",
                       "c" + std::to_string(i + 1) + ".example"));
  }
  resolver.Add(A("c" + std::to_string(StaticResolver::kMaxCnameChain + 1) + ".example", 1));
  LookupResult result = resolver.LookupSync("c0.example", RrType::kA);
  EXPECT_EQ(result.status, LookupStatus::kPermanentFailure);
  // One link fewer is within the bound.
  LookupResult shorter = resolver.LookupSync("c1.example", RrType::kA);
  EXPECT_EQ(shorter.status, LookupStatus::kAnswer);
  EXPECT_EQ(shorter.cname_chain.size(), StaticResolver::kMaxCnameChain);
}

TEST(StaticResolver, RejectsMalformedNamesAsPermanentFailures) {
  StaticResolver resolver;
  EXPECT_EQ(resolver.LookupSync("a..example", RrType::kA).status,
            LookupStatus::kPermanentFailure);
  EXPECT_EQ(resolver.LookupSync(std::string(64, 'x') + ".example", RrType::kA).status,
            LookupStatus::kPermanentFailure);
  std::string long_name;
  while (long_name.size() < 254) long_name += "abcdefghi.";
  EXPECT_EQ(resolver.LookupSync(long_name + "example", RrType::kA).status,
            LookupStatus::kPermanentFailure);
}

// RFC 1035 §2.3.4 limits, at and just past each bound, with the reason the
// detail gives (the fast path and the explaining path must agree).
TEST(StaticResolver, ChecksNameLimitsAtTheirBounds) {
  const std::string label63(63, 'x');
  // 4 labels of 63 + 3 dots = 255; drop two characters for 253.
  const std::string name253 = label63 + "." + label63 + "." + label63 + "." + label63.substr(2);
  struct Row {
    std::string name;
    const char* why;  // nullptr: well formed
  } rows[] = {
      {"", nullptr},
      {".", nullptr},
      {"example", nullptr},
      {"example.", nullptr},
      {label63 + ".example", nullptr},
      {name253, nullptr},
      {name253 + ".", nullptr},
      {name253 + "x", "characters long"},
      {std::string(64, 'x') + ".example", "label of 64"},
      {"example." + std::string(64, 'x'), "label of 64"},
      {".example", "empty label"},
      {"a..example", "empty label"},
      {"example..", "empty label"},
      {"..", "empty label"},
  };
  StaticResolver resolver;
  for (const Row& row : rows) {
    LookupResult result = resolver.LookupSync(row.name, RrType::kA);
    if (row.why == nullptr) {
      EXPECT_EQ(result.status, LookupStatus::kNxDomain) << row.name;
    } else {
      EXPECT_EQ(result.status, LookupStatus::kPermanentFailure) << row.name;
      EXPECT_NE(result.detail.find(row.why), std::string::npos) << row.name << ": "
                                                                 << result.detail;
    }
  }
}

TEST(StaticResolver, LoadsZonesWithFaults) {
  StaticResolver resolver;
  absl::Status status = resolver.LoadZone(R"zone($ORIGIN example.com.
@          TXT "v=spf1 include:_spf " "-all"
_spf       TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail       A   192.0.2.25
alias      CNAME mail
$TIMEOUT   slow
$SERVFAIL  broken
$TIMEOUT   mail TXT
)zone",
                                          "example.zone");
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(resolver.size(), 4u);
  LookupResult txt = resolver.LookupSync("EXAMPLE.com", RrType::kTxt);
  ASSERT_TRUE(txt.ok());
  EXPECT_EQ(std::get<TxtData>(txt.records[0].data).strings,
            (std::vector<std::string>{"v=spf1 include:_spf ", "-all"}));
  LookupResult alias = resolver.LookupSync("alias.example.com", RrType::kA);
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias.cname_chain.size(), 1u);
  EXPECT_EQ(resolver.LookupSync("slow.example.com", RrType::kTxt).detail, "timeout");
  EXPECT_EQ(resolver.LookupSync("broken.example.com", RrType::kA).detail, "SERVFAIL");
  EXPECT_EQ(resolver.LookupSync("mail.example.com", RrType::kTxt).detail, "timeout");
  EXPECT_TRUE(resolver.LookupSync("mail.example.com", RrType::kA).ok());
}

TEST(StaticResolver, FailedLoadAddsNothingAndNamesFileAndLine) {
  StaticResolver resolver;
  absl::Status status = resolver.LoadZone("a.example. A 192.0.2.1\nb.example. MX abc b.\n",
                                          "zone.txt");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "zone.txt:2:15: MX preference \"abc\" is not a number");
  EXPECT_EQ(resolver.size(), 0u);
  EXPECT_EQ(resolver.LookupSync("a.example", RrType::kA).status, LookupStatus::kNxDomain);
}

}  // namespace
}  // namespace mxkit::dns
