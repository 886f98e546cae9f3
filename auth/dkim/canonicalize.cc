#include "auth/dkim/canonicalize.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mxkit::auth::dkim {
namespace {

constexpr bool IsWsp(char c) { return c == ' ' || c == '\t'; }
constexpr std::string_view kCrlf = "\r\n";

// Bytes that relaxed canonicalization may rewrite: WSP and CR (the start of a
// line ending or a fold). Everything else is copied as it is.
struct SpecialTable {
  bool special[256] = {};
  constexpr SpecialTable() {
    special[static_cast<unsigned char>(' ')] = true;
    special[static_cast<unsigned char>('\t')] = true;
    special[static_cast<unsigned char>('\r')] = true;
  }
};
constexpr SpecialTable kRelaxedSpecial;

inline bool IsSpecial(char c) { return kRelaxedSpecial.special[static_cast<unsigned char>(c)]; }

#if defined(__SSE2__)
// Sixteen bytes at a time (SSE2 is part of x86-64).
constexpr std::size_t kBlockBytes = 16;

// Index of the first of the kBlockBytes bytes at `p` that relaxed
// canonicalization must look at, or kBlockBytes: a byte below 0x21 other
// than SP (HTAB, CR, LF, controls), or an SP followed by such a byte or by
// another SP. Reads p[0] through p[kBlockBytes] (one byte more, to see what
// follows an SP).
inline std::size_t FirstAttention(const char* p) {
  const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
  const __m128i sp = _mm_set1_epi8(' ');
  // Unsigned x <= 0x20 as min(x, 0x20) == x (there is no unsigned compare).
  const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(w, sp), w);
  const __m128i low_next = _mm_cmpeq_epi8(_mm_min_epu8(next, sp), next);
  const __m128i space = _mm_cmpeq_epi8(w, sp);
  const __m128i bad =
      _mm_or_si128(_mm_andnot_si128(space, low), _mm_and_si128(space, low_next));
  const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(bad));
  return mask == 0 ? kBlockBytes : static_cast<std::size_t>(__builtin_ctz(mask));
}

// For the relaxed body: stores the kBlockBytes bytes at `p` to `out` with
// each single WSP (an HTAB or SP followed by a byte above 0x20) written as
// SP, which is all §3.4.4 a does to it, and returns the index of the first
// byte that needs more: a WSP before a byte at or below 0x20 (a run, or
// trailing WSP), or any other byte at or below 0x20. p[0] must not continue
// a WSP run that started before the block. Reads p[0] through p[kBlockBytes].
inline std::size_t CopyBodyBlock(const char* p, char* out) {
  const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i next = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
  const __m128i sp = _mm_set1_epi8(' ');
  const __m128i low = _mm_cmpeq_epi8(_mm_min_epu8(w, sp), w);
  const __m128i low_next = _mm_cmpeq_epi8(_mm_min_epu8(next, sp), next);
  const __m128i tab = _mm_cmpeq_epi8(w, _mm_set1_epi8('\t'));
  const __m128i wsp = _mm_or_si128(_mm_cmpeq_epi8(w, sp), tab);
  const __m128i bad = _mm_or_si128(_mm_andnot_si128(wsp, low), _mm_and_si128(wsp, low_next));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                   _mm_or_si128(_mm_andnot_si128(tab, w), _mm_and_si128(tab, sp)));
  const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(bad));
  return mask == 0 ? kBlockBytes : static_cast<std::size_t>(__builtin_ctz(mask));
}
#else
// Eight bytes at a time in a 64-bit word (SWAR), one mark (0x80) per byte.
constexpr std::size_t kBlockBytes = 8;
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;
inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}
// Marks every byte of `w` equal to `c`. Bytes above a match may be marked
// too (borrow), never a match missed, so the lowest mark is exact.
inline uint64_t EqBytes(uint64_t w, unsigned char c) {
  uint64_t x = w ^ (kOnes * c);
  return (x - kOnes) & ~x & kHighs;
}
// Marks every byte of `w` below 0x21 (bytes >= 0x80 are never marked). As
// with EqBytes, marks above a true one may be spurious, none is missed.
inline uint64_t Below21(uint64_t w) { return (w - kOnes * 0x21) & ~w & kHighs; }

