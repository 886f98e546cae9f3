// The DKIM-Signature header field (RFC 6376 §3.5) and the header hash input
// (§3.7, §5.4.2) that the verifier and the signer share.

#ifndef MXKIT_AUTH_DKIM_SIGNATURE_H_
#define MXKIT_AUTH_DKIM_SIGNATURE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/dkim/canonicalize.h"
#include "message/header_block.h"

namespace mxkit::auth::dkim {

// h= may name each header field more than once (over-signing); RFC 6376 sets
// no bound, this one (ours) bounds the selection work per signature.
inline constexpr std::size_t kMaxSignedHeaderFields = 256;
// RFC 6376 §3.5: t= and x= are 1*12DIGIT, l= is 1*76DIGIT.
inline constexpr std::size_t kMaxTimestampDigits = 12;
inline constexpr std::size_t kMaxBodyLengthDigits = 76;
// RFC 1035 §2.3.4 / §3.1: 63 octets a label, 255 a name on the wire (253 as text).
inline constexpr std::size_t kMaxDomainLength = 253;
inline constexpr std::size_t kMaxLabelLength = 63;

// One header field of a message, as DKIM needs it.
struct HeaderField {
  std::string_view name;  // the field name as written (no trailing WSP)
  // The field exactly as it appeared: name through the end of its last
  // continuation line, without the CRLF that ends the field.
  std::string_view raw;
};

// A message split for DKIM: its header fields and its body, as views into
// the message.
struct DkimMessage {
  std::vector<HeaderField> headers;
  std::string_view body;
};

// Splits `message` with message::SplitHeaderBlock (strict RFC 5322 unless
// `options` relax it) and drops each field's final line ending. Errors carry
// the splitter's offset and message.
absl::StatusOr<DkimMessage> SplitMessage(std::string_view message,
                                         const message::HeaderBlockOptions& options = {});
// The same for a block SplitHeaderBlock already split without error, viewing
// what `block` views: a caller that reads the header for more than DKIM (a
// receiver checking DMARC's From) splits the message once.
DkimMessage SplitMessage(const message::HeaderBlock& block);

enum class SignatureAlgorithm { kRsaSha256, kEd25519Sha256, kRsaSha1 };

// "rsa-sha256", "ed25519-sha256", "rsa-sha1".
std::string_view SignatureAlgorithmName(SignatureAlgorithm a);

enum class SignatureError {
  kOk,
  // Malformed: the field or a tag value breaks the §3.5 grammar. RFC 8601
  // §2.7.1 reports these as "neutral" ("contained syntax errors").
  kSyntax,
  // Well formed but unusable; RFC 8601 §2.7.1 "permerror".
  kMissingTag,                   // one of v a b bh d h s absent (§6.1.1)
  kUnsupportedVersion,           // v= other than "1"
  kUnsupportedAlgorithm,         // a= not rsa-sha256, ed25519-sha256, rsa-sha1
  kUnsupportedCanonicalization,  // c= not simple/relaxed
  kUnsupportedQueryMethod,       // q= without dns/txt
  kIdentityNotInDomain,          // i= domain not d= or below it (§3.5)
  kFromNotSigned,                // h= lacks From (§5.4, §6.1.1)
  kExpiresBeforeTimestamp,       // x= not greater than t= (§3.5)
  kTooManySignedHeaders,         // h= longer than kMaxSignedHeaderFields
};

std::string_view SignatureErrorName(SignatureError error);

// A parsed DKIM-Signature. Strings are copies (lowercased where the RFC
// compares case-insensitively: domain, selector, h= names).
struct Signature {
  SignatureAlgorithm algorithm = SignatureAlgorithm::kRsaSha256;
  Canonicalization header_canonicalization = Canonicalization::kSimple;
  Canonicalization body_canonicalization = Canonicalization::kSimple;
  std::string domain;    // d=, lowercased
  std::string selector;  // s=, lowercased
  // i= as written, or "@" + d= when absent (§3.5).
  std::string identity;
  std::string identity_domain;  // domain part of identity, lowercased
  std::vector<std::string> signed_headers;  // h=, lowercased, in order
  std::string signature;  // decoded b=
  std::string body_hash;  // decoded bh=
  std::optional<uint64_t> body_length;  // l=; saturates at UINT64_MAX
  std::optional<int64_t> timestamp;     // t=
  std::optional<int64_t> expiration;    // x=
  // Byte range in the raw field of the b= value to delete for hashing: from
  // just after "b=" to the next ";" or the end, i.e. the value "including all
  // surrounding whitespace" (§3.7).
  std::size_t b_value_begin = 0;
  std::size_t b_value_end = 0;
};

struct SignatureParseResult {
  SignatureError error = SignatureError::kOk;
  std::size_t offset = 0;  // into the raw field
  std::string message;
  Signature signature;

  bool ok() const { return error == SignatureError::kOk; }
};

struct SignatureParseOptions {
  // Accept an empty b= value: the form of a field being signed (§5.4, the
  // signer hashes its own field with b= empty). Never for verification.
  bool allow_empty_b = false;
};

// Parses one raw DKIM-Signature field (name, colon, value; see HeaderField).
SignatureParseResult ParseSignature(std::string_view raw_field,
                                    const SignatureParseOptions& options = {});

// Appends to `out` exactly the bytes §3.7 hashes for the header: the
// canonicalized fields h= selects from `headers` (each name takes the
// bottom-most instance not yet taken, §5.4.2; a name with no instance left
// contributes nothing, which is what makes over-signing work), then the
// signature field itself canonicalized with its b= value deleted and without
// its trailing CRLF. `signature_raw` is the field `signature` was parsed from.
void AppendHeaderHashInput(std::span<const HeaderField> headers, const Signature& signature,
                           std::string_view signature_raw, std::string* out);

// Whether `name` is a syntactically valid domain-name (RFC 6376 §3.5 d=:
// sub-domain 1*("." sub-domain), labels of letters, digits and inner hyphens).
bool IsValidDomainName(std::string_view name);

}  // namespace mxkit::auth::dkim

#endif  // MXKIT_AUTH_DKIM_SIGNATURE_H_
