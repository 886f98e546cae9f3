// A DER X.509 certificate to a BoringSSL object: the one parser the policy,
// probe and fakemx code share, so every caller refuses the same inputs
// (trailing bytes after the certificate included) with the same words. PEM
// to DER is policy::PemCertificatesToDer.

#ifndef MXKIT_TLS_X509_DER_H_
#define MXKIT_TLS_X509_DER_H_

#include <openssl/base.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace mxkit::tls {

// Exactly one DER certificate (RFC 5280 §4.1), nothing after it.
// InvalidArgument "not a DER certificate (<BoringSSL reason>)" or "trailing
// bytes after the DER certificate". Leaves the thread's error queue empty.
absl::StatusOr<bssl::UniquePtr<X509>> ParseCertificateDer(std::string_view der);

}  // namespace mxkit::tls

#endif  // MXKIT_TLS_X509_DER_H_
