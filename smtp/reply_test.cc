#include "smtp/reply.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::smtp {
namespace {

ReplyParserOptions Strict() { return {}; }
ReplyParserOptions BareLf() {
  ReplyParserOptions o;
  o.allow_bare_lf = true;
  return o;
}
ReplyParserOptions EightBit() {
  ReplyParserOptions o;
  o.allow_8bit_text = true;
  return o;
}

// Everything a parser produced from one input.
struct Outcome {
  std::vector<Reply> replies;
  std::optional<ReplyError> error;
  size_t consumed = 0;
};

// Feeds `input` to a fresh parser in the chunks given by `cuts` (ascending
// offsets), re-feeding the unconsumed tail of a chunk after each reply, and
// calls Finish at the end.
Outcome FeedInChunks(std::string_view input, const std::vector<size_t>& cuts,
                     const ReplyParserOptions& options) {
  ReplyParser parser(options);
  Outcome out;
  size_t begin = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  for (size_t end : ends) {
    std::string_view chunk = input.substr(begin, end - begin);
    begin = end;
    while (true) {
      ReplyParser::Result r = parser.Feed(chunk);
      out.consumed += r.consumed;
      chunk.remove_prefix(r.consumed);
      if (r.reply) out.replies.push_back(*r.reply);
      if (r.error) {
        out.error = r.error;
        return out;
      }
      if (!r.reply) {
        EXPECT_TRUE(chunk.empty()) << "parser stopped without a reply or error";
        break;
      }
      if (chunk.empty()) break;
    }
  }
  out.error = parser.Finish();
  return out;
}

// Checks the outcome of feeding `input` whole against every two-chunk split
// and against one byte at a time.
void ExpectSameAtEverySplit(std::string_view input, const ReplyParserOptions& options) {
  Outcome whole = FeedInChunks(input, {}, options);
  for (size_t cut = 0; cut <= input.size(); ++cut) {
    Outcome split = FeedInChunks(input, {cut}, options);
    EXPECT_EQ(split.replies, whole.replies) << "cut at " << cut;
    EXPECT_EQ(split.error, whole.error) << "cut at " << cut;
    EXPECT_EQ(split.consumed, whole.consumed) << "cut at " << cut;
  }
  std::vector<size_t> every;
  for (size_t i = 1; i < input.size(); ++i) every.push_back(i);
  Outcome bytes = FeedInChunks(input, every, options);
  EXPECT_EQ(bytes.replies, whole.replies) << "byte at a time";
  EXPECT_EQ(bytes.error, whole.error) << "byte at a time";
}

struct ValidRow {
  std::string_view name;
  std::string input;
  ReplyParserOptions options;
  Reply expected;
  std::string canonical;  // FormatReply(expected); empty: same as input
};

std::vector<ValidRow> ValidRows() {
  return {
      // RFC 5321 Appendix D.1.
      {"AppendixD1Greeting", "220 foo.com Simple Mail Transfer Service Ready\r\n", Strict(),
       {220, {"foo.com Simple Mail Transfer Service Ready"}}, ""},
      {"AppendixD1Ehlo",
       "250-foo.com greets bar.com\r\n250-8BITMIME\r\n250-SIZE\r\n250-DSN\r\n250 HELP\r\n",
       Strict(),
       {250, {"foo.com greets bar.com", "8BITMIME", "SIZE", "DSN", "HELP"}}, ""},
      {"AppendixD1Ok", "250 OK\r\n", Strict(), {250, {"OK"}}, ""},
      {"AppendixD1NoSuchUser", "550 No such user here\r\n", Strict(),
       {550, {"No such user here"}}, ""},
      {"AppendixD1StartMailInput", "354 Start mail input; end with <CRLF>.<CRLF>\r\n", Strict(),
       {354, {"Start mail input; end with <CRLF>.<CRLF>"}}, ""},
      {"AppendixD1Closing", "221 foo.com Service closing transmission channel\r\n", Strict(),
       {221, {"foo.com Service closing transmission channel"}}, ""},
      // RFC 5321 §4.2.1's multi-line example, with a 2yz code (its "123" is
      // outside the Reply-code ABNF; see the invalid rows).
      {"Section421MultilineWithDigitsInText",
       "250-First line\r\n250-Second line\r\n250-234 text beginning with numbers\r\n"
       "250 The last line\r\n",
       Strict(),
       {250, {"First line", "Second line", "234 text beginning with numbers", "The last line"}},
       ""},
      {"CodeOnly", "250\r\n", Strict(), {250, {""}}, ""},
      {"EmptyContinuationLine", "250-\r\n250 end\r\n", Strict(), {250, {"", "end"}}, ""},
      // "250 " with nothing after the SP: [SP textstring] wants text, but the
      // meaning is unambiguous; it reads as empty text and formats as "250".
      {"SpaceWithoutText", "250 \r\n", Strict(), {250, {""}}, "250\r\n"},
      {"TextKeepsTabsAndSpaces", "250  \ta b  \r\n", Strict(), {250, {" \ta b  "}}, ""},
      {"HighestCode", "559 x\r\n", Strict(), {559, {"x"}}, ""},
      {"LowestCode", "200 x\r\n", Strict(), {200, {"x"}}, ""},
      {"Multiline421Banner",
       "421-mx.example.com Service not available\r\n421-Too many connections from your IP\r\n"
       "421 Try again later\r\n",
       Strict(),
       {421,
        {"mx.example.com Service not available", "Too many connections from your IP",
         "Try again later"}},
       ""},
      {"Multiline554Banner",
       "554-mx.example.net\r\n554 Your access to this mail system has been rejected due to the "
       "sending MTA's poor reputation.\r\n",
       Strict(),
       {554,
        {"mx.example.net",
         "Your access to this mail system has been rejected due to the sending MTA's poor "
         "reputation."}},
       ""},
      {"BareLfWhenAllowed", "250-a\n250 b\n", BareLf(), {250, {"a", "b"}},
       "250-a\r\n250 b\r\n"},
      {"BareLfAfterCodeWhenAllowed", "250\n", BareLf(), {250, {""}}, "250\r\n"},
      {"CrlfStillWorksWhenBareLfAllowed", "250-a\r\n250 b\n", BareLf(), {250, {"a", "b"}},
       "250-a\r\n250 b\r\n"},
      {"Utf8WhenAllowed", "220 mx.example.de Gr\xc3\xbc\xc3\x9f Gott\r\n", EightBit(),
       {220, {"mx.example.de Gr\xc3\xbc\xc3\x9f Gott"}}, ""},
  };
}

TEST(ReplyParser, ParsesValidRowsAtEverySplitPoint) {
  for (const ValidRow& row : ValidRows()) {
    SCOPED_TRACE(row.name);
    Outcome whole = FeedInChunks(row.input, {}, row.options);
    ASSERT_FALSE(whole.error) << whole.error->message;
    ASSERT_EQ(whole.replies.size(), 1u);
    EXPECT_EQ(whole.replies[0], row.expected);
    EXPECT_EQ(whole.consumed, row.input.size());
    ExpectSameAtEverySplit(row.input, row.options);
  }
}

TEST(ParseReply, ParsesValidRowsAndFormatsThemCanonically) {
  for (const ValidRow& row : ValidRows()) {
    SCOPED_TRACE(row.name);
    ReplyParseResult r = ParseReply(row.input, row.options);
    ASSERT_FALSE(r.error) << r.error->message;
    EXPECT_EQ(*r.reply, row.expected);
    std::string formatted = FormatReply(*r.reply);
    EXPECT_EQ(formatted, row.canonical.empty() ? row.input : row.canonical);
    // The canonical form parses strictly back to the same reply (8-bit text
    // still needs its leniency).
    ReplyParserOptions reparse_options;
    reparse_options.allow_8bit_text = row.options.allow_8bit_text;
    ReplyParseResult again = ParseReply(formatted, reparse_options);
    ASSERT_FALSE(again.error) << again.error->message;
    EXPECT_EQ(*again.reply, row.expected);
    EXPECT_TRUE(ValidateReply(row.expected, reparse_options).ok());
  }
}

struct InvalidRow {
  std::string_view name;
  std::string input;
  ReplyParserOptions options;
  ReplyErrorKind kind;
  size_t offset;
};

std::vector<InvalidRow> InvalidRows() {
  ReplyParserOptions short_lines;
  short_lines.max_line_length = 10;
  ReplyParserOptions two_lines;
  two_lines.max_lines = 2;
  return {
      {"LetterInCode", "25x ok\r\n", Strict(), ReplyErrorKind::kInvalidCode, 2},
      {"SpaceFirst", " 250 ok\r\n", Strict(), ReplyErrorKind::kInvalidCode, 0},
      {"EmptyLine", "\r\n", Strict(), ReplyErrorKind::kInvalidCode, 0},
      {"TwoDigitCode", "25 ok\r\n", Strict(), ReplyErrorKind::kInvalidCode, 2},
      {"LetterInSecondLineCode", "250-a\r\n2x0 b\r\n", Strict(), ReplyErrorKind::kInvalidCode,
       8},
      // RFC 5321 §4.2.1's own example uses 123, which §4.2's ABNF excludes.
      {"Rfc5321Section421ExampleCode", "123-First line\r\n123 The last line\r\n", Strict(),
       ReplyErrorKind::kCodeOutOfRange, 0},
      {"FirstDigitSix", "600 x\r\n", Strict(), ReplyErrorKind::kCodeOutOfRange, 0},
      {"FirstDigitZero", "050 x\r\n", Strict(), ReplyErrorKind::kCodeOutOfRange, 0},
      {"SecondDigitSix", "260 x\r\n", Strict(), ReplyErrorKind::kCodeOutOfRange, 1},
      {"SecondDigitNine", "590 x\r\n", Strict(), ReplyErrorKind::kCodeOutOfRange, 1},
      {"InconsistentFirstDigit", "250-a\r\n550 b\r\n", Strict(),
       ReplyErrorKind::kInconsistentCode, 7},
      {"InconsistentLastDigit", "250-a\r\n251 b\r\n", Strict(),
       ReplyErrorKind::kInconsistentCode, 9},
      {"InconsistentThirdLine", "421-a\r\n421-b\r\n420 c\r\n", Strict(),
       ReplyErrorKind::kInconsistentCode, 16},
      {"FourDigitCode", "2500 x\r\n", Strict(), ReplyErrorKind::kInvalidSeparator, 3},
      {"TabSeparator", "250\tx\r\n", Strict(), ReplyErrorKind::kInvalidSeparator, 3},
      {"NulInText", std::string("250 a\0b\r\n", 9), Strict(), ReplyErrorKind::kNul, 5},
      {"NulInCode", std::string("2\0" "50 x\r\n", 8), Strict(), ReplyErrorKind::kNul, 1},
      {"NulAfterCr", std::string("250 a\r\0", 7), Strict(), ReplyErrorKind::kBareCr, 5},
      {"BareLfEndsLine", "250 ok\n", Strict(), ReplyErrorKind::kBareLf, 6},
      {"BareLfAfterCode", "250\n", Strict(), ReplyErrorKind::kBareLf, 3},
      {"BareLfInMultiline", "250-a\r\n250-b\n250 c\r\n", Strict(), ReplyErrorKind::kBareLf, 12},
      {"BareCrInText", "250 a\rb\r\n", Strict(), ReplyErrorKind::kBareCr, 5},
      {"BareCrAfterCode", "250\rx", Strict(), ReplyErrorKind::kBareCr, 3},
      {"BareCrStillRejectedWhenBareLfAllowed", "250 a\rb\n", BareLf(),
       ReplyErrorKind::kBareCr, 5},
      {"CrCr", "250 a\r\r\n", Strict(), ReplyErrorKind::kBareCr, 5},
      {"ControlCharacter", "250 a\x1b[31m\r\n", Strict(), ReplyErrorKind::kInvalidCharacter, 5},
      {"Delete", "250 a\x7f\r\n", Strict(), ReplyErrorKind::kInvalidCharacter, 5},
      {"EightBitWhenStrict", "250 Gr\xc3\xbc\xc3\x9f\r\n", Strict(),
       ReplyErrorKind::kInvalidCharacter, 6},
      {"ControlCharacterEvenWith8Bit", "250 \x01\r\n", EightBit(),
       ReplyErrorKind::kInvalidCharacter, 4},
      // "250 12345\r\n" is 11 octets; the 11th (LF, offset 10) breaks a limit of 10.
      {"LineOneOctetTooLong", "250 12345\r\n", short_lines, ReplyErrorKind::kLineTooLong, 10},
      {"SecondLineTooLong", "250-a\r\n250 1234567890\r\n", short_lines,
       ReplyErrorKind::kLineTooLong, 17},
      {"ThirdLineOverLimit", "250-a\r\n250-b\r\n250 c\r\n", two_lines,
       ReplyErrorKind::kTooManyLines, 14},
  };
}

TEST(ReplyParser, ReportsErrorKindAndOffsetAtEverySplitPoint) {
  for (const InvalidRow& row : InvalidRows()) {
    SCOPED_TRACE(row.name);
    Outcome whole = FeedInChunks(row.input, {}, row.options);
    ASSERT_TRUE(whole.error);
    EXPECT_EQ(whole.error->kind, row.kind)
        << ReplyErrorKindName(whole.error->kind) << ": " << whole.error->message;
    EXPECT_EQ(whole.error->offset, row.offset) << whole.error->message;
    EXPECT_TRUE(whole.replies.empty());
    ExpectSameAtEverySplit(row.input, row.options);

    ReplyParseResult r = ParseReply(row.input, row.options);
    ASSERT_TRUE(r.error);
    EXPECT_EQ(r.error->kind, row.kind);
    EXPECT_EQ(r.error->offset, row.offset);
    EXPECT_FALSE(r.reply);
  }
}

TEST(ReplyParser, ErrorMessageSaysWhatAndWhere) {
  ReplyParseResult r = ParseReply("250-a\r\n251 b\r\n");
  ASSERT_TRUE(r.error);
  EXPECT_NE(r.error->message.find("line 2"), std::string::npos) << r.error->message;
  EXPECT_NE(r.error->message.find("offset 9"), std::string::npos) << r.error->message;
  EXPECT_NE(r.error->message.find("250"), std::string::npos) << r.error->message;
}

TEST(ReplyParser, AcceptsLineOfExactly512Octets) {
  std::string text(512 - 6, 'x');  // "250 " + text + CRLF
  std::string input = "250 " + text + "\r\n";
  ASSERT_EQ(input.size(), kMaxReplyLine);
  ReplyParseResult r = ParseReply(input);
  ASSERT_FALSE(r.error) << r.error->message;
  EXPECT_EQ(r.reply->lines[0], text);
}

TEST(ReplyParser, RejectsLineOf513OctetsAtTheLastOctet) {
  std::string input = "250 " + std::string(512 - 5, 'x') + "\r\n";
  ASSERT_EQ(input.size(), kMaxReplyLine + 1);
  ReplyParseResult r = ParseReply(input);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, ReplyErrorKind::kLineTooLong);
  EXPECT_EQ(r.error->offset, kMaxReplyLine);
}

