#include "message/cfws.h"

#include <cstddef>
#include <string>

#include "gtest/gtest.h"

namespace mxkit::message {
namespace {

using E = CfwsError;

struct Row {
  std::string text;
  E error;
  std::size_t offset;  // past the CFWS on success, of the bad byte on error
};

TEST(Cfws, SkipsFoldsAndNestedCommentsAndReportsErrorsWithOffsets) {
  const Row rows[] = {
      {"", E::kNone, 0},
      {"x", E::kNone, 0},
      {" \t x", E::kNone, 3},
      {" \r\n x", E::kNone, 4},
      {" \n\tx", E::kNone, 3},  // LF alone, as a lenient header block passes it
      {"(a (nested) \\) comment) x", E::kNone, 24},
      {"(a)(b) (c)x", E::kNone, 10},
      {"(folded\r\n comment)x", E::kNone, 18},
      {std::string("(\\\0)x", 5), E::kNone, 4},   // obs-qp: "\" NUL (RFC 5322 §4.1)
      {"(\\\r)x", E::kNone, 4},   // obs-qp: "\" CR
      {"(ok\x01\x7F)x", E::kNone, 6},  // obs-ctext: obs-NO-WS-CTL
      {"(caf\xC3\xA9)x", E::kNone, 7},  // RFC 6532 §3.2: UTF-8 in ctext
      // Line breaks: CRLF or LF, always followed by WSP.
      {" \r x", E::kBareCr, 1},
      {" \r\nx", E::kFoldWithoutWsp, 1},
      {" \r\n", E::kFoldWithoutWsp, 1},
      {" \nx", E::kFoldWithoutWsp, 1},
      // The same inside a comment: CR, LF and NUL are not ctext.
      {" (a\rb)", E::kBareCr, 3},
      {" (a\r\nb)", E::kFoldWithoutWsp, 3},
      {" (a\nb)", E::kFoldWithoutWsp, 3},
      {std::string(" (a\0b)", 6), E::kNulInComment, 3},
      {" (unterminated", E::kUnterminatedComment, 1},
      {" (a (b)", E::kUnterminatedComment, 1},
      {" (a\\)", E::kUnterminatedComment, 1},
      {" (a\\", E::kUnterminatedComment, 1},
  };
  for (const Row& row : rows) {
    CfwsResult r = SkipCfws(row.text, 0);
    EXPECT_EQ(r.error, row.error) << row.text << ": " << CfwsErrorName(r.error);
    EXPECT_EQ(r.offset, row.offset) << row.text;
  }
}

TEST(Cfws, BoundsCommentNesting) {
  const std::string ok = std::string(kMaxCommentDepth, '(') + std::string(kMaxCommentDepth, ')');
  EXPECT_EQ(SkipCfws(ok, 0).offset, ok.size());
  const std::string deep =
      " " + std::string(kMaxCommentDepth + 1, '(') + std::string(kMaxCommentDepth + 1, ')');
  CfwsResult r = SkipCfws(deep, 0);
  EXPECT_EQ(r.error, E::kCommentTooDeep);
  EXPECT_EQ(r.offset, 1 + kMaxCommentDepth);
}

TEST(Cfws, SkipFoldLeavesTheWspForQuotedStrings) {
  EXPECT_EQ(SkipFold("\r\n x", 0).offset, 2u);
  EXPECT_EQ(SkipFold("\n\tx", 0).offset, 1u);
  EXPECT_EQ(SkipFold("\rx", 0).error, E::kBareCr);
}

TEST(Cfws, StartsWhereItIsTold) {
  EXPECT_EQ(SkipCfws("abc (d) e", 3).offset, 8u);
  EXPECT_EQ(SkipComment("x(y)z", 1).offset, 4u);
}

TEST(Cfws, ErrorsHaveTextAndName) {
  for (E e : {E::kBareCr, E::kFoldWithoutWsp, E::kNulInComment, E::kUnterminatedComment,
              E::kCommentTooDeep}) {
    EXPECT_NE(CfwsErrorText(e), "unknown error");
    EXPECT_NE(CfwsErrorName(e), "Unknown");
  }
}

}  // namespace
}  // namespace mxkit::message
