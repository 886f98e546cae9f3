#include "smtp/command.h"

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace mxkit::smtp {
namespace {

std::string WithoutCrlf(std::string wire) {
  EXPECT_GE(wire.size(), 2u);
  EXPECT_EQ(wire.substr(wire.size() - 2), "\r\n");
  wire.resize(wire.size() - 2);
  return wire;
}

struct ValidRow {
  std::string line;
  std::string canonical;  // FormatCommand without CRLF
};

class ValidCommandTest : public testing::TestWithParam<ValidRow> {};

TEST_P(ValidCommandTest, ParsesFormatsAndRoundTrips) {
  const ValidRow& row = GetParam();
  CommandResult r = ParseCommand(row.line);
  ASSERT_TRUE(r.ok()) << row.line << ": " << r.error.message;
  const std::string formatted = WithoutCrlf(FormatCommand(r.command));
  EXPECT_EQ(formatted, row.canonical);
  CommandResult again = ParseCommand(formatted);
  ASSERT_TRUE(again.ok()) << formatted << ": " << again.error.message;
  EXPECT_EQ(again.command, r.command) << formatted;
}

INSTANTIATE_TEST_SUITE_P(
    CommandParser, ValidCommandTest,
    testing::Values(
        // RFC 5321 Appendix D.1, a typical SMTP transaction scenario.
        ValidRow{"EHLO bar.com", "EHLO bar.com"},
        ValidRow{"MAIL FROM:<Smith@bar.com>", "MAIL FROM:<Smith@bar.com>"},
        ValidRow{"RCPT TO:<Jones@foo.com>", "RCPT TO:<Jones@foo.com>"},
        ValidRow{"RCPT TO:<Green@foo.com>", "RCPT TO:<Green@foo.com>"},
        ValidRow{"DATA", "DATA"},
        ValidRow{"QUIT", "QUIT"},
        // Appendix D.2, a relay: a fully qualified upper-case domain is kept as sent.
        ValidRow{"MAIL FROM:<JQP@bar.com>", "MAIL FROM:<JQP@bar.com>"},
        ValidRow{"RCPT TO:<Jones@XYZ.COM>", "RCPT TO:<Jones@XYZ.COM>"},
        // Appendix D.3 / §3.5 VRFY and EXPN examples.
        ValidRow{"VRFY Crispin", "VRFY Crispin"},
        ValidRow{"VRFY Smith", "VRFY Smith"},
        ValidRow{"EXPN Example-People", "EXPN Example-People"},
        ValidRow{"VRFY \"John Smith\"", "VRFY \"John Smith\""},
        // §3.6.1 source route, recorded and re-emitted.
        ValidRow{"RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>",
                 "RCPT TO:<@hosta.int,@jkl.org:userc@d.bar.org>"},
        // Verbs and keywords are case-insensitive (§2.4).
        ValidRow{"ehlo [192.0.2.1]", "EHLO [192.0.2.1]"},
        ValidRow{"EHLO [IPv6:2001:db8::1]", "EHLO [IPv6:2001:db8::1]"},
        ValidRow{"HELO relay.example.org", "HELO relay.example.org"},
        ValidRow{"mail from:<>", "MAIL FROM:<>"},
        ValidRow{"Rcpt To:<Postmaster>", "RCPT TO:<Postmaster>"},
        ValidRow{"RCPT TO:<postmaster@example.com>", "RCPT TO:<postmaster@example.com>"},
        ValidRow{"MAIL FROM:<\"john q\"@example.com>", "MAIL FROM:<\"john q\"@example.com>"},
        ValidRow{"MAIL FROM:<\"jq\"@example.com>", "MAIL FROM:<jq@example.com>"},
        // ESMTP parameters, written back in canonical order and case.
        ValidRow{"MAIL FROM:<a@b.example> SIZE=12345 BODY=8BITMIME",
                 "MAIL FROM:<a@b.example> SIZE=12345 BODY=8BITMIME"},
        ValidRow{"MAIL FROM:<a@b> body=binarymime size=0", "MAIL FROM:<a@b> SIZE=0 BODY=BINARYMIME"},
        ValidRow{"MAIL FROM:<a@b> BODY=7bit", "MAIL FROM:<a@b> BODY=7BIT"},
        ValidRow{"MAIL FROM:<a@b> SIZE=18446744073709551615",
                 "MAIL FROM:<a@b> SIZE=18446744073709551615"},
        ValidRow{"MAIL FROM:<a@b> SIZE=000012", "MAIL FROM:<a@b> SIZE=12"},
        // RFC 3461 §4.3, §4.4 (ENVID example from §6.2 of RFC 3461).
        ValidRow{"MAIL FROM:<a@b> RET=HDRS ENVID=QQ314159", "MAIL FROM:<a@b> RET=HDRS ENVID=QQ314159"},
        ValidRow{"MAIL FROM:<a@b> ENVID=a+2Bb ret=full", "MAIL FROM:<a@b> RET=FULL ENVID=a+2Bb"},
        ValidRow{"MAIL FROM:<a@b> ENVID=+41+20", "MAIL FROM:<a@b> ENVID=A+20"},
        // RFC 4954 §5 AUTH=.
        ValidRow{"MAIL FROM:<e@x.example> AUTH=<>", "MAIL FROM:<e@x.example> AUTH=<>"},
        ValidRow{"MAIL FROM:<e@x.example> AUTH=e+2Bx@example.com",
                 "MAIL FROM:<e@x.example> AUTH=e+2Bx@example.com"},
        // RFC 6531 §3.4 SMTPUTF8.
        ValidRow{"MAIL FROM:<\xC3\xA9t\xC3\xA9@x.example> SMTPUTF8",
                 "MAIL FROM:<\xC3\xA9t\xC3\xA9@x.example> SMTPUTF8"},
        ValidRow{"MAIL FROM:<a@b> smtputf8 BODY=8BITMIME", "MAIL FROM:<a@b> BODY=8BITMIME SMTPUTF8"},
        ValidRow{"MAIL FROM:<@a,@b:u@c>", "MAIL FROM:<@a,@b:u@c>"},
        // RFC 3461 §4.1, §4.2.
        ValidRow{"RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@x",
                 "RCPT TO:<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+2Bb@x"},
        ValidRow{"RCPT TO:<a@b> NOTIFY=delay,success", "RCPT TO:<a@b> NOTIFY=SUCCESS,DELAY"},
        ValidRow{"RCPT TO:<a@b> NOTIFY=NEVER", "RCPT TO:<a@b> NOTIFY=NEVER"},
        ValidRow{"RCPT TO:<a@b> ORCPT=utf-8;\\x{E9}@x NOTIFY=FAILURE",
                 "RCPT TO:<a@b> NOTIFY=FAILURE ORCPT=utf-8;\\x{E9}@x"},
        ValidRow{"rset", "RSET"},
        ValidRow{"STARTTLS", "STARTTLS"},
        ValidRow{"starttls", "STARTTLS"},
        ValidRow{"NOOP", "NOOP"},
        ValidRow{"NOOP hello", "NOOP hello"},
        ValidRow{"NOOP \"a b\"", "NOOP \"a b\""},
        ValidRow{"HELP", "HELP"},
        ValidRow{"help MAIL", "HELP MAIL"},
        ValidRow{"VRFY \xC3\xA9 smtputf8", "VRFY \xC3\xA9 SMTPUTF8"},
        ValidRow{"EXPN list SMTPUTF8", "EXPN list SMTPUTF8"},
        // RFC 3030 §2.
        ValidRow{"BDAT 1000", "BDAT 1000"},
        ValidRow{"BDAT 0 LAST", "BDAT 0 LAST"},
        ValidRow{"bdat 10 last", "BDAT 10 LAST"},
        // RFC 4954 §4.
        ValidRow{"AUTH PLAIN", "AUTH PLAIN"},
        ValidRow{"AUTH PLAIN AGFsaWNlAHNlY3JldA==", "AUTH PLAIN AGFsaWNlAHNlY3JldA=="},
        ValidRow{"auth login =", "AUTH LOGIN ="},
        ValidRow{"AUTH CRAM-MD5", "AUTH CRAM-MD5"},
        ValidRow{"AUTH x_y-Z AAA=", "AUTH X_Y-Z AAA="},
        ValidRow{"AUTH EXTERNAL QQ==", "AUTH EXTERNAL QQ=="},
        ValidRow{"AUTH EXTERNAL QUJD", "AUTH EXTERNAL QUJD"},
        // Longest line within §4.5.3.1.4: 510 octets + CRLF.
        ValidRow{"NOOP " + std::string(505, 'a'), "NOOP " + std::string(505, 'a')}));

struct InvalidRow {
  std::string line;
  CommandErrorKind kind;
  std::size_t offset;
  int reply_code;
  std::string enhanced;
};

class InvalidCommandTest : public testing::TestWithParam<InvalidRow> {};

TEST_P(InvalidCommandTest, RejectsWithKindOffsetAndReply) {
  const InvalidRow& row = GetParam();
  CommandResult r = ParseCommand(row.line);
  ASSERT_FALSE(r.ok()) << row.line;
  EXPECT_EQ(CommandErrorKindName(r.error.kind), CommandErrorKindName(row.kind))
      << row.line << ": " << r.error.message;
  EXPECT_EQ(r.error.offset, row.offset) << row.line << ": " << r.error.message;
  EXPECT_EQ(r.error.reply_code, row.reply_code) << row.line << ": " << r.error.message;
  EXPECT_EQ(r.error.enhanced_status, row.enhanced) << row.line << ": " << r.error.message;
  EXPECT_FALSE(r.error.message.empty());
}

using K = CommandErrorKind;

INSTANTIATE_TEST_SUITE_P(
    CommandParser, InvalidCommandTest,
    testing::Values(
        // Line level (§2.3.8, §4.5.3.1.4, §4.2.4).
        InvalidRow{"", K::kEmptyLine, 0, 500, "5.5.2"},
        InvalidRow{"FOO", K::kUnknownVerb, 0, 500, "5.5.1"},
        InvalidRow{"MAILX FROM:<>", K::kUnknownVerb, 0, 500, "5.5.1"},
        InvalidRow{"MAI", K::kUnknownVerb, 0, 500, "5.5.1"},
        InvalidRow{" DATA", K::kUnknownVerb, 0, 500, "5.5.1"},
        // RFC 821's SEND, SOML and TURN are gone from RFC 5321 (Appendix F);
        // a server answers them as unrecognized.
        InvalidRow{"SEND FROM:<Smith@bar.com>", K::kUnknownVerb, 0, 500, "5.5.1"},
        InvalidRow{"TURN", K::kUnknownVerb, 0, 500, "5.5.1"},
        InvalidRow{"SOML FROM:<a@b>", K::kUnknownVerb, 0, 500, "5.5.1"},
        InvalidRow{std::string("DATA\0x", 6), K::kForbiddenControl, 4, 500, "5.5.2"},
        InvalidRow{"MAIL FROM:<a@b>\rX", K::kForbiddenControl, 15, 500, "5.5.2"},
        InvalidRow{"RCPT TO:<a@b>\nRCPT TO:<c@d>", K::kForbiddenControl, 13, 500, "5.5.2"},
        InvalidRow{"NOOP \xC3\xA9", K::kNonAscii, 5, 501, "5.5.2"},
        InvalidRow{"NOOP " + std::string(506, 'a'), K::kLineTooLong, 510, 500, "5.5.2"},
        InvalidRow{"DATA x", K::kUnexpectedArgument, 4, 501, "5.5.4"},
        InvalidRow{"DATA ", K::kUnexpectedArgument, 4, 501, "5.5.4"},
        InvalidRow{"QUIT now", K::kUnexpectedArgument, 4, 501, "5.5.4"},
        InvalidRow{"STARTTLS x", K::kUnexpectedArgument, 8, 501, "5.5.4"},
        InvalidRow{"RSET\t", K::kUnknownVerb, 0, 500, "5.5.1"},
        // EHLO/HELO (§4.1.1.1).
        InvalidRow{"EHLO", K::kMissingArgument, 4, 501, "5.5.4"},
        InvalidRow{"EHLO ", K::kMissingArgument, 5, 501, "5.5.4"},
        InvalidRow{"EHLO -bad.example", K::kSyntax, 5, 501, "5.5.2"},
        InvalidRow{"EHLO a b", K::kSyntax, 6, 501, "5.5.2"},
        InvalidRow{"EHLO [300.0.0.1]", K::kSyntax, 6, 501, "5.5.2"},
        InvalidRow{"HELO [192.0.2.1]", K::kSyntax, 5, 501, "5.5.2"},
        // MAIL/RCPT structure (§4.1.1.2, §4.1.1.3).
        InvalidRow{"MAIL", K::kMissingArgument, 4, 501, "5.5.4"},
        InvalidRow{"MAIL TO:<a@b>", K::kSyntax, 4, 501, "5.5.2"},
        InvalidRow{"MAIL FROM", K::kSyntax, 4, 501, "5.5.2"},
        InvalidRow{"MAIL FROM:", K::kInvalidPath, 10, 501, "5.5.4"},
        InvalidRow{"MAIL FROM: <a@b>", K::kInvalidPath, 10, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:a@b", K::kInvalidPath, 10, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b", K::kInvalidPath, 14, 553, "5.1.7"},
        InvalidRow{"RCPT TO:<>", K::kInvalidPath, 8, 553, "5.1.3"},
        InvalidRow{"RCPT TO:<a@-b>", K::kInvalidPath, 11, 553, "5.1.3"},
        InvalidRow{"RCPT TO:<a@b", K::kInvalidPath, 12, 553, "5.1.3"},
        InvalidRow{"RCPT TO:<" + std::string(65, 'x') + "@b>", K::kInvalidPath, 73, 553, "5.1.3"},
        // RFC 6531 §3.4: UTF-8 paths need SMTPUTF8.
        InvalidRow{"MAIL FROM:<\xC3\xA9@x>", K::kUtf8NotAllowed, 11, 553, "5.6.7"},
        InvalidRow{"MAIL FROM:<\xC3\xA9@x> SIZE=1", K::kUtf8NotAllowed, 11, 553, "5.6.7"},
        InvalidRow{"RCPT TO:<\xC3\xA9@x>", K::kUtf8NotAllowed, 9, 553, "5.6.7"},
        InvalidRow{"MAIL FROM:<\xC3\x28@x> SMTPUTF8", K::kInvalidPath, 11, 553, "5.1.7"},
        InvalidRow{"VRFY \xC3\xA9", K::kUtf8NotAllowed, 5, 553, "5.6.7"},
        InvalidRow{"VRFY a\xC3 SMTPUTF8", K::kSyntax, 6, 501, "5.5.2"},
        InvalidRow{"VRFY \xC3\x28 SMTPUTF8", K::kSyntax, 6, 501, "5.5.2"},
        // §4.1.1.11: unknown and misplaced parameters are 555.
        InvalidRow{"MAIL FROM:<a@b> FOO=1", K::kUnknownParameter, 16, 555, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> X-EXPERIMENT", K::kUnknownParameter, 16, 555, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> NOTIFY=NEVER", K::kParameterNotAllowed, 16, 555, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> ORCPT=rfc822;a@b", K::kParameterNotAllowed, 16, 555, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> SIZE=1", K::kParameterNotAllowed, 14, 555, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> FOO", K::kUnknownParameter, 14, 555, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> RET=FULL", K::kParameterNotAllowed, 14, 555, "5.5.4"},
        // Duplicates.
        InvalidRow{"MAIL FROM:<a@b> SIZE=1 SIZE=2", K::kDuplicateParameter, 23, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> size=1 SIZE=1", K::kDuplicateParameter, 23, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> SMTPUTF8 SMTPUTF8", K::kDuplicateParameter, 25, 501, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> NOTIFY=NEVER NOTIFY=NEVER", K::kDuplicateParameter, 27, 501,
                   "5.5.4"},
        // Parameter syntax (§4.1.2 esmtp-param).
        InvalidRow{"MAIL FROM:<a@b>  SIZE=1", K::kSyntax, 16, 501, "5.5.2"},
        InvalidRow{"MAIL FROM:<a@b> ", K::kSyntax, 16, 501, "5.5.2"},
        InvalidRow{"MAIL FROM:<a@b>SIZE=1", K::kSyntax, 15, 501, "5.5.2"},
        InvalidRow{"MAIL FROM:<a@b> SI_ZE=1", K::kSyntax, 18, 501, "5.5.2"},
        InvalidRow{"MAIL FROM:<a@b> -X=1", K::kSyntax, 16, 501, "5.5.2"},
        InvalidRow{"MAIL FROM:<a@b> SIZE=", K::kSyntax, 21, 501, "5.5.2"},
        InvalidRow{"MAIL FROM:<a@b> SIZE=1=2", K::kSyntax, 22, 501, "5.5.2"},
        InvalidRow{"MAIL FROM:<a@b> SIZE=\x7F", K::kSyntax, 21, 501, "5.5.2"},
        // Parameter values.
        InvalidRow{"MAIL FROM:<a@b> SIZE", K::kInvalidParameterValue, 20, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> SIZE=x", K::kInvalidParameterValue, 21, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> SIZE=18446744073709551616", K::kInvalidParameterValue, 21, 501,
                   "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> SIZE=000000000000000000001", K::kInvalidParameterValue, 21,
                   501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> BODY=9BIT", K::kInvalidParameterValue, 21, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> SMTPUTF8=yes", K::kInvalidParameterValue, 25, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> RET=ALL", K::kInvalidParameterValue, 20, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> ENVID=a+2b", K::kInvalidParameterValue, 23, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> ENVID=a+2", K::kInvalidParameterValue, 23, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> ENVID=+00", K::kInvalidParameterValue, 22, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> ENVID=+C3+A9", K::kInvalidParameterValue, 22, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> ENVID=" + std::string(101, 'a'), K::kInvalidParameterValue,
                   122, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> AUTH=nobody", K::kInvalidParameterValue, 21, 501, "5.5.4"},
        InvalidRow{"MAIL FROM:<a@b> AUTH=<a@b>", K::kInvalidParameterValue, 21, 501, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> NOTIFY=NEVER,SUCCESS", K::kInvalidParameterValue, 21, 501,
                   "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> NOTIFY=SUCCESS,NEVER", K::kInvalidParameterValue, 21, 501,
                   "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> NOTIFY=SUCCESS,SUCCESS", K::kInvalidParameterValue, 29, 501,
                   "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> NOTIFY=SUCCESS,", K::kInvalidParameterValue, 29, 501, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> NOTIFY=sometimes", K::kInvalidParameterValue, 21, 501, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> ORCPT=a@b", K::kInvalidParameterValue, 21, 501, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> ORCPT=;a@b", K::kInvalidParameterValue, 20, 501, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> ORCPT=rfc822;", K::kInvalidParameterValue, 27, 501, "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> ORCPT=rfc822;a+0Ab", K::kInvalidParameterValue, 27, 501,
                   "5.5.4"},
        InvalidRow{"RCPT TO:<a@b> ORCPT=rfc822;+C3+A9@x", K::kInvalidParameterValue, 27, 501,
                   "5.5.4"},
        // BDAT (RFC 3030 §2).
        InvalidRow{"BDAT", K::kMissingArgument, 4, 501, "5.5.4"},
        InvalidRow{"BDAT x", K::kSyntax, 5, 501, "5.5.2"},
        InvalidRow{"BDAT -1", K::kSyntax, 5, 501, "5.5.2"},
        InvalidRow{"BDAT 10 FIRST", K::kSyntax, 7, 501, "5.5.2"},
        InvalidRow{"BDAT 10 LAST x", K::kSyntax, 7, 501, "5.5.2"},
        InvalidRow{"BDAT 10  LAST", K::kSyntax, 7, 501, "5.5.2"},
        InvalidRow{"BDAT 123456789012345678901", K::kSyntax, 5, 501, "5.5.2"},
        // AUTH (RFC 4954 §4).
        InvalidRow{"AUTH", K::kMissingArgument, 4, 501, "5.5.4"},
        InvalidRow{"AUTH PL@IN", K::kSyntax, 7, 501, "5.5.4"},
        InvalidRow{"AUTH " + std::string(21, 'A'), K::kSyntax, 5, 501, "5.5.4"},
        InvalidRow{"AUTH PLAIN ", K::kSyntax, 11, 501, "5.5.2"},
        InvalidRow{"AUTH PLAIN AGFsaWNl=", K::kSyntax, 20, 501, "5.5.2"},
        InvalidRow{"AUTH PLAIN QR==", K::kSyntax, 12, 501, "5.5.2"},
        InvalidRow{"AUTH PLAIN QUJ=", K::kSyntax, 13, 501, "5.5.2"},
        InvalidRow{"AUTH PLAIN Q===", K::kSyntax, 12, 501, "5.5.2"},
        InvalidRow{"AUTH PLAIN QQ==QUJD", K::kSyntax, 13, 501, "5.5.2"},
        InvalidRow{"AUTH PLAIN QU=D", K::kSyntax, 13, 501, "5.5.2"},
        InvalidRow{"AUTH PLAIN QUJD QUJD", K::kSyntax, 15, 501, "5.5.2"},
        // VRFY/EXPN/NOOP/HELP String (§4.1.2).
        InvalidRow{"VRFY", K::kMissingArgument, 4, 501, "5.5.4"},
        InvalidRow{"VRFY ", K::kSyntax, 5, 501, "5.5.2"},
        InvalidRow{"VRFY John Smith", K::kSyntax, 9, 501, "5.5.2"},
        InvalidRow{"VRFY a SMTPUTF9", K::kSyntax, 6, 501, "5.5.2"},
        InvalidRow{"EXPN \"abc", K::kSyntax, 9, 501, "5.5.2"},
        InvalidRow{"NOOP a b", K::kSyntax, 6, 501, "5.5.2"},
        InvalidRow{"NOOP ", K::kSyntax, 5, 501, "5.5.2"},
        InvalidRow{"HELP \"x", K::kSyntax, 7, 501, "5.5.2"}));

// Lines captured from swaks, Python smtplib and Postfix smtp-source (Debian
// 12) talking to a recording server: the strict defaults accept them all.
TEST(CommandParser, AcceptsLinesRealClientsSend) {
  const char* const lines[] = {
      "EHLO vm",
      "HELO vm",
      "ehlo [127.0.0.1]",
      "ehlo py.example",
      "helo py2.example",
      "MAIL FROM:<src@example.org>",
      "MAIL FROM:<root@vm>",
      "mail FROM:<>",
      "mail FROM:<a@example.org> size=18 BODY=8BITMIME",
      "mail FROM:<\xC3\xA9@exemple.fr> size=3 SMTPUTF8",
      "RCPT TO:<2dst@example.com>",
      "rcpt TO:<postmaster>",
      "rcpt TO:<b@example.com> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.com",
      "rcpt TO:<\xC3\xBC@exemple.de>",
      "AUTH PLAIN AHUAcA==",
      "AUTH LOGIN",
      "data",
      "DATA",
      "noop",
      "rset",
      "vrfy b",
      "quit",
      "QUIT",
  };
  CommandParseOptions options;
  options.allow_utf8 = true;  // the RCPT follows MAIL ... SMTPUTF8
  for (const char* line : lines) {
    CommandResult r = ParseCommand(line, options);
    EXPECT_TRUE(r.ok()) << line << ": " << r.error.message;
  }
}

TEST(CommandParser, MailFieldsAreDecoded) {
  CommandResult r = ParseCommand(
      "MAIL FROM:<Smith@bar.com> SIZE=500 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1 "
      "AUTH=smith+2Bx@bar.com");
  ASSERT_TRUE(r.ok()) << r.error.message;
  ASSERT_EQ(r.command.verb(), CommandVerb::kMail);
  const MailCommand* mail = r.command.get_if<MailCommand>();
  ASSERT_NE(mail, nullptr);
  EXPECT_EQ(mail->reverse_path.mailbox.local_part, "Smith");
  EXPECT_EQ(mail->reverse_path.mailbox.domain, "bar.com");
  EXPECT_EQ(mail->size, 500u);
  EXPECT_EQ(mail->body, BodyType::k8BitMime);
  EXPECT_EQ(mail->ret, DsnRet::kHdrs);
  EXPECT_EQ(mail->envid, "QQ+1");
  ASSERT_TRUE(mail->auth.has_value());
  EXPECT_FALSE(mail->auth->is_null);
  EXPECT_EQ(mail->auth->mailbox.local_part, "smith+x");
  EXPECT_FALSE(mail->smtputf8);
}

TEST(CommandParser, RcptFieldsAreDecoded) {
  CommandResult r = ParseCommand("RCPT TO:<a@b> NOTIFY=FAILURE,DELAY ORCPT=rfc822;Bob+2Bx@b");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const RcptCommand* rcpt = r.command.get_if<RcptCommand>();
  ASSERT_NE(rcpt, nullptr);
  ASSERT_TRUE(rcpt->notify.has_value());
  EXPECT_EQ(*rcpt->notify, (DsnNotify{false, false, true, true}));
  ASSERT_TRUE(rcpt->orcpt.has_value());
  EXPECT_EQ(rcpt->orcpt->addr_type, "rfc822");
  EXPECT_EQ(rcpt->orcpt->address, "Bob+x@b");
}

TEST(CommandParser, PostmasterForwardPath) {
  CommandResult r = ParseCommand("RCPT TO:<postmaster>");
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_TRUE(r.command.get_if<RcptCommand>()->forward_path.is_postmaster());
}

TEST(CommandParser, AuthInitialResponseIsDecoded) {
  CommandResult r = ParseCommand("AUTH plain AGFsaWNlAHNlY3JldA==");
  ASSERT_TRUE(r.ok()) << r.error.message;
  const AuthCommand* auth = r.command.get_if<AuthCommand>();
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->mechanism, "PLAIN");
  EXPECT_EQ(auth->initial_response, std::string("\0alice\0secret", 13));
  CommandResult empty = ParseCommand("AUTH PLAIN =");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty.command.get_if<AuthCommand>()->initial_response, "");
  CommandResult none = ParseCommand("AUTH PLAIN");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none.command.get_if<AuthCommand>()->initial_response.has_value());
}