TEST(ReplyParser, BareLfCountsAsCrlfTowardsTheLineLimit) {
  // 511 octets plus a bare LF would be 513 once formatted with CRLF.
  std::string input = "250 " + std::string(507, 'x') + "\n";
  ReplyParseResult r = ParseReply(input, BareLf());
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, ReplyErrorKind::kLineTooLong);
  EXPECT_EQ(r.error->offset, 511u);
  ReplyParseResult shorter = ParseReply("250 " + std::string(506, 'x') + "\n", BareLf());
  ASSERT_FALSE(shorter.error) << shorter.error->message;
  EXPECT_EQ(FormatReply(*shorter.reply).size(), kMaxReplyLine);
}

TEST(ReplyParser, RaisedLineLimitAcceptsLongerLines) {
  ReplyParserOptions options;
  options.max_line_length = 2048;
  std::string input = "250 " + std::string(1000, 'x') + "\r\n";
  EXPECT_FALSE(ParseReply(input, options).error);
  EXPECT_TRUE(ParseReply(input).error);
}

TEST(ReplyParser, AcceptsExactlyMaxLinesAndRejectsOneMore) {
  std::string input;
  for (size_t i = 1; i < kMaxReplyLines; ++i) input += "250-x\r\n";
  ReplyParseResult ok = ParseReply(input + "250 x\r\n");
  ASSERT_FALSE(ok.error) << ok.error->message;
  EXPECT_EQ(ok.reply->lines.size(), kMaxReplyLines);

  ReplyParseResult bad = ParseReply(input + "250-x\r\n250 x\r\n");
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.error->kind, ReplyErrorKind::kTooManyLines);
  EXPECT_EQ(bad.error->offset, input.size() + 7);
}

