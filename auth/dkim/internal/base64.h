// Base64 (RFC 4648 §4, padded) over BoringSSL, for b=, bh= and p=.

#ifndef MXKIT_AUTH_DKIM_INTERNAL_BASE64_H_
#define MXKIT_AUTH_DKIM_INTERNAL_BASE64_H_

#include <optional>
#include <string>
#include <string_view>

namespace mxkit::auth::dkim::internal {

// Decodes padded base64 with no whitespace in it; nullopt when malformed.
std::optional<std::string> DecodeBase64(std::string_view text);
// The same after removing every SP, HTAB, CR and LF: the base64 of b=, bh=
// and p=, where FWS may appear anywhere (RFC 6376 §3.5, §3.6.1).
std::optional<std::string> DecodeBase64IgnoringFws(std::string_view text);
std::string EncodeBase64(std::string_view bytes);

}  // namespace mxkit::auth::dkim::internal

#endif  // MXKIT_AUTH_DKIM_INTERNAL_BASE64_H_
