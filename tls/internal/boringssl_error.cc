#include "tls/internal/boringssl_error.h"

#include <openssl/err.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"

namespace mxkit::tls::internal {

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

}  // namespace mxkit::tls::internal
