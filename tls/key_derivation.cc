#include "tls/key_derivation.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ctrdrbg.h>
#include <openssl/curve25519.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/hkdf.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <cstddef>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "tls/boringssl_error.h"

namespace mxkit::tls {
namespace {

using base::Av;

// The salt was chosen when only the certificate factory derived keys; it
// stays, because changing it changes every certificate and key a seed gives
// (tls/cert_factory_test.cc pins their bytes).
// HKDF salt (RFC 5869 §3.1): separates these derivations from any other use
// of the same seed. Changing it changes every certificate.
constexpr char kHkdfSalt[] = "mxkit/tls/cert_factory/v1";

// RSA public exponent F4, the one every TLS stack expects (RFC 8017 §3.1
// allows others; FIPS 186-5 §A.1.1 wants 2^16 < e < 2^256).
constexpr BN_ULONG kRsaPublicExponent = 65537;
// A random odd 1024-bit number is prime with probability about
// 2/ln(2^1024) ≈ 1/355, so a prime turns up after a few hundred draws; the
// bound only stops a broken DRBG or primality test from spinning forever.
constexpr int kMaxPrimeCandidates = 1 << 16;

}  // namespace

// Derives `out.size()` bytes for `label` from the seed with HKDF-SHA256
// (RFC 5869): each key, serial number and DRBG gets its own label, so one
// certificate's bytes never depend on which others were made.
absl::Status DeriveBytes(uint64_t seed, std::string_view label, absl::Span<uint8_t> out) {
  uint8_t ikm[8];
  for (int i = 0; i < 8; ++i) ikm[i] = static_cast<uint8_t>(seed >> (56 - 8 * i));
  if (!HKDF(out.data(), out.size(), EVP_sha256(), ikm, sizeof(ikm),
            reinterpret_cast<const uint8_t*>(kHkdfSalt), sizeof(kHkdfSalt) - 1,
            reinterpret_cast<const uint8_t*>(label.data()), label.size())) {
    return BoringSslFailure(absl::StrCat("HKDF for ", Av(label)));
  }
  return absl::OkStatus();
}

namespace {

// ctrdrbg.h declares no bssl::UniquePtr deleter.
struct CtrDrbgFree {
  void operator()(CTR_DRBG_STATE* drbg) const { CTR_DRBG_free(drbg); }
};
using CtrDrbgPtr = std::unique_ptr<CTR_DRBG_STATE, CtrDrbgFree>;

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> WrapEcKey(EC_KEY* raw) {
  bssl::UniquePtr<EC_KEY> key(raw);
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!pkey || !EVP_PKEY_assign_EC_KEY(pkey.get(), key.get())) {
    return BoringSslFailure("EVP_PKEY_assign_EC_KEY");
  }
  key.release();
  return pkey;
}

// A prime of `bits` bits drawn from `drbg`: odd candidates with the top two
// bits set (so p*q has exactly 2*bits bits, as FIPS 186-5 §A.1.3 arranges),
// p-1 prime to e. BN_primality_test's own randomness only decides how fast
// a composite is rejected; a prime always passes, so the result is a
// function of the DRBG stream alone.
absl::StatusOr<bssl::UniquePtr<BIGNUM>> DrawPrime(CTR_DRBG_STATE* drbg, int bits, BN_CTX* ctx,
                                                  const BIGNUM* other) {
  std::vector<uint8_t> buf(static_cast<std::size_t>(bits) / 8);
  bssl::UniquePtr<BIGNUM> candidate(BN_new());
  if (!candidate) return BoringSslFailure("BN_new");
  for (int i = 0; i < kMaxPrimeCandidates; ++i) {
    if (!CTR_DRBG_generate(drbg, buf.data(), buf.size(), nullptr, 0)) {
      return BoringSslFailure("CTR_DRBG_generate");
    }
    buf.front() |= 0xC0;
    buf.back() |= 0x01;
    if (!BN_bin2bn(buf.data(), buf.size(), candidate.get())) return BoringSslFailure("BN_bin2bn");
    // gcd(e, p-1) = 1 with e prime is e not dividing p-1.
    if (BN_mod_word(candidate.get(), kRsaPublicExponent) == 1) continue;
    if (other != nullptr && BN_cmp(candidate.get(), other) == 0) continue;
    int is_prime = 0;
    if (!BN_primality_test(&is_prime, candidate.get(), BN_prime_checks_for_generation, ctx,
                           /*do_trial_division=*/1, nullptr)) {
      return BoringSslFailure("BN_primality_test");
    }
    if (is_prime) return candidate;
  }
  return absl::InternalError(
      absl::StrCat("no ", bits, "-bit prime in ", kMaxPrimeCandidates, " candidates"));
}

}  // namespace

// An ECDSA P-256 key for `label`.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> DeriveEcP256Key(uint64_t seed, std::string_view label) {
  uint8_t secret[32];
  if (absl::Status s = DeriveBytes(seed, absl::StrCat("ec-p256/", Av(label)), secret); !s.ok()) {
    return s;
  }
  bssl::UniquePtr<EC_GROUP> group(EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1));
  if (!group) return BoringSslFailure("EC_GROUP_new_by_curve_name(P-256)");
  EC_KEY* key = EC_KEY_derive_from_secret(group.get(), secret, sizeof(secret));
  OPENSSL_cleanse(secret, sizeof(secret));
  if (key == nullptr)
    return BoringSslFailure(absl::StrCat("EC_KEY_derive_from_secret for ", Av(label)));
  return WrapEcKey(key);
}