// As the SSE2 version; it may also stop early at a byte that needs nothing
// (a spurious mark), which callers treat like any other stop.
inline std::size_t FirstAttention(const char* p) {
  uint64_t w = Load64(p);
  uint64_t next = Load64(p + 1);
  uint64_t space = EqBytes(w, ' ');
  uint64_t bad = (Below21(w) & ~space) | (space & Below21(next));
  return bad == 0 ? kBlockBytes : static_cast<std::size_t>(__builtin_ctzll(bad)) >> 3;
}

// As the SSE2 version, without its HTAB rewriting: an HTAB is a stop.
inline std::size_t CopyBodyBlock(const char* p, char* out) {
  std::memcpy(out, p, kBlockBytes);
  return FirstAttention(p);
}
#endif

// End of the run starting at `i` that relaxed canonicalization leaves alone:
// ordinary bytes and single SPs between ordinary bytes. May stop early (at a
// byte that turns out to be ordinary, or an SP followed by one), which only
// splits a run in two; it never runs past a byte that needs rewriting.
inline std::size_t PlainRunEnd(std::string_view in, std::size_t i) {
  const std::size_t n = in.size();
  const char* p = in.data();
  // Block by block: running text has an SP every few bytes, so a byte loop
  // would mispredict at every word.
  while (i + kBlockBytes + 1 <= n) {
    std::size_t k = FirstAttention(p + i);
    i += k;
    if (k != kBlockBytes) return i;
  }
  for (;;) {
    while (i < n && !IsSpecial(in[i])) ++i;
    if (i + 1 < n && in[i] == ' ' && !IsSpecial(in[i + 1])) {
      i += 2;
      continue;
    }
    return i;
  }
}

}  // namespace

std::string_view CanonicalizationName(Canonicalization c) {
  return c == Canonicalization::kSimple ? "simple" : "relaxed";
}

