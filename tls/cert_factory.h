// The certificate factory: a test PKI made at run time, in memory, with
// BoringSSL's X509 API. A root CA, an intermediate CA, and one leaf per
// defect a receiver's certificate can have, so fakemx can present each on
// demand and the software under test can be told to trust the root.
//
// Deterministic: the same seed and options give the same keys and the same
// certificate bytes (keys are derived from the seed and the variant's name;
// ECDSA signatures use RFC 6979-style nonces; RSA PKCS#1 v1.5 is
// deterministic already). A variant's certificate does not depend on which
// other variants were generated with it.

#ifndef MXKIT_TLS_CERT_FACTORY_H_
#define MXKIT_TLS_CERT_FACTORY_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mxkit::tls {

// What is wrong with the certificate a receiver presents. The names (in
// CertVariantName) are what users write: --cert=expired.
enum class CertVariant {
  kGood,                 // ECDSA P-256 leaf for the hostname, chain root -> intermediate -> leaf
  kExpired,              // notAfter in the past (X509_V_ERR_CERT_HAS_EXPIRED, 10)
  kNotYetValid,          // notBefore in the future (X509_V_ERR_CERT_NOT_YET_VALID, 9)
  kWrongHost,            // SAN names another host (X509_V_ERR_HOSTNAME_MISMATCH, 62)
  kSelfSigned,           // the leaf signs itself (X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 18)
  kUnknownCa,            // chain up to a root the client is not given (20)
  kMissingIntermediate,  // leaf sent without its intermediate (20 as well)
  kRsa1024,              // RSA-1024 leaf key (refused at OpenSSL security level 2)
  kSha1Signature,        // leaf signed with SHA-1 (refused by OpenSSL 3 at level >= 1)
  kEcdsaP256,            // like good, named for what it is
  kRsa2048,              // good, with an RSA-2048 leaf key
  kWildcard,             // SAN "*.<parent of hostname>" (RFC 6125 §6.4.3); for a two-label
                         // hostname ("*.test") verifiers refuse it (62), see README.md
  kNoSan,                // hostname only in the subject CN, no SAN (RFC 6125 §6.4.4)
};

// Every variant, in the order above.
absl::Span<const CertVariant> AllCertVariants();
// "good", "expired", "not-yet-valid", "wrong-host", "self-signed",
// "unknown-ca", "missing-intermediate", "rsa-1024", "sha1-signature",
// "ecdsa-p256", "rsa-2048", "wildcard", "no-san".
std::string_view CertVariantName(CertVariant variant);
// The inverse, exact and case-sensitive. The error (InvalidArgument) quotes
// the input (escaped, bounded) and lists the names there are.
absl::StatusOr<CertVariant> ParseCertVariant(std::string_view name);
// Every name, in AllCertVariants order, joined by ", " (for usage texts and
// errors that list the choices).
std::string CertVariantNameList();

// OK when `hostname` can be CertFactoryOptions::hostname or wrong_hostname:
// lower-case LDH labels (letters, digits, inner hyphens; IDNs as xn--
// A-labels), at least two, each at most 63 octets, at most 253 in all, no
// trailing dot, the last label not all digits (so no IPv4 address).
// Otherwise InvalidArgument naming the label and the rule it breaks, with
// the input escaped and bounded. Generate applies the same check.
absl::Status ValidateCertHostname(std::string_view hostname);

struct CertFactoryOptions {
  uint64_t seed = 1;
  // The name the leaves are for (SAN dNSName, and the CN of no-san). A
  // lower-case DNS name of at least two labels.
  std::string hostname = "mx.test";
  // The name wrong-host is issued for instead.
  std::string wrong_hostname = "wrong-host.invalid";
  // Validity windows are fixed, not relative to the clock, so that a seed
  // always gives the same bytes: good leaves and the CAs are valid from
  // 2025-01-01 to 2049-12-31 (the last year of UTCTime, RFC 5280 §4.1.2.5);
  // expired ended 2021-01-01; not-yet-valid starts 2049-01-01.
};

// One leaf as a server presents it.
struct ServedCertificate {
  CertVariant variant = CertVariant::kGood;
  std::string chain_pem;  // what the server sends: the leaf, then the intermediate unless the
                          // variant leaves it out (self-signed, unknown-ca: issued by
                          // the unknown root itself, missing-intermediate)
  std::string key_pem;    // the leaf's private key, PKCS#8
  std::string leaf_der;
};

class CertificateSet {
 public:
  // Generates the CAs and the leaves for `variants` (default: all; repeats
  // are made once). Fails with InvalidArgument, saying why, on an invalid
  // hostname or wrong_hostname (see ValidateCertHostname), wrong_hostname
  // equal to hostname, a CertVariant value that is no variant, or no-san
  // asked for a hostname longer than a CN holds (64 octets); with Internal,
  // with BoringSSL's reason, on a BoringSSL failure.
  static absl::StatusOr<CertificateSet> Generate(const CertFactoryOptions& options,
                                                 absl::Span<const CertVariant> variants);
  static absl::StatusOr<CertificateSet> Generate(const CertFactoryOptions& options);

  // The test root: what the client under test is told to trust (ca.pem).
  const std::string& root_pem() const { return root_pem_; }
  const std::string& intermediate_pem() const { return intermediate_pem_; }
  // The root behind unknown-ca, never meant to be trusted.
  const std::string& unknown_root_pem() const { return unknown_root_pem_; }
  // NotFound when `variant` was not generated.
  absl::StatusOr<const ServedCertificate*> Get(CertVariant variant) const;

 private:
  std::string root_pem_;
  std::string intermediate_pem_;
  std::string unknown_root_pem_;
  std::map<CertVariant, ServedCertificate> served_;
};

}  // namespace mxkit::tls

#endif  // MXKIT_TLS_CERT_FACTORY_H_
