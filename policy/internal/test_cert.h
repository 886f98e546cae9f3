// Tests only: small X.509 certificates with chosen names, dates and issuer,
// made with BoringSSL, for host name, chain and DANE tests that need shapes
// the certificate factory (tls/cert_factory.h) has no variant for.

#ifndef MXKIT_POLICY_INTERNAL_TEST_CERT_H_
#define MXKIT_POLICY_INTERNAL_TEST_CERT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tls/cert_factory.h"

namespace mxkit::policy::testing {

struct TestCertSpec {
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries (none: no SAN)
  std::string common_name;             // subject CN ("" = none)
  int64_t not_before = 1735689600;     // 2025-01-01, Unix seconds
  int64_t not_after = 2524607999;      // 2049-12-31
  bool is_ca = false;
  uint64_t serial = 1;
};

struct TestCert {
  std::string der;
  std::string pem;
  std::string key_der;  // the subject's private key (EC P-256), DER
};

// A fresh EC P-256 key per call, signed by `issuer` (null: self-signed).
// Aborts the test binary with a message if BoringSSL refuses a step, which
// only a broken build or allocation failure can cause.
TestCert MakeTestCert(const TestCertSpec& spec, const TestCert* issuer = nullptr);

// The certificate factory's set for "mx.example.test" (every variant, the
// default seed), generated once per process, for tests that need the
// factory's chains rather than hand-made shapes. Aborts like MakeTestCert.
const tls::CertificateSet& FactorySet();
// `variant`'s chain as FactorySet serves it, as DER, leaf first.
std::vector<std::string> FactoryChainDer(tls::CertVariant variant);

}  // namespace mxkit::policy::testing

#endif  // MXKIT_POLICY_INTERNAL_TEST_CERT_H_