// An RSA key of `bits` bits for `label`. BoringSSL's RSA_generate_key_ex
// draws from the system RNG, so the primes come from a CTR_DRBG (SP 800-90A)
// seeded by HKDF instead and the key is assembled from its parts.
absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> DeriveRsaKey(uint64_t seed, std::string_view label,
                                                       int bits) {
  // RFC 8301 §3.2 is the floor for DKIM; 4096 bounds the prime search.
  if (bits < 1024 || bits > 4096 || bits % 16 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("RSA key size ", bits, " is not supported (1024 to 4096, a multiple of 16)"));
  }
  uint8_t entropy[CTR_DRBG_ENTROPY_LEN];
  if (absl::Status s = DeriveBytes(seed, absl::StrCat("rsa-", bits, "/", Av(label)), entropy);
      !s.ok()) {
    return s;
  }
  CtrDrbgPtr drbg(CTR_DRBG_new(entropy, nullptr, 0));
  OPENSSL_cleanse(entropy, sizeof(entropy));
  bssl::UniquePtr<BN_CTX> ctx(BN_CTX_new());
  if (!drbg || !ctx) return BoringSslFailure("CTR_DRBG_new/BN_CTX_new");

  absl::StatusOr<bssl::UniquePtr<BIGNUM>> p = DrawPrime(drbg.get(), bits / 2, ctx.get(), nullptr);
  if (!p.ok()) return p.status();
  absl::StatusOr<bssl::UniquePtr<BIGNUM>> q = DrawPrime(drbg.get(), bits / 2, ctx.get(), p->get());
  if (!q.ok()) return q.status();
  // PKCS #1 writes qInv = q^-1 mod p; the larger prime first is the usual order.
  if (BN_cmp(p->get(), q->get()) < 0) std::swap(*p, *q);

  bssl::UniquePtr<BIGNUM> n(BN_new()), e(BN_new()), d(BN_new()), p1(BN_new()), q1(BN_new()),
      phi(BN_new()), g(BN_new()), lambda(BN_new()), dmp1(BN_new()), dmq1(BN_new()), iqmp(BN_new());
  if (!n || !e || !d || !p1 || !q1 || !phi || !g || !lambda || !dmp1 || !dmq1 || !iqmp) {
    return BoringSslFailure("BN_new");
  }
  // d = e^-1 mod lcm(p-1, q-1) (RFC 8017 §3.2; the smallest private
  // exponent, as FIPS 186-5 §A.1.1 specifies).
  if (!BN_set_word(e.get(), kRsaPublicExponent) ||
      !BN_mul(n.get(), p->get(), q->get(), ctx.get()) ||
      !BN_sub(p1.get(), p->get(), BN_value_one()) || !BN_sub(q1.get(), q->get(), BN_value_one()) ||
      !BN_mul(phi.get(), p1.get(), q1.get(), ctx.get()) ||
      !BN_gcd(g.get(), p1.get(), q1.get(), ctx.get()) ||
      !BN_div(lambda.get(), nullptr, phi.get(), g.get(), ctx.get()) ||
      !BN_mod_inverse(d.get(), e.get(), lambda.get(), ctx.get()) ||
      !BN_div(nullptr, dmp1.get(), d.get(), p1.get(), ctx.get()) ||
      !BN_div(nullptr, dmq1.get(), d.get(), q1.get(), ctx.get()) ||
      !BN_mod_inverse(iqmp.get(), q->get(), p->get(), ctx.get())) {
    return BoringSslFailure("RSA key arithmetic");
  }
  if (BN_num_bits(n.get()) != static_cast<unsigned>(bits)) {
    return absl::InternalError(
        absl::StrCat("RSA modulus has ", BN_num_bits(n.get()), " bits, not ", bits));
  }
  bssl::UniquePtr<RSA> rsa(RSA_new());
  if (!rsa) return BoringSslFailure("RSA_new");
  if (!RSA_set0_key(rsa.get(), n.get(), e.get(), d.get())) return BoringSslFailure("RSA_set0_key");
  n.release(), e.release(), d.release();
  if (!RSA_set0_factors(rsa.get(), p->get(), q->get())) return BoringSslFailure("RSA_set0_factors");
  p->release(), q->release();
  if (!RSA_set0_crt_params(rsa.get(), dmp1.get(), dmq1.get(), iqmp.get())) {
    return BoringSslFailure("RSA_set0_crt_params");
  }
  dmp1.release(), dmq1.release(), iqmp.release();
  if (!RSA_check_key(rsa.get())) return BoringSslFailure("RSA_check_key");
  bssl::UniquePtr<EVP_PKEY> pkey(EVP_PKEY_new());
  if (!pkey || !EVP_PKEY_assign_RSA(pkey.get(), rsa.get())) {
    return BoringSslFailure("EVP_PKEY_assign_RSA");
  }
  rsa.release();
  return pkey;
}

absl::StatusOr<std::string> PrivateKeyToPkcs8Pem(EVP_PKEY* key) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      !PEM_write_bio_PKCS8PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr)) {
    return BoringSslFailure("PEM_write_bio_PKCS8PrivateKey");
  }
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> DeriveEd25519Key(uint64_t seed, std::string_view label) {
  // RFC 8032 §5.1.5: the private key is 32 random octets.
  uint8_t secret[32];
  if (absl::Status s = DeriveBytes(seed, absl::StrCat("ed25519/", Av(label)), secret); !s.ok()) {
    return s;
  }
  bssl::UniquePtr<EVP_PKEY> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, secret, sizeof(secret)));
  OPENSSL_cleanse(secret, sizeof(secret));
  if (!key)
    return BoringSslFailure(absl::StrCat("EVP_PKEY_new_raw_private_key(Ed25519) for ", Av(label)));
  return key;
}

}  // namespace mxkit::tls
