#include "base/ascii.h"

#include <string>
#include <string_view>
#include <utility>

#include "gtest/gtest.h"

namespace mxkit::base {
namespace {

// Every byte value against RFC 5234 Appendix B.1, including the bytes above
// 0x7F that <cctype> would classify by locale (or crash on, as negative char).
TEST(Ascii, ClassesMatchRfc5234CoreRulesForEveryByte) {
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    const bool alpha = (i >= 0x41 && i <= 0x5A) || (i >= 0x61 && i <= 0x7A);
    const bool digit = i >= 0x30 && i <= 0x39;
    const bool hex = digit || (i >= 0x41 && i <= 0x46) || (i >= 0x61 && i <= 0x66);
    EXPECT_EQ(IsAlpha(c), alpha) << i;
    EXPECT_EQ(IsDigit(c), digit) << i;
    EXPECT_EQ(IsAlnum(c), alpha || digit) << i;
    EXPECT_EQ(IsHexDigit(c), hex) << i;
    EXPECT_EQ(IsCtl(c), i < 0x20 || i == 0x7F) << i;
    EXPECT_EQ(IsPrintableAscii(c), i >= 0x20 && i <= 0x7E) << i;
    EXPECT_EQ(ToLowerAscii(c), (i >= 0x41 && i <= 0x5A) ? static_cast<char>(i + 32) : c) << i;
    EXPECT_EQ(ToUpperAscii(c), (i >= 0x61 && i <= 0x7A) ? static_cast<char>(i - 32) : c) << i;
  }
}

TEST(Ascii, HexDigitsAreTheInverseOfHexDigitValue) {
  for (unsigned v = 0; v < 16; ++v) {
    EXPECT_EQ(HexDigitValue(UpperHexDigit(v)), static_cast<int>(v)) << v;
    EXPECT_EQ(HexDigitValue(LowerHexDigit(v)), static_cast<int>(v)) << v;
    EXPECT_FALSE(IsAlpha(UpperHexDigit(v)) && ToUpperAscii(UpperHexDigit(v)) != UpperHexDigit(v));
    EXPECT_FALSE(IsAlpha(LowerHexDigit(v)) && ToLowerAscii(LowerHexDigit(v)) != LowerHexDigit(v));
  }
  // Only the low four bits count: a whole octet shifted or not.
  EXPECT_EQ(UpperHexDigit(0xAB), 'B');
  EXPECT_EQ(LowerHexDigit(0xAB >> 4), 'a');
}

TEST(Ascii, PercentEncodingKeepsAlphanumericsAndTheMarksGiven) {
  std::string out = "x=";
  AppendPercentEncoded(out, std::string_view("a b/~-._!*'()\xff\0Z9", 17), "-._~");
  EXPECT_EQ(out, "x=a%20b%2F~-._%21%2A%27%28%29%FF%00Z9");
  out.clear();
  AppendPercentEncoded(out, "a b/~-._!*'()", "-_.!~*'()");  // encodeURIComponent's
  EXPECT_EQ(out, "a%20b%2F~-._!*'()");
  out.clear();
  AppendPercentEncoded(out, "", "-._~");
  EXPECT_EQ(out, "");
}

TEST(Ascii, PrintableAsciiStringsHoldOnlySpAndVchar) {
  EXPECT_TRUE(IsPrintableAscii(std::string_view("")));
  EXPECT_TRUE(IsPrintableAscii(std::string_view("250 OK ~!")));
  EXPECT_FALSE(IsPrintableAscii(std::string_view("tab\there")));
  EXPECT_FALSE(IsPrintableAscii(std::string_view("del\x7f")));
  EXPECT_FALSE(IsPrintableAscii(std::string_view("caf\xc3\xa9")));
  EXPECT_FALSE(IsPrintableAscii(std::string_view("nul\0x", 5)));
}

TEST(Ascii, EqualsIgnoreCaseFoldsAsciiLettersOnly) {
  struct Row {
    std::string a, b;
    bool equal;
  };
  const Row rows[] = {
      {"", "", true},
      {"SMTPUTF8", "smtputf8", true},
      {"v=DMARC1", "V=dmarc1", true},
      {"reject", "rejec", false},
      {"reject", "rejecT ", false},
      {"[", "{", false},  // 0x5B and 0x7B differ by 0x20 but are not letters
      {"@", "`", false},
      {"\xC3\x9C", "\xC3\xBC", false},  // U+00DC / U+00FC: not ASCII, not folded
      {std::string("a\0b", 3), std::string("A\0B", 3), true},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(EqualsIgnoreCase(row.a, row.b), row.equal) << row.a << " / " << row.b;
    EXPECT_EQ(EqualsIgnoreCase(row.b, row.a), row.equal) << row.b << " / " << row.a;
  }
  static_assert(EqualsIgnoreCase("IPv6", "ipV6"));
  static_assert(StartsWithIgnoreCase("AUTH=PLAIN", "auth="));
  static_assert(!StartsWithIgnoreCase("AUT", "auth="));
}

TEST(Ascii, AtextIsRfc5322Section323) {
  const std::string atext =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#$%&'*+-/=?^_`{|}~";
  for (int i = 0; i < 256; ++i) {
    const char c = static_cast<char>(i);
    EXPECT_EQ(IsAtext(c), atext.find(c) != std::string::npos) << i;
  }
}

TEST(Ascii, DescribeOctetQuotesPrintablesAndHexesTheRest) {
  const std::pair<char, std::string> rows[] = {
      {'a', "'a'"}, {'!', "'!'"}, {'~', "'~'"}, {' ', "0x20"},
      {'\0', "0x00"}, {'\n', "0x0a"}, {'\x7F', "0x7f"}, {'\xFF', "0xff"},
  };
  for (const auto& [c, want] : rows) EXPECT_EQ(DescribeOctet(c), want);
}

TEST(Ascii, LowerAndUpperLeaveNonLettersAlone) {
  EXPECT_EQ(AsciiLower("Example.COM-\xC3\x9C[@]"), "example.com-\xC3\x9C[@]");
  EXPECT_EQ(AsciiUpper("ehlo x_y-z \xC3\xBC`{"), "EHLO X_Y-Z \xC3\xBC`{");
}

TEST(QuoteForMessage, EscapesEverythingButPrintableAsciiAndBoundsTheInput) {
  EXPECT_EQ(QuoteForMessage("good", 64), "\"good\"");
  EXPECT_EQ(QuoteForMessage("a\"b\\c'd", 64), "\"a\\\"b\\\\c\\'d\"");
  EXPECT_EQ(QuoteForMessage("x\r\ny\tz", 64), "\"x\\r\\ny\\tz\"");
  EXPECT_EQ(QuoteForMessage(std::string_view("\0\x1b\x7f\xc3\xa9", 5), 64),
            "\"\\x00\\x1b\\x7f\\xc3\\xa9\"");
  EXPECT_EQ(QuoteForMessage("abcdef", 3), "\"abc\"... (6 octets)");
  EXPECT_EQ(QuoteForMessage("", 3), "\"\"");
}

TEST(ControlsToSpaces, EachControlBecomesASpaceAndACleanValueIsNotCopied) {
  std::string scratch = "untouched";
  const std::string_view clean = "no controls here ~";
  EXPECT_EQ(ControlsToSpaces(clean, scratch).data(), clean.data());
  EXPECT_EQ(scratch, "untouched");
  const std::pair<std::string_view, std::string_view> rows[] = {
      {std::string_view("a\tb\r\nc", 6), "a b  c"},
      {std::string_view("\0x\x7f", 3), " x "},
      {"\x1f\x20\x80\xff", "  \x80\xff"},
      {"", ""},
  };
  for (const auto& [in, want] : rows) EXPECT_EQ(ControlsToSpaces(in, scratch), want);
}

TEST(StripOneTrailingDot, RemovesExactlyOneFinalDot) {
  const std::pair<const char*, const char*> rows[] = {
      {"mx.example.", "mx.example"}, {"mx.example", "mx.example"}, {".", ""},
      {"", ""}, {"a..", "a."}, {".a", ".a"},
  };
  for (const auto& [in, want] : rows) EXPECT_EQ(StripOneTrailingDot(in), want) << in;
}

}  // namespace
}  // namespace mxkit::base
