#include "base/utf8.h"

#include <cstddef>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace mxkit::base {
namespace {

struct Row {
  std::string bytes;
  std::size_t length;  // of the sequence at offset 0; 0 = ill-formed
};

// RFC 3629 §4's table, edge by edge.
TEST(Utf8SequenceLength, FollowsRfc3629Table) {
  const Row rows[] = {
      {"A", 1},
      {std::string(1, '\0'), 1},
      {"\x7F", 1},
      {"\xC2\x80", 2},           // U+0080, the first 2-octet code point
      {"\xDF\xBF", 2},           // U+07FF
      {"\xE0\xA0\x80", 3},       // U+0800
      {"\xED\x9F\xBF", 3},       // U+D7FF, below the surrogates
      {"\xEE\x80\x80", 3},       // U+E000, above them
      {"\xEF\xBF\xBF", 3},       // U+FFFF
      {"\xF0\x90\x80\x80", 4},   // U+10000
      {"\xF4\x8F\xBF\xBF", 4},   // U+10FFFF, the last code point
      {"\x80", 0},               // a continuation byte alone
      {"\xBF", 0},
      {"\xC0\xAF", 0},           // overlong '/'
      {"\xC1\xBF", 0},           // overlong
      {"\xE0\x9F\xBF", 0},       // overlong 3-octet form
      {"\xED\xA0\x80", 0},       // U+D800, a surrogate
      {"\xF0\x8F\xBF\xBF", 0},   // overlong 4-octet form
      {"\xF4\x90\x80\x80", 0},   // U+110000
      {"\xF5\x80\x80\x80", 0},
      {"\xFF", 0},
      {"\xC3", 0},               // cut short by the end of input
      {"\xE2\x98", 0},
      {"\xF0\x9F\x98", 0},
      {"\xC3\x41", 0},           // a lead byte followed by ASCII
  };
  for (const Row& row : rows) {
    EXPECT_EQ(Utf8SequenceLength(row.bytes, 0), row.length)
        << "bytes of length " << row.bytes.size() << " starting 0x" << std::hex
        << static_cast<int>(static_cast<unsigned char>(row.bytes[0]));
  }
}

TEST(Utf8SequenceLength, LooksOnlyAtTheSequenceAtPos) {
  const std::string s = "a\xC3\xBC\xE2\x98\x83";
  EXPECT_EQ(Utf8SequenceLength(s, 0), 1u);
  EXPECT_EQ(Utf8SequenceLength(s, 1), 2u);
  EXPECT_EQ(Utf8SequenceLength(s, 2), 0u);  // mid-sequence
  EXPECT_EQ(Utf8SequenceLength(s, 3), 3u);
  EXPECT_EQ(Utf8SequenceLength(s.substr(0, 5), 3), 0u);  // truncated view
}

TEST(FindInvalidUtf8, ReportsFirstBadSequence) {
  const std::pair<std::string, std::size_t> rows[] = {
      {"", 0},
      {"plain", 5},
      {"\xE2\x82\xAC ok", 6},
      {"ab\xE2\x82", 2},                // cut short at the end
      {"\xF8\x88\x80\x80\x80", 0},   // a 5-octet form (RFC 3629 removed them)
      {"\xE0\x80\xAF", 0},             // overlong "/"
      {"ok\xED\xA0\x80", 2},           // a surrogate
  };
  for (const auto& [bytes, want] : rows) EXPECT_EQ(FindInvalidUtf8(bytes), want) << bytes;
}

// Unicode §3.9 "U+FFFD Substitution of Maximal Subparts", including the
// examples of its Table 3-8.
TEST(AppendUtf8Replacing, ReplacesEachMaximalSubpartWithOneFffd) {
  const std::string r = "\xEF\xBF\xBD";
  const std::pair<std::string, std::string> rows[] = {
      {"", ""},
      {"b\xC3\xBC" "cher", "b\xC3\xBC" "cher"},       // well-formed passes through
      {"b\xFF" "cher", "b" + r + "cher"},
      {"\xC3", r},                               // cut short by the end
      {"\xE2\x82", r},                           // one subpart, one U+FFFD
      {"\xE2\x82" "A", r + "A"},
      {"\xF0\x9F\x98", r},
      {"\xC0\xAF", r + r},                       // C0 never starts a sequence
      {"\xED\xA0\x80", r + r + r},               // a surrogate: ED then 2 strays
      {"\xF4\x90\x80\x80", r + r + r + r},       // above U+10FFFF
      {"\x80\x80", r + r},                        // stray continuation bytes
      // Table 3-8: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
      {"a\xF1\x80\x80\xE1\x80\xC2" "b\x80" "c\x80\xBF" "d",
       "a" + r + r + r + "b" + r + "c" + r + r + "d"},
  };
  for (const auto& [bytes, want] : rows) {
    std::string out = "<";
    AppendUtf8Replacing(out, bytes);
    EXPECT_EQ(out, "<" + want) << bytes;
    EXPECT_EQ(FindInvalidUtf8(want), want.size());
  }
}

}  // namespace
}  // namespace mxkit::base
