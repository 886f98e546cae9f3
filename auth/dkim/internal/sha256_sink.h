// A BodySink that hashes what it receives with SHA-256 (a DigestSink fixed to
// the one hash that signing uses).

#ifndef MXKIT_AUTH_DKIM_INTERNAL_SHA256_SINK_H_
#define MXKIT_AUTH_DKIM_INTERNAL_SHA256_SINK_H_

#include <string>
#include <string_view>

#include "auth/dkim/internal/digest_sink.h"

namespace mxkit::auth::dkim::internal {

class Sha256Sink final : public DigestSink {
 public:
  Sha256Sink() : DigestSink(DigestAlgorithm::kSha256) {}
};

inline std::string Sha256(std::string_view bytes) {
  return Digest(DigestAlgorithm::kSha256, bytes);
}

}  // namespace mxkit::auth::dkim::internal

#endif  // MXKIT_AUTH_DKIM_INTERNAL_SHA256_SINK_H_
