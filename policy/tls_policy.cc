#include "policy/tls_policy.h"

#include <array>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "policy/hostname.h"

namespace mxkit::policy {
namespace {

constexpr std::array<std::pair<SenderPolicy, std::string_view>, 7> kNames = {{
    {SenderPolicy::kNone, "none"},
    {SenderPolicy::kMay, "may"},
    {SenderPolicy::kEncrypt, "encrypt"},
    {SenderPolicy::kVerify, "verify"},
    {SenderPolicy::kMtaSts, "mta-sts"},
    {SenderPolicy::kDane, "dane"},
    {SenderPolicy::kDaneOnly, "dane-only"},
}};

constexpr std::array<SenderPolicy, kNames.size()> kAll = [] {
  std::array<SenderPolicy, kNames.size()> all{};
  for (size_t i = 0; i < kNames.size(); ++i) all[i] = kNames[i].first;
  return all;
}();

// Whether the hop got to an established TLS session, and if not, why, as
// RFC 8460 words it.
struct TlsState {
  bool established = false;
  TlsResultType failure = TlsResultType::kValidationFailure;
  std::string reason;  // when established: "TLSv1.3 TLS_AES_128_GCM_SHA256"
};

TlsState ObserveTls(const HopObservation& hop) {
  TlsState tls;
  if (!hop.starttls_offered) {
    tls.failure = TlsResultType::kStarttlsNotSupported;
    tls.reason = "STARTTLS not offered";
  } else if (!hop.starttls_accepted) {
    tls.failure = TlsResultType::kStarttlsNotSupported;
    tls.reason = "STARTTLS offered but refused";
  } else if (!hop.handshake_ok) {
    tls.failure = TlsResultType::kValidationFailure;
    tls.reason = absl::StrCat("TLS handshake failed",
                              hop.handshake_error.empty() ? "" : ": ", hop.handshake_error);
  } else {
    tls.established = true;
    tls.reason = absl::StrCat(hop.tls_version.empty() ? "TLS" : hop.tls_version,
                              hop.cipher.empty() ? "" : " ", hop.cipher);
  }
  return tls;
}

// PKIX to the sender's roots (as observed) plus the RFC 6125 name check
// against `reference`. nullopt when the server is authenticated.
std::optional<std::pair<TlsResultType, std::string>> PkixFailure(const HopObservation& hop,
                                                                 std::string_view reference) {
  if (hop.chain_der.empty()) {
    return std::make_pair(TlsResultType::kValidationFailure,
                          std::string("no certificate chain was observed"));
  }
  if (!hop.chain_verification.has_value()) {
    return std::make_pair(TlsResultType::kValidationFailure,
                          std::string("the chain was not checked against trust roots"));
  }
  if (!hop.chain_verification->ok) {
    return std::make_pair(ResultTypeForX509Error(hop.chain_verification->x509_error),
                          absl::StrCat("certificate not valid: ", hop.chain_verification->detail));
  }
  auto names = MatchCertificateNames(hop.chain_der.front(), {std::string(reference)});
  if (!names.ok()) {
    return std::make_pair(TlsResultType::kValidationFailure,
                          absl::StrCat("leaf certificate: ", base::StatusText(names.status())));
  }
  if (!names->matched) {
    return std::make_pair(TlsResultType::kCertificateHostMismatch,
                          absl::StrCat("host name mismatch: ", names->reason));
  }
  return std::nullopt;
}

PolicyVerdict Make(SenderPolicy policy, bool deliver, bool encrypted, bool authenticated,
                   std::optional<TlsResultType> failure, std::string reason) {
  PolicyVerdict v;
  v.policy = policy;
  v.deliver = deliver;
  v.encrypted = deliver && encrypted;
  v.authenticated = v.encrypted && authenticated;
  v.failure = failure;
  v.reason = std::move(reason);
  return v;
}

// Opportunistic TLS (RFC 7435), the fallback of several policies.
PolicyVerdict May(SenderPolicy policy, const HopObservation& hop, std::string_view prefix) {
  const TlsState tls = ObserveTls(hop);
  if (tls.established) {
    return Make(policy, true, true, false, std::nullopt,
                absl::StrCat(base::Av(prefix), "encrypted (", tls.reason,
                             "), certificate not checked"));
  }
  // Postfix's "may" retries in clear text after a failed handshake.
  return Make(policy, true, false, false, tls.failure,
              absl::StrCat(base::Av(prefix), tls.reason, ": delivered in clear text"));
}

PolicyVerdict Encrypt(SenderPolicy policy, const HopObservation& hop, std::string_view prefix) {
  const TlsState tls = ObserveTls(hop);
  if (tls.established) {
    return Make(policy, true, true, false, std::nullopt,
                absl::StrCat(base::Av(prefix), "encrypted (", tls.reason,
                             "), certificate not checked"));
  }
  return Make(policy, false, false, false, tls.failure,
              absl::StrCat(base::Av(prefix), tls.reason, ": TLS is required, not delivered"));
}

PolicyVerdict Verify(SenderPolicy policy, const HopObservation& hop, std::string_view prefix) {
  const TlsState tls = ObserveTls(hop);
  if (!tls.established) {
    return Make(policy, false, false, false, tls.failure,
                absl::StrCat(base::Av(prefix), tls.reason, ": TLS is required, not delivered"));
  }
  if (auto failure = PkixFailure(hop, hop.mx_host)) {
    return Make(policy, false, false, false, failure->first,
                absl::StrCat(base::Av(prefix), failure->second, ": not delivered"));
  }
  return Make(policy, true, true, true, std::nullopt,
              absl::StrCat(base::Av(prefix), "encrypted (", tls.reason,
                           "), certificate verified for ", hop.mx_host));
}

PolicyVerdict MtaSts(const HopObservation& hop) {
  const MtaStsObservation& sts = hop.mta_sts;
  if (sts.state == MtaStsObservation::State::kNoPolicy) {
    return May(SenderPolicy::kMtaSts, hop, "no MTA-STS policy, as may: ");
  }
  if (sts.state == MtaStsObservation::State::kFailed || !sts.policy.has_value()) {
    // RFC 8461 §5.1: no usable policy and nothing cached: deliver as without
    // one, and report the failure.
    PolicyVerdict v = May(SenderPolicy::kMtaSts, hop,
                          absl::StrCat("MTA-STS policy unavailable (",
                                       sts.detail.empty() ? "no detail" : sts.detail,
                                       "), as may: "));
    v.failure = sts.failure.value_or(TlsResultType::kStsPolicyFetchError);
    return v;
  }
  const StsPolicy& policy = *sts.policy;
  if (policy.mode == StsMode::kNone) {
    return May(SenderPolicy::kMtaSts, hop, "MTA-STS mode none, as may: ");
  }
  const std::string mode(StsModeName(policy.mode));
  std::optional<std::pair<TlsResultType, std::string>> failure;
  const TlsState tls = ObserveTls(hop);
  if (!StsPolicyAllowsMx(policy, hop.mx_host)) {
    // RFC 8460 has no type of its own for an MX outside the policy.
    failure = std::make_pair(TlsResultType::kValidationFailure,
                             absl::StrCat("MX host ", hop.mx_host,
                                          " matches no mx pattern of the policy (RFC 8461 §4.1)"));
  } else if (!tls.established) {
    failure = std::make_pair(tls.failure, tls.reason);
  } else {
    failure = PkixFailure(hop, hop.mx_host);
  }
  if (!failure) {
    return Make(SenderPolicy::kMtaSts, true, true, true, std::nullopt,
                absl::StrCat("MTA-STS ", mode, ": encrypted (", tls.reason,
                             "), MX in policy, certificate verified for ", hop.mx_host));
  }
  if (policy.mode == StsMode::kEnforce) {
    return Make(SenderPolicy::kMtaSts, false, false, false, failure->first,
                absl::StrCat("MTA-STS enforce: ", failure->second, ": not delivered (RFC 8461 §5)"));
  }
  // testing: report, deliver as if there were no policy (RFC 8461 §5).
  PolicyVerdict v = May(SenderPolicy::kMtaSts, hop,
                        absl::StrCat("MTA-STS testing: would fail (", failure->second,
                                     "), reported; as may: "));
  v.failure = failure->first;
  return v;
}

PolicyVerdict Dane(SenderPolicy policy, const HopObservation& hop) {
  const bool only = policy == SenderPolicy::kDaneOnly;
  const TlsState tls = ObserveTls(hop);
  DaneInput input;
  input.lookup = hop.tlsa_lookup;
  input.records = hop.tlsa_records;
  if (tls.established) input.chain_der = hop.chain_der;
  // RFC 7672 §3.2.3: the TLSA base domain, then the MX host name.
  if (!hop.tlsa_base_domain.empty()) input.reference_names.push_back(hop.tlsa_base_domain);
  if (hop.tlsa_base_domain.empty() || !base::EqualsIgnoreCase(hop.tlsa_base_domain, hop.mx_host)) {
    input.reference_names.push_back(hop.mx_host);
  }
  input.now = hop.now;
  const DaneVerdict dane = EvaluateDane(input);
  switch (dane.outcome) {
    case DaneVerdict::Outcome::kLookupFailed:
      return Make(policy, false, false, false, dane.failure,
                  absl::StrCat(dane.reason, ": not delivered"));
    case DaneVerdict::Outcome::kNotApplicable:
      if (only) {
        return Make(policy, false, false, false, TlsResultType::kDaneRequired,
                    absl::StrCat(dane.reason, "; dane-only requires DANE: not delivered"));
      }
      if (dane.tls_required) return Encrypt(policy, hop, absl::StrCat(dane.reason, "; "));
      return May(policy, hop, absl::StrCat(dane.reason, ", as may: "));
    case DaneVerdict::Outcome::kMatch:
      return Make(policy, true, true, true, std::nullopt,
                  absl::StrCat("DANE: encrypted (", tls.reason, "), ", dane.reason));
    case DaneVerdict::Outcome::kMismatch:
      break;
  }
  if (!tls.established) {
    // RFC 7672 §2.2: usable TLSA records make TLS mandatory.
    return Make(policy, false, false, false, tls.failure,
                absl::StrCat("DANE: ", dane.usable_records, " usable TLSA records but ",
                             tls.reason, ": not delivered (RFC 7672 §2.2)"));
  }
  return Make(policy, false, false, false, dane.failure,
              absl::StrCat("DANE: ", dane.reason, ": not delivered"));
}

}  // namespace

absl::Span<const SenderPolicy> AllSenderPolicies() { return kAll; }

std::string_view SenderPolicyName(SenderPolicy policy) {
  for (const auto& [known, name] : kNames) {
    if (known == policy) return name;
  }
  return "unknown";
}

absl::StatusOr<SenderPolicy> ParseSenderPolicy(std::string_view name) {
  for (const auto& [policy, known] : kNames) {
    if (known == name) return policy;
  }
  std::string list;
  for (const auto& [policy, known] : kNames) {
    if (!list.empty()) list += ", ";
    list += known;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown TLS policy ",
                                                 base::QuoteForMessage(name, 64),
                                                 "; the policies are: ", list));
}

PolicyVerdict EvaluatePolicy(SenderPolicy policy, const HopObservation& hop) {
  switch (policy) {
    case SenderPolicy::kNone:
      return Make(policy, true, false, false, std::nullopt,
                  hop.starttls_offered ? "policy none: clear text although STARTTLS is offered"
                                       : "policy none: clear text");
    case SenderPolicy::kMay:
      return May(policy, hop, "");
    case SenderPolicy::kEncrypt:
      return Encrypt(policy, hop, "");
    case SenderPolicy::kVerify:
      return Verify(policy, hop, "");
    case SenderPolicy::kMtaSts:
      return MtaSts(hop);
    case SenderPolicy::kDane:
    case SenderPolicy::kDaneOnly:
      return Dane(policy, hop);
  }
  return Make(policy, false, false, false, TlsResultType::kValidationFailure, "unknown policy");
}

std::vector<PolicyVerdict> EvaluateAllPolicies(const HopObservation& hop) {
  std::vector<PolicyVerdict> verdicts;
  verdicts.reserve(kAll.size());
  for (SenderPolicy policy : kAll) verdicts.push_back(EvaluatePolicy(policy, hop));
  return verdicts;
}

}  // namespace mxkit::policy
