// Deterministic ECDSA for the certificate factory: the nonce of RFC 6979
// §3.2 and a signature made with it.
//
// ECDSA normally draws its nonce k at random, so two runs sign the same
// TBSCertificate differently and a seed would not pin the certificate bytes.
// RFC 6979 derives k from the private key and the message digest with
// HMAC-DRBG, which keeps k secret and unique per message while making the
// signature a function of its inputs.

#ifndef MXKIT_TLS_INTERNAL_RFC6979_H_
#define MXKIT_TLS_INTERNAL_RFC6979_H_

#include <cstdint>
#include <string>
#include <vector>

#include <openssl/base.h>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace mxkit::tls::internal {

// The RFC 6979 §3.2 nonce k for the EC key `key` and h1 = H(m) in `digest`,
// with HMAC over `md` (H itself, as §3.2 step a prescribes). Returns k as a
// big-endian integer of exactly the group order's byte length, in [1, q-1].
// Internal on a BoringSSL failure or when `key` has no private scalar.
absl::StatusOr<std::vector<uint8_t>> Rfc6979Nonce(const EC_KEY* key, const EVP_MD* md,
                                                  absl::Span<const uint8_t> digest);

// The same for any group order `q` and private scalar `x` in [1, q-1]: k as
// big-endian of ceil(qlen/8) octets. Separate so the RFC's Appendix A.1
// example (a 163-bit q BoringSSL has no curve for, whose first candidate is
// rejected) can check the redraw loop and bits2int's truncation.
absl::StatusOr<std::vector<uint8_t>> Rfc6979NonceForOrder(const BIGNUM* q, const BIGNUM* x,
                                                          const EVP_MD* md,
                                                          absl::Span<const uint8_t> digest);

// A DER ECDSA-Sig-Value (RFC 3279 §2.2.3) over `digest` = md(message) with the
// RFC 6979 nonce: the same key and digest always give the same bytes.
absl::StatusOr<std::string> SignEcdsaRfc6979(const EC_KEY* key, const EVP_MD* md,
                                             absl::Span<const uint8_t> digest);

}  // namespace mxkit::tls::internal

#endif  // MXKIT_TLS_INTERNAL_RFC6979_H_