TEST(CommandParser, BdatFields) {
  CommandResult r = ParseCommand("BDAT 18446744073709551615 LAST");
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(r.command.get_if<BdatCommand>()->chunk_size, UINT64_MAX);
  EXPECT_TRUE(r.command.get_if<BdatCommand>()->last);
}

TEST(CommandParser, VerbMatchesVariantIndex) {
  EXPECT_EQ(ParseCommand("HELO x").command.verb(), CommandVerb::kHelo);
  EXPECT_EQ(ParseCommand("EHLO x").command.verb(), CommandVerb::kEhlo);
  EXPECT_EQ(ParseCommand("DATA").command.verb(), CommandVerb::kData);
  EXPECT_EQ(ParseCommand("RSET").command.verb(), CommandVerb::kRset);
  EXPECT_EQ(ParseCommand("NOOP").command.verb(), CommandVerb::kNoop);
  EXPECT_EQ(ParseCommand("QUIT").command.verb(), CommandVerb::kQuit);
  EXPECT_EQ(ParseCommand("VRFY x").command.verb(), CommandVerb::kVrfy);
  EXPECT_EQ(ParseCommand("EXPN x").command.verb(), CommandVerb::kExpn);
  EXPECT_EQ(ParseCommand("HELP").command.verb(), CommandVerb::kHelp);
  EXPECT_EQ(ParseCommand("STARTTLS").command.verb(), CommandVerb::kStarttls);
  EXPECT_EQ(ParseCommand("AUTH X").command.verb(), CommandVerb::kAuth);
  EXPECT_EQ(ParseCommand("BDAT 1").command.verb(), CommandVerb::kBdat);
}

