// BoringSSL's thread-local error queue as an absl::Status, for //tls.

#ifndef MXKIT_TLS_INTERNAL_BORINGSSL_ERROR_H_
#define MXKIT_TLS_INTERNAL_BORINGSSL_ERROR_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace mxkit::tls::internal {

// Empties the calling thread's BoringSSL error queue and returns its entries
// as "lib:func:reason" texts joined by "; ", oldest first ("" when empty).
std::string DrainBoringSslErrors();

// Internal: "<what> failed: <queue>" (or "... failed (no BoringSSL reason)").
// The queue is drained so a later failure does not report this one's reason.
absl::Status BoringSslFailure(std::string_view what);

}  // namespace mxkit::tls::internal

#endif  // MXKIT_TLS_INTERNAL_BORINGSSL_ERROR_H_
