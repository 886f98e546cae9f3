// RFC 8460 §4.3 result types: the names a TLS-RPT report gives each way a
// sender's TLS policy can fail on a hop. Every failure verdict of
// policy/tls_policy.h, policy/dane.h and policy/mta_sts_fetcher.h carries
// one, so a report (policy/tlsrpt.h) is written from verdicts without a
// second mapping.

#ifndef MXKIT_POLICY_TLS_REPORT_TYPES_H_
#define MXKIT_POLICY_TLS_REPORT_TYPES_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mxkit::policy {

enum class TlsResultType {
  // RFC 8460 §4.3.1, negotiation failures.
  kStarttlsNotSupported,     // "starttls-not-supported": STARTTLS not offered (or refused)
  kCertificateHostMismatch,  // "certificate-host-mismatch": no reference name in the certificate
  kCertificateExpired,       // "certificate-expired"
  kCertificateNotTrusted,    // "certificate-not-trusted": chain does not lead to a trusted root
  kValidationFailure,        // "validation-failure": any other failure
  // RFC 8460 §4.3.2, policy failures: DANE (RFC 7672).
  kTlsaInvalid,    // "tlsa-invalid": no TLSA record of the RRset is valid for the chain
  kDnssecInvalid,  // "dnssec-invalid": no valid (DNSSEC-validated) answer from the resolver
  kDaneRequired,   // "dane-required": the sender requires DANE, no authenticated TLSA found
  // RFC 8460 §4.3.2, policy failures: MTA-STS (RFC 8461).
  kStsPolicyFetchError,  // "sts-policy-fetch-error": HTTPS fetch failed (also a 3xx, §3.3)
  kStsPolicyInvalid,     // "sts-policy-invalid": the policy text does not parse (§3.2)
  kStsWebpkiInvalid,     // "sts-webpki-invalid": the policy host's certificate failed (§3.3)
};

// Every result type, in the order above.
absl::Span<const TlsResultType> AllTlsResultTypes();

// The RFC 8460 name, "starttls-not-supported", ..., "sts-webpki-invalid".
std::string_view TlsResultTypeName(TlsResultType type);

// The inverse: exact and case-sensitive (RFC 8460 §4.4 JSON values are
// lower-case strings). InvalidArgument quotes the input (escaped, bounded)
// and lists the names there are. Note that a report parser must not refuse
// result types registered after RFC 8460 (RFC 8460 §6: an IANA registry); see
// policy/tlsrpt.h, which keeps result-type as text for that reason.
absl::StatusOr<TlsResultType> ParseTlsResultType(std::string_view name);

// Every name, in AllTlsResultTypes order, joined by ", ".
std::string TlsResultTypeNameList();

}  // namespace mxkit::policy

#endif  // MXKIT_POLICY_TLS_REPORT_TYPES_H_