TEST(CommandParser, FormatEndsWithCrlf) {
  Command c{QuitCommand{}};
  EXPECT_EQ(FormatCommand(c), "QUIT\r\n");
}

TEST(CommandParser, ExtensionAllowancesLengthenMailAndRcpt) {
  // MAIL may be 512 + 26 (SIZE) + 100 (DSN) + 500 (AUTH) octets with CRLF.
  const std::string envid(100, 'e');
  std::string mail = "MAIL FROM:<" + std::string(60, 'l') + "@example.com> SIZE=1 ENVID=" + envid;
  mail += " AUTH=" + std::string(60, 'l') + "@example.com";
  CommandResult ok = ParseCommand(mail);
  EXPECT_TRUE(ok.ok()) << ok.error.message;
  CommandParseOptions plain;
  plain.extensions.size = plain.extensions.dsn = plain.extensions.auth = false;
  const std::string too_long = "NOOP " + std::string(600, 'x');
  CommandResult r = ParseCommand("MAIL FROM:<a@b> " + std::string(500, 'X'), plain);
  EXPECT_EQ(r.error.kind, CommandErrorKind::kLineTooLong);
  EXPECT_EQ(r.error.offset, 510u);
  // With every allowance the limit for MAIL is 1138 octets with CRLF.
  const std::string at_limit = "MAIL FROM:<a@b> X" + std::string(1136 - 17, 'Y');
  ASSERT_EQ(at_limit.size(), 1136u);
  EXPECT_EQ(ParseCommand(at_limit).error.kind, CommandErrorKind::kUnknownParameter);
  EXPECT_EQ(ParseCommand(at_limit + "Y").error.kind, CommandErrorKind::kLineTooLong);
  EXPECT_EQ(ParseCommand(at_limit + "Y").error.offset, 1136u);
  // RCPT gains 500 octets with DSN.
  const std::string rcpt = "RCPT TO:<a@b> X" + std::string(1010 - 15, 'Y');
  EXPECT_EQ(ParseCommand(rcpt).error.kind, CommandErrorKind::kUnknownParameter);
  EXPECT_EQ(ParseCommand(rcpt + "Y").error.kind, CommandErrorKind::kLineTooLong);
  EXPECT_EQ(ParseCommand(too_long).error.kind, CommandErrorKind::kLineTooLong);
}

