#include "message/mime.h"

#include <string>

#include "gtest/gtest.h"

namespace mxkit::message {
namespace {

TEST(DecodeHeaderText, DecodesEncodedWordsAndDropsSpaceBetweenThem) {
  struct Row {
    const char* raw;
    const char* want;
  } rows[] = {
      {" plain subject", "plain subject"},
      {" =?utf-8?q?caf=C3=A9?=", "caf\xC3\xA9"},
      {" =?UTF-8?B?Y2Fmw6k=?=", "caf\xC3\xA9"},
      {" =?iso-8859-1?q?caf=E9?= ok", "caf\xC3\xA9 ok"},
      // RFC 2047 §8: white space between adjacent encoded words is dropped.
      {" (=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)"},
      {" =?ISO-8859-1?Q?a?=\r\n  =?ISO-8859-1?Q?b?=", "ab"},
      {" =?ISO-8859-1?Q?a_b?=", "a b"},
      {" x =?utf-8?q?y?= z", "x y z"},
      // Not encoded words: kept as written.
      {" =?utf-8?x?abc?=", "=?utf-8?x?abc?="},
      {" =?utf-8?q?a b?=", "=?utf-8?q?a b?="},
      {" a=?b", "a=?b"},
      // Invalid UTF-8 never reaches the output.
      {" \xFF", "\xEF\xBF\xBD"},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(DecodeHeaderText(r.raw), r.want) << r.raw;
  }
}

TEST(DecodeHeaderText, ReadsAFieldFullOfUnfinishedWordsInLinearTime) {
  // Without the kMaxEncodedWordBytes window each "=?" scanned to the end.
  // "=?a?q?x" has no "?=": each word start searched to the field's end.
  std::string field;
  for (int i = 0; i < 20000; ++i) field += "=?a?q?x";
  EXPECT_EQ(DecodeHeaderText(field), field);
  std::string long_word = "=?utf-8?q?" + std::string(kMaxEncodedWordBytes, 'a') + "?=";
  EXPECT_EQ(DecodeHeaderText(long_word), long_word);
}

TEST(DecodeQuotedPrintable, DecodesEscapesSoftBreaksAndKeepsStrayEquals) {
  struct Row {
    const char* in;
    const char* want;
  } rows[] = {
      {"caf=C3=A9", "caf\xC3\xA9"},
      {"long=\r\nline", "longline"},
      {"a\r\nb", "a\r\nb"},
      {"trailing   \r\nx", "trailing\r\nx"},
      {"1+1=2", "1+1=2"},
      {"=ZZ", "=ZZ"},
      {"lf=\nonly", "lfonly"},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(DecodeQuotedPrintable(r.in), r.want) << r.in;
  }
}

TEST(ReadAddressList, ReadsNamesAddressesGroupsAndComments) {
  struct Row {
    const char* raw;
    std::vector<std::pair<std::string, std::string>> want;
  } rows[] = {
      {" a@example.test", {{"", "a@example.test"}}},
      {" Alice <a@example.test>", {{"Alice", "a@example.test"}}},
      {" \"Doe, Jane\" <j@example.test>, b@example.test",
       {{"Doe, Jane", "j@example.test"}, {"", "b@example.test"}}},
      {" =?utf-8?q?J=C3=B6rg?= <j@example.test>", {{"J\xC3\xB6rg", "j@example.test"}}},
      {" j@example.test (Jane Doe)", {{"Jane Doe", "j@example.test"}}},
      {" Team: a@example.test, B <b@example.test>;",
       {{"", "a@example.test"}, {"B", "b@example.test"}}},
      {" undisclosed-recipients:;", {}},
      {" <@route.test:r@example.test>", {{"", "r@example.test"}}},
      {"", {}},
      // Read since the parser moved to message/mailbox_list.h, where the old
      // splitter dropped the quoted local-part ("@example.test") and kept
      // comments inside the address ("pete(his)@silly.test").
      {" \"quoted local\"@example.test", {{"", "\"quoted local\"@example.test"}}},
      {" Pete <pete(his account)@silly.test>", {{"Pete", "pete@silly.test"}}},
      {" Team:(a comment, no mailbox);", {}},
      // Lenient: what is no mailbox is still shown, and the rest read.
      {" root, Jane Doe [Co] <j@example.test>,, b@example.test",
       {{"", "root"}, {"Jane Doe [Co]", "j@example.test"}, {"", "b@example.test"}}},
  };
  for (const Row& r : rows) {
    std::vector<DisplayAddress> got = ReadAddressList(r.raw);
    ASSERT_EQ(got.size(), r.want.size()) << r.raw;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].name, r.want[i].first) << r.raw;
      EXPECT_EQ(got[i].address, r.want[i].second) << r.raw;
    }
  }
}

