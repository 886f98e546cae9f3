#include "auth/dkim/key_record.h"

#include <openssl/bytestring.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <optional>
#include <utility>

#include "auth/dkim/internal/cat.h"
#include "auth/dkim/tag_list.h"
#include "base/ascii.h"
#include "base/base64.h"

namespace mxkit::auth::dkim {
namespace {

using internal::Cat;

using base::IsAlnum;

// hyphenated-word = ALPHA [ *(ALPHA / DIGIT / "-") (ALPHA / DIGIT) ]
// (RFC 6376 §2.10), or "*" where `allow_star`.
bool IsHyphenatedWord(std::string_view w, bool allow_star) {
  if (allow_star && w == "*") return true;
  if (w.empty() || !IsAlnum(w.front()) || (w.front() >= '0' && w.front() <= '9')) return false;
  if (!IsAlnum(w.back())) return false;
  for (char c : w) {
    if (!IsAlnum(c) && c != '-') return false;
  }
  return true;
}

// Splits a colon-separated list with [FWS] around each ":" (§3.6.1's h=, s=
// and t= grammars) into its words; false when an element is not a word.
bool SplitColonList(std::string_view value, bool allow_star, std::vector<std::string>* out) {
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = value.find(':', start);
    std::string word = StripFws(value.substr(start, colon == std::string_view::npos
                                                         ? std::string_view::npos
                                                         : colon - start));
    // StripFws also removes whitespace inside an element, which the grammar
    // forbids there: compare lengths against the trimmed element.
    std::string_view raw = value.substr(start, colon == std::string_view::npos
                                                   ? std::string_view::npos
                                                   : colon - start);
    while (!raw.empty() && (IsWsp(raw.front()) || raw.front() == '\r' || raw.front() == '\n'))
      raw.remove_prefix(1);
    while (!raw.empty() && (IsWsp(raw.back()) || raw.back() == '\r' || raw.back() == '\n'))
      raw.remove_suffix(1);
    if (raw.size() != word.size() || !IsHyphenatedWord(word, allow_star)) return false;
    out->push_back(std::move(word));
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
  }
}

KeyRecordResult Fail(KeyRecordResult r, KeyRecordError error, std::size_t offset,
                     std::string message) {
  r.error = error;
  r.offset = offset;
  r.message = std::move(message);
  return r;
}

}  // namespace

std::string_view KeyRecordErrorName(KeyRecordError error) {
  switch (error) {
    case KeyRecordError::kOk: return "Ok";
    case KeyRecordError::kTooLong: return "TooLong";
    case KeyRecordError::kTagList: return "TagList";
    case KeyRecordError::kVersionNotFirst: return "VersionNotFirst";
    case KeyRecordError::kBadVersion: return "BadVersion";
    case KeyRecordError::kMissingPublicKey: return "MissingPublicKey";
    case KeyRecordError::kUnsupportedKeyType: return "UnsupportedKeyType";
    case KeyRecordError::kBadSyntax: return "BadSyntax";
    case KeyRecordError::kBadBase64: return "BadBase64";
    case KeyRecordError::kBadRsaKey: return "BadRsaKey";
    case KeyRecordError::kRsaKeyTooShort: return "RsaKeyTooShort";
    case KeyRecordError::kRsaKeyTooLong: return "RsaKeyTooLong";
    case KeyRecordError::kBadEd25519Key: return "BadEd25519Key";
  }
  return "Unknown";
}

bool KeyRecord::HashAllowed(std::string_view hash) const {
  if (hash_algorithms.empty()) return true;
  for (const std::string& h : hash_algorithms) {
    if (h == hash) return true;
  }
  return false;
}

bool KeyRecord::EmailServiceAllowed() const {
  if (service_types.empty()) return true;
  for (const std::string& s : service_types) {
    if (s == "*" || s == "email") return true;
  }
  return false;
}

KeyRecordResult ParseKeyRecord(const std::vector<std::string>& txt_strings,
                               const KeyRecordOptions& options) {
  std::string joined;
  for (const std::string& s : txt_strings) {
    if (joined.size() + s.size() > kMaxKeyRecordBytes) {
      KeyRecordResult r;
      return Fail(std::move(r), KeyRecordError::kTooLong, kMaxKeyRecordBytes,
                  Cat("key record longer than ", kMaxKeyRecordBytes, " bytes"));
    }
    joined += s;
  }
  KeyRecordResult r = ParseKeyRecord(joined, options);
  // Views into `joined` must not escape; the record holds only copies.
  return r;
}