TEST(CommandParser, LongAuthLineNeedsTheLeniency) {
  // 2000 base64 characters, like an XOAUTH2 token.
  const std::string line = "AUTH XOAUTH2 " + std::string(2000, 'Q');
  CommandResult strict = ParseCommand(line);
  EXPECT_EQ(strict.error.kind, CommandErrorKind::kLineTooLong);
  EXPECT_EQ(strict.error.offset, 510u);
  CommandParseOptions options;
  options.allow_long_auth_line = true;
  CommandResult lenient = ParseCommand(line, options);
  ASSERT_TRUE(lenient.ok()) << lenient.error.message;
  EXPECT_EQ(lenient.command.get_if<AuthCommand>()->initial_response->size(), 1500u);
  CommandResult too_long = ParseCommand("AUTH X " + std::string(12284, 'Q'), options);
  EXPECT_EQ(too_long.error.kind, CommandErrorKind::kLineTooLong);
  EXPECT_EQ(too_long.error.offset, kMaxAuthResponseLine - 2);
  // Other verbs keep the base limit.
  EXPECT_EQ(ParseCommand("NOOP " + std::string(600, 'x'), options).error.kind,
            CommandErrorKind::kLineTooLong);
}

TEST(CommandParser, ConfiguredLineLimit) {
  CommandParseOptions options;
  options.max_command_line = 12;
  EXPECT_TRUE(ParseCommand("NOOP abcde", options).ok());
  CommandResult r = ParseCommand("NOOP abcdef", options);
  EXPECT_EQ(r.error.kind, CommandErrorKind::kLineTooLong);
  EXPECT_EQ(r.error.offset, 10u);
}

