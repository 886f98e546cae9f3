#include "smtp/ehlo.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "smtp/reply.h"

namespace mxkit::smtp {
namespace {

EhloParseOptions Lenient() {
  EhloParseOptions o;
  o.allow_auth_equals = true;
  o.allow_keyword_underscore = true;
  return o;
}

Reply Ehlo(std::vector<std::string> lines) { return MakeMultilineReply(250, std::move(lines)); }

struct ValidRow {
  std::string_view name;
  Reply reply;
  EhloParseOptions options;
  std::string domain;
  std::string greeting;
  EhloCapabilities expected;
};

std::vector<ValidRow> ValidRows() {
  std::vector<ValidRow> rows;
  {
    // RFC 5321 Appendix D.1.
    EhloCapabilities c;
    c.eightbitmime = true;
    c.size = SizeExtension{};
    c.dsn = true;
    c.other = {{"HELP", {}}};
    rows.push_back({"Rfc5321AppendixD1",
                    Ehlo({"foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"}),
                    {}, "foo.com", "greets bar.com", c});
  }
  {
    EhloCapabilities c;
    c.pipelining = true;
    c.size = SizeExtension{10240000};
    c.starttls = true;
    c.enhanced_status_codes = true;
    c.eightbitmime = true;
    c.dsn = true;
    c.smtputf8 = true;
    c.chunking = true;
    c.other = {{"VRFY", {}}, {"ETRN", {}}};
    rows.push_back({"Postfix",
                    Ehlo({"mail.example.com", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN",
                          "STARTTLS", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8",
                          "CHUNKING"}),
                    {}, "mail.example.com", "", c});
  }
  {
    EhloCapabilities c;
    c.size = SizeExtension{157286400};
    c.eightbitmime = true;
    c.starttls = true;
    c.enhanced_status_codes = true;
    c.pipelining = true;
    c.chunking = true;
    c.smtputf8 = true;
    rows.push_back({"Gmail",
                    Ehlo({"mx.google.com at your service, [203.0.113.5]", "SIZE 157286400",
                          "8BITMIME", "STARTTLS", "ENHANCEDSTATUSCODES", "PIPELINING",
                          "CHUNKING", "SMTPUTF8"}),
                    {}, "mx.google.com", "at your service, [203.0.113.5]", c});
  }
  {
    EhloCapabilities c;
    c.size = SizeExtension{157286400};
    c.pipelining = true;
    c.dsn = true;
    c.enhanced_status_codes = true;
    c.starttls = true;
    c.eightbitmime = true;
    c.binarymime = true;
    c.chunking = true;
    c.smtputf8 = true;
    rows.push_back({"ExchangeOnline",
                    Ehlo({"DM6NAM10FT012.mail.protection.outlook.com Hello [203.0.113.5]",
                          "SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES",
                          "STARTTLS", "8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"}),
                    {}, "DM6NAM10FT012.mail.protection.outlook.com", "Hello [203.0.113.5]", c});
  }
  {
    // Exchange 2010-era on-premises server: "AUTH=LOGIN" beside "AUTH".
    EhloCapabilities c;
    c.size = SizeExtension{};
    c.pipelining = true;
    c.dsn = true;
    c.enhanced_status_codes = true;
    c.auth_mechanisms = {"GSSAPI", "NTLM", "LOGIN"};
    c.eightbitmime = true;
    c.binarymime = true;
    c.chunking = true;
    c.other = {{"X-ANONYMOUSTLS", {}}, {"X-EXPS", {"GSSAPI", "NTLM"}}, {"XEXCH50", {}},
               {"XRDST", {}}};
    rows.push_back({"Exchange2010AuthEquals",
                    Ehlo({"mail.contoso.com Hello [192.0.2.1]", "SIZE", "PIPELINING", "DSN",
                          "ENHANCEDSTATUSCODES", "X-ANONYMOUSTLS", "AUTH GSSAPI NTLM LOGIN",
                          "AUTH=LOGIN", "X-EXPS GSSAPI NTLM", "8BITMIME", "BINARYMIME",
                          "CHUNKING", "XEXCH50", "XRDST"}),
                    Lenient(), "mail.contoso.com", "Hello [192.0.2.1]", c});
  }
  {
    EhloCapabilities c;
    c.size = SizeExtension{52428800};
    c.eightbitmime = true;
    c.pipelining = true;
    c.auth_mechanisms = {"PLAIN", "LOGIN"};
    c.chunking = true;
    c.starttls = true;
    c.smtputf8 = true;
    c.other = {{"PIPE_CONNECT", {}}, {"HELP", {}}};
    rows.push_back({"EximWithPipeConnect",
                    Ehlo({"mail.example.org Hello client.example.net [203.0.113.5]",
                          "SIZE 52428800", "8BITMIME", "PIPELINING", "PIPE_CONNECT",
                          "AUTH PLAIN LOGIN", "CHUNKING", "STARTTLS", "SMTPUTF8", "HELP"}),
                    Lenient(), "mail.example.org", "Hello client.example.net [203.0.113.5]", c});
  }
  {
    // Keywords are case-insensitive (RFC 5321 §2.4); mechanisms are
    // upper-cased; unknown keywords keep their case and parameters.
    EhloCapabilities c;
    c.auth_mechanisms = {"PLAIN", "CRAM-MD5", "SCRAM-SHA-256"};
    c.size = SizeExtension{100};
    c.starttls = true;
    c.other = {{"x-Custom", {"a", "B=c", "[x]"}}};
    rows.push_back({"LowerCase",
                    Ehlo({"localhost", "auth plain cram-md5 Scram-Sha-256", "size 100",
                          "StartTLS", "x-Custom a B=c [x]"}),
                    {}, "localhost", "", c});
  }
  {
    EhloCapabilities c;
    c.auth_mechanisms = {"LOGIN", "PLAIN"};
    rows.push_back({"AuthEqualsBeforeAuth", Ehlo({"mx", "AUTH=LOGIN", "AUTH LOGIN PLAIN"}),
                    Lenient(), "mx", "", c});
  }
  {
    EhloCapabilities c;
    c.auth_mechanisms = {"LOGIN", "PLAIN"};
    rows.push_back({"AuthEqualsOnly", Ehlo({"mx", "AUTH=LOGIN PLAIN"}), Lenient(), "mx", "", c});
  }
  {
    EhloCapabilities c;
    c.size = SizeExtension{0};
    rows.push_back({"SizeZero", Ehlo({"mx", "SIZE 0"}), {}, "mx", "", c});
  }
  {
    EhloCapabilities c;
    c.size = SizeExtension{UINT64_MAX};
    rows.push_back({"SizeMaxUint64", Ehlo({"mx", "SIZE 18446744073709551615"}), {}, "mx", "", c});
  }
  {
    EhloCapabilities c;
    c.size = SizeExtension{1000};
    rows.push_back({"SizeLeadingZeros", Ehlo({"mx", "SIZE 0001000"}), {}, "mx", "", c});
  }
  rows.push_back({"DomainOnly", Ehlo({"mx.example.com"}), {}, "mx.example.com", "", {}});
  rows.push_back({"AddressLiteralDomain", Ehlo({"[192.0.2.1] hi"}), {}, "[192.0.2.1]", "hi", {}});
  rows.push_back({"GreetingKeepsSpaces", Ehlo({"mx  two  spaces "}), {}, "mx", " two  spaces ",
                  {}});
  return rows;
}

TEST(ParseEhloReply, ParsesRealWorldReplies) {
  for (const ValidRow& row : ValidRows()) {
    SCOPED_TRACE(row.name);
    EhloReply r = ParseEhloReply(row.reply, row.options);
    for (const EhloLineError& e : r.errors) ADD_FAILURE() << e.message;
    EXPECT_EQ(r.domain, row.domain);
    EXPECT_EQ(r.greeting, row.greeting);
    EXPECT_EQ(r.capabilities, row.expected);
  }
}

TEST(FormatEhloReply, RoundTripsEveryValidRowStrictly) {
  for (const ValidRow& row : ValidRows()) {
    SCOPED_TRACE(row.name);
    EhloReply parsed = ParseEhloReply(row.reply, row.options);
    Reply formatted = FormatEhloReply(parsed.domain, parsed.greeting, parsed.capabilities);
    EXPECT_TRUE(ValidateReply(formatted).ok()) << ValidateReply(formatted).message();
    // Only PIPE_CONNECT needs a leniency after formatting: "AUTH=" is
    // folded into AUTH.
    EhloParseOptions reparse;
    reparse.allow_keyword_underscore = row.options.allow_keyword_underscore;
    EhloReply again = ParseEhloReply(formatted, reparse);
    for (const EhloLineError& e : again.errors) ADD_FAILURE() << e.message;
    EXPECT_EQ(again, parsed);
    // And through the wire format.
    ReplyParseResult wire = ParseReply(FormatReply(formatted));
    ASSERT_FALSE(wire.error) << wire.error->message;
    EXPECT_EQ(*wire.reply, formatted);
  }
}

TEST(FormatEhloReply, WritesTypedCapabilitiesInAFixedOrderThenOthers) {
  EhloCapabilities c;
  c.smtputf8 = true;
  c.pipelining = true;
  c.size = SizeExtension{35882577};
  c.auth_mechanisms = {"PLAIN", "LOGIN"};
  c.starttls = true;
  c.other = {{"X-B", {"1"}}, {"HELP", {}}};
  EXPECT_EQ(FormatReply(FormatEhloReply("mx.example.com", "at your service", c)),
            "250-mx.example.com at your service\r\n"
            "250-PIPELINING\r\n"
            "250-SIZE 35882577\r\n"
            "250-STARTTLS\r\n"
            "250-AUTH PLAIN LOGIN\r\n"
            "250-SMTPUTF8\r\n"
            "250-X-B 1\r\n"
            "250 HELP\r\n");
  EXPECT_EQ(FormatReply(FormatEhloReply("mx", "", {})), "250 mx\r\n");
  EhloCapabilities size_only;
  size_only.size = SizeExtension{};
  EXPECT_EQ(FormatReply(FormatEhloReply("mx", "", size_only)), "250-mx\r\n250 SIZE\r\n");
}

TEST(ParseEhloReply, ParsesWireBytesFromReplyParser) {
  ReplyParseResult wire = ParseReply(
      "250-mx.google.com at your service, [203.0.113.5]\r\n250-SIZE 157286400\r\n"
      "250-8BITMIME\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250-PIPELINING\r\n"
      "250-CHUNKING\r\n250 SMTPUTF8\r\n");
  ASSERT_FALSE(wire.error) << wire.error->message;
  EhloReply r = ParseEhloReply(*wire.reply);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.capabilities.max_message_size(), 157286400u);
  EXPECT_TRUE(r.capabilities.starttls);
  EXPECT_TRUE(r.capabilities.chunking);
}

struct InvalidRow {
  std::string_view name;
  Reply reply;
  EhloParseOptions options;
  EhloErrorKind kind;
  size_t line;
  size_t offset;
  EhloCapabilities expected;  // what the other lines still contributed
};

std::vector<InvalidRow> InvalidRows() {
  EhloCapabilities pipelining;
  pipelining.pipelining = true;
  EhloCapabilities size100;
  size100.size = SizeExtension{100};
  EhloCapabilities foo;
  foo.other = {{"X-FOO", {}}};
  EhloCapabilities starttls;
  starttls.starttls = true;
  EhloCapabilities plain;
  plain.auth_mechanisms = {"PLAIN"};
  return {
      {"NotTwoFifty", MakeReply(502, "5.5.1 EHLO not implemented"), {},
       EhloErrorKind::kNotEhloOk, 0, 0, {}},
      {"EmptyFirstLine", Ehlo({"", "PIPELINING"}), {}, EhloErrorKind::kInvalidDomain, 0, 0,
       pipelining},
      {"FirstLineStartsWithSpace", Ehlo({" mx", "PIPELINING"}), {},
       EhloErrorKind::kInvalidDomain, 0, 0, pipelining},
      {"NoLinesAtAll", Reply{250, {}}, {}, EhloErrorKind::kInvalidDomain, 0, 0, {}},
      {"TabInDomain", Ehlo({"mx\texample", "PIPELINING"}), {}, EhloErrorKind::kInvalidDomain, 0,
       2, pipelining},
      {"KeywordStartsWithHyphen", Ehlo({"mx", "-BAD", "PIPELINING"}), {},
       EhloErrorKind::kInvalidKeyword, 1, 0, pipelining},
      {"EmptyKeywordLine", Ehlo({"mx", "", "PIPELINING"}), {}, EhloErrorKind::kInvalidKeyword,
       1, 0, pipelining},
      {"KeywordWithUnderscoreWhenStrict", Ehlo({"mx", "PIPE_CONNECT", "PIPELINING"}), {},
       EhloErrorKind::kInvalidKeyword, 1, 4, pipelining},
      {"KeywordWithDot", Ehlo({"mx", "X.FOO"}), Lenient(), EhloErrorKind::kInvalidKeyword, 1, 1,
       {}},
      {"AuthEqualsWhenStrict", Ehlo({"mx", "AUTH=LOGIN", "PIPELINING"}), {},
       EhloErrorKind::kInvalidKeyword, 1, 4, pipelining},
      {"DoubleSpaceBeforeParameter", Ehlo({"mx", "AUTH  PLAIN"}), {},
       EhloErrorKind::kInvalidParameter, 1, 5, {}},
      {"TrailingSpace", Ehlo({"mx", "AUTH PLAIN "}), {}, EhloErrorKind::kInvalidParameter, 1,
       11, {}},
      {"EightBitParameter", Ehlo({"mx", "X-FOO caf\xc3\xa9"}), {},
       EhloErrorKind::kInvalidParameter, 1, 9, {}},
      {"TabInParameter", Ehlo({"mx", "X-FOO a\tb"}), {}, EhloErrorKind::kInvalidParameter, 1, 7,
       {}},
      {"SizeNotANumber", Ehlo({"mx", "SIZE abc"}), {}, EhloErrorKind::kInvalidSize, 1, 5, {}},
      {"SizeNegative", Ehlo({"mx", "SIZE -1"}), {}, EhloErrorKind::kInvalidSize, 1, 5, {}},
      {"SizeAboveUint64", Ehlo({"mx", "SIZE 18446744073709551616"}), {},
       EhloErrorKind::kInvalidSize, 1, 5, {}},
      {"SizeOver20Digits", Ehlo({"mx", "SIZE 000000000000000000001"}), {},
       EhloErrorKind::kInvalidSize, 1, 5, {}},
      {"SizeTwoParameters", Ehlo({"mx", "SIZE 1 2"}), {}, EhloErrorKind::kInvalidSize, 1, 7, {}},
      {"PipeliningWithParameter", Ehlo({"mx", "PIPELINING yes"}), {},
       EhloErrorKind::kUnexpectedParameter, 1, 11, {}},
      {"StartTlsWithParameter", Ehlo({"mx", "STARTTLS required"}), {},
       EhloErrorKind::kUnexpectedParameter, 1, 9, {}},
      {"AuthWithoutMechanism", Ehlo({"mx", "AUTH"}), {}, EhloErrorKind::kMissingParameter, 1, 4,
       {}},
      {"MechanismWithAt", Ehlo({"mx", "AUTH PLAIN PL@IN"}), {}, EhloErrorKind::kInvalidMechanism,
       1, 11, {}},
      {"MechanismTooLong", Ehlo({"mx", "AUTH ABCDEFGHIJKLMNOPQRSTU"}), {},
       EhloErrorKind::kInvalidMechanism, 1, 5, {}},
      {"AuthEqualsBadMechanism", Ehlo({"mx", "AUTH PLAIN", "AUTH=LOG.IN"}), Lenient(),
       EhloErrorKind::kInvalidMechanism, 2, 5, plain},
      {"DuplicateSize", Ehlo({"mx", "SIZE 100", "SIZE 200"}), {},
       EhloErrorKind::kDuplicateKeyword, 2, 0, size100},
      {"DuplicateUnknownAnyCase", Ehlo({"mx", "X-FOO", "x-foo 1"}), {},
       EhloErrorKind::kDuplicateKeyword, 2, 0, foo},
      {"DuplicateFlag", Ehlo({"mx", "STARTTLS", "starttls"}), {},
       EhloErrorKind::kDuplicateKeyword, 2, 0, starttls},
      {"DuplicateAuth", Ehlo({"mx", "AUTH PLAIN", "AUTH LOGIN"}), {},
       EhloErrorKind::kDuplicateKeyword, 2, 0, plain},
  };
}

TEST(ParseEhloReply, ReportsBadLinesAndKeepsTheRest) {
  for (const InvalidRow& row : InvalidRows()) {
    SCOPED_TRACE(row.name);
    EhloReply r = ParseEhloReply(row.reply, row.options);
    ASSERT_EQ(r.errors.size(), 1u);
    const EhloLineError& e = r.errors[0];
    EXPECT_EQ(e.kind, row.kind) << EhloErrorKindName(e.kind) << ": " << e.message;
    EXPECT_EQ(e.line, row.line) << e.message;
    EXPECT_EQ(e.offset, row.offset) << e.message;
    EXPECT_EQ(r.capabilities, row.expected);
    EXPECT_FALSE(r.ok());
  }
}

TEST(ParseEhloReply, ErrorMessageNamesLineOffsetAndRule) {
  EhloReply r = ParseEhloReply(Ehlo({"mx", "PIPELINING", "SIZE big"}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("line 3"), std::string::npos) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("offset 5"), std::string::npos) << r.errors[0].message;
  EXPECT_NE(r.errors[0].message.find("RFC 1870"), std::string::npos) << r.errors[0].message;
}

TEST(ParseEhloReply, NotEhloOkParsesNothingElse) {
  EhloReply r = ParseEhloReply(MakeMultilineReply(550, {"mx", "PIPELINING"}));
  EXPECT_TRUE(r.domain.empty());
  EXPECT_EQ(r.capabilities, EhloCapabilities{});
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, EhloErrorKind::kNotEhloOk);
}

