// X.509 path validation (RFC 5280 §6) of a served chain with BoringSSL, for
// policies that judge a chain after the handshake: `verify` and MTA-STS
// against PEM trust roots (RFC 8461 §4.2: PKIX with the sender's usual
// roots), DANE-TA against the trust anchor a TLSA record selected (RFC 7672
// §3.1.2). The time is passed in so a verdict is a pure function of what was
// observed. Host names are not checked here (policy/hostname.h does that, for
// several reference names at once).

#ifndef MXKIT_POLICY_CHAIN_H_
#define MXKIT_POLICY_CHAIN_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/tls_report_types.h"

namespace mxkit::policy {

// The certificates of a PEM text ("-----BEGIN CERTIFICATE-----" blocks, in
// order) as DER, e.g. a chain as tls::ServedCertificate::chain_pem holds it.
// InvalidArgument naming the block that does not parse; an input without
// any certificate is InvalidArgument too.
absl::StatusOr<std::vector<std::string>> PemCertificatesToDer(std::string_view pem);

struct ChainVerification {
  bool ok = false;
  // X509_V_ERR_* as BoringSSL reports it (OpenSSL's numbers: 0 ok, 9 not yet
  // valid, 10 expired, 18 self-signed leaf, 19 self-signed in chain,
  // 20 unable to get issuer locally, ...), or -1 when the input itself was
  // unusable (a DER certificate or the PEM roots did not parse, empty chain).
  long x509_error = 0;
  // "certificate has expired (X.509 error 10) at depth 0", or the parse error.
  std::string detail;
};

// Verifies `chain_der` (leaf first, as the server sent it; intermediates may
// be in any order after the leaf) up to one of the certificates in
// `trusted_roots_pem` (concatenated PEM), at time `now`, for TLS server
// authentication (extendedKeyUsage serverAuth when present), then the leaf
// through CheckLeafStrength. No host name check.
ChainVerification VerifyChainToRoots(absl::Span<const std::string> chain_der,
                                     std::string_view trusted_roots_pem, absl::Time now);

// Verifies `chain_der` up to `trust_anchor_der`, a certificate that need not
// be self-signed (RFC 7671 §5.2.2: a DANE-TA anchor is trusted as given,
// BoringSSL's X509_V_FLAG_PARTIAL_CHAIN), at time `now`. The anchor may be
// one of the chain's own certificates. The leaf then goes through
// CheckLeafStrength. No host name check.
ChainVerification VerifyChainToAnchor(absl::Span<const std::string> chain_der,
                                      std::string_view trust_anchor_der, absl::Time now);

// OpenSSL security level 2 (SSL_CTX_set_security_level(3): "112 bits of
// security ... RSA, DSA and DH keys shorter than 2048 bits and ECC keys
// shorter than 224 bits are prohibited"), Debian 12's default for every
// OpenSSL-based sender (Postfix, Exim, s_client). BoringSSL has no security
// levels, so a chain it verifies is held to these afterwards.
inline constexpr int kMinLeafRsaDsaBits = 2048;
inline constexpr int kMinLeafEcBits = 224;
// OpenSSL's X509_V_ERR_EE_KEY_TOO_SMALL and X509_V_ERR_CA_MD_TOO_WEAK, which
// BoringSSL does not define: the numbers a level-2 OpenSSL sender reports.
inline constexpr long kX509ErrorEeKeyTooSmall = 66;
inline constexpr long kX509ErrorCaMdTooWeak = 68;

// The leaf (DER) held to OpenSSL security level 2, as an OpenSSL sender's
// verification would after PKIX succeeds: an RSA/DSA key under 2048 bits or an
// EC key under 224 bits is kX509ErrorEeKeyTooSmall ("EE certificate key too
// weak (RSA 1024 bits < 2048)"), a SHA-1 (or MD5) signature on it
// kX509ErrorCaMdTooWeak (OpenSSL 3 rates SHA-1 at under 80 bits, refused from
// level 1). ok with x509_error 0 otherwise; -1 when the DER does not parse.
// VerifyChainToRoots and VerifyChainToAnchor apply it; DANE-EE (usage 3)
// matching does not, since RFC 7672 §3.1.1 ignores everything but the key.
ChainVerification CheckLeafStrength(std::string_view leaf_der);

// The RFC 8460 result type for a failed verification: 9 and 10 are
// certificate-expired (the validity window, either end), 2/18/19/20/21/27/
// 28 are certificate-not-trusted, and so are 66 and 68 (a key or signature
// too weak to trust: the chain is fine, the sender refuses to rely on it), 62 (host name) is
// certificate-host-mismatch, anything else (and -1, unusable input)
// validation-failure.
TlsResultType ResultTypeForX509Error(long x509_error);

}  // namespace mxkit::policy

#endif  // MXKIT_POLICY_CHAIN_H_
