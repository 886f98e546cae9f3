// Fuzz target for //auth/dkim:canonicalize (RFC 6376 §3.4), simple and
// relaxed, header fields and bodies.
//
// Input: byte 0 seeds the chunking, byte 1 the l= limit, the rest is both a
// body and a raw header field.
// Properties checked (a violation traps):
//  1. Chunked body canonicalization (chunk sizes from the seed) equals
//     one-shot canonicalization, for both algorithms.
//  2. With a limit, the sink receives exactly the first `limit` bytes of the
//     full canonical body, and canonical_length() is the full length.
//  3. Canonical bodies are fixed points: canonicalizing one again changes
//     nothing. Relaxed bodies have no WSP before CRLF and no WSP runs; both
//     are empty or end in CRLF, without a trailing empty line (except the
//     single CRLF of an empty simple body).
//  4. Header fields: simple appends CRLF to the bytes unchanged; relaxed
//     output has no WSP before the final CRLF and, for inputs a header
//     splitter can produce (CR/LF only in folds), is a fixed point with no
//     CR left in the value (unfolded).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dkim/canonicalize.h"

namespace {

using namespace mxkit::auth::dkim;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

std::string Chunked(Canonicalization c, std::string_view body, uint8_t seed,
                    std::optional<uint64_t> limit, uint64_t* total) {
  StringBodySink sink;
  BodyCanonicalizer canon(c, &sink, limit);
  std::size_t pos = 0;
  uint32_t state = seed * 2654435761u + 1;
  while (pos < body.size()) {
    state = state * 1103515245u + 12345u;
    std::size_t n = (state >> 16) % 7;  // chunks of 0..6 bytes, empty ones too
    n = std::min(n, body.size() - pos);
    canon.Update(body.substr(pos, n));
    pos += n;
  }
  canon.Finish();
  *total = canon.canonical_length();
  Check(canon.written_length() == sink.data.size());
  return sink.data;
}

// What a header splitter can hand over: CR and LF only as CRLF followed by
// WSP (a fold). Other inputs have no meaning as one header field.
bool IsPlausibleField(std::string_view f) {
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] == '\r') {
      if (i + 2 >= f.size() || f[i + 1] != '\n' || (f[i + 2] != ' ' && f[i + 2] != '\t')) return false;
      ++i;
    } else if (f[i] == '\n') {
      return false;
    }
  }
  return true;
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const uint8_t seed = data[0];
  const uint64_t limit = data[1];
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  for (Canonicalization c : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
    const std::string full = CanonicalizeBody(c, input);
    uint64_t total = 0;
    Check(Chunked(c, input, seed, std::nullopt, &total) == full);
    Check(total == full.size());
    std::string cut = Chunked(c, input, seed ^ 0x5a, limit, &total);
    Check(total == full.size());
    Check(cut == full.substr(0, std::min<uint64_t>(limit, full.size())));

    Check(CanonicalizeBody(c, full) == full);
    if (c == Canonicalization::kSimple) {
      Check(EndsWith(full, "\r\n"));
      Check(full == "\r\n" || !EndsWith(full, "\r\n\r\n"));
    } else {
      Check(full.empty() || EndsWith(full, "\r\n"));
      Check(!EndsWith(full, "\r\n\r\n") && full != "\r\n");
      Check(full.find(" \r\n") == std::string::npos);
      Check(full.find("\t") == std::string::npos);
      Check(full.find("  ") == std::string::npos);
    }
  }

  const std::string simple = CanonicalizeHeader(Canonicalization::kSimple, input);
  Check(simple == std::string(input) + "\r\n");
  const std::string relaxed = CanonicalizeHeader(Canonicalization::kRelaxed, input);
  Check(EndsWith(relaxed, "\r\n"));
  std::string_view relaxed_field(relaxed.data(), relaxed.size() - 2);
  if (IsPlausibleField(input)) {
    Check(CanonicalizeHeader(Canonicalization::kRelaxed, relaxed_field) == relaxed);
    Check(relaxed_field.find('\r') == std::string_view::npos ||
          relaxed_field.find('\r') < relaxed_field.find(':'));
  }
  Check(!EndsWith(relaxed, " \r\n"));
  Check(relaxed.find('\t') == std::string::npos || input.find(':') == std::string_view::npos ||
        relaxed.find('\t') < relaxed.find(':'));
  return 0;
}
