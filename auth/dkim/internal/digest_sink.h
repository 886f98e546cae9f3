// The hash functions DKIM signatures name: SHA-256 (RFC 6376 §3.3) and SHA-1,
// which RFC 8301 §3.1 forbids and the verifier evaluates only on request, for
// archived mail signed before 2018.

#ifndef MXKIT_AUTH_DKIM_INTERNAL_DIGEST_SINK_H_
#define MXKIT_AUTH_DKIM_INTERNAL_DIGEST_SINK_H_

#include <openssl/sha.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dkim/canonicalize.h"

namespace mxkit::auth::dkim::internal {

enum class DigestAlgorithm { kSha1, kSha256 };

// A BodySink that hashes what it receives.
//
// The hash state lives in the sink, not behind an EVP_MD_CTX: EVP_DigestInit_ex
// allocates its context on the heap and EVP_MD_CTX_cleanup frees it, a
// malloc/free pair per digest, two per verification (body and header hash).
class DigestSink : public BodySink {
 public:
  explicit DigestSink(DigestAlgorithm algorithm) : algorithm_(algorithm) {
    if (algorithm_ == DigestAlgorithm::kSha1) {
      SHA1_Init(&state_.sha1);
    } else {
      SHA256_Init(&state_.sha256);
    }
  }
  DigestSink(const DigestSink&) = delete;
  DigestSink& operator=(const DigestSink&) = delete;

  void Write(std::string_view bytes) override {
    if (algorithm_ == DigestAlgorithm::kSha1) {
      SHA1_Update(&state_.sha1, bytes.data(), bytes.size());
    } else {
      SHA256_Update(&state_.sha256, bytes.data(), bytes.size());
    }
  }
  // The digest of everything written into `out` (SHA256_DIGEST_LENGTH bytes of
  // room); returns its length. Call once, and not with Digest().
  std::size_t DigestTo(uint8_t* out) {
    if (algorithm_ == DigestAlgorithm::kSha1) {
      SHA1_Final(out, &state_.sha1);
      return SHA_DIGEST_LENGTH;
    }
    SHA256_Final(out, &state_.sha256);
    return SHA256_DIGEST_LENGTH;
  }
  // The digest of everything written; call once.
  std::string Digest() {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    std::size_t size = DigestTo(digest);
    return std::string(reinterpret_cast<const char*>(digest), size);
  }

 private:
  DigestAlgorithm algorithm_;
  union State {
    SHA_CTX sha1;
    SHA256_CTX sha256;
  } state_;
};

inline std::string Digest(DigestAlgorithm algorithm, std::string_view bytes) {
  DigestSink sink(algorithm);
  sink.Write(bytes);
  return sink.Digest();
}

}  // namespace mxkit::auth::dkim::internal

#endif  // MXKIT_AUTH_DKIM_INTERNAL_DIGEST_SINK_H_
