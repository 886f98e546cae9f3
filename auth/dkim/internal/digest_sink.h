// The hash functions DKIM signatures name: SHA-256 (RFC 6376 §3.3) and SHA-1,
// which RFC 8301 §3.1 forbids and the verifier evaluates only on request, for
// archived mail signed before 2018.

#ifndef MXKIT_AUTH_DKIM_INTERNAL_DIGEST_SINK_H_
#define MXKIT_AUTH_DKIM_INTERNAL_DIGEST_SINK_H_

#include <openssl/digest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dkim/canonicalize.h"

namespace mxkit::auth::dkim::internal {

enum class DigestAlgorithm { kSha1, kSha256 };

inline const EVP_MD* DigestMd(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::kSha1 ? EVP_sha1() : EVP_sha256();
}

// A BodySink that hashes what it receives.
class DigestSink : public BodySink {
 public:
  explicit DigestSink(DigestAlgorithm algorithm) {
    EVP_MD_CTX_init(&ctx_);
    EVP_DigestInit_ex(&ctx_, DigestMd(algorithm), nullptr);
  }
  ~DigestSink() override { EVP_MD_CTX_cleanup(&ctx_); }
  DigestSink(const DigestSink&) = delete;
  DigestSink& operator=(const DigestSink&) = delete;

  void Write(std::string_view bytes) override {
    EVP_DigestUpdate(&ctx_, bytes.data(), bytes.size());
  }
  // The digest of everything written into `out` (EVP_MAX_MD_SIZE bytes of
  // room); returns its length. Call once, and not with Digest().
  std::size_t DigestTo(uint8_t* out) {
    unsigned size = 0;
    EVP_DigestFinal_ex(&ctx_, out, &size);
    return size;
  }
  // The digest of everything written; call once.
  std::string Digest() {
    std::string out(EVP_MD_CTX_size(&ctx_), '\0');
    EVP_DigestFinal_ex(&ctx_, reinterpret_cast<uint8_t*>(out.data()), nullptr);
    return out;
  }

 private:
  EVP_MD_CTX ctx_;
};

inline std::string Digest(DigestAlgorithm algorithm, std::string_view bytes) {
  DigestSink sink(algorithm);
  sink.Write(bytes);
  return sink.Digest();
}

}  // namespace mxkit::auth::dkim::internal

#endif  // MXKIT_AUTH_DKIM_INTERNAL_DIGEST_SINK_H_