TEST(ParseEhloReply, ReportsEveryBadLine) {
  EhloReply r = ParseEhloReply(Ehlo({"mx", "SIZE x", "PIPELINING", "AUTH", "8BITMIME z"}));
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 1u);
  EXPECT_EQ(r.errors[1].line, 3u);
  EXPECT_EQ(r.errors[2].line, 4u);
  EhloCapabilities expected;
  expected.pipelining = true;
  EXPECT_EQ(r.capabilities, expected);
}

TEST(ParseEhloReply, BadFirstSizeLineDoesNotBlockALaterGoodOne) {
  // A rejected line is not "seen": the later valid one is used, not flagged
  // as a duplicate.
  EhloReply r = ParseEhloReply(Ehlo({"mx", "SIZE x", "SIZE 5"}));
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].kind, EhloErrorKind::kInvalidSize);
  ASSERT_TRUE(r.capabilities.size);
  EXPECT_EQ(r.capabilities.size->limit, 5u);
}

TEST(EhloCapabilities, MaxMessageSizeTreatsZeroAndMissingAsUnlimited) {
  EhloCapabilities c;
  EXPECT_EQ(c.max_message_size(), std::nullopt);
  c.size = SizeExtension{};
  EXPECT_EQ(c.max_message_size(), std::nullopt);
  c.size = SizeExtension{0};
  EXPECT_EQ(c.max_message_size(), std::nullopt);
  c.size = SizeExtension{1000};
  EXPECT_EQ(c.max_message_size(), 1000u);
}

TEST(EhloCapabilities, OffersAuthIgnoresCase) {
  EhloCapabilities c;
  c.auth_mechanisms = {"PLAIN", "SCRAM-SHA-256"};
  EXPECT_TRUE(c.offers_auth("plain"));
  EXPECT_TRUE(c.offers_auth("SCRAM-SHA-256"));
  EXPECT_FALSE(c.offers_auth("LOGIN"));
}

}  // namespace
}  // namespace mxkit::smtp
