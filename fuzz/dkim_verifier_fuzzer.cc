// Fuzzes DKIM verification (//auth/dkim:verifier) end to end: a fuzzed
// message against fuzzed key records served from a fuzzed zone.
//
// Input (fuzz/evaluator_input.h): a zone with the key records, a "%%" line,
// then the message, byte for byte (CRLF line endings). Verified at kNow.
//
// Properties (verifier.h promises them):
//  - VerifyMessage fails exactly when SplitMessage does.
//  - One result per DKIM-Signature field, in message order, each naming its
//    field. "policy" for those past kMaxSignaturesEvaluated, and otherwise
//    only for a signature whose key record checked out but which local policy
//    refuses (RFC 8301 via VerifierOptions: rsa-sha1, an RSA key below
//    min_rsa_bits; RFC 8601 §2.7.1).
//  - DNS: TXT queries only, at most one per evaluated signature, each for
//    <s>._domainkey.<d> of a signature that parsed.
//  - pass only for a parsed signature that is not rsa-sha1 unless allowed
//    (RFC 8301 §3.1), not expired (RFC 6376 §6.1.1), signs From (§5.4), has
//    i= inside d= (§3.5), with a key of at least min_rsa_bits RSA bits
//    (RFC 8301 §3.2) whose TXT lookup answered; and it turns into temperror
//    when that lookup times out.
//  - All of the above with the default (RFC 8301) options and with the legacy
//    opt-ins (rsa-sha1 allowed, 512-bit minimum); a policy refusal under the
//    defaults is no refusal with the opt-ins.
//    neutral only for a field that did not parse; temperror only after a
//    failed lookup of that signature's key.
//  - The parsed-key cache changes nothing: a verifier without it, and the
//    same verifier again (cache warm), give the same results.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "auth/dkim/signature.h"
#include "auth/dkim/verifier.h"
#include "dns/static_resolver.h"
#include "dns/testing/deferred_resolver.h"
#include "fuzz/evaluator_input.h"

namespace {

using mxkit::auth::dkim::DkimMessage;
using mxkit::auth::dkim::DkimResult;
using mxkit::auth::dkim::kMaxSignaturesEvaluated;
using mxkit::auth::dkim::SignatureAlgorithm;
using mxkit::auth::dkim::SignatureResult;
using mxkit::auth::dkim::Verifier;
using mxkit::auth::dkim::VerifierOptions;
using mxkit::dns::LookupStatus;
using mxkit::dns::RrType;
using mxkit::fuzz::CanonicalName;
using mxkit::fuzz::CountingResolver;

// 2023-11-14T22:13:20Z: after the seeds' t= values, before their x= values.
constexpr int64_t kNow = 1700000000;
void Check(bool property) {
  if (!property) __builtin_trap();
}

bool IsDkimSignatureName(std::string_view name) {
  return absl::EqualsIgnoreCase(absl::string_view(name.data(), name.size()), "DKIM-Signature");
}

std::string KeyName(const SignatureResult& r) {
  return CanonicalName(r.signature->selector + "._domainkey." + r.signature->domain);
}

bool SameResults(const std::vector<SignatureResult>& a, const std::vector<SignatureResult>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].result != b[i].result || a[i].reason != b[i].reason ||
        a[i].header_index != b[i].header_index || a[i].key_bits != b[i].key_bits ||
        a[i].key_testing != b[i].key_testing ||
        a[i].signature.has_value() != b[i].signature.has_value()) {
      return false;
    }
  }
  return true;
}

bool SignsFrom(const mxkit::auth::dkim::Signature& sig) {
  for (const std::string& h : sig.signed_headers) {
    if (h == "from") return true;
  }
  return false;
}

bool InsideDomain(std::string_view name, std::string_view domain) {
  if (name == domain) return true;
  return name.size() > domain.size() && name.substr(name.size() - domain.size()) == domain &&
         name[name.size() - domain.size() - 1] == '.';
}

bool RefusedByPolicy(const SignatureResult& r, const VerifierOptions& options) {
  if (!r.signature || r.key_bits == 0) return false;
  const bool rsa = r.signature->algorithm != SignatureAlgorithm::kEd25519Sha256;
  return (r.signature->algorithm == SignatureAlgorithm::kRsaSha1 && !options.allow_rsa_sha1) ||
         (rsa && r.key_bits < options.min_rsa_bits);
}

