#include "tls/x509_der.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tls/boringssl_error.h"

namespace mxkit::tls {

absl::StatusOr<bssl::UniquePtr<X509>> ParseCertificateDer(std::string_view der) {
  ErrorQueueScope errors;
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  bssl::UniquePtr<X509> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (!cert) {
    return absl::InvalidArgumentError(absl::StrCat("not a DER certificate (", TakeQueuedReason(), ")"));
  }
  if (p != reinterpret_cast<const uint8_t*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("trailing bytes after the DER certificate");
  }
  return cert;
}

}  // namespace mxkit::tls
