#include "message/header_block.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::message {
namespace {

using namespace std::string_view_literals;
using E = HeaderBlockError;

// The invariant every successful split must keep: the raw fields, the
// separator and the body are the message, byte for byte, at their offsets.
void ExpectReassembles(std::string_view message, const HeaderBlock& b) {
  std::string joined;
  for (const HeaderField& f : b.fields) {
    EXPECT_EQ(f.offset, joined.size());
    EXPECT_EQ(f.raw.data(), message.data() + f.offset);
    EXPECT_EQ(f.raw.substr(0, f.name.size()), f.name);
    joined += f.raw;
  }
  EXPECT_EQ(b.separator_offset, joined.size());
  joined += b.separator;
  EXPECT_EQ(b.body_offset, joined.size());
  joined += b.body;
  EXPECT_EQ(joined, message);
}

struct Field {
  std::string_view name;
  std::string_view raw_value;
};

struct ValidRow {
  const char* name;
  std::string_view message;
  std::vector<Field> fields;
  std::string_view separator;
  std::string_view body;
  HeaderBlockOptions options = {};
};

HeaderBlockOptions BareLf() {
  HeaderBlockOptions o;
  o.allow_bare_lf = true;
  return o;
}

HeaderBlockOptions WspBeforeColon() {
  HeaderBlockOptions o;
  o.allow_wsp_before_colon = true;
  return o;
}

HeaderBlockOptions Unterminated() {
  HeaderBlockOptions o;
  o.allow_unterminated_last_field = true;
  return o;
}

TEST(SplitHeaderBlock, SplitsValidMessages) {
  const ValidRow rows[] = {
      {"Simple", "From: a@example.com\r\nTo: b@example.org\r\n\r\nHello\r\n",
       {{"From", " a@example.com"}, {"To", " b@example.org"}}, "\r\n", "Hello\r\n"},
      {"FoldedFieldKeepsFolding", "Subject: one\r\n two\r\n\tthree\r\nX: y\r\n\r\n",
       {{"Subject", " one\r\n two\r\n\tthree"}, {"X", " y"}}, "\r\n", ""},
      {"NoBody", "A: 1\r\nB: 2\r\n", {{"A", " 1"}, {"B", " 2"}}, "", ""},
      {"EmptyMessage", "", {}, "", ""},
      {"OnlySeparator", "\r\nbody", {}, "\r\n", "body"},
      {"EmptyValue", "X-Empty:\r\n\r\n", {{"X-Empty", ""}}, "\r\n", ""},
      {"NoSpaceAfterColon", "X:y\r\n\r\n", {{"X", "y"}}, "\r\n", ""},
      {"ColonInValue", "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n",
       {{"Date", " Mon, 1 Jan 2024 10:00:00 +0000"}}, "\r\n", ""},
      {"BodyMayHoldAnything", "A: b\r\n\r\n\n\r\0 :x\r\n"sv, {{"A", " b"}}, "\r\n",
       "\n\r\0 :x\r\n"sv},
      {"WhitespaceOnlyContinuation", "A: b\r\n \r\n\r\n", {{"A", " b\r\n "}}, "\r\n", ""},
      {"EightBitValue", "Subject: caf\xc3\xa9\r\n\r\n", {{"Subject", " caf\xc3\xa9"}}, "\r\n",
       ""},
      {"OddButLegalName", "X-~!#$%&'*+-.^_`{|}:v\r\n\r\n", {{"X-~!#$%&'*+-.^_`{|}", "v"}},
       "\r\n", ""},
      {"BareLfLeniency", "A: 1\nB: 2\n x\n\nbody\n", {{"A", " 1"}, {"B", " 2\n x"}}, "\n",
       "body\n", BareLf()},
      {"BareLfLeniencyStillTakesCrlf", "A: 1\r\nB: 2\n\r\nbody", {{"A", " 1"}, {"B", " 2"}},
       "\r\n", "body", BareLf()},
      {"WspBeforeColonLeniency", "Subject : hi\r\n\r\n", {{"Subject", " hi"}}, "\r\n", "",
       WspBeforeColon()},
      {"UnterminatedLastFieldLeniency", "A: 1\r\nB: 2", {{"A", " 1"}, {"B", " 2"}}, "", "",
       Unterminated()},
  };
  for (const ValidRow& row : rows) {
    SCOPED_TRACE(row.name);
    const HeaderBlockResult r = SplitHeaderBlock(row.message, row.options);
    ASSERT_TRUE(r.ok()) << r.message;
    ASSERT_EQ(r.block.fields.size(), row.fields.size());
    for (std::size_t i = 0; i < row.fields.size(); ++i) {
      EXPECT_EQ(r.block.fields[i].name, row.fields[i].name);
      EXPECT_EQ(r.block.fields[i].raw_value, row.fields[i].raw_value);
    }
    EXPECT_EQ(r.block.separator, row.separator);
    EXPECT_EQ(r.block.body, row.body);
    ExpectReassembles(row.message, r.block);
  }
}

TEST(SplitHeaderBlock, RawIncludesNameThroughFinalCrlf) {
  const std::string_view m = "Subject: a\r\n b\r\nTo: c\r\n\r\nbody";
  const HeaderBlockResult r = SplitHeaderBlock(m);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.block.fields[0].raw, "Subject: a\r\n b\r\n");
  EXPECT_EQ(r.block.fields[0].offset, 0u);
  EXPECT_EQ(r.block.fields[1].raw, "To: c\r\n");
  EXPECT_EQ(r.block.fields[1].offset, 16u);
  EXPECT_EQ(r.block.separator_offset, 23u);
  EXPECT_EQ(r.block.body_offset, 25u);
}

