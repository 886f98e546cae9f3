#include "auth/dkim/signer.h"

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/curve25519.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "auth/dkim/internal/cat.h"
#include "auth/dkim/internal/sha256_sink.h"
#include "base/ascii.h"
#include "base/base64.h"
#include "tls/boringssl_error.h"

namespace mxkit::auth::dkim {
namespace {

using internal::Cat;

// RFC 5322 §2.1.1: lines SHOULD be no more than 78 characters.
constexpr std::size_t kFoldColumn = 78;
constexpr std::size_t kBase64LineChars = 72;

using base::AsciiLower;
using base::EqualsIgnoreCase;

// Builds a header field folded at kFoldColumn: pieces are joined by a space
// when they fit on the current line and by CRLF TAB otherwise.
class Folder {
 public:
  explicit Folder(std::string_view start) : text_(start), line_length_(start.size()) {}

  void Add(std::string_view piece, std::string_view separator = " ") {
    if (line_length_ + separator.size() + piece.size() > kFoldColumn && line_length_ > 1) {
      // A space separator becomes the fold; any other (":" in h=) is kept.
      text_ += "\r\n\t";
      line_length_ = 1;
      if (separator != " ") {
        text_ += separator;
        line_length_ += separator.size();
      }
    } else {
      text_ += separator;
      line_length_ += separator.size();
    }
    text_ += piece;
    line_length_ += piece.size();
  }
  // Appends `piece` on a new continuation line.
  void AddOnNewLine(std::string_view piece) {
    text_ += "\r\n\t";
    text_ += piece;
    line_length_ = 1 + piece.size();
  }
  void Append(std::string_view raw) {
    text_ += raw;
    line_length_ += raw.size();
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
  std::size_t line_length_;
};

}  // namespace

absl::StatusOr<SigningKey> SigningKey::RsaFromPem(std::string_view pem) {
  // A PEM RSA key of kMaxRsaKeyBits is under 7 KB; BIO lengths are int.
  constexpr std::size_t kMaxPemBytes = 64 * 1024;
  if (pem.size() > kMaxPemBytes) return absl::InvalidArgumentError("PEM input over 64 KiB");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) {
    return absl::InvalidArgumentError(Cat("not a PEM private key: ", tls::DrainBoringSslErrors()));
  }
  RSA* rsa = EVP_PKEY_get1_RSA(pkey);
  EVP_PKEY_free(pkey);
  ERR_clear_error();
  if (rsa == nullptr) return absl::InvalidArgumentError("the PEM key is not an RSA key");
  SigningKey key;
  key.algorithm_ = SignatureAlgorithm::kRsaSha256;
  key.rsa_.reset(rsa, RsaDeleter());
  if (RSA_bits(rsa) < kMinRsaKeyBits) {
    return absl::InvalidArgumentError(Cat("RSA key of ", RSA_bits(rsa), " bits: signers MUST use at least ",
                                          kMinRsaKeyBits, " (RFC 8301 §3.2)"));
  }
  return key;
}

absl::StatusOr<SigningKey> SigningKey::Ed25519FromSeed(std::string_view seed) {
  if (seed.size() != 32) {
    return absl::InvalidArgumentError(Cat("an Ed25519 seed is 32 bytes, not ", seed.size()));
  }
  SigningKey key;
  key.algorithm_ = SignatureAlgorithm::kEd25519Sha256;
  ED25519_keypair_from_seed(key.ed25519_public_.data(), key.ed25519_private_.data(),
                            reinterpret_cast<const uint8_t*>(seed.data()));
  return key;
}

std::string SigningKey::KeyRecordText() const {
  if (algorithm_ == SignatureAlgorithm::kEd25519Sha256) {
    return Cat("v=DKIM1; k=ed25519; p=",
               base::EncodeBase64(std::string_view(
                   reinterpret_cast<const char*>(ed25519_public_.data()), ed25519_public_.size())));
  }
  EVP_PKEY* pkey = EVP_PKEY_new();
  EVP_PKEY_set1_RSA(pkey, rsa_.get());
  CBB cbb;
  CBB_init(&cbb, 0);
  uint8_t* der = nullptr;
  std::size_t der_len = 0;
  std::string out;
  if (EVP_marshal_public_key(&cbb, pkey) && CBB_finish(&cbb, &der, &der_len)) {
    out = Cat("v=DKIM1; k=rsa; p=",
              base::EncodeBase64(std::string_view(reinterpret_cast<char*>(der), der_len)));
    OPENSSL_free(der);
  } else {
    CBB_cleanup(&cbb);
  }
  EVP_PKEY_free(pkey);
  return out;
}

absl::StatusOr<std::string> SigningKey::SignDigest(std::string_view digest) const {
  if (algorithm_ == SignatureAlgorithm::kEd25519Sha256) {
    std::string sig(ED25519_SIGNATURE_LEN, '\0');
    if (!ED25519_sign(reinterpret_cast<uint8_t*>(sig.data()),
                      reinterpret_cast<const uint8_t*>(digest.data()), digest.size(),
                      ed25519_private_.data())) {
      return absl::InternalError("ED25519_sign failed");
    }
    return sig;
  }
  if (rsa_ == nullptr) return absl::FailedPreconditionError("no key loaded");
  std::string sig(RSA_size(rsa_.get()), '\0');
  unsigned len = 0;
  if (!RSA_sign(NID_sha256, reinterpret_cast<const uint8_t*>(digest.data()), digest.size(),
                reinterpret_cast<uint8_t*>(sig.data()), &len, rsa_.get())) {
    return absl::InternalError(Cat("RSA_sign failed: ", tls::DrainBoringSslErrors()));
  }
  sig.resize(len);
  return sig;
}

absl::StatusOr<std::string> SignFieldTemplate(std::span<const HeaderField> headers,
                                              std::string_view signature_field,
                                              const SigningKey& key) {
  SignatureParseOptions options;
  options.allow_empty_b = true;
  SignatureParseResult parsed = ParseSignature(signature_field, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        Cat("DKIM-Signature template, offset ", parsed.offset, ": ", parsed.message));
  }
  if (parsed.signature.algorithm != key.algorithm()) {
    return absl::InvalidArgumentError(
        Cat("template a=", SignatureAlgorithmName(parsed.signature.algorithm),
            " does not match the key's ", SignatureAlgorithmName(key.algorithm())));
  }
  std::string input;
  AppendHeaderHashInput(headers, parsed.signature, signature_field, &input);
  return key.SignDigest(internal::Sha256(input));
}