void AppendCanonicalHeader(Canonicalization c, std::string_view raw, std::string* out) {
  if (c == Canonicalization::kSimple) {
    // §3.4.1: "MUST NOT change header fields in any way".
    out->append(raw);
    out->append(kCrlf);
    return;
  }
  // §3.4.2. Name: lowercase, WSP before the colon deleted. A field without a
  // colon has no value; it is canonicalized as a name alone.
  std::size_t colon = raw.find(':');
  std::string_view name = raw.substr(0, colon);
  while (!name.empty() && (IsWsp(name.back()) || name.back() == '\r' || name.back() == '\n')) {
    name.remove_suffix(1);
  }
  for (char ch : name) {
    out->push_back((ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch);
  }
  out->push_back(':');
  if (colon != std::string_view::npos) {
    std::string_view value = raw.substr(colon + 1);
    bool pending_space = false;
    bool started = false;  // leading WSP is deleted ("after the colon")
    for (std::size_t i = 0; i < value.size(); ++i) {
      char ch = value[i];
      if (!IsSpecial(ch)) {
        // Copy the untouched run at once.
        if (pending_space && started) out->push_back(' ');
        pending_space = false;
        started = true;
        std::size_t end = PlainRunEnd(value, i + 1);
        out->append(value.substr(i, end - i));
        i = end - 1;
        continue;
      }
      // Unfold: a CRLF followed by WSP is removed; the WSP stays and joins
      // the run around it. Any other CR or LF is a value byte.
      if (ch == '\r' && i + 2 < value.size() && value[i + 1] == '\n' && IsWsp(value[i + 2])) {
        ++i;
        continue;
      }
      if (IsWsp(ch)) {
        pending_space = true;
        continue;
      }
      if (pending_space && started) out->push_back(' ');
      pending_space = false;
      started = true;
      out->push_back(ch);
    }
    // A trailing WSP run is simply never emitted.
  }
  out->append(kCrlf);
}

std::string CanonicalizeHeader(Canonicalization c, std::string_view raw_field) {
  std::string out;
  AppendCanonicalHeader(c, raw_field, &out);
  return out;
}

BodyCanonicalizer::BodyCanonicalizer(Canonicalization c, BodySink* sink,
                                     std::optional<uint64_t> length_limit)
    : canonicalization_(c), sink_(sink), limit_(length_limit) {}

void BodyCanonicalizer::Emit(std::string_view bytes) {
  if (bytes.size() > kBufferBytes - buffered_) {
    Flush();
    // Long runs (simple canonicalization copies whole lines) skip the copy.
    if (bytes.size() >= kBufferBytes / 2) {
      Deliver(bytes);
      return;
    }
  }
  std::memcpy(buffer_ + buffered_, bytes.data(), bytes.size());
  buffered_ += bytes.size();
}

void BodyCanonicalizer::Deliver(std::string_view out) {
  canonical_length_ += out.size();
  if (limit_) {
    uint64_t room = *limit_ > written_length_ ? *limit_ - written_length_ : 0;
    if (out.size() > room) out = out.substr(0, static_cast<std::size_t>(room));
  }
  if (!out.empty()) {
    sink_->Write(out);
    written_length_ += out.size();
  }
}

void BodyCanonicalizer::Flush() {
  std::size_t n = buffered_;
  buffered_ = 0;
  if (n != 0) Deliver(std::string_view(buffer_, n));
}

void BodyCanonicalizer::FlushEmptyLines() {
  // Empty lines turned out to be followed by content, so they are kept.
  for (; pending_empty_lines_ > 0; --pending_empty_lines_) Emit(kCrlf);
}

void BodyCanonicalizer::Update(std::string_view chunk) {
  if (finished_ || chunk.empty()) return;
  if (canonicalization_ == Canonicalization::kSimple) {
    UpdateSimple(chunk);
  } else {
    UpdateRelaxed(chunk);
  }
  Flush();
}

// §3.4.3: bytes unchanged, except that empty lines (bare CRLF) at the end of
// the body are removed. Only CRLF ends a line; a bare CR or LF is content.
void BodyCanonicalizer::UpdateSimple(std::string_view in) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (in[i] == '\n') {
        ++i;
        if (at_line_start_) {
          ++pending_empty_lines_;
        } else {
          Emit(kCrlf);
          at_line_start_ = true;
        }
        continue;
      }
      // A CR not followed by LF is an ordinary byte.
      FlushEmptyLines();
      Emit("\r");
      at_line_start_ = false;
    }
    // A run of content up to the next CR.
    const char* cr = static_cast<const char*>(std::memchr(in.data() + i, '\r', n - i));
    std::size_t end = cr == nullptr ? n : static_cast<std::size_t>(cr - in.data());
    if (end > i) {
      FlushEmptyLines();
      Emit(in.substr(i, end - i));
      at_line_start_ = false;
    }
    if (end < n) pending_cr_ = true;
    i = end + 1;
  }
}

// §3.4.4: WSP at the end of a line deleted; other WSP runs become one SP;
// empty lines at the end of the body deleted; CRLF added to a non-empty body
// that lacks one. A line ends only at CRLF: WSP before a bare CR or bare LF is
// inside the line.
void BodyCanonicalizer::UpdateRelaxed(std::string_view in) {
  std::size_t i = 0;
  const std::size_t n = in.size();
  while (i < n) {
    char ch = in[i];
    if (pending_cr_) {
      pending_cr_ = false;
      if (ch == '\n') {
        ++i;
        pending_wsp_ = false;  // trailing WSP of this line
        if (at_line_start_) {
          ++pending_empty_lines_;
        } else {
          Emit(kCrlf);
          at_line_start_ = true;
        }
        continue;
      }
      FlushEmptyLines();
      if (pending_wsp_) Put(' ');
      pending_wsp_ = false;
      Put('\r');
      at_line_start_ = false;
      continue;  // `ch` is looked at again without a pending CR
    }
    if (IsWsp(ch)) {
      pending_wsp_ = true;
      ++i;
      continue;
    }
    if (ch == '\r') {
      if (i + 1 < n && in[i + 1] == '\n') {
        // A whole CRLF in this chunk (the usual line end): what the pending
        // CR above would do, without a pass through the loop for each byte.
        i += 2;
        pending_wsp_ = false;
        if (at_line_start_) {
          ++pending_empty_lines_;
        } else {
          Put('\r');
          Put('\n');
          at_line_start_ = true;
        }
        continue;
      }
      pending_cr_ = true;
      ++i;
      continue;
    }
    if (pending_empty_lines_ != 0) FlushEmptyLines();
    if (pending_wsp_) Put(' ');
    pending_wsp_ = false;
    at_line_start_ = false;
    i = CopyPlainRun(in, i);
  }
}

