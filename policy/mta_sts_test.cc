#include "policy/mta_sts.h"

#include <string>
#include <vector>

#include "base/absl_interop.h"
#include "base/ascii.h"
#include "gtest/gtest.h"

namespace mxkit::policy {
namespace {

struct TxtRow {
  const char* txt;
  bool ok;
  const char* id;           // when ok
  const char* error_part;   // when !ok: a substring of the message
};

TEST(ParseStsTxtRecord, FollowsRfc8461Section31Grammar) {
  const TxtRow rows[] = {
      {"v=STSv1; id=20160831085700Z;", true, "20160831085700Z", nullptr},  // RFC 8461 §3.1 example
      {"v=STSv1; id=20160831085700Z", true, "20160831085700Z", nullptr},
      {"v=STSv1;id=abc", true, "abc", nullptr},
      {"v=STSv1 \t;\t id=abc \t; ", true, "abc", nullptr},
      {"v=STSv1; id=abc; ext_1=x!y; x.y-z=1", true, "abc", nullptr},
      {"v=STSv1; id=12345678901234567890123456789012", true, "12345678901234567890123456789012",
       nullptr},
      {"v=STSv1; id=123456789012345678901234567890123", false, nullptr, "1-32 letters"},
      {"v=STSv1; id=", false, nullptr, "1-32 letters"},
      {"v=STSv1; id=abc-def", false, nullptr, "1-32 letters"},
      {"v=STSv1;", false, nullptr, "no id field"},
      {"v=STSv1", false, nullptr, "no id field"},
      {"v=STSv1; id=a; id=b", false, nullptr, "a second id"},
      {"V=STSv1; id=a", false, nullptr, "does not start"},
      {"v=stsv1; id=a", false, nullptr, "does not start"},
      {"v=STSv10; id=a", false, nullptr, "expected ';'"},
      {" v=STSv1; id=a", false, nullptr, "does not start"},
      {"v=STSv1 id=a", false, nullptr, "expected ';'"},
      {"v=STSv1; id=a;; x=y", false, nullptr, "field name"},
      {"v=STSv1; id=a; _x=y", false, nullptr, "field name"},
      {"v=STSv1; id=a; x", false, nullptr, "without '='"},
      {"v=STSv1; id=a; x=", false, nullptr, "value of x"},
      {"v=STSv1; id=a; x=a=b", false, nullptr, "value of x"},
      {"v=STSv1; id=a; x=\x01", false, nullptr, "value of x"},
      {"", false, nullptr, "does not start"},
  };
  for (const TxtRow& row : rows) {
    auto record = ParseStsTxtRecord(row.txt);
    ASSERT_EQ(record.ok(), row.ok) << row.txt << ": " << record.status();
    if (row.ok) {
      EXPECT_EQ(record->id, row.id) << row.txt;
    } else {
      EXPECT_NE(base::StatusText(record.status()).find(row.error_part), std::string::npos)
          << row.txt << ": " << record.status();
    }
  }
}

TEST(ParseStsTxtRecord, KeepsExtensionsInOrder) {
  auto record = ParseStsTxtRecord("v=STSv1; id=1; b=2; a=1");
  ASSERT_TRUE(record.ok());
  ASSERT_EQ(record->extensions.size(), 2u);
  EXPECT_EQ(record->extensions[0], (std::pair<std::string, std::string>{"b", "2"}));
  EXPECT_EQ(record->extensions[1], (std::pair<std::string, std::string>{"a", "1"}));
}

TEST(DiscoverStsTxtRecord, ExactlyOneVersionedRecordElseNone) {
  auto one = DiscoverStsTxtRecord(std::vector<std::string>{"v=spf1 -all", "v=STSv1; id=x1"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->id, "x1");
  auto none = DiscoverStsTxtRecord(std::vector<std::string>{"v=spf1 -all"});
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  auto empty = DiscoverStsTxtRecord({});
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kNotFound);
  auto two = DiscoverStsTxtRecord(std::vector<std::string>{"v=STSv1; id=a", "v=STSv1; id=b"});
  EXPECT_EQ(two.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(base::StatusText(two.status()).find("exactly one"), std::string::npos);
  auto bad = DiscoverStsTxtRecord(std::vector<std::string>{"v=STSv1; id=a-b"});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
}

struct DiscoveryRow {
  std::vector<std::string> records;
  absl::StatusCode code;
  const char* id;  // when OK
};

// RFC 8461 §3.1: "Records that do not begin with 'v=STSv1;' are discarded";
// sts-field-delim (*WSP ";" *WSP) lets whitespace precede the ';'.
TEST(DiscoverStsTxtRecord, DiscardsRecordsNotBeginningWithTheVersionAndDelimiter) {
  const DiscoveryRow rows[] = {
      {{"v=STSv1 ; id=ws"}, absl::StatusCode::kOk, "ws"},
      {{"v=STSv1\t;id=tab"}, absl::StatusCode::kOk, "tab"},
      {{"v=STSv10; id=x"}, absl::StatusCode::kNotFound, ""},
      {{"v=STSv1"}, absl::StatusCode::kNotFound, ""},
      {{"v=STSv1 id=x"}, absl::StatusCode::kNotFound, ""},
      {{"v=STSv1x; id=x"}, absl::StatusCode::kNotFound, ""},
      // Discarded records do not make "more than one".
      {{"v=STSv10; id=a", "v=STSv1; id=b"}, absl::StatusCode::kOk, "b"},
      {{"v=STSv1; id=a", "v=STSv1x; id=c", "v=STSv1"}, absl::StatusCode::kOk, "a"},
      {{"v=STSv1; id=a", "v=STSv1 ; id=b"}, absl::StatusCode::kInvalidArgument, ""},
  };
  for (const DiscoveryRow& row : rows) {
    SCOPED_TRACE(row.records.front());
    absl::StatusOr<StsTxtRecord> r = DiscoverStsTxtRecord(row.records);
    EXPECT_EQ(r.status().code(), row.code) << r.status();
    if (r.ok()) {
      EXPECT_EQ(r->id, row.id);
    }
  }
}

TEST(ParseStsPolicy, ParsesRfc8461Example) {
  // RFC 8461 §3.2's example policy.
  const char* text =
      "version: STSv1\r\n"
      "mode: enforce\r\n"
      "mx: mail.example.com\r\n"
      "mx: *.example.net\r\n"
      "mx: backupmx.example.com\r\n"
      "max_age: 604800\r\n";
  StsPolicyResult result = ParseStsPolicy(text);
  ASSERT_TRUE(result.ok()) << result.error().ToString();
  EXPECT_EQ(result.policy().mode, StsMode::kEnforce);
  EXPECT_EQ(result.policy().max_age, 604800u);
  EXPECT_EQ(result.policy().mx, (std::vector<std::string>{"mail.example.com", "*.example.net",
                                                          "backupmx.example.com"}));
}

struct PolicyRow {
  const char* text;
  bool ok;
  size_t line;    // when !ok
  size_t column;  // when !ok
  const char* error_part;
};

TEST(ParseStsPolicy, TableOfValidAndInvalidPolicies) {
  const PolicyRow rows[] = {
      {"version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400", true, 0, 0, nullptr},
      {"version: STSv1\nmode: testing\nmx: a.example\nmax_age: 86400\n", true, 0, 0, nullptr},
      {"mode: none\nmax_age: 0\nversion: STSv1\n", true, 0, 0, nullptr},  // none needs no mx
      {"version:STSv1\nmode:\tenforce \nmx:a.example\t\nmax_age:31557600\n", true, 0, 0, nullptr},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nfoo: bar baz\n", true, 0, 0,
       nullptr},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nnote: caf\xc3\xa9\n", true, 0, 0,
       nullptr},
      {"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 1\n", false, 1, 10, "not STSv1"},
      {"version: STSv1\nmode: enfrce\nmx: a.example\nmax_age: 1\n", false, 2, 7,
       "not enforce, testing or none"},
      {"version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 1\n", false, 2, 7, "mode"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 31557601\n", false, 4, 10,
       "exceeds 31557600"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 12345678901\n", false, 4, 10,
       "1 to 10 digits"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n", false, 4, 10, "digits"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: \n", false, 4, 10, "digits"},
      {"version: STSv1\nmode: enforce\nmax_age: 1\n", false, 3, 11, "no mx line"},
      {"version: STSv1\nmode: enforce\nmx: a.example\n", false, 3, 14, "no max_age"},
      {"version: STSv1\nmx: a.example\nmax_age: 1\n", false, 3, 11, "no mode"},
      {"mode: enforce\nmx: a.example\nmax_age: 1", false, 3, 11, "no version"},
      {"", false, 1, 1, "no version"},
      {"version: STSv1\nmode: enforce\nmode: testing\nmx: a.example\nmax_age: 1\n", false, 3, 1,
       "second mode"},
      {"version: STSv1\nversion: STSv1\n", false, 2, 1, "second version"},
      {"version: STSv1\n\nmode: enforce\n", false, 2, 1, "empty line"},
      {"version: STSv1\rmode: enforce\n", false, 1, 15, "control character"},
      {"version: STSv1\nmode enforce\n", false, 2, 1, "no ':'"},
      {"version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n", false, 3, 5, "mx"},
      {"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n", false, 3, 5, "empty label"},
      {"version: STSv1\nmode: enforce\nmx: a.example.\nmax_age: 1\n", false, 3, 5, "empty label"},
      {"version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1\n", false, 3, 5, "'-'"},
      {"version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n", false, 3, 5, "'_'"},
      {"version: STSv1\nmode: enforce\nmx: \nmax_age: 1\n", false, 3, 5, "empty domain"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n_x: y\n", false, 5, 1, "key"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nx:\n", false, 5, 3,
       "empty value"},
      {"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\nx: \xff\n", false, 5, 4,
       "UTF-8"},
      {"Version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1\n", false, 4, 11,
       "no version"},  // keys are case-sensitive: "Version" is an extension
  };
  for (const PolicyRow& row : rows) {
    StsPolicyResult result = ParseStsPolicy(row.text);
    ASSERT_EQ(result.ok(), row.ok) << base::QuoteForMessage(row.text, 200) << ": "
                                   << (result.ok() ? "" : result.error().ToString());
    if (row.ok) continue;
    EXPECT_EQ(result.error().line, row.line) << result.error().ToString();
    EXPECT_EQ(result.error().column, row.column) << result.error().ToString();
    EXPECT_NE(result.error().message.find(row.error_part), std::string::npos)
        << result.error().ToString();
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(ParseStsPolicy, CrlfAndLfGiveTheSamePolicy) {
  const std::string lf = "version: STSv1\nmode: testing\nmx: a.example\nmx: *.b.example\nmax_age: 5\n";
  std::string crlf;
  for (char c : lf) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  StsPolicyResult a = ParseStsPolicy(lf);
  StsPolicyResult b = ParseStsPolicy(crlf);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(a.policy().mx, b.policy().mx);
  EXPECT_EQ(a.policy().max_age, b.policy().max_age);
}

TEST(FormatStsPolicy, ParsesBackToTheSamePolicy) {
  StsPolicyResult parsed = ParseStsPolicy(
      "max_age: 600\nmx: *.a.example\nnote:  x  y \nversion: STSv1\nmode: testing\nmx: b.example\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  const std::string text = FormatStsPolicy(parsed.policy());
  EXPECT_EQ(text,
            "version: STSv1\r\nmode: testing\r\nmx: *.a.example\r\nmx: b.example\r\n"
            "max_age: 600\r\nnote: x  y\r\n");
  StsPolicyResult again = ParseStsPolicy(text);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(FormatStsPolicy(again.policy()), text);
}

TEST(ParseStsPolicy, RefusesOversizeText) {
  std::string text = "version: STSv1\nmode: none\nmax_age: 1\n";
  text += "x: " + std::string(kMaxStsPolicySize, 'a') + "\n";
  StsPolicyResult result = ParseStsPolicy(text);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().line, 1u);
  EXPECT_NE(result.error().message.find("exceeds"), std::string::npos);
}

TEST(MxPatternMatches, FollowsRfc8461Section41) {
  struct Row {
    const char* pattern;
    const char* host;
    bool matches;
  };
  const Row rows[] = {
      {"mail.example.com", "mail.example.com", true},
      {"mail.example.com", "MAIL.Example.com", true},
      {"mail.example.com", "mail.example.com.", true},
      {"mail.example.com", "mail2.example.com", false},
      {"*.example.com", "mx1.example.com", true},          // §4.1 example
      {"*.example.com", "example.com", false},             // §4.1 example
      {"*.example.com", "foo.mx1.example.com", false},     // §4.1 example
      {"*.example.com", ".example.com", false},
      {"*.example.com", "MX1.EXAMPLE.COM.", true},
      {"*.example.com", "mx1.example.org", false},
      {"", "example.com", false},
      {"example.com", "", false},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(MxPatternMatches(row.pattern, row.host), row.matches)
        << row.pattern << " vs " << row.host;
  }
  StsPolicy policy;
  policy.mx = {"a.example", "*.b.example"};
  EXPECT_TRUE(StsPolicyAllowsMx(policy, "x.b.example"));
  EXPECT_FALSE(StsPolicyAllowsMx(policy, "b.example"));
}

StsPolicy PolicyWithMaxAge(uint32_t max_age) {
  StsPolicy policy;
  policy.mode = StsMode::kEnforce;
  policy.max_age = max_age;
  policy.mx = {"mx.example.test"};
  return policy;
}

TEST(StsPolicyCache, FetchesThenUsesCacheWhileTheIdHolds) {
  StsPolicyCache cache;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  auto d = cache.Decide("example.test", "id1", t0);
  EXPECT_EQ(d.action, StsPolicyCache::Action::kFetch);
  EXPECT_EQ(d.entry, nullptr);
  EXPECT_EQ(d.reason, "no cached policy");
  cache.Store("Example.TEST.", "id1", PolicyWithMaxAge(3600), t0);

  d = cache.Decide("example.test", "id1", t0 + absl::Seconds(10));
  EXPECT_EQ(d.action, StsPolicyCache::Action::kUseCached);
  ASSERT_NE(d.entry, nullptr);
  EXPECT_EQ(d.entry->expires_at, t0 + absl::Seconds(3600));

  // §5.1: a new id means a new policy to fetch; the old one can still serve.
  d = cache.Decide("EXAMPLE.test", "id2", t0 + absl::Seconds(10));
  EXPECT_EQ(d.action, StsPolicyCache::Action::kFetch);
  ASSERT_NE(d.entry, nullptr);
  EXPECT_EQ(d.reason, "TXT id changed from id1 to id2");
}

TEST(StsPolicyCache, WithoutTxtTheLiveEntryAppliesUntilMaxAge) {
  StsPolicyCache cache;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  cache.Store("example.test", "id1", PolicyWithMaxAge(60), t0);
  auto d = cache.Decide("example.test", std::nullopt, t0 + absl::Seconds(59));
  EXPECT_EQ(d.action, StsPolicyCache::Action::kUseCached);
  d = cache.Decide("example.test", std::nullopt, t0 + absl::Seconds(60));
  EXPECT_EQ(d.action, StsPolicyCache::Action::kNoPolicy);
  d = cache.Decide("example.test", "id1", t0 + absl::Seconds(61));
  EXPECT_EQ(d.action, StsPolicyCache::Action::kFetch);
  EXPECT_EQ(d.reason, "cached policy expired");
  EXPECT_EQ(cache.Find("example.test", t0 + absl::Seconds(61)), nullptr);
  cache.ExpireOld(t0 + absl::Seconds(61));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(StsPolicyCache, MaxAgeZeroWithdrawsThePolicy) {
  StsPolicyCache cache;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  cache.Store("example.test", "id1", PolicyWithMaxAge(60), t0);
  cache.Store("example.test", "id2", PolicyWithMaxAge(0), t0);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Decide("example.test", std::nullopt, t0).action,
            StsPolicyCache::Action::kNoPolicy);
}

TEST(StsPolicyCache, BoundedByEvictingTheSoonestToExpire) {
  StsPolicyCache cache(2);
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  cache.Store("a.test", "1", PolicyWithMaxAge(100), t0);
  cache.Store("b.test", "1", PolicyWithMaxAge(10), t0);
  cache.Store("c.test", "1", PolicyWithMaxAge(50), t0);
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_NE(cache.Find("a.test", t0), nullptr);
  EXPECT_EQ(cache.Find("b.test", t0), nullptr);
  EXPECT_NE(cache.Find("c.test", t0), nullptr);
  // Replacing an existing key never evicts another.
  cache.Store("a.test", "2", PolicyWithMaxAge(100), t0);
  EXPECT_NE(cache.Find("c.test", t0), nullptr);
  cache.Erase("A.test");
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace mxkit::policy