struct ErrorRow {
  const char* name;
  std::string_view message;
  E error;
  std::size_t offset;
  HeaderBlockOptions options = {};
};

HeaderBlockOptions Limits(std::size_t fields, std::size_t bytes) {
  HeaderBlockOptions o;
  o.max_fields = fields;
  o.max_field_bytes = bytes;
  return o;
}

TEST(SplitHeaderBlock, RejectsMalformedHeaderBlocks) {
  const ErrorRow rows[] = {
      {"LineWithoutColon", "A: 1\r\nnot a header\r\n\r\n", E::kMissingColon, 6},
      {"MboxFromLine", "From someone@example.com Mon Jan 1\r\nA: b\r\n\r\n", E::kMissingColon,
       0},
      {"NameWithoutColonAtEnd", "A: 1\r\nB", E::kMissingColon, 6},
      {"EmptyName", ": value\r\n\r\n", E::kEmptyFieldName, 0},
      {"SpaceInName", "Sub ject: x\r\n\r\n", E::kInvalidFieldName, 3},
      {"WspBeforeColonIsStrictError", "Subject : x\r\n\r\n", E::kInvalidFieldName, 7},
      {"ControlInName", "A\x01"
                        "B: x\r\n\r\n",
       E::kInvalidFieldName, 1},
      {"EightBitInName", "Caf\xc3\xa9: x\r\n\r\n", E::kInvalidFieldName, 3},
      {"FirstLineContinuation", " A: 1\r\n\r\n", E::kLeadingContinuation, 0},
      {"FirstLineTab", "\tA: 1\r\n\r\n", E::kLeadingContinuation, 0},
      {"BareLfEndsField", "A: 1\nB: 2\r\n\r\n", E::kBareLf, 4},
      {"BareLfInsteadOfSeparator", "A: 1\r\n\nbody", E::kBareLf, 6},
      {"BareCrInValue", "A: 1\r2\r\n\r\n", E::kBareCr, 4},
      {"BareCrSeparator", "A: 1\r\n\rbody", E::kBareCr, 6},
      {"BareCrEvenWhenLfAllowed", "A: 1\r2\n\n", E::kBareCr, 4, BareLf()},
      {"CrAtVeryEnd", "A: 1\r", E::kBareCr, 4},
      {"NulInValue", "A: 1\0002\r\n\r\n"sv, E::kNul, 4},
      {"NulInName", "A\0: 1\r\n\r\n"sv, E::kNul, 1},
      {"UnterminatedLastField", "A: 1\r\nB: 2", E::kUnterminatedField, 10},
      {"UnterminatedFoldedField", "A: 1\r\n 2", E::kUnterminatedField, 8},
      {"TooManyFields", "A: 1\r\nB: 2\r\nC: 3\r\n\r\n", E::kTooManyFields, 12, Limits(2, 100)},
      {"FieldTooLong", "A: 1\r\nB: 123456789\r\n\r\n", E::kFieldTooLong, 6 + 10,
       Limits(10, 10)},
      {"FoldedFieldTooLong", "B: 1234\r\n 56789\r\n\r\n", E::kFieldTooLong, 10, Limits(10, 10)},
      {"UnterminatedFieldTooLong", "B: 123456789", E::kFieldTooLong, 10, Limits(10, 10)},
  };
  for (const ErrorRow& row : rows) {
    SCOPED_TRACE(row.name);
    const HeaderBlockResult r = SplitHeaderBlock(row.message, row.options);
    EXPECT_EQ(r.error, row.error) << HeaderBlockErrorName(r.error) << ": " << r.message;
    EXPECT_EQ(r.offset, row.offset) << r.message;
    EXPECT_FALSE(r.message.empty());
    EXPECT_NE(r.message.find(std::string(HeaderBlockErrorName(row.error))), std::string::npos);
  }
}

