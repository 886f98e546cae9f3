#include "base/utf8.h"

namespace mxkit::base {
namespace {

constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";  // U+FFFD

// How many bytes from s[pos] form a prefix of some well-formed sequence, at
// least 1: the "maximal subpart" that Unicode §3.9 replaces by one U+FFFD.
// Only called where Utf8SequenceLength is 0.
std::size_t MaximalSubpartLength(std::string_view s, std::size_t pos) {
  const unsigned char c = static_cast<unsigned char>(s[pos]);
  std::size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  std::size_t n = 1;
  for (; n < need && pos + n < s.size(); ++n) {
    const unsigned char b = static_cast<unsigned char>(s[pos + n]);
    if (b < lo || b > hi) break;
    lo = 0x80;
    hi = 0xBF;
  }
  return n;
}

}  // namespace

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

std::size_t FindInvalidUtf8(std::string_view input) {
  std::size_t pos = 0;
  while (pos < input.size()) {
    const std::size_t n = Utf8SequenceLength(input, pos);
    if (n == 0) return pos;
    pos += n;
  }
  return input.size();
}

void AppendUtf8Replacing(std::string& out, std::string_view bytes) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    const std::size_t bad = pos + FindInvalidUtf8(bytes.substr(pos));
    out.append(bytes.substr(pos, bad - pos));
    if (bad == bytes.size()) break;
    out.append(kReplacementCharacter);
    pos = bad + MaximalSubpartLength(bytes, bad);
  }
}

}  // namespace mxkit::base