TEST(CommandParser, DisabledExtensionsAreRejected) {
  CommandParseOptions options;
  options.extensions = EsmtpExtensions{false, false, false, false, false, false, false, false};
  struct Row {
    std::string line;
    CommandErrorKind kind;
    std::size_t offset;
    int code;
  };
  const Row rows[] = {
      {"STARTTLS", K::kVerbNotEnabled, 0, 502},
      {"BDAT 1 LAST", K::kVerbNotEnabled, 0, 502},
      {"AUTH PLAIN", K::kVerbNotEnabled, 0, 502},
      {"MAIL FROM:<a@b> SIZE=1", K::kParameterNotAllowed, 16, 555},
      {"MAIL FROM:<a@b> BODY=8BITMIME", K::kParameterNotAllowed, 16, 555},
      {"MAIL FROM:<a@b> SMTPUTF8", K::kParameterNotAllowed, 16, 555},
      {"MAIL FROM:<a@b> RET=FULL", K::kParameterNotAllowed, 16, 555},
      {"MAIL FROM:<a@b> ENVID=x", K::kParameterNotAllowed, 16, 555},
      {"MAIL FROM:<a@b> AUTH=<>", K::kParameterNotAllowed, 16, 555},
      {"RCPT TO:<a@b> NOTIFY=NEVER", K::kParameterNotAllowed, 14, 555},
      {"RCPT TO:<a@b> ORCPT=rfc822;a@b", K::kParameterNotAllowed, 14, 555},
      {"MAIL FROM:<\xC3\xA9@b> SMTPUTF8", K::kUtf8NotAllowed, 11, 553},
      {"VRFY x SMTPUTF8", K::kParameterNotAllowed, 7, 504},
  };
  for (const Row& row : rows) {
    CommandResult r = ParseCommand(row.line, options);
    EXPECT_EQ(CommandErrorKindName(r.error.kind), CommandErrorKindName(row.kind)) << row.line;
    EXPECT_EQ(r.error.offset, row.offset) << row.line;
    EXPECT_EQ(r.error.reply_code, row.code) << row.line;
  }
  // Base commands are unaffected.
  EXPECT_TRUE(ParseCommand("MAIL FROM:<a@b>", options).ok());
  EXPECT_TRUE(ParseCommand("DATA", options).ok());
}

