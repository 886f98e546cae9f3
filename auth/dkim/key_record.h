// DKIM public key records (RFC 6376 §3.6.1), RSA (RFC 8301) and Ed25519
// (RFC 8463).

#ifndef MXKIT_AUTH_DKIM_KEY_RECORD_H_
#define MXKIT_AUTH_DKIM_KEY_RECORD_H_

#include <openssl/base.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mxkit::auth::dkim {

// RFC 8301 §3.2: "Verifiers MUST NOT consider signatures using RSA keys of
// less than 1024 bits as valid signatures."
inline constexpr unsigned kMinRsaKeyBits = 1024;
// RFC 8301 §3.2 requires verifiers to handle 1024..4096 bits and lets them
// handle more; we stop at 8192 because RSA verification time grows with the
// square of the modulus and a key is attacker-chosen (DoS bound, ours).
inline constexpr unsigned kMaxRsaKeyBits = 8192;
// RFC 8463 §4.2: the p= value of an ed25519 key is the raw 32-byte public key.
inline constexpr std::size_t kEd25519PublicKeyBytes = 32;
// A TXT record is at most 65535 bytes of RDATA (RFC 1035 §3.2.1), so the
// concatenation of its strings never exceeds this.
inline constexpr std::size_t kMaxKeyRecordBytes = 65535;

enum class KeyType { kRsa, kEd25519 };

enum class KeyRecordError {
  kOk,
  kTooLong,             // over kMaxKeyRecordBytes
  kTagList,             // not a valid §3.2 tag-list
  kVersionNotFirst,     // §3.6.1: v= "MUST be the first tag in the record"
  kBadVersion,          // v= other than "DKIM1"
  kMissingPublicKey,    // no p= tag (§3.6.1: REQUIRED)
  kUnsupportedKeyType,  // k= other than rsa or ed25519
  kBadSyntax,           // malformed h=, s= or t= list
  kBadBase64,           // p= is not base64
  kBadRsaKey,           // neither SubjectPublicKeyInfo nor RSAPublicKey
  kRsaKeyTooShort,      // < KeyRecordOptions::min_rsa_bits (RFC 8301 §3.2)
  kRsaKeyTooLong,       // > kMaxRsaKeyBits
  kBadEd25519Key,       // not exactly 32 bytes (RFC 8463 §4.2)
};

std::string_view KeyRecordErrorName(KeyRecordError error);

struct RsaDeleter {
  void operator()(RSA* rsa) const { RSA_free(rsa); }
};

struct KeyRecord {
  KeyType key_type = KeyType::kRsa;
  // h=: the hash algorithms the key may be used with, in record order.
  // Empty when h= is absent, meaning all (§3.6.1). Unknown names are kept
  // here; HashAllowed ignores them as §3.6.1 requires.
  std::vector<std::string> hash_algorithms;
  // s=: service types; empty when absent (= "*").
  std::vector<std::string> service_types;
  // t=: flags as written; unknown flags are kept and ignored (§3.6.1).
  std::vector<std::string> flags;
  bool testing = false;          // t=y
  bool strict_identity = false;  // t=s: i= domain must equal d= (§3.6.1)
  bool revoked = false;          // p= empty (§3.6.1, §6.1.2)
  std::string notes;             // n=, raw (qp-section)
  // Decoded p=: DER (RSA) or the 32 raw key bytes (Ed25519). Empty when revoked.
  std::string public_key;
  // For RSA keys, the parsed key and its size; null when revoked.
  std::shared_ptr<RSA> rsa;
  unsigned rsa_bits = 0;

  // Whether the record's h= allows `hash` ("sha1", "sha256").
  bool HashAllowed(std::string_view hash) const;
  // Whether s= allows use for email ("email" or "*", §3.6.1).
  bool EmailServiceAllowed() const;
};

struct KeyRecordResult {
  KeyRecordError error = KeyRecordError::kOk;
  std::size_t offset = 0;  // into the (concatenated) record text
  std::string message;
  KeyRecord record;

  bool ok() const { return error == KeyRecordError::kOk; }
};

struct KeyRecordOptions {
  // RSA keys with fewer bits are kRsaKeyTooShort. 0 parses keys of any size
  // for a caller that applies its own minimum: the verifier does, so that a
  // short key is a local-policy refusal reported after the record's other
  // checks (VerifierOptions::min_rsa_bits).
  unsigned min_rsa_bits = kMinRsaKeyBits;
};

// Parses one key record. Unrecognised tags are ignored (§3.6.1). A revoked
// key (empty p=) parses successfully with `revoked` set; the verifier turns
// that into a permanent failure (§6.1.2). Empty tag-specs (a trailing "; ")
// are accepted, as DNS publishers commonly write them (see TagListOptions).
KeyRecordResult ParseKeyRecord(std::string_view text, const KeyRecordOptions& options = {});

// Parses a record served as several TXT character-strings, which are
// concatenated without separators first (RFC 6376 §3.6.2.2).
KeyRecordResult ParseKeyRecord(const std::vector<std::string>& txt_strings,
                               const KeyRecordOptions& options = {});

}  // namespace mxkit::auth::dkim

#endif  // MXKIT_AUTH_DKIM_KEY_RECORD_H_