absl::StatusOr<std::string> Sign(std::span<const HeaderField> headers, std::string_view body,
                                 const SigningKey& key, const SignerOptions& options) {
  if (!IsValidDomainName(options.domain)) {
    return absl::InvalidArgumentError(Cat("d=", options.domain, " is not a domain name"));
  }
  if (options.timestamp && options.expiration && !(*options.expiration > *options.timestamp)) {
    return absl::InvalidArgumentError("x= must be greater than t= (RFC 6376 §3.5)");
  }
  // h=: each requested name once per instance present (+1 when over-signing).
  std::vector<std::string> h;
  std::vector<std::string> seen;
  for (const std::string& wanted : options.signed_headers) {
    std::string name = AsciiLower(wanted);
    bool duplicate = false;
    for (const std::string& s : seen) duplicate = duplicate || s == name;
    if (duplicate) continue;
    seen.push_back(name);
    std::size_t present = 0;
    for (const HeaderField& f : headers) present += EqualsIgnoreCase(f.name, name) ? 1 : 0;
    if (name == "from" && present == 0) {
      return absl::InvalidArgumentError("the message has no From field; From MUST be signed "
                                        "(RFC 6376 §5.4)");
    }
    std::size_t count = present + (options.oversign ? 1 : 0);
    for (std::size_t i = 0; i < count; ++i) h.push_back(name);
  }
  if (seen.empty() || std::find(seen.begin(), seen.end(), "from") == seen.end()) {
    return absl::InvalidArgumentError("signed_headers must include From (RFC 6376 §5.4)");
  }

  internal::Sha256Sink sink;
  BodyCanonicalizer canon(options.body_canonicalization, &sink);
  canon.Update(body);
  canon.Finish();
  std::string body_hash = base::EncodeBase64(sink.Digest());

  Folder field("DKIM-Signature:");
  field.Add("v=1;");
  field.Add(Cat("a=", SignatureAlgorithmName(key.algorithm()), ";"));
  field.Add(Cat("c=", CanonicalizationName(options.header_canonicalization), "/",
                CanonicalizationName(options.body_canonicalization), ";"));
  field.Add(Cat("d=", options.domain, ";"));
  field.Add(Cat("s=", options.selector, ";"));
  if (options.identity) field.Add(Cat("i=", *options.identity, ";"));
  if (options.timestamp) field.Add(Cat("t=", *options.timestamp, ";"));
  if (options.expiration) field.Add(Cat("x=", *options.expiration, ";"));
  if (options.include_body_length) field.Add(Cat("l=", canon.canonical_length(), ";"));
  for (std::size_t i = 0; i < h.size(); ++i) {
    std::string piece = i == 0 ? "h=" + h[i] : h[i];
    if (i + 1 == h.size()) piece += ";";
    // FWS is allowed before ":" in h= (RFC 6376 §3.5), so long lists fold.
    field.Add(piece, i == 0 ? " " : ":");
  }
  field.Add(Cat("bh=", body_hash, ";"));
  field.AddOnNewLine("b=");

  std::string unsigned_field = field.text();
  SignatureParseOptions parse_options;
  parse_options.allow_empty_b = true;
  SignatureParseResult parsed = ParseSignature(unsigned_field, parse_options);
  if (!parsed.ok()) {
    // Our own output must be a valid signature; this catches bad options
    // (selector, identity) with the parser's precise message.
    return absl::InvalidArgumentError(Cat("options give an invalid DKIM-Signature: ",
                                          parsed.message));
  }
  std::string input;
  AppendHeaderHashInput(headers, parsed.signature, unsigned_field, &input);
  absl::StatusOr<std::string> sig = key.SignDigest(internal::Sha256(input));
  if (!sig.ok()) return sig.status();

  std::string b64 = base::EncodeBase64(*sig);
  std::string out = unsigned_field;
  std::size_t first = kBase64LineChars - 3;  // after "\tb="
  out += b64.substr(0, first);
  for (std::size_t i = first; i < b64.size(); i += kBase64LineChars) {
    out += "\r\n\t";
    out += b64.substr(i, kBase64LineChars);
  }
  out += "\r\n";
  return out;
}

absl::StatusOr<std::string> SignMessage(std::string_view message, const SigningKey& key,
                                        const SignerOptions& options) {
  absl::StatusOr<DkimMessage> split = SplitMessage(message);
  if (!split.ok()) return split.status();
  return Sign(split->headers, split->body, key, options);
}

}  // namespace mxkit::auth::dkim