TEST(CommandParser, BodyValuesFollowTheirExtensions) {
  CommandParseOptions options;
  options.extensions.binarymime = false;
  EXPECT_EQ(ParseCommand("MAIL FROM:<a@b> BODY=BINARYMIME", options).error.kind,
            CommandErrorKind::kParameterNotAllowed);
  EXPECT_TRUE(ParseCommand("MAIL FROM:<a@b> BODY=8BITMIME", options).ok());
  options.extensions.binarymime = true;
  options.extensions.eightbitmime = false;
  EXPECT_EQ(ParseCommand("MAIL FROM:<a@b> BODY=8BITMIME", options).error.kind,
            CommandErrorKind::kParameterNotAllowed);
  EXPECT_TRUE(ParseCommand("MAIL FROM:<a@b> BODY=7BIT", options).ok());
}

TEST(CommandParser, RcptUtf8NeedsTransactionFlag) {
  CommandParseOptions options;
  options.allow_utf8 = true;
  CommandResult r = ParseCommand("RCPT TO:<\xE7\x94\xA8\xE6\x88\xB7@\xE4\xBE\x8B.example>", options);
  ASSERT_TRUE(r.ok()) << r.error.message;
  EXPECT_EQ(ParseCommand(WithoutCrlf(FormatCommand(r.command)), options).command, r.command);
}