TEST(ReplyParser, StopsAfterEachReplyAndLeavesTheRest) {
  // After "220 Ready to start TLS" a client must not parse what follows in
  // plaintext (injected "250" replies); Feed hands those bytes back.
  std::string input = "220 Ready to start TLS\r\n250 injected\r\n";
  ReplyParser parser;
  ReplyParser::Result r = parser.Feed(input);
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(*r.reply, MakeReply(220, "Ready to start TLS"));
  EXPECT_EQ(r.consumed, 24u);
  EXPECT_FALSE(parser.in_reply());
  ReplyParser::Result next = parser.Feed(std::string_view(input).substr(r.consumed));
  ASSERT_TRUE(next.reply);
  EXPECT_EQ(*next.reply, MakeReply(250, "injected"));
  EXPECT_EQ(parser.offset(), input.size());
}

TEST(ReplyParser, ErrorsAreSticky) {
  ReplyParser parser;
  ReplyParser::Result r = parser.Feed("250 a\nmore");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.consumed, 5u);
  ReplyError first = *r.error;
  ReplyParser::Result again = parser.Feed("250 fine\r\n");
  EXPECT_EQ(again.consumed, 0u);
  EXPECT_FALSE(again.reply);
  ASSERT_TRUE(again.error);
  EXPECT_EQ(*again.error, first);
  EXPECT_EQ(parser.Finish(), first);
  EXPECT_EQ(parser.error(), first);
}