// The line scan reads blocks of 16 bytes: a CR, LF or NUL is found, and a
// field bound applied, at every offset of a long line, not only in the short
// lines of the tables above.
TEST(SplitHeaderBlock, FindsLineEndsAndNulAtEveryOffsetOfALongLine) {
  const std::string value(70, 'v');
  for (std::size_t at = 0; at < value.size(); ++at) {
    SCOPED_TRACE(at);
    const std::size_t offset = 3 + at;  // after "A: "
    std::string v = value;
    v[at] = '\0';
    HeaderBlockResult r = SplitHeaderBlock("A: " + v + "\r\n\r\n");
    EXPECT_EQ(r.error, E::kNul);
    EXPECT_EQ(r.offset, offset);
    v[at] = '\r';
    r = SplitHeaderBlock("A: " + v + "\r\n\r\n");
    EXPECT_EQ(r.error, E::kBareCr);
    EXPECT_EQ(r.offset, offset);
    v[at] = '\n';
    r = SplitHeaderBlock("A: " + v + "\r\n\r\n");
    EXPECT_EQ(r.error, E::kBareLf);
    EXPECT_EQ(r.offset, offset);
    const std::string message = "A: " + value.substr(0, at) + "\r\n\r\nbody";  // viewed by r
    r = SplitHeaderBlock(message);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.block.fields[0].raw_value, " " + value.substr(0, at));
    EXPECT_EQ(r.block.body, "body");
    // "A: " + at bytes + CRLF is at + 5 bytes: accepted at that bound, refused below.
    EXPECT_TRUE(SplitHeaderBlock("A: " + value.substr(0, at) + "\r\n\r\n", Limits(1, at + 5)).ok());
    r = SplitHeaderBlock("A: " + value.substr(0, at) + "\r\n\r\n", Limits(1, at + 4));
    EXPECT_EQ(r.error, E::kFieldTooLong);
    EXPECT_EQ(r.offset, at + 4);
  }
}

