#include "smtp/utf8.h"

namespace mxkit::smtp {

// RFC 3629 §4: UTF8-2, UTF8-3 and UTF8-4 spelled out byte by byte.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t pos) {
  const auto b = [&](std::size_t i) {
    return static_cast<unsigned char>(s[pos + i]);
  };
  const std::size_t avail = s.size() - pos;
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  const auto cont = [&](std::size_t i, unsigned char lo, unsigned char hi) {
    return i < avail && b(i) >= lo && b(i) <= hi;
  };
  if (c < 0xC2) return 0;  // continuation byte or overlong 2-byte lead
  if (c < 0xE0) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (c < 0xF0) {
    const unsigned char lo = c == 0xE0 ? 0xA0 : 0x80;  // no overlongs
    const unsigned char hi = c == 0xED ? 0x9F : 0xBF;  // no surrogates
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c < 0xF5) {
    const unsigned char lo = c == 0xF0 ? 0x90 : 0x80;  // no overlongs
    const unsigned char hi = c == 0xF4 ? 0x8F : 0xBF;  // <= U+10FFFF
    return cont(1, lo, hi) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  return 0;
}

}  // namespace mxkit::smtp
