// Fuzzes AppendJsonString, the escaper behind fakemx's envelope sidecars
// (fakemx/delivery.h), on arbitrary bytes (addresses and HELO names come
// from the client and may hold anything the command parser lets through).
//
// Properties:
//   - the output is one JSON string literal: quoted, no raw byte below 0x20
//     or 0x7F, every backslash starts a known escape;
//   - decoding it (mapping the \u00XX escapes back to byte values, as the
//     header documents) gives back exactly the input;
//   - a \u00XX escape of a byte >= 0x80 appears only where the input was not
//     valid UTF-8, i.e. valid UTF-8 is always passed through raw.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fakemx/delivery.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string json;
  mxkit::fakemx::AppendJsonString(json, input);
  Check(json.size() >= 2 && json.front() == '"' && json.back() == '"');

  std::string decoded;
  std::string escaped_high;  // bytes >= 0x80 that came out as \u00XX
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
        // Only what JSON forbids raw or what is not UTF-8 is escaped.
        Check(byte < 0x20 || byte == 0x7F || byte >= 0x80);
        if (byte >= 0x80) escaped_high += static_cast<char>(byte);
        decoded += static_cast<char>(byte);
        i += 4;
        break;
      }
      default:
        Check(false);
    }
  }
  Check(decoded == input);

  // Escaping a byte >= 0x80 means it was not part of valid UTF-8: re-escaping
  // that byte alone must escape it again (a lone byte >= 0x80 is never UTF-8).
  for (char b : escaped_high) {
    std::string one;
    mxkit::fakemx::AppendJsonString(one, std::string_view(&b, 1));
    Check(one.size() == 8);  // "\u00XX" with quotes
  }
  // Valid UTF-8 round trip: a well-formed 2-byte sequence built from the
  // input's first byte passes through raw.
  if (size > 0) {
    const unsigned char lead = 0xC2 + (data[0] % 30), cont = 0x80 + (data[0] % 64);
    const char seq[2] = {static_cast<char>(lead), static_cast<char>(cont)};
    std::string raw;
    mxkit::fakemx::AppendJsonString(raw, std::string_view(seq, 2));
    Check(raw == std::string("\"") + seq[0] + seq[1] + "\"");
  }
  return 0;
}