TEST(ReplyParser, FinishReportsTruncationOnlyInsideAReply) {
  ReplyParser idle;
  EXPECT_FALSE(idle.Finish());

  ReplyParser mid;
  mid.Feed("250-first\r\n");
  EXPECT_TRUE(mid.in_reply());
  std::optional<ReplyError> e = mid.Finish();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ReplyErrorKind::kTruncated);
  EXPECT_EQ(e->offset, 11u);

  ReplyParser after_cr;
  after_cr.Feed("250 x\r");
  e = after_cr.Finish();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, ReplyErrorKind::kTruncated);
}

TEST(ReplyParser, EmptyFeedConsumesNothing) {
  ReplyParser parser;
  ReplyParser::Result r = parser.Feed("");
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_FALSE(r.reply);
  EXPECT_FALSE(r.error);
  EXPECT_FALSE(parser.in_reply());
}

TEST(ParseReply, RejectsTrailingAndTruncatedInput) {
  ReplyParseResult trailing = ParseReply("250 ok\r\n250 again\r\n");
  ASSERT_TRUE(trailing.error);
  EXPECT_EQ(trailing.error->kind, ReplyErrorKind::kTrailingData);
  EXPECT_EQ(trailing.error->offset, 8u);

  ReplyParseResult truncated = ParseReply("250-ok\r\n250 ag");
  ASSERT_TRUE(truncated.error);
  EXPECT_EQ(truncated.error->kind, ReplyErrorKind::kTruncated);
  EXPECT_EQ(truncated.error->offset, 14u);

  ReplyParseResult empty = ParseReply("");
  ASSERT_TRUE(empty.error);
  EXPECT_EQ(empty.error->kind, ReplyErrorKind::kTruncated);
}

