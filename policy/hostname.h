// Reference identity matching (RFC 6125 §6.4) of DNS names against the names
// a server certificate presents, for the sender policies that check a name
// other than the one tls::Engine was told to verify, or several at once:
// MTA-STS checks the MX host name (RFC 8461 §4.2), DANE-TA accepts either the
// TLSA base domain or the MX host name (RFC 7672 §3.2.3). tls::Engine's
// verify_hostname stays the check for a single name during a handshake; this
// library reads the names with BoringSSL's X.509 parser and applies the rules
// below, which a differential test holds against BoringSSL's X509_check_host
// (hostname_test.cc lists the four places we are stricter or, for a root
// dot, more lenient, and why).
//
// Rules (RFC 6125 §6.4.1-§6.4.3, with the choices RFC 6125 leaves open):
//  - comparison is ASCII case-insensitive (§6.4.1); one trailing dot on the
//    reference name is ignored; IDNs compare as A-labels (§6.4.2), the
//    caller converts U-labels first (dns/idna.h);
//  - a wildcard is only the whole leftmost label "*" (§6.4.3 rule 2 allows
//    "f*o" patterns as a MAY; we refuse them as CA/B Baseline Requirements
//    §7.1.4.2.1 and Postfix do), and it matches exactly one non-empty label;
//  - no wildcard over fewer than two labels after it: "*.com" or "*.test"
//    match nothing (§7.2: a wildcard near a public suffix is a risk; the
//    two-label rule is BoringSSL's and Chrome's, not a public suffix list);
//  - a wildcard never stands for an A-label ("xn--..."): §6.4.3 says not to
//    match a wildcard within an IDN label (Debian's BoringSSL does match it);
//  - a reference name with an empty label or a "*" matches nothing;
//  - the subject CN is consulted only with allow_subject_cn_fallback and only
//    when the certificate has no dNSName SAN (§6.4.4). That is a leniency:
//    RFC 6125 §6.4.4 permits it as a fallback, but CA/B forbids CN-only
//    certificates and a CN is not bound to a name type.

#ifndef MXKIT_POLICY_HOSTNAME_H_
#define MXKIT_POLICY_HOSTNAME_H_

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mxkit::policy {

struct HostnameMatchOptions {
  // RFC 6125 §6.4.4: match a reference name against the subject CN when the
  // certificate has no dNSName SAN. Off by default (see above).
  bool allow_subject_cn_fallback = false;
};

// True when the presented identifier `presented` (a SAN dNSName, or a CN
// under the fallback) matches the reference identifier `reference` by the
// rules above. An empty name on either side matches nothing.
bool DnsIdMatches(std::string_view presented, std::string_view reference);

// The names a certificate presents, as BoringSSL decodes them.
struct CertificateNames {
  std::vector<std::string> dns_names;        // subjectAltName dNSName entries, in order
  std::vector<std::string> subject_common_names;  // subject CN attributes (for the fallback)
};

// Reads the names of one DER certificate. InvalidArgument when `der` is not a
// certificate (with BoringSSL's reason); SAN entries that are not IA5String
// text are skipped, as BoringSSL's own host check skips them.
absl::StatusOr<CertificateNames> ReadCertificateNames(std::string_view der);

struct CertificateNameMatch {
  bool matched = false;
  std::string reference;       // the reference name that matched ("" when none did)
  std::string presented;       // the certificate's name it matched
  bool via_common_name = false;  // the match used the §6.4.4 CN fallback
  // When nothing matched: what the certificate presents, for a message
  // ("certificate names mx.other.test, *.other.test; wanted mx.example.test").
  std::string reason;
};

// Matches the certificate `der` (a leaf) against `references` in order; the
// first reference that any presented name matches wins. InvalidArgument when
// `der` does not parse. Never checks dates, trust or key usage: that is
// policy/chain.h's job.
absl::StatusOr<CertificateNameMatch> MatchCertificateNames(
    std::string_view der, absl::Span<const std::string> references,
    const HostnameMatchOptions& options = {});

}  // namespace mxkit::policy

#endif  // MXKIT_POLICY_HOSTNAME_H_
