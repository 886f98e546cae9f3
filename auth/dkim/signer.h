// DKIM signing (RFC 6376 §5) with rsa-sha256 (RFC 8301) and ed25519-sha256
// (RFC 8463).

#ifndef MXKIT_AUTH_DKIM_SIGNER_H_
#define MXKIT_AUTH_DKIM_SIGNER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/dkim/canonicalize.h"
#include "auth/dkim/key_record.h"
#include "auth/dkim/signature.h"

namespace mxkit::auth::dkim {

class SigningKey {
 public:
  // An RSA private key in PEM (PKCS#1 "RSA PRIVATE KEY" or PKCS#8 "PRIVATE
  // KEY"). Keys under kMinRsaKeyBits are refused (RFC 8301 §3.2: "Signers
  // MUST use RSA keys of at least 1024 bits").
  static absl::StatusOr<SigningKey> RsaFromPem(std::string_view pem);
  // An Ed25519 key from its 32-byte seed (RFC 8032 §5.1.5 secret key).
  static absl::StatusOr<SigningKey> Ed25519FromSeed(std::string_view seed);

  SignatureAlgorithm algorithm() const { return algorithm_; }
  // The key record to publish at selector._domainkey.domain:
  // "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or "v=DKIM1; k=ed25519; p=<32 bytes>".
  std::string KeyRecordText() const;
  // Signs the SHA-256 `digest` of the header hash input; the raw b= bytes.
  absl::StatusOr<std::string> SignDigest(std::string_view digest) const;

 private:
  SignatureAlgorithm algorithm_ = SignatureAlgorithm::kRsaSha256;
  std::shared_ptr<RSA> rsa_;
  std::array<uint8_t, 64> ed25519_private_{};
  std::array<uint8_t, 32> ed25519_public_{};
};

struct SignerOptions {
  std::string domain;    // d=
  std::string selector;  // s=
  std::optional<std::string> identity;  // i=; must be d= or below it
  Canonicalization header_canonicalization = Canonicalization::kRelaxed;
  Canonicalization body_canonicalization = Canonicalization::kRelaxed;
  // Header field names to sign. Each is listed in h= once per instance
  // present in the message; names absent from the message are left out
  // unless `oversign`. "from" is required (RFC 6376 §5.4).
  std::vector<std::string> signed_headers = {"from", "to", "cc", "subject", "date",
                                             "message-id", "reply-to", "mime-version",
                                             "content-type", "content-transfer-encoding"};
  // List every name once more than it occurs, so a verifier hashes a null
  // field for the extra entry and any instance added in transit breaks the
  // signature (RFC 6376 §8.15, §5.4.2).
  bool oversign = false;
  // Emit l= with the canonical body length (RFC 6376 §3.5; see §8.2 for why
  // it is risky).
  bool include_body_length = false;
  std::optional<int64_t> timestamp;   // t=
  std::optional<int64_t> expiration;  // x=; must be > t= when both are set
};

// Signs `headers` + `body` and returns the complete DKIM-Signature header
// field, folded at 78 columns, ending in CRLF, ready to be prepended to the
// message. Errors: invalid options (domain, selector, identity, no From in the
// message, x= <= t=) and key failures.
absl::StatusOr<std::string> Sign(std::span<const HeaderField> headers, std::string_view body,
                                 const SigningKey& key, const SignerOptions& options);

// Splits `message` (SplitMessage, strict) and signs it as above.
absl::StatusOr<std::string> SignMessage(std::string_view message, const SigningKey& key,
                                        const SignerOptions& options);

// The low-level step: the raw b= bytes for `signature_field`, a complete
// DKIM-Signature field (as in HeaderField::raw) whose b= value is empty, over
// `headers`. Its a=, c= and h= are used as written and its bh= is taken as
// given. Used to re-create published signatures (RFC 8463 Appendix A).
absl::StatusOr<std::string> SignFieldTemplate(std::span<const HeaderField> headers,
                                              std::string_view signature_field,
                                              const SigningKey& key);

}  // namespace mxkit::auth::dkim

#endif  // MXKIT_AUTH_DKIM_SIGNER_H_