TEST(ParseReplies, ParsesAPipelinedResponseGroup) {
  // RFC 2920 §3.1: replies to MAIL, RCPT, RCPT, DATA arrive back to back.
  RepliesParseResult r = ParseReplies(
      "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n354 End data with "
      "<CR><LF>.<CR><LF>\r\n");
  ASSERT_FALSE(r.error) << r.error->message;
  ASSERT_EQ(r.replies.size(), 4u);
  EXPECT_EQ(r.replies[2], MakeReply(550, "5.1.1 No such user"));
  EXPECT_EQ(r.replies[3].code, 354);
}

TEST(ParseReplies, KeepsRepliesBeforeAnError) {
  RepliesParseResult r = ParseReplies("250 a\r\n250 b\r\n25");
  ASSERT_EQ(r.replies.size(), 2u);
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->kind, ReplyErrorKind::kTruncated);
  EXPECT_EQ(r.error->offset, 16u);
}

TEST(FormatReply, WritesRfc5321LinesByteExact) {
  struct Row {
    Reply reply;
    std::string_view wire;
  };
  const Row rows[] = {
      {{250, {"first", "last"}}, "250-first\r\n250 last\r\n"},
      {{250, {""}}, "250\r\n"},
      {{250, {}}, "250\r\n"},
      {{250, {"", ""}}, "250-\r\n250\r\n"},
      {{250, {"a", ""}}, "250-a\r\n250\r\n"},
      {{354, {"go"}}, "354 go\r\n"},
      // Not validated: malformed replies are written as the fields say.
      {{7, {"x"}}, "007 x\r\n"},
      {{1234, {"x"}}, "1234 x\r\n"},
  };
  for (const Row& row : rows) EXPECT_EQ(FormatReply(row.reply), row.wire);
}

