// Fuzzes SPF macro-string parsing and expansion (RFC 7208 §7) and checks
// properties: a domain-spec is also a valid explain-string; expansion for a
// DNS name is at most 253 characters unless no label is left to drop (§7.3);
// URL escaping emits only unreserved characters and %XX.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/spf/macro.h"

namespace {

using namespace mxkit::auth::spf;

void Check(bool property) {
  if (!property) __builtin_trap();
}

bool Unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  MacroValues values;
  values.sender = "strong-bad@email.example.com";
  values.local_part = "strong-bad";
  values.sender_domain = "email.example.com";
  values.domain = "a-very-long-label-to-make-truncation-happen-more-often-0123456.email.example.com";
  values.ip = "2.0.0.1.0.D.B.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.C.B.0.1";
  values.client_ip = "2001:db8::cb01";
  values.ip_version = "ip6";
  values.helo = "mx.example.org";
  values.receiver = "receiver.example";
  values.timestamp = "1700000000";
  values.validated_domain = [] { return std::string("mx.example.org"); };

  ParseResult<MacroString> domain = ParseMacroString(text, MacroContext::kDomainSpec);
  ParseResult<MacroString> explain = ParseMacroString(text, MacroContext::kExplainString);
  if (domain.ok()) Check(explain.ok());
  if (!domain.ok()) Check(domain.error().offset < text.size() || text.empty());
  if (!explain.ok()) Check(explain.error().offset < text.size());
  if (domain.ok()) {
    std::string name = ExpandMacroString(*domain, values, /*for_domain=*/true);
    Check(name.size() <= kMaxDomainLength || name.find('.') == std::string::npos);
  }
  if (explain.ok()) {
    std::string out = ExpandMacroString(*explain, values, /*for_domain=*/false);
    std::string escaped = UrlEscape(out);
    for (size_t i = 0; i < escaped.size(); ++i) {
      if (escaped[i] == '%') {
        Check(i + 2 < escaped.size());
        for (size_t k = i + 1; k <= i + 2; ++k) {
          char h = escaped[k];
          Check((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'));
        }
        i += 2;
      } else {
        Check(Unreserved(escaped[i]));
      }
    }
  }
  ParseResult<MacroString> spec = ParseDomainSpec(text);
  if (spec.ok()) Check(domain.ok() && !text.empty());
  return 0;
}
