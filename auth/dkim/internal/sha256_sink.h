// A BodySink that hashes what it receives with SHA-256.

#ifndef MXKIT_AUTH_DKIM_INTERNAL_SHA256_SINK_H_
#define MXKIT_AUTH_DKIM_INTERNAL_SHA256_SINK_H_

#include <openssl/sha.h>

#include <string>
#include <string_view>

#include "auth/dkim/canonicalize.h"

namespace mxkit::auth::dkim::internal {

class Sha256Sink final : public BodySink {
 public:
  Sha256Sink() { SHA256_Init(&ctx_); }
  void Write(std::string_view bytes) override { SHA256_Update(&ctx_, bytes.data(), bytes.size()); }
  std::string Digest() {
    std::string out(SHA256_DIGEST_LENGTH, '\0');
    SHA256_Final(reinterpret_cast<uint8_t*>(out.data()), &ctx_);
    return out;
  }

 private:
  SHA256_CTX ctx_;
};

inline std::string Sha256(std::string_view bytes) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
         reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

}  // namespace mxkit::auth::dkim::internal

#endif  // MXKIT_AUTH_DKIM_INTERNAL_SHA256_SINK_H_
