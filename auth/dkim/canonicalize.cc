#include "auth/dkim/canonicalize.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstring>

namespace mxkit::auth::dkim {
namespace {

constexpr bool IsWsp(char c) { return c == ' ' || c == '\t'; }
// Flushing the buffer at this size keeps memory bounded however many held
// empty lines a body releases at once.
constexpr std::size_t kFlushThreshold = 64 * 1024;
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

// SWAR helpers: one bit (0x80) per byte of a little-endian 64-bit word.
constexpr uint64_t kOnes = 0x0101010101010101ULL;
constexpr uint64_t kHighs = 0x8080808080808080ULL;
inline uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
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

// End of the run starting at `i` that relaxed canonicalization leaves alone:
// ordinary bytes and single SPs between ordinary bytes. May stop early (at a
// byte that turns out to be ordinary, or an SP followed by one), which only
// splits a run in two; it never runs past a byte that needs rewriting.
inline std::size_t PlainRunEnd(std::string_view in, std::size_t i) {
  const std::size_t n = in.size();
  if constexpr (std::endian::native == std::endian::little) {
    // Eight bytes at a time, with the byte after each to see what follows
    // an SP: running text has an SP every few bytes, so a byte loop would
    // mispredict at every word.
    const char* p = in.data();
    while (i + 9 <= n) {
      uint64_t w = Load64(p + i);
      uint64_t next = Load64(p + i + 1);
      // SP, HTAB and CR are all below 0x21: a byte below 0x21 other than SP
      // needs attention, and so does an SP before such a byte.
      uint64_t space = EqBytes(w, ' ');
      uint64_t bad = (Below21(w) & ~space) | (space & Below21(next));
      if (bad == 0) {
        i += 8;
        continue;
      }
      return i + (static_cast<std::size_t>(__builtin_ctzll(bad)) >> 3);
    }
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
  canonical_length_ += bytes.size();
  buffer_.append(bytes);
  if (buffer_.size() >= kFlushThreshold) Flush();
}

void BodyCanonicalizer::Flush() {
  std::string_view out = buffer_;
  if (limit_) {
    uint64_t room = *limit_ > written_length_ ? *limit_ - written_length_ : 0;
    if (out.size() > room) out = out.substr(0, static_cast<std::size_t>(room));
  }
  if (!out.empty()) {
    sink_->Write(out);
    written_length_ += out.size();
  }
  buffer_.clear();
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
      if (pending_wsp_) Emit(" ");
      pending_wsp_ = false;
      Emit("\r");
      at_line_start_ = false;
      continue;  // `ch` is looked at again without a pending CR
    }
    if (IsWsp(ch)) {
      pending_wsp_ = true;
      ++i;
      continue;
    }
    if (ch == '\r') {
      pending_cr_ = true;
      ++i;
      continue;
    }
    // A run that needs no rewriting: ordinary bytes and single SPs between
    // them (the common case of running text), emitted in one piece.
    std::size_t end = PlainRunEnd(in, i + 1);
    FlushEmptyLines();
    if (pending_wsp_) Emit(" ");
    pending_wsp_ = false;
    Emit(in.substr(i, end - i));
    at_line_start_ = false;
    i = end;
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
  if (canonicalization_ == Canonicalization::kSimple && canonical_length_ == 0) {
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
