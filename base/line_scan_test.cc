#include "base/line_scan.h"

#include <string>

#include "gtest/gtest.h"

namespace mxkit::base {
namespace {

// Every stop byte at every offset of runs long enough to cross the 16-byte
// blocks and end in the byte-wise tail, against a byte-by-byte reading.
TEST(LineScan, FindsTheFirstStopByteAtEveryOffset) {
  for (char stop : {'\r', '\n', '\0'}) {
    for (std::size_t length = 0; length <= 40; ++length) {
      for (std::size_t at = 0; at <= length; ++at) {
        std::string text(length, 'x');
        if (at < length) text[at] = stop;
        const char* begin = text.data();
        const char* end = text.data() + text.size();
        const std::size_t expect_nul = at;  // NUL, CR and LF all stop it
        const std::size_t expect_crlf = stop == '\0' ? length : at;
        EXPECT_EQ(FindCrLfOrNul(begin, end) - begin, static_cast<std::ptrdiff_t>(expect_nul))
            << "byte " << int(stop) << " at " << at << " of " << length;
        EXPECT_EQ(FindCrOrLf(begin, end) - begin, static_cast<std::ptrdiff_t>(expect_crlf))
            << "byte " << int(stop) << " at " << at << " of " << length;
      }
    }
  }
}

TEST(LineScan, StopsAtTheFirstOfSeveral) {
  const std::string text = std::string(20, 'a') + "\n" + std::string(3, 'b') + "\r";
  const char* end = text.data() + text.size();
  EXPECT_EQ(FindCrOrLf(text.data(), end) - text.data(), 20);
  EXPECT_EQ(FindCrLfOrNul(text.data() + 21, end) - text.data(), 24);
}

TEST(LineScan, HighBytesAreText) {
  const std::string text = std::string(18, '\xff') + "\x8d\x8a" + "\r";
  EXPECT_EQ(FindCrLfOrNul(text.data(), text.data() + text.size()) - text.data(), 20);
}

}  // namespace
}  // namespace mxkit::base
