// DKIM verification (RFC 6376 §6, RFC 8301, RFC 8463): every DKIM-Signature
// in a message gets its own result, reported with the RFC 8601 §2.7.1
// keywords.
//
// Result mapping (RFC 8601 §2.7.1 defines the words; RFC 6376 only says
// PERMFAIL/TEMPFAIL):
//   pass       signature, body hash and key all check out.
//   fail       the signature was acceptable and did not verify: body hash or
//              signature mismatch, x= in the past (§6.1.1 "signature
//              expired"), l= longer than the body.
//   neutral    the DKIM-Signature field "contained syntax errors" (RFC 8601):
//              not a §3.2 tag-list, bad base64, malformed d=/s=/i=/l=/t=/x=.
//   permerror  well formed but unusable: a required tag missing, unsupported
//              v=/a=/c=/q=, i= outside d=, From not signed, x= <= t=, no key
//              record (NXDOMAIN/NODATA), a key record with a syntax error,
//              revoked key, key k=/h=/s= incompatible, t=s with i= != d=.
//   temperror  the key lookup failed transiently (SERVFAIL, timeout).
//   policy     "some aspect of the signature ... was not acceptable to the
//              ADMD" (RFC 8601 §2.7.1), so it was not evaluated: a=rsa-sha1
//              (RFC 8301 §3.1: "rsa-sha1 MUST NOT be used for signing or
//              verifying") unless VerifierOptions::allow_rsa_sha1, an RSA key
//              under VerifierOptions::min_rsa_bits (RFC 8301 §3.2), or a
//              signature beyond kMaxSignaturesEvaluated. The reason says
//              which.
//
// Order of checks: the signature field, x=, the key lookup and every
// key-record check come before the local-policy refusals, so a signature
// whose key is missing, revoked, unparseable or of the wrong k=/h= is
// permerror (or temperror) whatever its algorithm and key size; `policy`
// means "would have been evaluated, and our policy declined to".

#ifndef MXKIT_AUTH_DKIM_VERIFIER_H_
#define MXKIT_AUTH_DKIM_VERIFIER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "auth/dkim/key_record.h"
#include "auth/dkim/signature.h"
#include "dns/resolver.h"

namespace mxkit::auth::dkim {

// RFC 6376 §6.1: "Verifiers MAY limit the number of signatures they attempt
// to verify" (a DoS bound: each one costs a DNS lookup and a public-key
// operation). Signatures past this many get kPolicy without being looked at.
inline constexpr std::size_t kMaxSignaturesEvaluated = 8;
// RFC 6376 §6.1.2 step 4 lets a verifier choose among several key records at
// one name; the first kMaxKeyRecords are parsed and the first valid one used.
inline constexpr std::size_t kMaxKeyRecords = 4;
// Parsed key records kept per Verifier, keyed by the record's text. Only the
// parsing is cached (base64, DER, RSA setup); the DNS lookup runs for every
// signature, so a changed or removed record takes effect at once.
inline constexpr std::size_t kKeyCacheEntries = 64;

// The lowest VerifierOptions::min_rsa_bits accepted: RFC 6376 §3.3.3 (before
// RFC 8301) had verifiers validate keys "ranging from 512 bits to 2048
// bits", so archived mail goes no lower. The floor is ours, not BoringSSL's:
// Debian's android-libboringssl 13 parses and runs RSA_verify with keys down
// to 256 bits (checked by hand); but the SHA-256 DigestInfo is 51 bytes and
// EMSA-PKCS1-v1_5 needs 11 more (RFC 8017 §9.2 step 3), so under 496 bits no
// rsa-sha256 signature could pass anyway.
inline constexpr unsigned kLowestMinRsaKeyBits = 512;

struct VerifierOptions {
  // Evaluate a=rsa-sha1 signatures instead of reporting them as `policy`.
  // Relaxes RFC 8301 §3.1 ("rsa-sha1 MUST NOT be used for signing or
  // verifying"). SECURITY: SHA-1 chosen-prefix collisions are practical
  // (Leurent & Peyrin, "SHA-1 is a Shambles", 2020), so a pass says only
  // that the bytes match what a key holder once signed. For reading
  // archived mail (dkimpy and Mail::DKIM still verify it); never to accept
  // mail.
  bool allow_rsa_sha1 = false;
  // RSA keys of fewer bits are reported as `policy`. RFC 8301 §3.2:
  // "Verifiers MUST NOT consider signatures using RSA keys of less than 1024
  // bits as valid signatures." Lowering it (to no less than
  // kLowestMinRsaKeyBits) relaxes that. SECURITY: a 512-bit key is factored in under four hours for
  // about $75 (Valenta et al., "Factoring as a Service", 2015; CERT
  // VU#268267, 2012: mail forged by factoring real 512-bit DKIM keys) and
  // RSA-768 was factored in 2009: a pass under a short key proves nothing
  // against an attacker.
  // Range: kLowestMinRsaKeyBits..kMaxRsaKeyBits.
  unsigned min_rsa_bits = kMinRsaKeyBits;
};

// OK, or InvalidArgument naming the option and its allowed range.
absl::Status ValidateVerifierOptions(const VerifierOptions& options);

enum class DkimResult { kPass, kFail, kNeutral, kTempError, kPermError, kPolicy };

// RFC 8601 §2.7.1 keyword: "pass", "fail", "neutral", "temperror",
// "permerror", "policy".
std::string_view DkimResultKeyword(DkimResult result);

struct SignatureResult {
  DkimResult result = DkimResult::kPermError;
  std::string reason;            // for humans: what was checked and why it failed
  std::size_t header_index = 0;  // index of the DKIM-Signature in the header list
  // The parsed signature, when the field parsed (for d=, i=, s= in reports
  // and DMARC alignment).
  std::optional<Signature> signature;
  bool key_testing = false;  // the key record had t=y (§3.6.1)
  unsigned key_bits = 0;     // RSA modulus bits, 256 for Ed25519, 0 if no key
};

// Thread-safe: Verify may run concurrently on one Verifier (the key cache is
// locked) as long as the resolver is thread-safe too.
//
// One implementation, asynchronous (VerifyAsync: every key lookup in flight
// at once); Verify runs it over dns::SyncLookupResolver, which answers each
// lookup inline with the resolver's LookupSync.
class Verifier {
 public:
  // `resolver` must outlive the Verifier; VerifyAsync looks keys up with its
  // Lookup, Verify with its LookupSync.
  // `cache_parsed_keys` = false parses every key record every time (for
  // measuring what the cache saves). Uses the default (RFC 8301) options.
  explicit Verifier(dns::Resolver* resolver, bool cache_parsed_keys = true)
      : Verifier(resolver, VerifierOptions{}, cache_parsed_keys) {}

