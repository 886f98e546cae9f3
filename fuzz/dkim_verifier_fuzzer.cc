// Fuzzes DKIM verification (//auth/dkim:verifier) end to end: a fuzzed
// message against fuzzed key records served from a fuzzed zone.
//
// Input (fuzz/evaluator_input.h): a zone with the key records, a "%%" line,
// then the message, byte for byte (CRLF line endings). Verified at kNow.
//
// Properties (verifier.h promises them):
//  - VerifyMessage fails exactly when SplitMessage does.
//  - One result per DKIM-Signature field, in message order, each naming its
//    field; only those past kMaxSignaturesEvaluated are "policy".
//  - DNS: TXT queries only, at most one per evaluated signature, each for
//    <s>._domainkey.<d> of a signature that parsed.
//  - pass only for a parsed signature that is not rsa-sha1 (RFC 8301 §3.1),
//    not expired (RFC 6376 §6.1.1), signs From (§5.4), has i= inside d=
//    (§3.5), with a key of at least 1024 RSA bits (RFC 8301 §3.2) whose TXT
//    lookup answered; and it turns into temperror when that lookup times out.
//    neutral only for a field that did not parse; temperror only after a
//    failed lookup of that signature's key.
//  - The parsed-key cache changes nothing: a verifier without it, and the
//    same verifier again (cache warm), give the same results.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "auth/dkim/signature.h"
#include "auth/dkim/verifier.h"
#include "dns/static_resolver.h"
#include "fuzz/evaluator_input.h"

namespace {

using mxkit::auth::dkim::DkimMessage;
using mxkit::auth::dkim::DkimResult;
using mxkit::auth::dkim::kMaxSignaturesEvaluated;
using mxkit::auth::dkim::SignatureAlgorithm;
using mxkit::auth::dkim::SignatureResult;
using mxkit::auth::dkim::Verifier;
using mxkit::dns::LookupStatus;
using mxkit::dns::RrType;
using mxkit::fuzz::CanonicalName;
using mxkit::fuzz::CountingResolver;

// 2023-11-14T22:13:20Z: after the seeds' t= values, before their x= values.
constexpr int64_t kNow = 1700000000;
// RFC 8301 §3.2.
constexpr unsigned kMinRsaBits = 1024;

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::optional<mxkit::fuzz::FramedInput> framed = mxkit::fuzz::SplitFramedInput(input);
  if (!framed) return 0;
  mxkit::dns::StaticResolver zone;
  if (!zone.LoadZone(framed->zone, "fuzz.zone").ok()) return 0;
  const std::string_view message = framed->query;

  CountingResolver counted(zone);
  Verifier verifier(&counted);
  absl::StatusOr<DkimMessage> split = mxkit::auth::dkim::SplitMessage(message);
  absl::StatusOr<std::vector<SignatureResult>> results = verifier.VerifyMessage(message, kNow);
  Check(results.ok() == split.ok());
  if (!results.ok()) {
    Check(counted.queries().empty());
    return 0;
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
    Check((r.result == DkimResult::kPolicy) == (k >= kMaxSignaturesEvaluated));
    if (r.result == DkimResult::kPolicy) continue;
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
      Check(sig.algorithm != SignatureAlgorithm::kRsaSha1);
      Check(!sig.expiration || *sig.expiration >= kNow);
      Check(SignsFrom(sig));
      Check(InsideDomain(sig.identity_domain, sig.domain));
      Check(answered);
      if (sig.algorithm == SignatureAlgorithm::kEd25519Sha256) {
        Check(r.key_bits == 256);
      } else {
        Check(r.key_bits >= kMinRsaBits);
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
  Verifier uncached(&zone, /*cache_parsed_keys=*/false);
  absl::StatusOr<std::vector<SignatureResult>> cold = uncached.VerifyMessage(message, kNow);
  Check(cold.ok() && SameResults(*cold, *results));
  absl::StatusOr<std::vector<SignatureResult>> warm = verifier.VerifyMessage(message, kNow);
  Check(warm.ok() && SameResults(*warm, *results));

  // A pass depends on its key: with that key's lookup timing out, the same
  // signature is a temperror (RFC 6376 §6.1.2 step 2).
  for (size_t k = 0; k < results->size(); ++k) {
    if ((*results)[k].result != DkimResult::kPass) continue;
    mxkit::dns::StaticResolver without_key;
    if (!without_key.LoadZone(framed->zone, "fuzz.zone").ok()) Check(false);
    without_key.AddFault(KeyName((*results)[k]), mxkit::dns::Fault::kTimeout);
    Verifier v(&without_key);
    absl::StatusOr<std::vector<SignatureResult>> again = v.VerifyMessage(message, kNow);
    Check(again.ok() && again->size() == results->size());
    Check((*again)[k].result == DkimResult::kTempError);
  }
  return 0;
}
