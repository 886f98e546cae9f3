// BoringSSL's thread-local error queue as text and as an absl::Status: the one
// home for it, used by //tls and by //auth/dkim's signer.

#ifndef MXKIT_TLS_BORINGSSL_ERROR_H_
#define MXKIT_TLS_BORINGSSL_ERROR_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mxkit::tls {

// BoringSSL's error queue is per thread and outlives a call: clear it on the
// way in and out of every operation on a connection, so one connection's
// failure is never read back as another's.
class ErrorQueueScope {
 public:
  ErrorQueueScope();
  ~ErrorQueueScope();
  ErrorQueueScope(const ErrorQueueScope&) = delete;
  ErrorQueueScope& operator=(const ErrorQueueScope&) = delete;
};

// The reason of one packed error as BoringSSL names it
// ("WRONG_VERSION_NUMBER", "CERTIFICATE_VERIFY_FAILED"), or "<lib> error N"
// for a reason without a name.
std::string ReasonOf(uint32_t packed);

// Pops the first queued error (the cause; later entries are the callers that
// passed it on), clears the rest, and returns its ReasonOf ("" when empty).
std::string TakeQueuedReason();

// Empties the calling thread's BoringSSL error queue and returns its entries
// as "lib:func:reason" texts joined by "; ", oldest first ("" when empty).
std::string DrainBoringSslErrors();

// "<what> failed: <queue>" (or "... failed (no BoringSSL reason)").
// The queue is drained so a later failure does not report this one's reason.
absl::Status BoringSslFailure(std::string_view what);

}  // namespace mxkit::tls

#endif  // MXKIT_TLS_BORINGSSL_ERROR_H_