TEST(ParseRfc5322Date, ParsesCurrentAndObsoleteFormsAndRejectsImpossibleDates) {
  struct Row {
    const char* raw;
    std::optional<int64_t> want;
  } rows[] = {
      {" Thu, 13 Feb 1969 23:32:54 -0330", -27723426},  // RFC 5322 Appendix A.1.3
      {" Fri, 21 Nov 1997 09:55:06 -0600", 880127706},
      {" 1 Jan 2026 00:00:00 +0000", 1767225600},
      {" 1 Jan 26 00:00 GMT", 1767225600},
      {" Thu, 1 Jan 2026 01:00:00 +0100 (CET)", 1767225600},
      {" 29 Feb 2024 12:00:00 +0000", 1709208000},
      {" 29 Feb 2023 12:00:00 +0000", std::nullopt},
      {" 1 Foo 2026 00:00:00 +0000", std::nullopt},
      {" 1 Jan 2026 24:00:00 +0000", std::nullopt},
      {"", std::nullopt},
      {" yesterday", std::nullopt},
  };
  for (const Row& r : rows) {
    EXPECT_EQ(ParseRfc5322Date(r.raw), r.want) << r.raw;
  }
}

TEST(ParseMimeHeaderValue, LowercasesValueUnquotesAndDecodesExtendedParameters) {
  MimeHeaderValue v = ParseMimeHeaderValue(
      "Multipart/Mixed; Boundary=\"a b\\\"c\"; charset=utf-8 ; filename*=utf-8''caf%C3%A9.txt");
  EXPECT_EQ(v.value, "multipart/mixed");
  EXPECT_EQ(v.Param("boundary").value_or("?"), "a b\"c");
  EXPECT_EQ(v.Param("charset").value_or("?"), "utf-8");
  EXPECT_EQ(v.Param("filename").value_or("?"), "caf\xC3\xA9.txt");
  EXPECT_FALSE(v.Param("name").has_value());
}

// A fuzz counterexample (fuzz/regressions/mime_fuzzer): "*=" became a
// parameter with an empty name once its '*' was stripped.
TEST(ParseMimeHeaderValue, DropsParametersWithoutAName) {
  MimeHeaderValue v = ParseMimeHeaderValue("text/plain; *=x; =y; *; a=b");
  ASSERT_EQ(v.params.size(), 1u);
  EXPECT_EQ(v.params[0].first, "a");
}

constexpr char kMixed[] =
    "From: a@example.test\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=inner\r\n"
    "\r\n"
    "--inner\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Hello caf=C3=A9\r\n"
    "--inner\r\n"
    "Content-Type: text/html; charset=iso-8859-1\r\n"
    "\r\n"
    "<p>caf\xE9</p>\r\n"
    "--inner--\r\n"
    "--outer\r\n"
    "Content-Type: image/png\r\n"
    "Content-ID: <logo@example.test>\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0K\r\n"
    "GgoA\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf; name=\"=?utf-8?q?r=C3=A9sum=C3=A9.pdf?=\"\r\n"
    "Content-Disposition: attachment\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0=\r\n"
    "--outer--\r\n"
    "epilogue\r\n";

