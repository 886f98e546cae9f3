#include "auth/authentication_results.h"

#include <cstddef>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::auth {
namespace {

// Field bodies as real receivers write them (folding kept).
constexpr char kGmail[] =
    " mx.google.com;\r\n"
    "       dkim=pass header.i=@example.com header.s=20230601 header.b=kR+Y0S3F;\r\n"
    "       spf=pass (google.com: domain of alice@example.com designates 209.85.220.41 as "
    "permitted sender) smtp.mailfrom=alice@example.com;\r\n"
    "       dmarc=pass (p=NONE sp=QUARANTINE dis=NONE) header.from=example.com";
constexpr char kGmailSlashInB[] =
    " mx.google.com;\r\n       dkim=pass header.i=@example.com header.s=s1 header.b=ab/cd+Ef";
constexpr char kOutlook[] =
    " spf=pass (sender IP is 40.107.22.45)\r\n smtp.mailfrom=example.com; dkim=pass (signature was "
    "verified)\r\n header.d=example.com;dmarc=pass action=none\r\n header.from=example.com;"
    "compauth=pass reason=100";
constexpr char kFastmail[] =
    " mx3.messagingengine.com;\r\n    dkim=pass (2048-bit rsa key sha256) header.d=example.com "
    "header.i=@example.com header.b=AbCdEfGh header.a=rsa-sha256 header.s=fm1 x-bits=2048;\r\n"
    "    dmarc=pass policy.published-domain-policy=none policy.applied-disposition=none "
    "(p=none,d=none,d.eval=none) policy.policy-from=p header.from=example.com;\r\n"
    "    iprev=pass smtp.remote-ip=2001:db8::25 (mail.example.com);\r\n"
    "    spf=pass smtp.mailfrom=bob@example.com smtp.helo=mail.example.com;\r\n"
    "    x-return-mx=pass header.domain=example.com policy.is_org=yes (MX Records found);\r\n"
    "    x-tls=pass smtp.version=TLSv1.3 smtp.bits=256/256";

TEST(AuthResParse, Rfc8601AppendixBExamples) {
  AuthResParseResult r = ParseAuthenticationResults(" example.org 1; none");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.value.authserv_id, "example.org");
  EXPECT_EQ(r.value.version, 1u);
  EXPECT_TRUE(r.value.results.empty());

  r = ParseAuthenticationResults(
      " example.com;\r\n  auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
      "  spf=pass smtp.mailfrom=example.net");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.value.results.size(), 2u);
  EXPECT_EQ(r.value.results[0].method, "auth");
  EXPECT_EQ(r.value.results[0].properties[0],
            (AuthResProperty{"smtp", "auth", "sender@example.net"}));
  EXPECT_EQ(r.value.results[1].properties[0], (AuthResProperty{"smtp", "mailfrom", "example.net"}));

  r = ParseAuthenticationResults(
      " example.com;\r\n  dkim=pass reason=\"good signature\"\r\n"
      "    header.i=@mail-router.example.net;\r\n  dkim=fail reason=\"bad signature\"\r\n"
      "    header.i=@newyork.example.com");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.value.results.size(), 2u);
  EXPECT_EQ(r.value.results[0].reason, "good signature");
  EXPECT_EQ(r.value.results[1].result, "fail");
  EXPECT_EQ(r.value.results[1].properties[0].value, "@newyork.example.com");

  r = ParseAuthenticationResults(" example.com; iprev=pass policy.iprev=192.0.2.200");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.value.results[0].properties[0].value, "192.0.2.200");
}

TEST(AuthResParse, GmailHeaderIsStrictlyValid) {
  AuthResParseResult r = ParseAuthenticationResults(kGmail);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.value.authserv_id, "mx.google.com");
  ASSERT_EQ(r.value.results.size(), 3u);
  EXPECT_EQ(r.value.results[0].properties.size(), 3u);
  EXPECT_EQ(r.value.results[0].properties[2], (AuthResProperty{"header", "b", "kR+Y0S3F"}));
  EXPECT_EQ(r.value.results[1].properties[0].value, "alice@example.com");
  EXPECT_EQ(r.value.results[2].properties[0], (AuthResProperty{"header", "from", "example.com"}));
}

struct LenientRow {
  const char* body;
  AuthResOptions needs;  // the single switch that makes it parse
};

TEST(AuthResParse, RealWorldDeviationsNeedTheirOwnSwitch) {
  AuthResOptions missing_id;
  missing_id.allow_missing_authserv_id = true;
  AuthResOptions bare_property;
  bare_property.allow_property_without_ptype = true;
  AuthResOptions tokens;
  tokens.allow_nonstandard_tokens = true;
  const LenientRow rows[] = {
      {kGmailSlashInB, tokens},
      {" spf=pass smtp.mailfrom=example.com", missing_id},
      {" x.example; dmarc=pass action=none header.from=example.com", bare_property},
      {" x.example; iprev=pass smtp.remote-ip=2001:db8::25", tokens},
      {" x.example; x-return-mx=pass policy.is_org=yes", tokens},
  };
  for (const LenientRow& row : rows) {
    EXPECT_FALSE(ParseAuthenticationResults(row.body).ok()) << row.body;
    AuthResParseResult r = ParseAuthenticationResults(row.body, row.needs);
    EXPECT_TRUE(r.ok()) << row.body << ": " << r.message;
  }
  EXPECT_EQ(ParseAuthenticationResults(kGmailSlashInB, tokens).value.results[0].properties[2].value,
            "ab/cd+Ef");
}

