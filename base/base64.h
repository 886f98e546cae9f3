// Base64 (RFC 4648 §4, the padded standard alphabet): one decoder whose
// leniencies are named options, and one encoder. Used for SMTP AUTH
// (RFC 4954 §4), DKIM b=, bh= and p= (RFC 6376 §3.5, §3.6.1), the
// Authentication-Results header.b (RFC 6008 §4) and mxkit's Ed25519 seeds
// (RFC 8463 Appendix A).

#ifndef MXKIT_BASE_BASE64_H_
#define MXKIT_BASE_BASE64_H_

#include <cstddef>
#include <string>
#include <string_view>

namespace mxkit::base {

// Strict by default: every input has exactly one decoding and is the one
// canonical encoding of it.
struct Base64DecodeOptions {
  // RFC 4648 §3.5 lets a decoder reject an encoding whose pad bits (the
  // unused low bits of the last symbol before "=") are not zero; strict
  // decoding does, so "QR==" and "QQ==" cannot both mean "A". DKIM turns this
  // on: dkimpy, OpenDKIM and BoringSSL accept such keys and signatures.
  bool allow_nonzero_pad_bits = false;
  // RFC 6376 §3.5 (b=, bh=) and §3.6.1 (p=): FWS may appear anywhere in the
  // base64 of a DKIM tag value; with this on SP, HTAB, CR and LF are skipped
  // wherever they are. Off, they are invalid characters.
  bool skip_folding_whitespace = false;
};

enum class Base64Error {
  kNone,
  kInvalidCharacter,   // not in the RFC 4648 §4 alphabet, "=" or (optionally) FWS
  kMisplacedPadding,   // "=" other than as the last one or two symbols
  kIncompleteGroup,    // the symbols do not fill whole groups of four
  kNonZeroPadBits,     // RFC 4648 §3.5, unless allow_nonzero_pad_bits
};

struct Base64Result {
  std::string bytes;                       // the decoded bytes when ok()
  Base64Error error = Base64Error::kNone;
  std::size_t offset = 0;  // of the offending input byte; input.size() for kIncompleteGroup
  bool ok() const { return error == Base64Error::kNone; }
};

// Decodes `text`; the empty text decodes to no bytes.
Base64Result DecodeBase64(std::string_view text, const Base64DecodeOptions& options = {});

// The canonical padded encoding of `bytes` (what DecodeBase64 accepts with
// default options).
std::string EncodeBase64(std::string_view bytes);
void AppendBase64(std::string_view bytes, std::string& out);

std::string_view Base64ErrorName(Base64Error error);

}  // namespace mxkit::base

#endif  // MXKIT_BASE_BASE64_H_