KeyRecordResult ParseKeyRecord(std::string_view text, const KeyRecordOptions& key_options) {
  KeyRecordResult r;
  if (text.size() > kMaxKeyRecordBytes) {
    return Fail(std::move(r), KeyRecordError::kTooLong, kMaxKeyRecordBytes,
                Cat("key record is ", text.size(), " bytes, over ", kMaxKeyRecordBytes));
  }
  TagListOptions options;
  options.allow_empty_tag_spec = true;
  TagListResult tags = ParseTagList(text, options);
  if (!tags.ok()) {
    return Fail(std::move(r), KeyRecordError::kTagList, tags.offset,
                Cat("key record: ", tags.message));
  }
  const TagList& list = tags.list;
  KeyRecord& key = r.record;

  if (const Tag* v = list.Find("v")) {
    if (list.IndexOf("v") != 0) {
      return Fail(std::move(r), KeyRecordError::kVersionNotFirst, v->name_offset,
                  "v= must be the first tag of a key record (RFC 6376 §3.6.1)");
    }
    if (v->value != "DKIM1") {
      return Fail(std::move(r), KeyRecordError::kBadVersion, v->value_offset,
                  Cat("key record version \"", v->value, "\" is not DKIM1 (RFC 6376 §3.6.1)"));
    }
  }
  if (const Tag* h = list.Find("h")) {
    if (!SplitColonList(h->value, false, &key.hash_algorithms)) {
      return Fail(std::move(r), KeyRecordError::kBadSyntax, h->value_offset,
                  "h= is not a colon-separated list of hash names (RFC 6376 §3.6.1)");
    }
  }
  if (const Tag* k = list.Find("k")) {
    if (k->value == "rsa") {
      key.key_type = KeyType::kRsa;
    } else if (k->value == "ed25519") {
      key.key_type = KeyType::kEd25519;
    } else {
      return Fail(std::move(r), KeyRecordError::kUnsupportedKeyType, k->value_offset,
                  Cat("key type \"", k->value, "\" is not rsa or ed25519"));
    }
  }
  if (const Tag* s = list.Find("s")) {
    if (!SplitColonList(s->value, true, &key.service_types)) {
      return Fail(std::move(r), KeyRecordError::kBadSyntax, s->value_offset,
                  "s= is not a colon-separated list of service types (RFC 6376 §3.6.1)");
    }
  }
  if (const Tag* t = list.Find("t")) {
    if (!SplitColonList(t->value, false, &key.flags)) {
      return Fail(std::move(r), KeyRecordError::kBadSyntax, t->value_offset,
                  "t= is not a colon-separated list of flags (RFC 6376 §3.6.1)");
    }
    for (const std::string& f : key.flags) {
      if (f == "y") key.testing = true;
      if (f == "s") key.strict_identity = true;
    }
  }
  if (const Tag* n = list.Find("n")) key.notes = std::string(n->value);

  const Tag* p = list.Find("p");
  if (p == nullptr) {
    return Fail(std::move(r), KeyRecordError::kMissingPublicKey, text.size(),
                "key record has no p= tag (REQUIRED, RFC 6376 §3.6.1)");
  }
  std::string b64 = StripFws(p->value);
  if (b64.empty()) {
    key.revoked = true;
    return r;
  }
  // Pad bits are not checked, as dkimpy, OpenDKIM and BoringSSL do not check
  // them (RFC 4648 §3.5); a key that they accept must not fail here.
  base::Base64Result der = base::DecodeBase64(b64, {.allow_nonzero_pad_bits = true});
  if (!der.ok()) {
    return Fail(std::move(r), KeyRecordError::kBadBase64, p->value_offset,
                "p= is not valid base64 (RFC 6376 §3.6.1)");
  }
  key.public_key = std::move(der.bytes);

  if (key.key_type == KeyType::kEd25519) {
    if (key.public_key.size() != kEd25519PublicKeyBytes) {
      return Fail(std::move(r), KeyRecordError::kBadEd25519Key, p->value_offset,
                  Cat("ed25519 p= decodes to ", key.public_key.size(),
                      " bytes, not the raw 32-byte key (RFC 8463 §4.2)"));
    }
    return r;
  }

  // RFC 6376 §3.6.1 specifies SubjectPublicKeyInfo; RFC 6376 §3.6.1's own
  // example and many publishers (and dkimpy, OpenDKIM) also use a bare
  // PKCS#1 RSAPublicKey, so both are accepted. Either must use every byte.
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(key.public_key.data());
  RSA* rsa = nullptr;
  {
    CBS cbs;
    CBS_init(&cbs, bytes, key.public_key.size());
    EVP_PKEY* pkey = EVP_parse_public_key(&cbs);
    if (pkey != nullptr) {
      if (CBS_len(&cbs) == 0 && EVP_PKEY_id(pkey) == EVP_PKEY_RSA) rsa = EVP_PKEY_get1_RSA(pkey);
      EVP_PKEY_free(pkey);
    }
  }
  if (rsa == nullptr) {
    CBS cbs;
    CBS_init(&cbs, bytes, key.public_key.size());
    rsa = RSA_parse_public_key(&cbs);
    if (rsa != nullptr && CBS_len(&cbs) != 0) {
      RSA_free(rsa);
      rsa = nullptr;
    }
  }
  ERR_clear_error();
  if (rsa == nullptr) {
    return Fail(std::move(r), KeyRecordError::kBadRsaKey, p->value_offset,
                "p= is neither an RSA SubjectPublicKeyInfo nor an RSAPublicKey (RFC 6376 §3.6.1)");
  }
  key.rsa.reset(rsa, RsaDeleter());
  key.rsa_bits = RSA_bits(rsa);
  if (key.rsa_bits < key_options.min_rsa_bits) {
    return Fail(std::move(r), KeyRecordError::kRsaKeyTooShort, p->value_offset,
                Cat("RSA key of ", key.rsa_bits, " bits is under the ", key_options.min_rsa_bits,
                    "-bit minimum (RFC 8301 §3.2)"));
  }
  if (key.rsa_bits > kMaxRsaKeyBits) {
    return Fail(std::move(r), KeyRecordError::kRsaKeyTooLong, p->value_offset,
                Cat("RSA key of ", key.rsa_bits, " bits is over our ", kMaxRsaKeyBits,
                    "-bit limit"));
  }
  return r;
}

}  // namespace mxkit::auth::dkim