TEST(ReadMimeContent, ReadsNestedMultipartBodiesInlinesAndAttachments) {
  MimeContent c = ReadMimeContent(kMixed);
  EXPECT_EQ(c.text, "Hello caf\xC3\xA9");
  EXPECT_EQ(c.html, "<p>caf\xC3\xA9</p>");
  ASSERT_EQ(c.inlines.size(), 1u);
  EXPECT_EQ(c.inlines[0].part_id, "2");
  EXPECT_EQ(c.inlines[0].content_type, "image/png");
  EXPECT_EQ(c.inlines[0].content_id, "logo@example.test");
  EXPECT_EQ(c.inlines[0].content, std::string("\x89PNG\r\n\x1a\n\x00", 9));
  ASSERT_EQ(c.attachments.size(), 1u);
  EXPECT_EQ(c.attachments[0].part_id, "3");
  EXPECT_EQ(c.attachments[0].file_name, "r\xC3\xA9sum\xC3\xA9.pdf");
  EXPECT_EQ(c.attachments[0].content, "%PDF-");
  EXPECT_TRUE(c.warnings.empty()) << c.warnings[0];
}

TEST(ReadMimeContent, ReadsASinglePartMessageWithLfLineEnds) {
  MimeContent c = ReadMimeContent("Subject: x\nContent-Type: text/plain\n\nbody\n");
  EXPECT_EQ(c.text, "body\n");
  EXPECT_TRUE(c.html.empty());
  EXPECT_TRUE(c.attachments.empty());
}

TEST(ReadMimeContent, WarnsAndReadsOnWhenTheCloseDelimiterIsMissing) {
  MimeContent c = ReadMimeContent(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nfirst\r\n--b\r\n"
      "Content-Type: text/html\r\n\r\n<b>x</b>");
  EXPECT_EQ(c.text, "first");
  EXPECT_EQ(c.html, "<b>x</b>");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].find("close delimiter"), std::string::npos);
}

TEST(ReadMimeContent, StopsAtTheDepthLimitWithAWarning) {
  std::string m;
  for (size_t i = 0; i < kMaxMimeDepth + 5; ++i) {
    m += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\r\n\r\n--b" +
         std::to_string(i) + "\r\n";
  }
  m += "\r\ndeep\r\n";
  MimeContent c = ReadMimeContent(m);
  EXPECT_TRUE(c.text.empty());
  bool warned = false;
  for (const std::string& w : c.warnings) warned |= w.find("deeper than") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST(ReadMimeContent, ShowsAMultipartWithoutBoundaryAsText) {
  MimeContent c = ReadMimeContent("Content-Type: multipart/mixed\r\n\r\nhello");
  EXPECT_EQ(c.text, "");
  ASSERT_EQ(c.attachments.size(), 1u);
  EXPECT_EQ(c.attachments[0].content, "hello");
  EXPECT_EQ(c.warnings.size(), 1u);
}

TEST(ReadMimeContent, ReadsAHeaderThatDoesNotSplitAsABody) {
  MimeContent c = ReadMimeContent("no colon here\r\n\r\nbody");
  EXPECT_EQ(c.text, "no colon here\r\n\r\nbody");
  EXPECT_EQ(c.warnings.size(), 1u);
}

TEST(ToUtf8, ConvertsLatin1AndReplacesIllFormedUtf8) {
  bool known = false;
  EXPECT_EQ(ToUtf8("\xE9", "ISO-8859-1", &known), "\xC3\xA9");
  EXPECT_TRUE(known);
  EXPECT_EQ(ToUtf8("\xE9", "utf-8", &known), "\xEF\xBF\xBD");
  EXPECT_TRUE(known);
  EXPECT_EQ(ToUtf8("abc", "koi8-r", &known), "abc");
  EXPECT_FALSE(known);
}

}  // namespace
}  // namespace mxkit::message
