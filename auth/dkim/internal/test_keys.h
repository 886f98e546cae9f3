// Test-only key generation: fresh RSA keys as PEM and Ed25519 seeds.

#ifndef MXKIT_AUTH_DKIM_INTERNAL_TEST_KEYS_H_
#define MXKIT_AUTH_DKIM_INTERNAL_TEST_KEYS_H_

#include <string>

namespace mxkit::auth::dkim::internal {

// A new RSA private key of `bits` bits, PKCS#1 PEM.
std::string GenerateRsaPem(int bits);
// 32 random bytes.
std::string GenerateEd25519Seed();
// The SubjectPublicKeyInfo key record for an RSA PEM of any size (the signer
// refuses keys under 1024 bits, tests of the verifier still need them).
std::string RsaKeyRecordFromPem(const std::string& pem);

}  // namespace mxkit::auth::dkim::internal

#endif  // MXKIT_AUTH_DKIM_INTERNAL_TEST_KEYS_H_
