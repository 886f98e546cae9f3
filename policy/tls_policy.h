// Sender TLS policies: what a sending MTA configured with each policy would do
// on one hop, as a pure function of what was observed there. `mxkit probe`
// observes a hop once and prints the verdict under every policy, so a user
// sees at a glance that the same receiver is fine under `may`, refused under
// `verify` and ignored by DANE without DNSSEC.
//
// The policies are Postfix's smtp_tls_security_level names (the levels most
// senders implement under some name), plus MTA-STS (RFC 8461):
//   none      no TLS: mail goes in clear even when STARTTLS is offered
//   may       opportunistic TLS (RFC 7435): TLS when offered, unverified; a
//             failed handshake falls back to clear text, as Postfix does
//   encrypt   TLS required, certificate not checked (RFC 3207 §4.1 leaves
//             that to policy)
//   verify    TLS required, chain to the sender's roots and the MX host name
//             (RFC 6125 §6.4 rules, policy/hostname.h)
//   mta-sts   RFC 8461 §4-§5: no policy (or mode none) behaves as `may`;
//             `testing` reports failures but delivers as `may` does;
//             `enforce` requires the MX to match the policy, TLS, PKIX with
//             the MX name
//   dane      RFC 7672 opportunistic DANE: authenticated usable TLSA records
//             must match; no TLSA (or unauthenticated) behaves as `may`;
//             authenticated but all unusable requires TLS (§2.2)
//   dane-only Postfix's "dane-only": like `dane` but no authenticated TLSA is
//             a failure (RFC 8460 dane-required)

#ifndef MXKIT_POLICY_TLS_POLICY_H_
#define MXKIT_POLICY_TLS_POLICY_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "policy/chain.h"
#include "policy/dane.h"
#include "policy/mta_sts.h"
#include "policy/tls_report_types.h"

namespace mxkit::policy {

enum class SenderPolicy { kNone, kMay, kEncrypt, kVerify, kMtaSts, kDane, kDaneOnly };

// Every policy, in the order above.
absl::Span<const SenderPolicy> AllSenderPolicies();
// "none", "may", "encrypt", "verify", "mta-sts", "dane", "dane-only".
std::string_view SenderPolicyName(SenderPolicy policy);
// The inverse, exact; InvalidArgument quotes the input and lists the names.
absl::StatusOr<SenderPolicy> ParseSenderPolicy(std::string_view name);

// The MTA-STS state for the hop's recipient domain, after discovery (TXT),
// the cache and the fetch (policy/mta_sts.h, policy/mta_sts_fetcher.h).
struct MtaStsObservation {
  enum class State {
    kNoPolicy,  // no valid _mta-sts TXT record and nothing cached
    kPolicy,    // a policy applies (fetched now or cached): see `policy`
    kFailed,    // a TXT record, but the fetch failed and nothing is cached:
                // RFC 8461 §5.1 delivers as without a policy, and reports `failure`
  };
  State state = State::kNoPolicy;
  std::optional<StsPolicy> policy;       // kPolicy
  std::optional<TlsResultType> failure;  // kFailed: sts-policy-fetch-error / -invalid / sts-webpki-invalid
  std::string detail;
};

// What the sender saw on one hop (one MX host, one connection).
struct HopObservation {
  // The MX host name as found in the MX RRset (or given by the user): the
  // reference name for verify and MTA-STS, and the MTA-STS pattern subject.
  std::string mx_host;
  bool starttls_offered = false;   // EHLO advertised STARTTLS
  bool starttls_accepted = false;  // 220 to STARTTLS
  bool handshake_ok = false;       // the TLS handshake completed
  std::string handshake_error;     // when it did not (tls::EngineError::ToString())
  std::string tls_version;         // "TLSv1.3", when handshake_ok
  std::string cipher;              // IANA name, when handshake_ok
  // The chain the server sent, DER, leaf first (empty without a handshake).
  std::vector<std::string> chain_der;
  // The chain checked against the sender's roots (VerifyChainToRoots), with no
  // host name. nullopt: not checked (then verify and MTA-STS enforce cannot
  // succeed).
  std::optional<ChainVerification> chain_verification;
  MtaStsObservation mta_sts;
  // The TLSA lookup for _25._tcp.<mx_host> and its records.
  TlsaLookup tlsa_lookup = TlsaLookup::kNoRecords;
  std::vector<TlsaRecord> tlsa_records;
  // The TLSA base domain when CNAME expansion gave one other than mx_host
  // (RFC 7672 §2.2.2); "" = mx_host.
  std::string tlsa_base_domain;
  absl::Time now;  // for DANE-TA chain dates
};

struct PolicyVerdict {
  SenderPolicy policy = SenderPolicy::kNone;
  bool deliver = false;        // would the sender hand the message to this hop
  bool encrypted = false;      // and would it travel encrypted (false when !deliver)
  bool authenticated = false;  // with the server's identity checked (verify, STS, DANE)
  // The RFC 8460 result type to report, when something failed. Also set when
  // mail still goes (MTA-STS testing, a failed fetch without cache, `may`
  // after a failed handshake) because TLS-RPT reports those too.
  std::optional<TlsResultType> failure;
  std::string reason;  // one sentence: "certificate has expired (X.509 error 10)"
};

// The verdict of `policy` on `hop`. Pure: same observation, same verdict.
PolicyVerdict EvaluatePolicy(SenderPolicy policy, const HopObservation& hop);

// EvaluatePolicy for each of AllSenderPolicies, in that order.
std::vector<PolicyVerdict> EvaluateAllPolicies(const HopObservation& hop);

}  // namespace mxkit::policy

#endif  // MXKIT_POLICY_TLS_POLICY_H_
