#include "tls/x509_der.h"

#include <openssl/bio.h>
#include <openssl/mem.h>
#include <openssl/pem.h>

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

absl::StatusOr<std::string> CertificatePemToDer(std::string_view pem) {
  ErrorQueueScope errors;
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<long>(pem.size())));
  bssl::UniquePtr<X509> cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!cert) {
    return absl::InvalidArgumentError(absl::StrCat("no PEM certificate (", TakeQueuedReason(), ")"));
  }
  uint8_t* der = nullptr;
  const int len = i2d_X509(cert.get(), &der);
  if (len <= 0) {
    return absl::InternalError(absl::StrCat("cannot encode the certificate (", TakeQueuedReason(), ")"));
  }
  std::string out(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

}  // namespace mxkit::tls