TEST(SplitHeaderBlock, FieldExactlyAtTheBoundIsAccepted) {
  // "B: 1234567\r\n" is 12 bytes.
  const HeaderBlockResult r = SplitHeaderBlock("B: 1234567\r\n\r\n", Limits(1, 12));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.block.fields.size(), 1u);
  EXPECT_EQ(SplitHeaderBlock("B: 12345678\r\n\r\n", Limits(1, 12)).error, E::kFieldTooLong);
}

// header_block_fuzzer crash-10b3d885: an unterminated last field (allowed)
// longer than max_field_bytes ending exactly at the end of the message.
TEST(SplitHeaderBlock, UnterminatedLastFieldIsBoundedToo) {
  HeaderBlockOptions o = Limits(1, 1);
  o.allow_unterminated_last_field = true;
  const HeaderBlockResult r = SplitHeaderBlock("?:", o);
  EXPECT_EQ(r.error, E::kFieldTooLong);
  EXPECT_EQ(r.offset, 1u);
  o.max_field_bytes = 2;
  EXPECT_TRUE(SplitHeaderBlock("?:", o).ok());
}

TEST(SplitHeaderBlock, PartialFieldsAreKeptOnError) {
  const HeaderBlockResult r = SplitHeaderBlock("A: 1\r\nB: 2\r\nbad\r\n\r\n");
  EXPECT_EQ(r.error, E::kMissingColon);
  ASSERT_EQ(r.block.fields.size(), 2u);
  EXPECT_EQ(r.block.fields[1].name, "B");
}

TEST(HeaderBlock, FindsFieldsIgnoringCaseInOrder) {
  const std::string_view m =
      "Received: one\r\nSubject: s\r\nRECEIVED: two\r\nreceived: three\r\n\r\n";
  const HeaderBlockResult r = SplitHeaderBlock(m);
  ASSERT_TRUE(r.ok());
  const std::vector<const HeaderField*> all = r.block.FindAll("received");
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->raw_value, " one");
  EXPECT_EQ(all[1]->raw_value, " two");
  EXPECT_EQ(all[2]->raw_value, " three");
  ASSERT_NE(r.block.FindFirst("SUBJECT"), nullptr);
  EXPECT_EQ(r.block.FindFirst("SUBJECT")->raw_value, " s");
  EXPECT_EQ(r.block.FindFirst("Subjec"), nullptr);
  EXPECT_TRUE(r.block.FindAll("To").empty());
  EXPECT_TRUE(HeaderNameEquals("DKIM-Signature", "dkim-signature"));
  EXPECT_FALSE(HeaderNameEquals("DKIM-Signature", "DKIM_Signature"));
}

TEST(UnfoldHeaderValue, RemovesFoldingAndTrimsForDisplay) {
  struct Row {
    std::string_view raw;
    std::string_view unfolded;
  };
  const Row rows[] = {
      {" hello", "hello"},
      {" one\r\n two", "one two"},
      {" one\r\n\ttwo  ", "one\ttwo"},
      {" a\n b", "a b"},
      {"", ""},
      {" \r\n ", ""},
      {" keep\r\nnot-a-fold", "keep\r\nnot-a-fold"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(UnfoldHeaderValue(row.raw), row.unfolded) << testing::PrintToString(row.raw);
  }
}

TEST(SplitHeaderBlock, DefaultBoundsAreTheNamedConstants) {
  std::string many;
  for (std::size_t i = 0; i <= kMaxHeaderFields; ++i) many += "X: y\r\n";
  many += "\r\n";
  const HeaderBlockResult r = SplitHeaderBlock(many);
  EXPECT_EQ(r.error, E::kTooManyFields);
  EXPECT_EQ(r.offset, kMaxHeaderFields * 6);

  const std::string huge = "X: " + std::string(kMaxHeaderFieldBytes, 'a') + "\r\n\r\n";
  EXPECT_EQ(SplitHeaderBlock(huge).error, E::kFieldTooLong);
  EXPECT_EQ(SplitHeaderBlock(huge).offset, kMaxHeaderFieldBytes);
}

}  // namespace
}  // namespace mxkit::message
