// What a probe reports about one certificate a server sent: names, validity
// and fingerprints, read from its DER with BoringSSL. Sans-IO: no clock (the
// caller compares the validity with its own "now").

#ifndef MXKIT_PROBE_CERTIFICATE_INFO_H_
#define MXKIT_PROBE_CERTIFICATE_INFO_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace mxkit::probe {

struct CertificateInfo {
  std::string subject;  // RFC 2253 string, "CN=mx.example.test,O=mxkit test"
  std::string issuer;   // same form
  // Validity (RFC 5280 §4.1.2.5) as seconds since the Unix epoch and as
  // "2026-11-29T11:00:00Z".
  int64_t not_before = 0;
  int64_t not_after = 0;
  std::string not_before_text;
  std::string not_after_text;
  // subjectAltName dNSName entries in order (RFC 5280 §4.2.1.6); the names
  // RFC 6125 §6.4.4 checks before falling back to the subject's CN.
  std::vector<std::string> dns_names;
  std::string sha256_fingerprint;  // of the DER, lowercase hex
  // Of the SubjectPublicKeyInfo, lowercase hex: the value of a TLSA record
  // with selector 1 and matching type 1 (RFC 6698 §2.1.2, §2.1.3).
  std::string spki_sha256;
  // The public key's algorithm ("RSA", "EC", "Ed25519", "DSA", or "unknown")
  // and size in bits (RSA modulus, EC group order), what OpenSSL's security
  // levels judge (policy::CheckLeafStrength).
  std::string key_type;
  int key_bits = 0;
  std::string der;
};

// Parses one DER certificate. An error says what could not be read; a
// certificate is never partly described.
absl::StatusOr<CertificateInfo> DescribeCertificate(std::string_view der);

// BoringSSL's text for an X509_V_ERR_* number ("certificate has expired"),
// the words openssl s_client and posttls-finger print beside it; OpenSSL's
// text for 66 and 68, which BoringSSL does not know (policy/chain.h).
std::string X509ErrorText(long x509_error);

}  // namespace mxkit::probe

#endif  // MXKIT_PROBE_CERTIFICATE_INFO_H_
