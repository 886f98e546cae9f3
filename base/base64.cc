#include "base/base64.h"

#include <cstdint>

namespace mxkit::base {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr uint8_t kPad = 64;
constexpr uint8_t kFws = 65;
constexpr uint8_t kInvalid = 255;

// 0..63 for the alphabet, kPad for '=', kFws for SP/HTAB/CR/LF, kInvalid else.
struct DecodeTable {
  uint8_t value[256];
  constexpr DecodeTable() : value() {
    for (int i = 0; i < 256; ++i) value[i] = kInvalid;
    for (int i = 0; i < 64; ++i) value[static_cast<unsigned char>(kAlphabet[i])] = static_cast<uint8_t>(i);
    value[static_cast<unsigned char>('=')] = kPad;
    for (char c : {' ', '\t', '\r', '\n'}) value[static_cast<unsigned char>(c)] = kFws;
  }
};
constexpr DecodeTable kDecode;

Base64Result Fail(Base64Error error, std::size_t offset) {
  Base64Result r;
  r.error = error;
  r.offset = offset;
  return r;
}

}  // namespace

// A table decoder rather than BoringSSL's EVP_DecodeBase64: that one is
// constant time, which public keys and signatures do not need, and was a
// third of the cost of parsing a DKIM-Signature.
Base64Result DecodeBase64(std::string_view text, const Base64DecodeOptions& options) {
  Base64Result r;
  std::string& out = r.bytes;
  out.resize(text.size() / 4 * 3 + 3);
  std::size_t o = 0;
  uint8_t group[4];
  std::size_t where[4];  // input offset of each symbol of the group
  int filled = 0;
  // Set once a group ended in "=": nothing but FWS may follow it; this is
  // the offset of that group's first "=".
  std::size_t padding_at = std::string_view::npos;
  const std::size_t n = text.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (filled == 0 && padding_at == std::string_view::npos && i + 4 <= n) {
      // Fast path: four alphabet symbols in a row (almost every group).
      const uint8_t a = kDecode.value[static_cast<unsigned char>(text[i])];
      const uint8_t b = kDecode.value[static_cast<unsigned char>(text[i + 1])];
      const uint8_t c = kDecode.value[static_cast<unsigned char>(text[i + 2])];
      const uint8_t d = kDecode.value[static_cast<unsigned char>(text[i + 3])];
      if ((a | b | c | d) < 64) {
        const uint32_t v = (uint32_t{a} << 18) | (uint32_t{b} << 12) | (uint32_t{c} << 6) | d;
        out[o++] = static_cast<char>(v >> 16);
        out[o++] = static_cast<char>(v >> 8);
        out[o++] = static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    const uint8_t v = kDecode.value[static_cast<unsigned char>(text[i])];
    if (v == kFws && options.skip_folding_whitespace) continue;
    if (v == kFws || v == kInvalid) return Fail(Base64Error::kInvalidCharacter, i);
    if (padding_at != std::string_view::npos) return Fail(Base64Error::kMisplacedPadding, padding_at);
    group[filled] = v;
    where[filled] = i;
    if (++filled < 4) continue;
    filled = 0;
    const uint8_t a = group[0], b = group[1], c = group[2], d = group[3];
    if (a == kPad) return Fail(Base64Error::kMisplacedPadding, where[0]);
    if (b == kPad) return Fail(Base64Error::kMisplacedPadding, where[1]);
    if (c == kPad && d != kPad) return Fail(Base64Error::kMisplacedPadding, where[2]);
    const uint32_t bits = (uint32_t{a} << 18) | (uint32_t{b} << 12) |
                          (c < 64 ? uint32_t{c} << 6 : 0) | (d < 64 ? d : 0);
    out[o++] = static_cast<char>(bits >> 16);
    if (d < 64) {
      out[o++] = static_cast<char>(bits >> 8);
      out[o++] = static_cast<char>(bits);
      continue;
    }
    // "xy==" carries 8 bits (4 pad bits in y), "xyz=" 16 (2 in z).
    padding_at = c == kPad ? where[2] : where[3];
    if (c == kPad) {
      if (!options.allow_nonzero_pad_bits && (b & 0x0F) != 0) {
        return Fail(Base64Error::kNonZeroPadBits, where[1]);
      }
    } else {
      if (!options.allow_nonzero_pad_bits && (c & 0x03) != 0) {
        return Fail(Base64Error::kNonZeroPadBits, where[2]);
      }
      out[o++] = static_cast<char>(bits >> 8);
    }
  }
  if (filled != 0) return Fail(Base64Error::kIncompleteGroup, n);
  out.resize(o);
  return r;
}

void AppendBase64(std::string_view bytes, std::string& out) {
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t t = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    const char quad[4] = {kAlphabet[t >> 18], kAlphabet[(t >> 12) & 63], kAlphabet[(t >> 6) & 63],
                          kAlphabet[t & 63]};
    out.append(quad, 4);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 0) return;
  uint32_t t = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
  if (rest == 2) t |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
  out.push_back(kAlphabet[t >> 18]);
  out.push_back(kAlphabet[(t >> 12) & 63]);
  out.push_back(rest == 2 ? kAlphabet[(t >> 6) & 63] : '=');
  out.push_back('=');
}

std::string EncodeBase64(std::string_view bytes) {
  std::string out;
  AppendBase64(bytes, out);
  return out;
}

std::string_view Base64ErrorName(Base64Error error) {
  switch (error) {
    case Base64Error::kNone: return "None";
    case Base64Error::kInvalidCharacter: return "InvalidCharacter";
    case Base64Error::kMisplacedPadding: return "MisplacedPadding";
    case Base64Error::kIncompleteGroup: return "IncompleteGroup";
    case Base64Error::kNonZeroPadBits: return "NonZeroPadBits";
  }
  return "Unknown";
}

}  // namespace mxkit::base