TEST(ValidateReply, AcceptsWellFormedAndRejectsWhatWouldNotParseBack) {
  EXPECT_TRUE(ValidateReply(MakeReply(250, "ok")).ok());
  EXPECT_TRUE(ValidateReply(Reply{250, {}}).ok());
  EXPECT_FALSE(ValidateReply(MakeReply(199, "x")).ok());
  EXPECT_FALSE(ValidateReply(MakeReply(600, "x")).ok());
  EXPECT_FALSE(ValidateReply(MakeReply(260, "x")).ok());
  EXPECT_FALSE(ValidateReply(MakeReply(250, "a\r\n250 injected")).ok());
  EXPECT_FALSE(ValidateReply(MakeReply(250, "a\nb")).ok());
  EXPECT_FALSE(ValidateReply(MakeReply(250, std::string("a\0b", 3))).ok());
  EXPECT_FALSE(ValidateReply(MakeReply(250, "caf\xc3\xa9")).ok());
  EXPECT_TRUE(ValidateReply(MakeReply(250, "caf\xc3\xa9"), EightBit()).ok());
  EXPECT_TRUE(ValidateReply(MakeReply(250, std::string(506, 'x'))).ok());
  EXPECT_FALSE(ValidateReply(MakeReply(250, std::string(507, 'x'))).ok());
  ReplyParserOptions two;
  two.max_lines = 2;
  EXPECT_TRUE(ValidateReply(MakeMultilineReply(250, {"a", "b"}), two).ok());
  EXPECT_FALSE(ValidateReply(MakeMultilineReply(250, {"a", "b", "c"}), two).ok());
}

