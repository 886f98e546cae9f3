#include "base/json.h"

#include "base/ascii.h"
#include "base/utf8.h"

namespace mxkit::base {
namespace {

void AppendEscapedUtf8(std::string& out, std::string_view text) {
  for (char ch : text) {
    const unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += LowerHexDigit(c >> 4);
          out += LowerHexDigit(c);
        } else {
          out += ch;
        }
    }
  }
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view bytes) {
  out += '"';
  if (FindInvalidUtf8(bytes) == bytes.size()) {
    AppendEscapedUtf8(out, bytes);
  } else {
    std::string valid;
    AppendUtf8Replacing(valid, bytes);
    AppendEscapedUtf8(out, valid);
  }
  out += '"';
}

}  // namespace mxkit::base