TEST(AuthResParse, OutlookAndFastmailParseLeniently) {
  AuthResParseResult o = ParseAuthenticationResults(kOutlook, AuthResOptions::Lenient());
  ASSERT_TRUE(o.ok()) << o.message;
  EXPECT_EQ(o.value.authserv_id, "");
  ASSERT_EQ(o.value.results.size(), 4u);
  EXPECT_EQ(o.value.results[2].properties[0], (AuthResProperty{"", "action", "none"}));
  EXPECT_EQ(o.value.results[3].reason, "100");

  AuthResParseResult f = ParseAuthenticationResults(kFastmail, AuthResOptions::Lenient());
  ASSERT_TRUE(f.ok()) << f.message;
  EXPECT_EQ(f.value.authserv_id, "mx3.messagingengine.com");
  ASSERT_EQ(f.value.results.size(), 6u);
  EXPECT_EQ(f.value.results[2].properties[0].value, "2001:db8::25");
  EXPECT_EQ(f.value.results[5].properties[1].value, "256/256");
}

struct ErrorRow {
  const char* body;
  AuthResError error;
  std::size_t offset;
};

TEST(AuthResParse, RejectsWithKindAndOffset) {
  const ErrorRow rows[] = {
      {"", AuthResError::kMissingAuthservId, 0},
      {" ; spf=pass", AuthResError::kMissingAuthservId, 1},
      {" \"\" 1; none", AuthResError::kMissingAuthservId, 1},
      {" example.com", AuthResError::kSyntax, 12},
      {" example.com spf=pass", AuthResError::kSyntax, 13},
      {" example.com; spf", AuthResError::kSyntax, 17},
      {" example.com; spf=", AuthResError::kSyntax, 18},
      {" example.com; =pass", AuthResError::kSyntax, 14},
      {" example.com; spf=pass smtp", AuthResError::kSyntax, 27},
      {" example.com; spf=pass smtp.mailfrom", AuthResError::kSyntax, 36},
      {" example.com; spf=pass smtp.mailfrom=", AuthResError::kSyntax, 37},
      {" example.com; spf=pass action=none", AuthResError::kSyntax, 23},
      {" example.com; dkim=pass header.b=ab/cd", AuthResError::kSyntax, 33},
      {" example.com; spf=pass smtp.mailfrom=a@b", AuthResError::kSyntax, 37},
      {" example.com; spf=pass (unterminated", AuthResError::kUnterminatedComment, 23},
      {" example.com; spf=pass reason=\"open", AuthResError::kUnterminatedQuotedString, 30},
      {" example.com 1234567890; none", AuthResError::kBadVersion, 13},
      {" example.com; spf=pass;", AuthResError::kSyntax, 23},
      {" example.com; spf=pass; none", AuthResError::kSyntax, 28},
      {" example.com; -spf=pass", AuthResError::kSyntax, 14},
      {" example.com; spf=pass\r\nsmtp.mailfrom=x", AuthResError::kSyntax, 22},
      {" example.com; spf=pass smtp.mailfrom=x reason=y", AuthResError::kSyntax, 39},
      {" example.com; spf=pass reason=\"x\"smtp.mailfrom=y", AuthResError::kSyntax, 33},
  };
  for (const ErrorRow& row : rows) {
    AuthResParseResult r = ParseAuthenticationResults(row.body);
    EXPECT_EQ(r.error, row.error) << row.body << ": " << r.message;
    EXPECT_EQ(r.offset, row.offset) << row.body << ": " << r.message;
    EXPECT_FALSE(r.message.empty()) << row.body;
  }
}

TEST(AuthResParse, BoundsNestingAndCounts) {
  std::string deep = " x.example; spf=pass " + std::string(kMaxAuthResCommentDepth + 1, '(') +
                     std::string(kMaxAuthResCommentDepth + 1, ')');
  EXPECT_EQ(ParseAuthenticationResults(deep).error, AuthResError::kCommentTooDeep);
  std::string many = " x.example";
  for (std::size_t i = 0; i <= kMaxResultInfos; ++i) many += "; spf=pass";
  EXPECT_EQ(ParseAuthenticationResults(many).error, AuthResError::kTooManyResults);
  std::string props = " x.example; spf=pass";
  for (std::size_t i = 0; i <= kMaxPropertiesPerResult; ++i) props += " smtp.helo=h";
  EXPECT_EQ(ParseAuthenticationResults(props).error, AuthResError::kTooManyProperties);
  EXPECT_EQ(ParseAuthenticationResults(" x" + std::string(kMaxAuthResLength, 'a')).error,
            AuthResError::kTooLong);
}

