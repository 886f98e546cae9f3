// Keys derived from a seed: the one home for turning --cert-seed into key
// material, used by the certificate factory (tls/cert_factory.h) for its CAs
// and leaves and by fakemx for the DKIM keys its DNS publishes, so a test
// world made twice from one seed has the same keys and records.
//
// Every derivation is HKDF-SHA256 (RFC 5869) of the seed with a label; a
// distinct label gives an independent key, so one key never depends on which
// others were made. Labels are namespaced by their caller ("leaf/good",
// "dkim/example.test/mxkit"). These are test keys: anyone who knows the seed
// knows them.

#ifndef MXKIT_TLS_KEY_DERIVATION_H_
#define MXKIT_TLS_KEY_DERIVATION_H_

#include <openssl/base.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mxkit::tls {

// Fills `out` with HKDF-SHA256 output for `label`. Internal (BoringSSL's
// reason) only if BoringSSL fails.
absl::Status DeriveBytes(uint64_t seed, std::string_view label, absl::Span<uint8_t> out);

// An ECDSA P-256 key for `label` (derived under "ec-p256/" + label).
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> DeriveEcP256Key(uint64_t seed, std::string_view label);

// An RSA key of `bits` bits (1024 to 4096, a multiple of 16), e = 65537,
// derived under "rsa-BITS/" + label. Slow for 2048 bits and more (prime
// search: tens to hundreds of milliseconds). InvalidArgument for other sizes.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> DeriveRsaKey(uint64_t seed, std::string_view label,
                                                       int bits);

// An Ed25519 key (RFC 8032 §5.1.5: the private key is a 32-byte seed),
// derived under "ed25519/" + label.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> DeriveEd25519Key(uint64_t seed, std::string_view label);

// `key` as PKCS#8 "PRIVATE KEY" PEM (RFC 5208, RFC 8410 for Ed25519).
absl::StatusOr<std::string> PrivateKeyToPkcs8Pem(EVP_PKEY* key);

}  // namespace mxkit::tls

#endif  // MXKIT_TLS_KEY_DERIVATION_H_
