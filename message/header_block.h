// Splitting an RFC 5322 message into its raw header fields and its body.
//
// Nothing is normalised: every field is a set of views into the caller's
// message with exact byte offsets, because DKIM (RFC 6376 §3.4) signs the
// bytes as they appeared. Invariant of a successful split:
//
//   fields[0].raw + fields[1].raw + ... + separator + body == message
//
// and each field's raw starts at its offset. Unfolding, case folding and
// trimming are separate helpers producing copies for display or comparison.

#ifndef MXKIT_MESSAGE_HEADER_BLOCK_H_
#define MXKIT_MESSAGE_HEADER_BLOCK_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mxkit::message {

// RFC 5322 sets no limit on the number of header fields. Real messages carry
// a few dozen (long Received: chains included, and Postfix's hopcount_limit
// stops mail at 50 Received: fields); 1000 leaves ample room while bounding
// the work and memory per message.
inline constexpr std::size_t kMaxHeaderFields = 1000;

// RFC 5322 §2.1.1 limits each *line* to 998 characters plus CRLF, but a folded
// field may span many lines and receivers meet longer lines in practice, so we
// do not enforce the per-line limit here. What we bound is the whole field,
// name through final CRLF: Postfix's header_size_limit default (102400 bytes),
// beyond which Postfix too stops treating the bytes as one header.
inline constexpr std::size_t kMaxHeaderFieldBytes = 102400;

enum class HeaderBlockError {
  kOk,
  kMissingColon,         // a header line that is not a continuation has no ':'
  kEmptyFieldName,       // a line starting with ':'
  kInvalidFieldName,     // a byte outside %d33-126 before the ':' (§3.6.8)
  kLeadingContinuation,  // the first line starts with WSP: nothing to continue
  kBareCr,               // CR not followed by LF (§2.2: lines end in CRLF)
  kBareLf,               // LF not preceded by CR, unless allow_bare_lf
  kNul,                  // NUL in the header block (§3.6.8 / §2.2)
  kTooManyFields,        // more than HeaderBlockOptions::max_fields
  kFieldTooLong,         // a field longer than HeaderBlockOptions::max_field_bytes
  kUnterminatedField,    // the message ends inside a field without its CRLF
};

// The enumerator's name without the leading 'k' ("MissingColon").
std::string_view HeaderBlockErrorName(HeaderBlockError error);

struct HeaderBlockOptions {
  // Leniency: accept a bare LF as a line ending (a lone LF ends a header line
  // and a lone LF line ends the header block). Relaxes RFC 5322 §2.2 / §2.1
  // ("lines ... delimited by CRLF"). DKIM verifiers meet such mail when a
  // message was stored with Unix line endings; raw views keep the LF as it is.
  // A bare CR is always an error.
  bool allow_bare_lf = false;
  // Leniency: accept WSP between the field name and the colon ("Subject : x"),
  // the obsolete syntax of RFC 5322 §4.5.3 (obs-optional etc.), which §3.6.8
  // forbids generating but §4 asks receivers to parse. HeaderField::name then
  // excludes that WSP; raw keeps it.
  bool allow_wsp_before_colon = false;
  // Leniency: accept a message whose last header field is not terminated by
  // CRLF (the message ends inside the field; there is then no separator and no
  // body). RFC 5322 §2.2 requires the CRLF.
  bool allow_unterminated_last_field = false;
  std::size_t max_fields = kMaxHeaderFields;
  std::size_t max_field_bytes = kMaxHeaderFieldBytes;
};

struct HeaderField {
  // The field name exactly as it appeared (case preserved), without the colon.
  std::string_view name;
  // Everything after the colon up to, but excluding, the field's final line
  // ending: leading WSP, folding CRLFs and continuation lines are kept byte
  // for byte. DKIM relaxed canonicalization and display code start from here.
  std::string_view raw_value;
  // The whole field as it appeared: name through its final line ending (CRLF,
  // or LF under allow_bare_lf, or nothing for an unterminated last field).
  // DKIM simple canonicalization hashes exactly these bytes.
  std::string_view raw;
  // Offset of raw (and of name) in the message.
  std::size_t offset = 0;
};

struct HeaderBlock {
  std::vector<HeaderField> fields;  // in message order
  // The empty line ending the header block ("\r\n", or "\n" under
  // allow_bare_lf); empty when the message has no empty line (no body).
  std::string_view separator;
  std::size_t separator_offset = 0;  // == body_offset when separator is empty
  std::size_t body_offset = 0;       // == message size when there is no body
  std::string_view body;             // everything after the separator

  // Every field whose name equals `name` ignoring ASCII case (RFC 5322 §1.2.2:
  // field names are case-insensitive), in message order.
  std::vector<const HeaderField*> FindAll(std::string_view name) const;
  // The first such field, or nullptr.
  const HeaderField* FindFirst(std::string_view name) const;
};

struct HeaderBlockResult {
  HeaderBlockError error = HeaderBlockError::kOk;
  std::size_t offset = 0;  // byte offset in the message where splitting stopped (on error)
  std::string message;     // what, where and why (on error)
  HeaderBlock block;       // complete on success; fields before the error on failure

  bool ok() const { return error == HeaderBlockError::kOk; }
};

// Splits `message` into header fields, separator and body (RFC 5322 §2.1,
// §2.2, §3.6.8). The header block ends at the first empty line or at the end
// of the message. A field is a line "name:" followed by any continuation lines
// (lines starting with SP or HTAB, §2.2.3). All views point into `message`.
HeaderBlockResult SplitHeaderBlock(std::string_view message, const HeaderBlockOptions& options = {});

// True when `a` and `b` are equal ignoring ASCII case.
bool HeaderNameEquals(std::string_view a, std::string_view b);

// `raw_value` unfolded for display (RFC 5322 §2.2.3): every CRLF (or bare LF)
// immediately followed by WSP is removed, then leading and trailing WSP is
// trimmed. Other bytes are copied unchanged. Never use this for DKIM.
std::string UnfoldHeaderValue(std::string_view raw_value);

}  // namespace mxkit::message

#endif  // MXKIT_MESSAGE_HEADER_BLOCK_H_