std::size_t BodyCanonicalizer::CopyPlainRun(std::string_view in, std::size_t i) {
  const std::size_t n = in.size();
  const char* p = in.data();
  for (;;) {
    // in[i] is kept as it is. It is copied before the block scan because it
    // may be a control byte below 0x21, where the scan would stop at once.
    Put(p[i++]);
    // Whole blocks are stored, and only the bytes before the first one that
    // needs attention are counted as kept. No block starts inside a WSP run,
    // as CopyBodyBlock requires: a block follows a kept byte that is not
    // WSP, or a single WSP whose successor (the block's first byte) is not.
    for (;;) {
      if (i + kBlockBytes + 1 > n) {
        while (i < n && !IsSpecial(p[i])) Put(p[i++]);
        break;
      }
      if (buffered_ > kBufferBytes - kBlockBytes) Flush();
      std::size_t k = CopyBodyBlock(p + i, buffer_ + buffered_);
      buffered_ += k;
      i += k;
      if (k != kBlockBytes) break;
    }
    if (i == n) return i;
    std::size_t j = i;  // past the WSP run at i, if any
    if (IsWsp(p[i])) {
      ++j;
      while (j < n && IsWsp(p[j])) ++j;
      if (j < n && p[j] != '\r') {
        // Inner WSP: one SP (§3.4.4 a), and the byte after it is kept.
        Put(' ');
        i = j;
        continue;
      }
    }
    if (j + 1 < n && p[j] == '\r' && p[j + 1] == '\n') {
      // The line ends here; WSP before its CRLF is dropped (§3.4.4 a). A
      // next line that starts with a kept byte goes on in this loop; any
      // other start (WSP, CR, an empty line) is left to the caller's state.
      Put('\r');
      Put('\n');
      i = j + 2;
      at_line_start_ = true;
      if (i == n || IsSpecial(p[i])) return i;
      at_line_start_ = false;
      continue;
    }
    // A WSP run or a CR whose successor is not in this chunk, or a bare CR:
    // the caller's state decides.
    if (IsWsp(p[i]) || p[i] == '\r') return i;
    // Any other byte (a control byte, or a spurious stop of the word scan) is
    // kept: the loop goes on with it.
  }
}

void BodyCanonicalizer::Finish() {
  if (finished_) return;
  finished_ = true;
  if (pending_cr_) {
    // A CR at the very end is not followed by LF: it is content.
    pending_cr_ = false;
    FlushEmptyLines();
    if (canonicalization_ == Canonicalization::kRelaxed && pending_wsp_) Emit(" ");
    pending_wsp_ = false;
    Emit("\r");
    at_line_start_ = false;
  }
  // WSP at the end of an unterminated last line is trailing WSP of the line
  // the added CRLF ends; it is dropped (relaxed only: simple never holds WSP).
  pending_wsp_ = false;
  if (!at_line_start_) Emit(kCrlf);  // §3.4.3 / §3.4.4: add a missing final CRLF
  pending_empty_lines_ = 0;          // trailing empty lines are removed
  if (canonicalization_ == Canonicalization::kSimple && canonical_length() == 0) {
    Emit(kCrlf);  // §3.4.3: an empty body canonicalizes to a single CRLF
  }
  Flush();
}

std::string CanonicalizeBody(Canonicalization c, std::string_view body) {
  StringBodySink sink;
  BodyCanonicalizer canon(c, &sink);
  canon.Update(body);
  canon.Finish();
  return std::move(sink.data);
}

}  // namespace mxkit::auth::dkim