TEST(EnhancedStatusCode, ParsesRfc3463SyntaxOnly) {
  struct Row {
    std::string_view text;
    std::optional<EnhancedStatusCode> expected;
  };
  const Row rows[] = {
      {"2.0.0", EnhancedStatusCode{2, 0, 0}},
      {"5.7.1", EnhancedStatusCode{5, 7, 1}},
      {"4.4.7", EnhancedStatusCode{4, 4, 7}},
      {"5.999.999", EnhancedStatusCode{5, 999, 999}},
      {"2.01.000", EnhancedStatusCode{2, 1, 0}},
      {"3.0.0", std::nullopt},  // class is 2, 4 or 5
      {"1.0.0", std::nullopt},
      {"5.1000.0", std::nullopt},  // subject is 1*3digit
      {"5.1.1000", std::nullopt},
      {"5..1", std::nullopt},
      {"5.1.", std::nullopt},
      {"5.1", std::nullopt},
      {"55.1.1", std::nullopt},
      {"5.1.1 ", std::nullopt},
      {" 5.1.1", std::nullopt},
      {"5.a.1", std::nullopt},
      {"", std::nullopt},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(ParseEnhancedStatusCode(row.text), row.expected) << row.text;
  }
}

TEST(EnhancedStatusCode, FormatsAndParsesBack) {
  for (EnhancedStatusCode code : {EnhancedStatusCode{2, 0, 0}, EnhancedStatusCode{5, 7, 26},
                                  EnhancedStatusCode{4, 999, 999}}) {
    std::string text = FormatEnhancedStatusCode(code);
    EXPECT_EQ(ParseEnhancedStatusCode(text), code) << text;
  }
  EXPECT_EQ(FormatEnhancedStatusCode({5, 7, 1}), "5.7.1");
  std::string out = "550 ";
  AppendEnhancedStatusCode({5, 1, 10}, &out);
  EXPECT_EQ(out, "550 5.1.10");
}

TEST(EnhancedStatusCode, SplitsTheCodeOffTheFrontOfLineText) {
  struct Row {
    std::string_view line;
    std::optional<EnhancedStatusCode> code;
    std::string_view rest;
  };
  const Row rows[] = {
      {"2.1.0 Sender OK", EnhancedStatusCode{2, 1, 0}, "Sender OK"},
      {"5.7.1 ", EnhancedStatusCode{5, 7, 1}, ""},
      {"5.7.1", EnhancedStatusCode{5, 7, 1}, ""},
      {"5.7.1  two spaces", EnhancedStatusCode{5, 7, 1}, "two spaces"},
      {"5.1.1  https://support.google.com/mail/?p=NoSuchUser", EnhancedStatusCode{5, 1, 1},
       "https://support.google.com/mail/?p=NoSuchUser"},
      {"5.7.1: colon", std::nullopt, "5.7.1: colon"},
      {"5.7.1\ttab", std::nullopt, "5.7.1\ttab"},
      {"5.7.1000 long", std::nullopt, "5.7.1000 long"},
      {"Sender OK", std::nullopt, "Sender OK"},
      {"234 text beginning with numbers", std::nullopt, "234 text beginning with numbers"},
      {"", std::nullopt, ""},
  };
  for (const Row& row : rows) {
    EnhancedText split = SplitEnhancedStatusCode(row.line);
    EXPECT_EQ(split.code, row.code) << row.line;
    EXPECT_EQ(split.text, row.rest) << row.line;
  }
}

