#include "tls/internal/rfc6979.h"

#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/mem.h>

#include <cstddef>

#include "tls/boringssl_error.h"

namespace mxkit::tls::internal {
namespace {

using Bytes = std::vector<uint8_t>;

// Candidates for k are drawn until one lies in [1, q-1]. For P-256 a
// candidate misses with probability about 2^-32 (q is just under 2^256); for
// a q just over a power of two about 1/2 per draw, so 64 draws fail with
// probability 2^-64. The bound keeps a broken HMAC from spinning forever.
constexpr int kMaxNonceCandidates = 64;

absl::StatusOr<Bytes> Hmac(const EVP_MD* md, const Bytes& key, const Bytes& data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned out_len = 0;
  if (HMAC(md, key.data(), key.size(), data.data(), data.size(), out.data(), &out_len) ==
      nullptr) {
    return BoringSslFailure("HMAC");
  }
  out.resize(out_len);
  return out;
}

Bytes Concat(std::initializer_list<absl::Span<const uint8_t>> parts) {
  Bytes out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// RFC 6979 §2.3.2 bits2int: the leftmost qlen bits of `bits` as an integer.
absl::StatusOr<bssl::UniquePtr<BIGNUM>> Bits2Int(absl::Span<const uint8_t> bits, int qlen) {
  bssl::UniquePtr<BIGNUM> v(BN_bin2bn(bits.data(), bits.size(), nullptr));
  if (!v) return BoringSslFailure("BN_bin2bn");
  const int blen = static_cast<int>(bits.size()) * 8;
  if (blen > qlen && !BN_rshift(v.get(), v.get(), blen - qlen)) {
    return BoringSslFailure("BN_rshift");
  }
  return v;
}

// RFC 6979 §2.3.3 int2octets: big-endian, rlen = ceil(qlen/8) octets.
absl::StatusOr<Bytes> Int2Octets(const BIGNUM* v, size_t rlen) {
  Bytes out(rlen);
  if (!BN_bn2bin_padded(out.data(), out.size(), v)) return BoringSslFailure("BN_bn2bin_padded");
  return out;
}

}  // namespace

absl::StatusOr<Bytes> Rfc6979Nonce(const EC_KEY* key, const EVP_MD* md,
                                   absl::Span<const uint8_t> digest) {
  const EC_GROUP* group = EC_KEY_get0_group(key);
  const BIGNUM* x = EC_KEY_get0_private_key(key);
  if (group == nullptr || x == nullptr) {
    return absl::InternalError("RFC 6979 nonce: the EC key has no group or no private scalar");
  }
  return Rfc6979NonceForOrder(EC_GROUP_get0_order(group), x, md, digest);
}

absl::StatusOr<Bytes> Rfc6979NonceForOrder(const BIGNUM* q, const BIGNUM* x, const EVP_MD* md,
                                           absl::Span<const uint8_t> digest) {
  if (BN_is_zero(x) || BN_is_negative(x) || BN_cmp(x, q) >= 0) {
    return absl::InternalError("RFC 6979 nonce: the private scalar is not in [1, q-1]");
  }
  const int qlen = BN_num_bits(q);
  const size_t rlen = (static_cast<size_t>(qlen) + 7) / 8;
  const size_t hlen = EVP_MD_size(md);

  // §3.2 step a is the caller's: `digest` is h1 = H(m).
  absl::StatusOr<Bytes> x_octets = Int2Octets(x, rlen);
  if (!x_octets.ok()) return x_octets.status();
  // bits2octets(h1) = int2octets(bits2int(h1) mod q) (§2.3.4); bits2int(h1)
  // is below 2^qlen < 2q, so one subtraction reduces it.
  absl::StatusOr<bssl::UniquePtr<BIGNUM>> z = Bits2Int(digest, qlen);
  if (!z.ok()) return z.status();
  if (BN_cmp(z->get(), q) >= 0 && !BN_sub(z->get(), z->get(), q)) {
    return BoringSslFailure("BN_sub");
  }
  absl::StatusOr<Bytes> h_octets = Int2Octets(z->get(), rlen);
  if (!h_octets.ok()) return h_octets.status();

  Bytes v(hlen, 0x01);  // step b
  Bytes k(hlen, 0x00);  // step c
  const uint8_t zero[] = {0x00};
  const uint8_t one[] = {0x01};
  for (const auto& sep : {absl::Span<const uint8_t>(zero), absl::Span<const uint8_t>(one)}) {
    // steps d-e with 0x00, f-g with 0x01
    absl::StatusOr<Bytes> nk = Hmac(md, k, Concat({v, sep, *x_octets, *h_octets}));
    if (!nk.ok()) return nk.status();
    k = *std::move(nk);
    absl::StatusOr<Bytes> nv = Hmac(md, k, v);
    if (!nv.ok()) return nv.status();
    v = *std::move(nv);
  }

  for (int attempt = 0; attempt < kMaxNonceCandidates; ++attempt) {  // step h
    Bytes t;
    while (t.size() < rlen) {
      absl::StatusOr<Bytes> nv = Hmac(md, k, v);
      if (!nv.ok()) return nv.status();
      v = *std::move(nv);
      t.insert(t.end(), v.begin(), v.end());
    }
    absl::StatusOr<bssl::UniquePtr<BIGNUM>> candidate = Bits2Int(t, qlen);
    if (!candidate.ok()) return candidate.status();
    if (!BN_is_zero(candidate->get()) && BN_cmp(candidate->get(), q) < 0) {
      return Int2Octets(candidate->get(), rlen);
    }
    absl::StatusOr<Bytes> nk = Hmac(md, k, Concat({v, zero}));
    if (!nk.ok()) return nk.status();
    k = *std::move(nk);
    absl::StatusOr<Bytes> nv = Hmac(md, k, v);
    if (!nv.ok()) return nv.status();
    v = *std::move(nv);
  }
  return absl::InternalError("RFC 6979 nonce: no candidate in [1, q-1] after 64 draws");
}

absl::StatusOr<std::string> SignEcdsaRfc6979(const EC_KEY* key, const EVP_MD* md,
                                             absl::Span<const uint8_t> digest) {
  absl::StatusOr<Bytes> nonce = Rfc6979Nonce(key, md, digest);
  if (!nonce.ok()) return nonce.status();
  // The "for testing" entry point is BoringSSL's only way to choose k. Its
  // warning is about k leaking the key when callers pick k badly or reuse it;
  // RFC 6979 gives a k that is secret and unique per digest, and the keys it
  // signs with here are test keys derived from a seed that anyone holding
  // the seed can recompute (the leaf keys are even exported as key.pem).
  bssl::UniquePtr<ECDSA_SIG> sig(ECDSA_sign_with_nonce_and_leak_private_key_for_testing(
      digest.data(), digest.size(), key, nonce->data(), nonce->size()));
  if (!sig) return BoringSslFailure("ECDSA signing with the RFC 6979 nonce");
  uint8_t* der = nullptr;
  size_t der_len = 0;
  if (!ECDSA_SIG_to_bytes(&der, &der_len, sig.get())) {
    return BoringSslFailure("ECDSA_SIG_to_bytes");
  }
  bssl::UniquePtr<uint8_t> owned(der);
  return std::string(reinterpret_cast<const char*>(der), der_len);
}

}  // namespace mxkit::tls::internal
