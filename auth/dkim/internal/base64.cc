#include "auth/dkim/internal/base64.h"

#include <openssl/base64.h>

#include <cstdint>

namespace mxkit::auth::dkim::internal {

std::optional<std::string> DecodeBase64(std::string_view text) {
  std::size_t max_len = 0;
  if (!EVP_DecodedLength(&max_len, text.size())) return std::nullopt;
  std::string out(max_len, '\0');
  std::size_t out_len = 0;
  if (!EVP_DecodeBase64(reinterpret_cast<uint8_t*>(out.data()), &out_len, max_len,
                        reinterpret_cast<const uint8_t*>(text.data()), text.size())) {
    return std::nullopt;
  }
  out.resize(out_len);
  return out;
}

std::string EncodeBase64(std::string_view bytes) {
  std::size_t len = 0;
  if (!EVP_EncodedLength(&len, bytes.size())) return {};
  std::string out(len, '\0');
  std::size_t written = EVP_EncodeBlock(reinterpret_cast<uint8_t*>(out.data()),
                                        reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  out.resize(written);  // EVP_EncodedLength counts the trailing NUL
  return out;
}

}  // namespace mxkit::auth::dkim::internal
