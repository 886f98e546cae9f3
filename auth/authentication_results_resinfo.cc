#include "auth/authentication_results_resinfo.h"

#include "base/base64.h"

namespace mxkit::auth {

// Each 4 characters of base64 come from 3 bytes: only the first
// 3 * ceil(n / 4) bytes of a signature of hundreds are encoded.
std::string HeaderBPrefix(std::string_view signature) {
  constexpr std::size_t n = kHeaderBPrefixLength;
  return base::EncodeBase64(signature.substr(0, (n + 3) / 4 * 3)).substr(0, n);
}

}  // namespace mxkit::auth
