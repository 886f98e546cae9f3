#include "tls/boringssl_error.h"

#include <openssl/err.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"

namespace mxkit::tls {

ErrorQueueScope::ErrorQueueScope() { ERR_clear_error(); }
ErrorQueueScope::~ErrorQueueScope() { ERR_clear_error(); }

std::string ReasonOf(uint32_t packed) {
  const char* reason = ERR_reason_error_string(packed);
  if (reason != nullptr) return reason;
  const char* lib = ERR_lib_error_string(packed);
  return absl::StrCat(lib != nullptr ? lib : "unknown library", " error ", ERR_GET_REASON(packed));
}

std::string TakeQueuedReason() {
  const uint32_t packed = ERR_get_error();
  ERR_clear_error();
  return packed == 0 ? std::string() : ReasonOf(packed);
}

std::string DrainBoringSslErrors() {
  std::string out;
  while (const uint32_t e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

absl::Status BoringSslFailure(std::string_view what) {
  const std::string queue = DrainBoringSslErrors();
  return absl::InternalError(absl::StrCat(base::Av(what), " failed",
                                          queue.empty() ? " (no BoringSSL reason)" : ": ", queue));
}

}  // namespace mxkit::tls