// Fuzzer find: an empty quoted authserv-id with a version parsed leniently
// but could not be formatted (empty means "missing" in the model).
TEST(AuthResParse, RejectsEmptyQuotedAuthservIdEvenLeniently) {
  AuthResParseResult r = ParseAuthenticationResults(
      " \"\" 1; dkim/1=pass reasnn=\"a \\\"b\\\"\" eader.i=\"x y\"@gggggglgggge.com",
      AuthResOptions::Lenient());
  EXPECT_EQ(r.error, AuthResError::kMissingAuthservId) << r.message;
  EXPECT_EQ(r.offset, 1u);
}

TEST(AuthResParse, CommentsAndQuotingAnywhereCfwsIsAllowed) {
  AuthResParseResult r = ParseAuthenticationResults(
      " (c) \"quoted id\" (c) 1 (c) ; (c) dkim (c) / (c) 1 (c) = (c) pass (c)"
      " reason (c) = (c) \"a \\\"b\\\"\" (c) header (c) . (c) d (c) = (c) example.com (c)"
      " header.i=\"x y\"@example.com");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.value.authserv_id, "quoted id");
  EXPECT_EQ(r.value.version, 1u);
  ASSERT_EQ(r.value.results.size(), 1u);
  EXPECT_EQ(r.value.results[0].method_version, 1u);
  EXPECT_EQ(r.value.results[0].reason, "a \"b\"");
  EXPECT_EQ(r.value.results[0].properties[0], (AuthResProperty{"header", "d", "example.com"}));
  EXPECT_EQ(r.value.results[0].properties[1].value, "\"x y\"@example.com");
}

TEST(AuthResRoundTrip, FormatThenParseGivesTheSameValue) {
  struct Case {
    const char* body;
    AuthResOptions options;
  };
  const Case cases[] = {
      {kGmail, {}},
      {" example.org 1; none", {}},
      {" \"odd id\"; spf=neutral reason=\"why; not\" smtp.mailfrom=\"a b\"@example.com", {}},
      {" x; dkim/1=pass header.i=\"quoted value\"", {}},
      {kGmailSlashInB, AuthResOptions::Lenient()},
      {kOutlook, AuthResOptions::Lenient()},
      {kFastmail, AuthResOptions::Lenient()},
  };
  for (const Case& c : cases) {
    AuthResParseResult a = ParseAuthenticationResults(c.body, c.options);
    ASSERT_TRUE(a.ok()) << c.body << ": " << a.message;
    absl::StatusOr<std::string> formatted = FormatAuthenticationResults(a.value);
    ASSERT_TRUE(formatted.ok()) << formatted.status();
    AuthResParseResult b = ParseAuthenticationResults(*formatted, c.options);
    ASSERT_TRUE(b.ok()) << *formatted << ": " << b.message;
    EXPECT_EQ(a.value, b.value) << *formatted;
  }
}

// A value that is not a token is a quoted-string: '"' and '\\' get a
// backslash (RFC 5322 §3.2.4 quoted-pair), a tab stays as it is, and every
// other octet is copied, at either end of the value too.
TEST(AuthResFormat, QuotesValuesThatAreNotTokens) {
  struct Row {
    std::string reason;
    std::string expected;
  };
  const Row rows[] = {
      {"plain words", "\"plain words\""},
      {"say \"hi\" now", "\"say \\\"hi\\\" now\""},
      {"\"", "\"\\\"\""},
      {"\\", "\"\\\\\""},
      {"\"\"", "\"\\\"\\\"\""},
      {"end\\", "\"end\\\\\""},
      {"\\start", "\"\\\\start\""},
      {"a\tb", "\"a\tb\""},
      {"(x)", "\"(x)\""},
  };
  for (const Row& row : rows) {
    AuthenticationResults ar;
    ar.authserv_id = "x.example";
    ar.results.push_back({"spf", std::nullopt, "fail", row.reason, {}});
    absl::StatusOr<std::string> formatted = FormatAuthenticationResults(ar);
    ASSERT_TRUE(formatted.ok()) << row.reason << ": " << formatted.status();
    EXPECT_EQ(*formatted, " x.example;\r\n\tspf=fail reason=" + row.expected) << row.reason;
    AuthResParseResult back = ParseAuthenticationResults(*formatted);
    ASSERT_TRUE(back.ok()) << *formatted << ": " << back.message;
    EXPECT_EQ(back.value.results.at(0).reason, row.reason) << *formatted;
  }
}

TEST(AuthResFormat, RefusesWhatNoFieldCanCarry) {
  AuthenticationResults ar;
  ar.authserv_id = "x.example";
  ar.results.push_back({"spf", std::nullopt, "pass", std::string("line\r\nbreak"), {}});
  EXPECT_FALSE(FormatAuthenticationResults(ar).ok());
  ar.results[0].reason.reset();
  ar.results[0].method = "sp f";
  EXPECT_FALSE(FormatAuthenticationResults(ar).ok());
  AuthenticationResults none;
  EXPECT_FALSE(FormatAuthenticationResults(none).ok());  // "none" needs an authserv-id
}

}  // namespace
}  // namespace mxkit::auth
