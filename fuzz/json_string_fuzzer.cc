// Fuzzes base::AppendJsonString, the JSON string writer behind fakemx's
// envelope sidecars, on arbitrary bytes (addresses and HELO names come from
// the client and may hold anything the command parser lets through).
//
// Properties:
//   - the output is one JSON string literal: quoted, no raw byte below 0x20
//     or 0x7F, every backslash starts a known escape, and \u00XX is used only
//     for control characters (never for a byte >= 0x80);
//   - the output is well-formed UTF-8 (RFC 8259 §8.1);
//   - unescaped, it is the input with each ill-formed subpart replaced by one
//     U+FFFD: well-formed sequences come through unchanged and in order, and
//     a U+FFFD stands for 1 to 3 input bytes that start no sequence (checked
//     exactly when the input holds no U+FFFD of its own, else as "the same
//     once every U+FFFD and ill-formed byte is dropped").

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.h"
#include "base/utf8.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string json = "prefix";
  mxkit::base::AppendJsonString(json, input);
  Check(json.compare(0, 6, "prefix") == 0);
  json.erase(0, 6);
  Check(json.size() >= 2 && json.front() == '"' && json.back() == '"');
  Check(mxkit::base::FindInvalidUtf8(json) == json.size());

  std::string decoded;
  for (size_t i = 1; i + 1 < json.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(json[i]);
    Check(c >= 0x20 && c != 0x7F);
    Check(c != '"');  // an unescaped quote would end the string early
    if (c != '\\') {
      decoded += static_cast<char>(c);
      continue;
    }
    Check(i + 1 < json.size() - 1);
    const char e = json[++i];
    switch (e) {
      case '"': decoded += '"'; break;
      case '\\': decoded += '\\'; break;
      case 'n': decoded += '\n'; break;
      case 'r': decoded += '\r'; break;
      case 't': decoded += '\t'; break;
      case 'u': {
        Check(i + 4 < json.size() - 1);
        Check(json[i + 1] == '0' && json[i + 2] == '0');
        const int hi = HexValue(json[i + 3]), lo = HexValue(json[i + 4]);
        Check(hi >= 0 && lo >= 0);
        const unsigned char byte = static_cast<unsigned char>(hi * 16 + lo);
        Check(byte < 0x20 || byte == 0x7F);
        decoded += static_cast<char>(byte);
        i += 4;
        break;
      }
      default:
        Check(false);
    }
  }

  // Walk input and output together. A run of k bytes that start no
  // well-formed sequence is 1 to k maximal subparts of at most 3 bytes each,
  // so it comes out as between ceil(k/3) and k U+FFFD.
  if (input.find(kReplacement) != std::string_view::npos) {
    // A real U+FFFD in the input makes the runs ambiguous; compare what is
    // left once every U+FFFD and every ill-formed byte is taken out.
    std::string kept_in, kept_out;
    for (size_t i = 0; i < input.size();) {
      const size_t n = mxkit::base::Utf8SequenceLength(input, i);
      if (n > 0 && input.compare(i, n, kReplacement) != 0) kept_in.append(input.substr(i, n));
      i += n > 0 ? n : 1;
    }
    for (size_t i = 0; i < decoded.size();) {
      const size_t n = mxkit::base::Utf8SequenceLength(decoded, i);
      Check(n > 0);
      if (decoded.compare(i, n, kReplacement) != 0) kept_out.append(decoded, i, n);
      i += n;
    }
    Check(kept_in == kept_out);
    return 0;
  }
  size_t in = 0, out = 0;
  while (in < input.size()) {
    const size_t n = mxkit::base::Utf8SequenceLength(input, in);
    if (n > 0) {
      Check(decoded.compare(out, n, input.substr(in, n)) == 0);
      in += n;
      out += n;
      continue;
    }
    size_t k = 0;
    for (; in < input.size() && mxkit::base::Utf8SequenceLength(input, in) == 0; ++in) ++k;
    size_t made = 0;
    for (; decoded.compare(out, kReplacement.size(), kReplacement) == 0; out += kReplacement.size()) {
      ++made;
    }
    Check(made >= (k + 2) / 3 && made <= k);
  }
  Check(out == decoded.size());
  return 0;
}