  // As above with `options`; InvalidArgument when ValidateVerifierOptions
  // refuses them.
  static absl::StatusOr<Verifier> Create(dns::Resolver* resolver, const VerifierOptions& options,
                                         bool cache_parsed_keys = true);

  const VerifierOptions& options() const { return options_; }

  // Verifies each DKIM-Signature field in `headers` (message order) against
  // `body` (the bytes after the header's terminating empty line). `now` is
  // the caller's clock in Unix seconds, used for x= (the library reads no
  // clock). Returns one result per DKIM-Signature field, in message order;
  // empty when there is none (RFC 8601 "none").
  std::vector<SignatureResult> Verify(std::span<const HeaderField> headers, std::string_view body,
                                      int64_t now) const;

  // Splits `message` (SplitMessage, strict) and verifies it as above. An
  // error only when the header block cannot be split.
  absl::StatusOr<std::vector<SignatureResult>> VerifyMessage(std::string_view message,
                                                             int64_t now) const;

  // Verify, asynchronously: the key lookups of all signatures (up to
  // kMaxSignaturesEvaluated) are started at once through Resolver::Lookup,
  // and `done` runs exactly once with the same results Verify returns:
  // inline when there is no lookup to make or they all complete inline,
  // else on the thread of the last lookup's completion.
  // Lifetime: `headers` (the span and the fields' bytes) and `body` are
  // viewed, not copied: they, the Verifier and its resolver must stay valid
  // until `done` has been called. `done` may release them.
  void VerifyAsync(std::span<const HeaderField> headers, std::string_view body, int64_t now,
                   std::function<void(std::vector<SignatureResult>)> done) const;

  // VerifyMessage, asynchronously; `message` must stay valid until `done`
  // has been called (the split header list is kept by the verification).
  void VerifyMessageAsync(
      std::string_view message, int64_t now,
      std::function<void(absl::StatusOr<std::vector<SignatureResult>>)> done) const;

 private:
  struct Run;
  void Start(dns::Resolver& resolver, std::span<const HeaderField> headers,
             std::string_view body, int64_t now,
             std::function<void(std::vector<SignatureResult>)> done) const;
  struct BodyHash;
  static const BodyHash& ComputeBodyHash(std::vector<BodyHash>& cache, std::string_view body,
                                         SignatureAlgorithm algorithm, Canonicalization c,
                                         std::optional<uint64_t> limit);
  // §6.1.1 and the key's name: the name to look up, or nullopt when `r`
  // is already final (unparseable field, expired, name too long).
  std::optional<std::string> BeginOne(SignatureResult& r, std::span<const HeaderField> headers,
                                      std::size_t index, int64_t now) const;
  // §6.1.2 from the key lookup's answer, then §6.1.3.
  SignatureResult FinishOne(SignatureResult r, std::span<const HeaderField> headers,
                            std::string_view body, const std::string& key_name,
                            const dns::LookupResult& lookup,
                            std::vector<BodyHash>& body_hashes) const;
  // ParseKeyRecord through the cache.
  std::shared_ptr<const KeyRecordResult> ParseKey(const std::vector<std::string>& strings) const;
  // Why local policy refuses to evaluate `sig` under `key`; empty if it
  // does not.
  std::string PolicyRefusal(const Signature& sig, const KeyRecord& key) const;

  // Behind a pointer so that a Verifier can be returned by value.
  struct KeyCache {
    std::mutex mutex;
    std::deque<std::pair<std::string, std::shared_ptr<const KeyRecordResult>>> entries;
  };

  Verifier(dns::Resolver* resolver, const VerifierOptions& options, bool cache_parsed_keys)
      : resolver_(resolver),
        options_(options),
        cache_parsed_keys_(cache_parsed_keys),
        key_cache_(std::make_unique<KeyCache>()) {}

  dns::Resolver* resolver_;
  VerifierOptions options_;
  bool cache_parsed_keys_;
  std::unique_ptr<KeyCache> key_cache_;
};

}  // namespace mxkit::auth::dkim

#endif  // MXKIT_AUTH_DKIM_VERIFIER_H_