// Verifies `framed` with `options` and checks every property above; returns
// the results (empty when the message did not split).
std::vector<SignatureResult> CheckVerification(const mxkit::fuzz::FramedInput& framed,
                                               mxkit::dns::StaticResolver& zone,
                                               const VerifierOptions& options) {
  const std::string_view message = framed.query;
  CountingResolver counted(zone);
  absl::StatusOr<Verifier> created = Verifier::Create(&counted, options);
  Check(created.ok());
  Verifier& verifier = *created;
  absl::StatusOr<DkimMessage> split = mxkit::auth::dkim::SplitMessage(message);
  absl::StatusOr<std::vector<SignatureResult>> results = verifier.VerifyMessage(message, kNow);
  Check(results.ok() == split.ok());
  if (!results.ok()) {
    Check(counted.queries().empty());
    return {};
  }

  std::vector<size_t> signature_fields;
  for (size_t i = 0; i < split->headers.size(); ++i) {
    if (IsDkimSignatureName(split->headers[i].name)) signature_fields.push_back(i);
  }
  Check(results->size() == signature_fields.size());

  size_t may_query = 0;  // evaluated signatures that parsed
  for (size_t k = 0; k < results->size(); ++k) {
    const SignatureResult& r = (*results)[k];
    Check(r.header_index == signature_fields[k]);
    Check(!r.reason.empty());
    if (k >= kMaxSignaturesEvaluated) {
      Check(r.result == DkimResult::kPolicy);
      continue;
    }
    if (r.result == DkimResult::kPolicy) Check(RefusedByPolicy(r, options));
    if (r.signature) ++may_query;
    if (r.result == DkimResult::kNeutral) Check(!r.signature);

    bool answered = false, failed = false;
    if (r.signature) {
      std::string key_name = KeyName(r);
      for (const CountingResolver::Query& q : counted.queries()) {
        if (q.name != key_name) continue;
        answered |= q.status == LookupStatus::kAnswer;
        failed |= q.status == LookupStatus::kTemporaryFailure;
      }
    }
    if (r.key_bits > 0) Check(answered);
    if (r.result == DkimResult::kTempError) Check(failed);
    if (r.result == DkimResult::kPass) {
      Check(r.signature.has_value());
      const mxkit::auth::dkim::Signature& sig = *r.signature;
      Check(sig.algorithm != SignatureAlgorithm::kRsaSha1 || options.allow_rsa_sha1);
      Check(!sig.expiration || *sig.expiration >= kNow);
      Check(SignsFrom(sig));
      Check(InsideDomain(sig.identity_domain, sig.domain));
      Check(answered);
      if (sig.algorithm == SignatureAlgorithm::kEd25519Sha256) {
        Check(r.key_bits == 256);
      } else {
        Check(r.key_bits >= options.min_rsa_bits);
      }
    }
  }

  Check(counted.queries().size() <= may_query);
  for (const CountingResolver::Query& q : counted.queries()) {
    Check(q.type == RrType::kTxt);
    bool named = false;
    for (const SignatureResult& r : *results) {
      if (r.signature && KeyName(r) == q.name) named = true;
    }
    Check(named);
  }

  // Cache neutrality.
  absl::StatusOr<Verifier> uncached = Verifier::Create(&zone, options, /*cache_parsed_keys=*/false);
  Check(uncached.ok());
  absl::StatusOr<std::vector<SignatureResult>> cold = uncached->VerifyMessage(message, kNow);
  Check(cold.ok() && SameResults(*cold, *results));
  absl::StatusOr<std::vector<SignatureResult>> warm = verifier.VerifyMessage(message, kNow);
  Check(warm.ok() && SameResults(*warm, *results));

  // A pass depends on its key: with that key's lookup timing out, the same
  // signature is a temperror (RFC 6376 §6.1.2 step 2).
  for (size_t k = 0; k < results->size(); ++k) {
    if ((*results)[k].result != DkimResult::kPass) continue;
    mxkit::dns::StaticResolver without_key;
    if (!without_key.LoadZone(framed.zone, "fuzz.zone").ok()) Check(false);
    without_key.AddFault(KeyName((*results)[k]), mxkit::dns::Fault::kTimeout);
    absl::StatusOr<Verifier> v = Verifier::Create(&without_key, options);
    Check(v.ok());
    absl::StatusOr<std::vector<SignatureResult>> again = v->VerifyMessage(message, kNow);
    Check(again.ok() && again->size() == results->size());
    Check((*again)[k].result == DkimResult::kTempError);
  }
  return std::move(*results);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  mxkit::dns::StaticResolver zone;
  std::optional<mxkit::fuzz::FramedInput> framed = mxkit::fuzz::LoadFramedInput(input, zone);
  if (!framed) return 0;

  const VerifierOptions strict;
  VerifierOptions legacy;
  legacy.allow_rsa_sha1 = true;
  legacy.min_rsa_bits = mxkit::auth::dkim::kLowestMinRsaKeyBits;
  std::vector<SignatureResult> by_default = CheckVerification(*framed, zone, strict);

  // The asynchronous path: every key lookup started at once, `done` once,
  // only after the last answer (completion order from the input), and the
  // same results as the synchronous call.
  {
    mxkit::dns::testing::DeferredResolver deferred(zone);
    absl::StatusOr<Verifier> async = Verifier::Create(&deferred, strict);
    Check(async.ok());
    int calls = 0;
    std::vector<SignatureResult> later;
    async->VerifyMessageAsync(framed->query, kNow,
                              [&](absl::StatusOr<std::vector<SignatureResult>> r) {
                                ++calls;
                                if (r.ok()) later = *std::move(r);
                              });
    const size_t in_flight = deferred.pending();
    Check(calls == 0 || in_flight == 0);
    Check(in_flight <= kMaxSignaturesEvaluated);
    Check(deferred.Drain(mxkit::fuzz::CompletionOrderSeed(input)) == in_flight);
    Check(calls == 1);
    Check(SameResults(later, by_default));
  }
  std::vector<SignatureResult> with_opt_ins = CheckVerification(*framed, zone, legacy);
  Check(by_default.size() == with_opt_ins.size());
  for (size_t k = 0; k < by_default.size() && k < kMaxSignaturesEvaluated; ++k) {
    if (by_default[k].result != DkimResult::kPolicy) continue;
    if (by_default[k].key_bits >= legacy.min_rsa_bits) {
      Check(with_opt_ins[k].result != DkimResult::kPolicy);
    }
  }
  return 0;
}