TEST(EnhancedStatusCode, MatchesReplyClass) {
  EXPECT_TRUE(EnhancedCodeMatches({2, 1, 0}, 250));
  EXPECT_TRUE(EnhancedCodeMatches({5, 1, 1}, 550));
  EXPECT_FALSE(EnhancedCodeMatches({5, 1, 1}, 450));
  EXPECT_FALSE(EnhancedCodeMatches({2, 0, 0}, 354));
}

TEST(MakeReply, PrefixesEnhancedCodeOnEveryLine) {
  EXPECT_EQ(FormatReply(MakeReply(550, {5, 1, 1}, "No such user")),
            "550 5.1.1 No such user\r\n");
  EXPECT_EQ(FormatReply(WithEnhancedStatusCode(MakeMultilineReply(421, {"a", "b"}), {4, 7, 0})),
            "421-4.7.0 a\r\n421 4.7.0 b\r\n");
  EXPECT_EQ(FormatReply(WithEnhancedStatusCode(Reply{250, {}}, {2, 0, 0})), "250 2.0.0\r\n");
}

TEST(MakeReply, CommonRepliesUseRfcWording) {
  EXPECT_EQ(FormatReply(ServiceReadyReply("foo.com", "Simple Mail Transfer Service Ready")),
            "220 foo.com Simple Mail Transfer Service Ready\r\n");
  EXPECT_EQ(FormatReply(ServiceReadyReply("foo.com")), "220 foo.com ESMTP\r\n");
  EXPECT_EQ(FormatReply(ClosingReply("foo.com")),
            "221 foo.com Service closing transmission channel\r\n");
  EXPECT_EQ(FormatReply(OkReply()), "250 OK\r\n");
  EXPECT_EQ(FormatReply(StartMailInputReply()),
            "354 Start mail input; end with <CRLF>.<CRLF>\r\n");
  EXPECT_EQ(FormatReply(ServiceNotAvailableReply("foo.com")),
            "421 foo.com Service not available, closing transmission channel\r\n");
  EXPECT_EQ(FormatReply(StartTlsReadyReply()), "220 Ready to start TLS\r\n");
  EXPECT_EQ(FormatReply(BadSequenceReply()), "503 Bad sequence of commands\r\n");
  EXPECT_EQ(FormatReply(LineTooLongReply()), "500 Line too long\r\n");
  for (const Reply& r :
       {LocalErrorReply(), InsufficientStorageReply(), TlsNotAvailableReply(),
        CommandUnrecognizedReply(), SyntaxErrorInParametersReply(),
        CommandNotImplementedReply(), ParameterNotImplementedReply(), MailboxUnavailableReply(),
        ExceededStorageReply(), TransactionFailedReply()}) {
    EXPECT_TRUE(ValidateReply(r).ok()) << FormatReply(r);
  }
  EXPECT_EQ(TlsNotAvailableReply().code, 454);
  EXPECT_EQ(ExceededStorageReply().code, 552);
  EXPECT_EQ(TransactionFailedReply().code, 554);
}

TEST(Reply, ClassifiesByFirstDigit) {
  EXPECT_TRUE(MakeReply(250, "").is_positive_completion());
  EXPECT_TRUE(MakeReply(354, "").is_positive_intermediate());
  EXPECT_TRUE(MakeReply(421, "").is_transient_failure());
  EXPECT_TRUE(MakeReply(554, "").is_permanent_failure());
  EXPECT_FALSE(MakeReply(554, "").is_transient_failure());
}

TEST(ReplyErrorKindName, NamesEveryKind) {
  EXPECT_EQ(ReplyErrorKindName(ReplyErrorKind::kBareLf), "bare LF");
  EXPECT_EQ(ReplyErrorKindName(ReplyErrorKind::kInconsistentCode), "inconsistent code");
}

}  // namespace
}  // namespace mxkit::smtp
