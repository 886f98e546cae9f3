// Fuzzes the SPF record parser (RFC 7208 §4.5, §12) and checks properties:
// errors stay inside the input; a parsed record's terms are exact slices of it;
// re-joining the terms with single spaces parses to the same shape.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/spf/record.h"

namespace {

using mxkit::auth::spf::ParseRecord;
using mxkit::auth::spf::ParseResult;
using mxkit::auth::spf::Record;

void Check(bool property) {
  if (!property) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseResult<Record> parsed = ParseRecord(text);
  if (!parsed.ok()) {
    Check(parsed.error().offset <= text.size());
    Check(!parsed.error().message.empty());
    return 0;
  }
  Check(mxkit::auth::spf::IsSpfRecord(text));
  const Record& record = *parsed;
  for (const auto& m : record.mechanisms) {
    Check(m.offset + m.text.size() <= text.size());
    Check(text.substr(m.offset, m.text.size()) == m.text);
    Check(m.ip4_cidr >= 0 && m.ip4_cidr <= 32 && m.ip6_cidr >= 0 && m.ip6_cidr <= 128);
  }
  // Normalising the spacing (§4.6.1: 1*SP between terms) changes nothing.
  std::string normal = std::string(text.substr(0, 6));
  size_t i = 6;
  while (i < text.size()) {
    while (i < text.size() && text[i] == ' ') ++i;
    size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    if (i > start) normal += " " + std::string(text.substr(start, i - start));
  }
  ParseResult<Record> again = ParseRecord(normal);
  Check(again.ok());
  Check(again->mechanisms.size() == record.mechanisms.size());
  for (size_t k = 0; k < record.mechanisms.size(); ++k) {
    Check(again->mechanisms[k].kind == record.mechanisms[k].kind);
    Check(again->mechanisms[k].qualifier == record.mechanisms[k].qualifier);
    Check(again->mechanisms[k].text == record.mechanisms[k].text);
    Check(again->mechanisms[k].network == record.mechanisms[k].network);
  }
  Check(again->redirect.has_value() == record.redirect.has_value());
  Check(again->exp.has_value() == record.exp.has_value());
  Check(again->unknown_modifiers.size() == record.unknown_modifiers.size());
  return 0;
}