TEST(CommandParser, LeniencySwitches) {
  CommandParseOptions options;
  options.allow_space_before_path = true;
  CommandResult spaced = ParseCommand("MAIL FROM: <a@b> SIZE=1", options);
  ASSERT_TRUE(spaced.ok()) << spaced.error.message;
  EXPECT_EQ(FormatCommand(spaced.command), "MAIL FROM:<a@b> SIZE=1\r\n");

  options = {};
  options.allow_missing_angle_brackets = true;
  CommandResult bare = ParseCommand("RCPT TO:a@b NOTIFY=NEVER", options);
  ASSERT_TRUE(bare.ok()) << bare.error.message;
  EXPECT_EQ(FormatCommand(bare.command), "RCPT TO:<a@b> NOTIFY=NEVER\r\n");

  options = {};
  options.allow_helo_address_literal = true;
  CommandResult helo = ParseCommand("HELO [192.0.2.1]", options);
  ASSERT_TRUE(helo.ok()) << helo.error.message;
  EXPECT_EQ(helo.command.get_if<HeloCommand>()->domain_kind, DomainKind::kIPv4Literal);
}

TEST(CommandParser, ErrorMessagesDoNotEchoControlBytes) {
  CommandResult r = ParseCommand(std::string("MAIL FROM:<a\0b@c>", 17));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.message.find('\0'), std::string::npos);
}

TEST(CommandParser, PathErrorMessageUsesLineOffset) {
  CommandResult r = ParseCommand("RCPT TO:<a@-b>");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.address_error, AddressErrorKind::kInvalidDomain);
  EXPECT_EQ(r.error.message,
            "InvalidPath at offset 11: forward-path: a domain label cannot start with \"-\" "
            "(RFC 5321 §4.1.2)");
}

TEST(Xtext, DecodeAndEncode) {
  std::string out;
  EXPECT_EQ(DecodeXtext("a+2Bb+3Dc", &out), 9u);
  EXPECT_EQ(out, "a+b=c");
  std::string enc;
  AppendXtext(std::string("a+b=c \x01\xFF", 8), &enc);
  EXPECT_EQ(enc, "a+2Bb+3Dc+20+01+FF");
  out.clear();
  EXPECT_EQ(DecodeXtext("ab+2", &out), 2u);
  EXPECT_EQ(DecodeXtext("ab+zz", &out), 2u);
  EXPECT_EQ(DecodeXtext("a=b", &out), 1u);
  EXPECT_EQ(DecodeXtext("a b", &out), 1u);
}

}  // namespace
}  // namespace mxkit::smtp
