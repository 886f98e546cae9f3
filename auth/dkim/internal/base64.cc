#include "auth/dkim/internal/base64.h"

#include <openssl/base64.h>

#include <cstdint>

namespace mxkit::auth::dkim::internal {

namespace {

// 0..63 for the RFC 4648 §4 alphabet, 64 for '=', 255 for anything else.
struct DecodeTable {
  uint8_t value[256];
  constexpr DecodeTable() : value() {
    for (int i = 0; i < 256; ++i) value[i] = 255;
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(alphabet[i])] = static_cast<uint8_t>(i);
    value[static_cast<unsigned char>('=')] = 64;
  }
};
constexpr DecodeTable kDecode;

// Decodes groups of four symbols; with `skip_fws`, SP, HTAB, CR and LF are
// skipped wherever they are.
std::optional<std::string> Decode(std::string_view text, bool skip_fws) {
  std::string out;
  out.resize(text.size() / 4 * 3 + 3);
  std::size_t o = 0;
  uint8_t group[4];
  int filled = 0;
  bool padded = false;  // a group with '=' was seen: nothing may follow
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (filled == 0 && !padded && i + 4 <= n) {
      // Fast path: four alphabet symbols in a row (almost every group).
      uint8_t a = kDecode.value[static_cast<unsigned char>(text[i])];
      uint8_t b = kDecode.value[static_cast<unsigned char>(text[i + 1])];
      uint8_t c = kDecode.value[static_cast<unsigned char>(text[i + 2])];
      uint8_t d = kDecode.value[static_cast<unsigned char>(text[i + 3])];
      if ((a | b | c | d) < 64) {
        uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
        out[o++] = static_cast<char>(v >> 16);
        out[o++] = static_cast<char>(v >> 8);
        out[o++] = static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    const char ch = text[i];
    if (skip_fws && (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')) continue;
    if (padded) return std::nullopt;
    group[filled++] = kDecode.value[static_cast<unsigned char>(ch)];
    if (filled < 4) continue;
    filled = 0;
    uint8_t a = group[0], b = group[1], c = group[2], d = group[3];
    if ((a | b) >= 64) return std::nullopt;
    if (c < 64 && d < 64) {
      uint32_t n = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
      out[o++] = static_cast<char>(n >> 16);
      out[o++] = static_cast<char>(n >> 8);
      out[o++] = static_cast<char>(n);
      continue;
    }
    // Padding: "xy==" or "xyz=", and only in the final group.
    if (d != 64 || c == 255) return std::nullopt;
    padded = true;
    uint32_t n = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (c < 64 ? uint32_t{c} << 6 : 0);
    out[o++] = static_cast<char>(n >> 16);
    if (c < 64) out[o++] = static_cast<char>(n >> 8);
  }
  if (filled != 0) return std::nullopt;
  out.resize(o);
  return out;
}

}  // namespace

// A table decoder rather than BoringSSL's: EVP_DecodeBase64 is constant
// time, which public keys and signatures do not need, and was a third of the
// cost of parsing a DKIM-Signature. Same acceptance: padded, groups of four,
// '=' only as one or two final characters. Unused bits of the last group are
// not checked (RFC 4648 §3.5 leaves that to the decoder; dkimpy, OpenDKIM
// and BoringSSL do not check them either).
std::optional<std::string> DecodeBase64(std::string_view text) { return Decode(text, false); }

std::optional<std::string> DecodeBase64IgnoringFws(std::string_view text) {
  return Decode(text, true);
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
