// Finding line ends in a byte run: the hot loop of every line-oriented parser
// here (SMTP DATA decoding, the RFC 5322 header block splitter). Ordinary text
// is skipped 16 bytes at a time with SSE2 (part of x86-64), byte by byte
// elsewhere and in the tail.

#ifndef MXKIT_BASE_LINE_SCAN_H_
#define MXKIT_BASE_LINE_SCAN_H_

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mxkit::base {

namespace internal {

template <bool kStopAtNul>
inline const char* FindLineEnd(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i cr = _mm_set1_epi8('\r');
  const __m128i lf = _mm_set1_epi8('\n');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, cr), _mm_cmpeq_epi8(v, lf));
    if constexpr (kStopAtNul) hit = _mm_or_si128(hit, _mm_cmpeq_epi8(v, _mm_setzero_si128()));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  for (; p < end; ++p) {
    const char c = *p;
    if (c == '\r' || c == '\n' || (kStopAtNul && c == '\0')) return p;
  }
  return end;
}

}  // namespace internal

// The first CR or LF in [p, end), or end.
inline const char* FindCrOrLf(const char* p, const char* end) {
  return internal::FindLineEnd<false>(p, end);
}

// The first CR, LF or NUL in [p, end), or end: for parsers that refuse NUL
// (RFC 5322 §2.2 / §2.3) at the same place they look for the line end.
inline const char* FindCrLfOrNul(const char* p, const char* end) {
  return internal::FindLineEnd<true>(p, end);
}

}  // namespace mxkit::base

#endif  // MXKIT_BASE_LINE_SCAN_H_
