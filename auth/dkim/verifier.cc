#include "auth/dkim/verifier.h"

#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/err.h>
#include <openssl/nid.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <utility>

#include "auth/dkim/internal/cat.h"
#include "auth/dkim/internal/digest_sink.h"
#include "auth/dkim/key_record.h"
#include "dns/lookup_task.h"

namespace mxkit::auth::dkim {
namespace {

using internal::Cat;

bool IsDkimSignature(std::string_view name) {
  constexpr std::string_view kName = "dkim-signature";
  if (name.size() != kName.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kName[i]) return false;
  }
  return true;
}

SignatureResult Result(SignatureResult r, DkimResult result, std::string reason) {
  r.result = result;
  r.reason = std::move(reason);
  return r;
}

internal::DigestAlgorithm DigestOf(SignatureAlgorithm a) {
  return a == SignatureAlgorithm::kRsaSha1 ? internal::DigestAlgorithm::kSha1
                                           : internal::DigestAlgorithm::kSha256;
}

// The name a key record's h= uses for the signature's hash (RFC 6376 §3.6.1).
std::string_view HashName(SignatureAlgorithm a) {
  return a == SignatureAlgorithm::kRsaSha1 ? "sha1" : "sha256";
}

}  // namespace

absl::Status ValidateVerifierOptions(const VerifierOptions& options) {
  if (options.min_rsa_bits < kLowestMinRsaKeyBits || options.min_rsa_bits > kMaxRsaKeyBits) {
    return absl::InvalidArgumentError(
        Cat("min_rsa_bits=", options.min_rsa_bits, " is outside ", kLowestMinRsaKeyBits, "..",
            kMaxRsaKeyBits, " (RFC 8301 §3.2 sets ", kMinRsaKeyBits, ")"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Verifier> Verifier::Create(dns::Resolver* resolver, const VerifierOptions& options,
                                          bool cache_parsed_keys) {
  absl::Status valid = ValidateVerifierOptions(options);
  if (!valid.ok()) return valid;
  return Verifier(resolver, options, cache_parsed_keys);
}

// Body hashes are shared between signatures with the same body
// canonicalization and l= (commonly all of them).
struct Verifier::BodyHash {
  internal::DigestAlgorithm digest_algorithm;  // SHA-1 for rsa-sha1, else SHA-256
  Canonicalization canonicalization;
  std::optional<uint64_t> limit;
  uint8_t digest[EVP_MAX_MD_SIZE];
  std::size_t digest_size;
  uint64_t canonical_length;

  bool Matches(std::string_view body_hash) const {
    return body_hash.size() == digest_size &&
           std::memcmp(body_hash.data(), digest, digest_size) == 0;
  }
};

const Verifier::BodyHash& Verifier::ComputeBodyHash(std::vector<BodyHash>& cache,
                                                    std::string_view body,
                                                    SignatureAlgorithm algorithm,
                                                    Canonicalization c,
                                                    std::optional<uint64_t> limit) {
  const internal::DigestAlgorithm digest_algorithm = DigestOf(algorithm);
  for (const Verifier::BodyHash& h : cache) {
    if (h.digest_algorithm == digest_algorithm && h.canonicalization == c && h.limit == limit) {
      return h;
    }
  }
  internal::DigestSink sink(digest_algorithm);
  BodyCanonicalizer canon(c, &sink, limit);
  canon.Update(body);
  canon.Finish();
  Verifier::BodyHash& h = cache.emplace_back();
  h.digest_algorithm = digest_algorithm;
  h.canonicalization = c;
  h.limit = limit;
  h.digest_size = sink.DigestTo(h.digest);
  h.canonical_length = canon.canonical_length();
  return h;
}

std::shared_ptr<const KeyRecordResult> Verifier::ParseKey(
    const std::vector<std::string>& strings) const {
  // Keys of every size parse; PolicyRefusal applies options_.min_rsa_bits
  // after the record's other checks.
  KeyRecordOptions any_size;
  any_size.min_rsa_bits = 0;
  if (!cache_parsed_keys_) {
    return std::make_shared<const KeyRecordResult>(ParseKeyRecord(strings, any_size));
  }
  // The record's text is its strings joined (RFC 6376 §3.6.2.2); entries are
  // compared piece by piece so a hit copies nothing.
  std::size_t length = 0;
  for (const std::string& s : strings) length += s.size();
  auto same_text = [&strings, length](const std::string& key) {
    if (key.size() != length) return false;
    std::size_t at = 0;
    for (const std::string& s : strings) {
      if (key.compare(at, s.size(), s) != 0) return false;
      at += s.size();
    }
    return true;
  };
  {
    std::lock_guard<std::mutex> lock(key_cache_->mutex);
    for (const auto& [key, parsed] : key_cache_->entries) {
      if (same_text(key)) return parsed;
    }
  }
  std::string text;
  text.reserve(length);
  for (const std::string& s : strings) text += s;
  auto parsed = std::make_shared<const KeyRecordResult>(ParseKeyRecord(strings, any_size));
  std::lock_guard<std::mutex> lock(key_cache_->mutex);
  if (key_cache_->entries.size() == kKeyCacheEntries) key_cache_->entries.pop_front();
  key_cache_->entries.emplace_back(std::move(text), parsed);
  return parsed;
}

std::string Verifier::PolicyRefusal(const Signature& sig, const KeyRecord& key) const {
  std::string why;
  if (sig.algorithm == SignatureAlgorithm::kRsaSha1 && !options_.allow_rsa_sha1) {
    why = "rsa-sha1 refused: RFC 8301 §3.1";
  }
  if (key.key_type == KeyType::kRsa && key.rsa_bits < options_.min_rsa_bits) {
    if (!why.empty()) why += "; ";
    why += Cat("RSA key of ", key.rsa_bits, " bits below the ", options_.min_rsa_bits,
               "-bit minimum, RFC 8301 §3.2");
  }
  return why;
}

std::optional<std::string> Verifier::BeginOne(SignatureResult& r,
                                              std::span<const HeaderField> headers,
                                              std::size_t index, int64_t now) const {
  r.header_index = index;
  const std::string_view raw = headers[index].raw;

  // §6.1.1: validate the signature field.
  SignatureParseResult parsed = ParseSignature(raw);
  if (!parsed.ok()) {
    DkimResult kind =
        parsed.error == SignatureError::kSyntax ? DkimResult::kNeutral : DkimResult::kPermError;
    r = Result(std::move(r), kind, Cat("offset ", parsed.offset, ": ", parsed.message));
    return std::nullopt;
  }
  r.signature = std::move(parsed.signature);
  const Signature& sig = *r.signature;
  if (sig.expiration && now > *sig.expiration) {
    r = Result(std::move(r), DkimResult::kFail,
               Cat("signature expired: x=", *sig.expiration, " is before now (", now,
                   ") (RFC 6376 §6.1.1)"));
    return std::nullopt;
  }

  // §6.1.2: the key's name.
  std::string key_name = Cat(sig.selector, "._domainkey.", sig.domain);
  if (key_name.size() > kMaxDomainLength) {
    r = Result(std::move(r), DkimResult::kPermError,
               Cat("key name ", key_name, " is longer than ", kMaxDomainLength, " bytes"));
    return std::nullopt;
  }
  return key_name;
}

SignatureResult Verifier::FinishOne(SignatureResult r, std::span<const HeaderField> headers,
                                    std::string_view body, const std::string& key_name,
                                    const dns::LookupResult& lookup,
                                    std::vector<BodyHash>& body_hashes) const {
  const std::string_view raw = headers[r.header_index].raw;
  const Signature& sig = *r.signature;
  switch (lookup.status) {
    case dns::LookupStatus::kAnswer:
      break;
    case dns::LookupStatus::kTemporaryFailure:
      return Result(std::move(r), DkimResult::kTempError,
                    Cat("key lookup for ", key_name, " failed temporarily: ", lookup.detail,
                        " (RFC 6376 §6.1.2 step 2)"));
    case dns::LookupStatus::kNxDomain:
    case dns::LookupStatus::kNoData:
      return Result(std::move(r), DkimResult::kPermError,
                    Cat("no key for signature: ", key_name, " has no TXT record",
                        " (RFC 6376 §6.1.2 step 3)"));
    case dns::LookupStatus::kPermanentFailure:
      return Result(std::move(r), DkimResult::kPermError,
                    Cat("key lookup for ", key_name, " failed permanently: ", lookup.detail));
  }
  std::shared_ptr<const KeyRecordResult> parsed_key;
  std::shared_ptr<const KeyRecordResult> first_error;
  std::size_t tried = 0;
  for (const dns::ResourceRecord& rr : lookup.records) {
    const auto* txt = std::get_if<dns::TxtData>(&rr.data);
    if (txt == nullptr) continue;
    if (tried++ == kMaxKeyRecords) break;
    std::shared_ptr<const KeyRecordResult> k = ParseKey(txt->strings);
    if (k->ok()) {
      parsed_key = std::move(k);
      break;
    }
    if (first_error == nullptr) first_error = std::move(k);
  }
  if (parsed_key == nullptr) {
    if (first_error == nullptr) {
      return Result(std::move(r), DkimResult::kPermError,
                    Cat("no key for signature: no TXT record at ", key_name));
    }
    return Result(std::move(r), DkimResult::kPermError,
                  Cat("key record at ", key_name, ", offset ", first_error->offset, ": ",
                      first_error->message));
  }
  const KeyRecord* key = &parsed_key->record;
  r.key_testing = key->testing;
  r.key_bits = key->key_type == KeyType::kRsa ? key->rsa_bits : 256;
  if (key->revoked) {
    return Result(std::move(r), DkimResult::kPermError,
                  Cat("key revoked: ", key_name, " has an empty p= (RFC 6376 §6.1.2 step 6)"));
  }
  if (!key->EmailServiceAllowed()) {
    return Result(std::move(r), DkimResult::kPermError,
                  "inappropriate service type: key s= excludes email (RFC 6376 §6.1.2 step 8)");
  }
  KeyType wanted = sig.algorithm == SignatureAlgorithm::kEd25519Sha256 ? KeyType::kEd25519
                                                                        : KeyType::kRsa;
  if (key->key_type != wanted) {
    return Result(std::move(r), DkimResult::kPermError,
                  Cat("inappropriate key algorithm: a=", SignatureAlgorithmName(sig.algorithm),
                      " with a k=", key->key_type == KeyType::kRsa ? "rsa" : "ed25519",
                      " key (RFC 6376 §6.1.2 step 9)"));
  }
  if (!key->HashAllowed(HashName(sig.algorithm))) {
    return Result(std::move(r), DkimResult::kPermError,
                  Cat("inappropriate hash algorithm: key h= excludes ", HashName(sig.algorithm),
                      " (RFC 6376 §6.1.2 step 7)"));
  }
  if (key->strict_identity && sig.identity_domain != sig.domain) {
    return Result(std::move(r), DkimResult::kPermError,
                  Cat("domain mismatch: key t=s requires i= domain ", sig.identity_domain,
                      " to equal d=", sig.domain, " (RFC 6376 §3.6.1)"));
  }

  // Only a signature that passed every check above is one we would
  // evaluate, so only it can be refused by local policy (RFC 8601 §2.7.1).
  if (std::string refusal = PolicyRefusal(sig, *key); !refusal.empty()) {
    return Result(std::move(r), DkimResult::kPolicy, std::move(refusal));
  }

  // §6.1.3: body hash, then the signature over the header hash.
  const internal::DigestAlgorithm digest_algorithm = DigestOf(sig.algorithm);
  const BodyHash& bh = ComputeBodyHash(body_hashes, body, sig.algorithm,
                                       sig.body_canonicalization, sig.body_length);
  if (sig.body_length && *sig.body_length > bh.canonical_length) {
    return Result(std::move(r), DkimResult::kFail,
                  Cat("l=", *sig.body_length, " is longer than the canonical body (",
                      bh.canonical_length, " bytes) (RFC 6376 §3.5, §8.2)"));
  }
  if (!bh.Matches(sig.body_hash)) {
    return Result(std::move(r), DkimResult::kFail,
                  "body hash did not verify: bh= differs from the computed body hash "
                  "(RFC 6376 §6.1.3)");
  }
  std::string input;
  // Enough for a typical header hash input, and under glibc's 1 KiB
  // large-bin threshold, where an allocation first consolidates the fast
  // bins (perf showed malloc_consolidate at 0.4% of a verification).
  input.reserve(960);
  AppendHeaderHashInput(headers, sig, raw, &input);
  uint8_t digest[EVP_MAX_MD_SIZE];
  std::size_t digest_size = 0;
  {
    internal::DigestSink header_sink(digest_algorithm);
    header_sink.Write(input);
    digest_size = header_sink.DigestTo(digest);
  }
  bool ok = false;
  if (key->key_type == KeyType::kEd25519) {
    // RFC 8463 §3: Ed25519 (PureEdDSA) signs the SHA-256 hash of the header data.
    ok = sig.signature.size() == ED25519_SIGNATURE_LEN &&
         ED25519_verify(digest, digest_size,
                        reinterpret_cast<const uint8_t*>(sig.signature.data()),
                        reinterpret_cast<const uint8_t*>(key->public_key.data())) == 1;
  } else {
    const int nid = digest_algorithm == internal::DigestAlgorithm::kSha1 ? NID_sha1 : NID_sha256;
    ok = RSA_verify(nid, digest, digest_size,
                    reinterpret_cast<const uint8_t*>(sig.signature.data()), sig.signature.size(),
                    key->rsa.get()) == 1;
    ERR_clear_error();
  }
  if (!ok) {
    return Result(std::move(r), DkimResult::kFail,
                  "signature did not verify (RFC 6376 §6.1.3 step 4)");
  }
  return Result(std::move(r), DkimResult::kPass,
                Cat(SignatureAlgorithmName(sig.algorithm), " signature by d=", sig.domain,
                    " s=", sig.selector, " verified"));
}

std::string_view DkimResultKeyword(DkimResult result) {
  switch (result) {
    case DkimResult::kPass: return "pass";
    case DkimResult::kFail: return "fail";
    case DkimResult::kNeutral: return "neutral";
    case DkimResult::kTempError: return "temperror";
    case DkimResult::kPermError: return "permerror";
    case DkimResult::kPolicy: return "policy";
  }
  return "permerror";
}

// One verification in flight: every key lookup is started at once, each
// answer lands in its slot, and whichever answer comes last (counted
// atomically, as a resolver may complete on any thread) finishes every
// signature in message order and calls `done`.
struct Verifier::Run {
  const Verifier* verifier;
  std::span<const HeaderField> headers;
  std::string_view body;
  std::vector<SignatureResult> results;
  // Per result, in one vector (one allocation): the key's name, empty when
  // the result is already final, and the answer to its lookup.
  struct Pending {
    std::string key_name;
    dns::LookupResult lookup;
  };
  std::vector<Pending> pending;
  std::atomic<std::size_t> outstanding{0};
  std::function<void(std::vector<SignatureResult>)> done;

  static void Finish(const std::shared_ptr<Run>& run) {
    std::vector<BodyHash> body_hashes;
    body_hashes.reserve(kMaxSignaturesEvaluated);  // references into it stay valid
    for (std::size_t i = 0; i < run->results.size(); ++i) {
      const Pending& p = run->pending[i];
      if (p.key_name.empty()) continue;
      run->results[i] = run->verifier->FinishOne(std::move(run->results[i]), run->headers,
                                                 run->body, p.key_name, p.lookup, body_hashes);
    }
    // Moved out first: `done` may destroy what owns the headers and body.
    auto done = std::move(run->done);
    done(std::move(run->results));
  }
};

void Verifier::Start(dns::Resolver& resolver, std::span<const HeaderField> headers,
                     std::string_view body, int64_t now,
                     std::function<void(std::vector<SignatureResult>)> done) const {
  // Most mail a receiver judges carries no signature: it gets its empty
  // answer without a run, a body-hash buffer or a lookup to set up.
  if (std::none_of(headers.begin(), headers.end(),
                   [](const HeaderField& h) { return IsDkimSignature(h.name); })) {
    done({});
    return;
  }
  auto run = std::make_shared<Run>();
  run->verifier = this;
  run->headers = headers;
  run->body = body;
  run->done = std::move(done);
  std::size_t evaluated = 0;
  for (std::size_t index = 0; index < headers.size(); ++index) {
    if (!IsDkimSignature(headers[index].name)) continue;
    SignatureResult r;
    r.header_index = index;
    std::optional<std::string> key_name;
    if (evaluated == kMaxSignaturesEvaluated) {
      r = Result(std::move(r), DkimResult::kPolicy,
                 Cat("not evaluated: only the first ", kMaxSignaturesEvaluated,
                     " DKIM-Signature fields are verified"));
    } else {
      ++evaluated;
      key_name = BeginOne(r, headers, index, now);
    }
    run->results.push_back(std::move(r));
    // Moved, not copied: a key name is longer than std::string's inline
    // buffer, so a copy is an allocation.
    run->pending.push_back(Run::Pending{std::move(key_name).value_or(""), {}});
  }
  std::size_t lookups = 0;
  for (const Run::Pending& p : run->pending) lookups += p.key_name.empty() ? 0 : 1;
  // One extra count held by this loop, so lookups completing inline cannot
  // finish the run before every lookup has been started.
  run->outstanding.store(lookups + 1);
  for (std::size_t i = 0; i < run->pending.size(); ++i) {
    if (run->pending[i].key_name.empty()) continue;
    resolver.Lookup(run->pending[i].key_name, dns::RrType::kTxt, [run, i](dns::LookupResult result) {
      run->pending[i].lookup = std::move(result);
      if (run->outstanding.fetch_sub(1) == 1) Run::Finish(run);
    });
  }
  if (run->outstanding.fetch_sub(1) == 1) Run::Finish(run);
}

void Verifier::VerifyAsync(std::span<const HeaderField> headers, std::string_view body,
                           int64_t now,
                           std::function<void(std::vector<SignatureResult>)> done) const {
  Start(*resolver_, headers, body, now, std::move(done));
}

std::vector<SignatureResult> Verifier::Verify(std::span<const HeaderField> headers,
                                              std::string_view body, int64_t now) const {
  dns::SyncLookupResolver sync(*resolver_);
  std::optional<std::vector<SignatureResult>> out;
  Start(sync, headers, body, now,
        [&out](std::vector<SignatureResult> results) { out = std::move(results); });
  if (!out) {
    // Cannot happen: every lookup through SyncLookupResolver completes inline.
    std::fputs("mxkit: dkim::Verifier::Verify: a key lookup did not complete inline\n", stderr);
    std::abort();
  }
  return std::move(*out);
}

void Verifier::VerifyMessageAsync(
    std::string_view message, int64_t now,
    std::function<void(absl::StatusOr<std::vector<SignatureResult>>)> done) const {
  absl::StatusOr<DkimMessage> split = SplitMessage(message);
  if (!split.ok()) {
    done(split.status());
    return;
  }
  // The split header list must live until the verification ends.
  auto owned = std::make_shared<DkimMessage>(std::move(*split));
  Start(*resolver_, owned->headers, owned->body, now,
        [owned, done = std::move(done)](std::vector<SignatureResult> results) mutable {
          auto keep = std::move(owned);  // released after `done` returns
          done(std::move(results));
        });
}

absl::StatusOr<std::vector<SignatureResult>> Verifier::VerifyMessage(std::string_view message,
                                                                     int64_t now) const {
  absl::StatusOr<DkimMessage> split = SplitMessage(message);
  if (!split.ok()) return split.status();
  return Verify(split->headers, split->body, now);
}

}  // namespace mxkit::auth::dkim
