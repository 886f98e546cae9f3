// TLS protocol versions and the "1.0-1.3" ranges users write on the command
// line and in scenario files.

#ifndef MXKIT_TLS_VERSION_H_
#define MXKIT_TLS_VERSION_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mxkit::tls {

// Wire values (RFC 8446 §4.2.1, RFC 5246 appendix E). SSL 3.0 is not here:
// BoringSSL removed it, and RFC 7568 forbids it.
enum class TlsVersion : uint16_t {
  kTls10 = 0x0301,
  kTls11 = 0x0302,
  kTls12 = 0x0303,
  kTls13 = 0x0304,
};

// Inclusive. The default is what a well-run receiver offers today
// (RFC 8996 deprecates 1.0 and 1.1).
struct VersionRange {
  TlsVersion min = TlsVersion::kTls12;
  TlsVersion max = TlsVersion::kTls13;
  friend bool operator==(const VersionRange&, const VersionRange&) = default;
};

// "1.0", "1.2-1.3", "1.0-1.0". Errors (InvalidArgument) say which part is
// wrong and list the versions there are; min > max is an error.
absl::StatusOr<VersionRange> ParseVersionRange(std::string_view text);
// The inverse: "1.2-1.3", or "1.0" when min == max.
std::string FormatVersionRange(const VersionRange& range);
// "TLSv1.3", as OpenSSL and BoringSSL's SSL_get_version spell it (and so
// the envelope sidecar, testssl.sh and s_client agree).
std::string_view VersionName(TlsVersion version);
// From a wire value; false for anything else (SSL 3.0, DTLS, garbage).
bool VersionFromWire(uint16_t wire, TlsVersion* version);

}  // namespace mxkit::tls

#endif  // MXKIT_TLS_VERSION_H_
