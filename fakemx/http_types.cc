#include "fakemx/http_types.h"

#include <string>

#include "base/ascii.h"
#include "base/json.h"

namespace mxkit::fakemx {

HttpResponse JsonError(unsigned status, std::string_view reason) {
  HttpResponse r;
  r.status = status;
  r.body = "{\"error\":";
  base::AppendJsonString(r.body, reason);
  r.body += ",\"status\":" + std::to_string(status) + "}\n";
  return r;
}

HttpResponse JsonMethodNotAllowed(std::string_view method, std::string_view allow) {
  // A method quoted in an error: short, so an error never echoes a hostile
  // request back whole.
  constexpr size_t kMaxQuotedOctets = 64;
  HttpResponse r = JsonError(405, "method " + base::QuoteForMessage(method, kMaxQuotedOctets) +
                                      " not allowed here; allowed: " + std::string(allow));
  r.headers.emplace_back("Allow", std::string(allow));
  return r;
}

std::optional<TransferEncodingRefusal> CheckRequestTransferEncoding(std::string_view value) {
  constexpr size_t kMaxQuotedOctets = 32;
  if (value.empty()) return std::nullopt;
  // RFC 9110 §5.6.1: a list of codings separated by commas, with optional
  // whitespace, empty elements ignored; RFC 9112 §7: each a token with
  // optional parameters, compared case-insensitively.
  std::optional<std::string_view> unknown;
  size_t codings = 0;
  size_t chunked = 0;
  bool last_is_chunked = false;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string_view element = value.substr(start, comma - start);
    start = comma + 1;
    const size_t first = element.find_first_not_of(" \t");
    if (first == std::string_view::npos) continue;  // an empty element
    element.remove_prefix(first);
    element.remove_suffix(element.size() - 1 - element.find_last_not_of(" \t"));
    std::string_view name = element.substr(0, element.find_first_of(" \t;"));
    ++codings;
    last_is_chunked = base::EqualsIgnoreCase(name, "chunked") && name.size() == element.size();
    if (last_is_chunked) {
      ++chunked;
    } else if (!unknown) {
      unknown = name;
    }
  }
  if (codings == 0) return std::nullopt;  // only empty elements: no coding
  if (!last_is_chunked || chunked > 1) {
    return TransferEncodingRefusal{
        400, "Transfer-Encoding " + base::QuoteForMessage(value, kMaxQuotedOctets) +
                 (chunked > 1 ? " applies chunked more than once"
                              : " does not end with chunked, so the body's length is unknown") +
                 " (RFC 9112 section 6.3)"};
  }
  if (unknown) {
    return TransferEncodingRefusal{
        501, "transfer coding " + base::QuoteForMessage(*unknown, kMaxQuotedOctets) +
                 " is not implemented; only chunked is (RFC 9112 section 6.1)"};
  }
  return std::nullopt;
}

HttpResponse PlainError(unsigned status, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::string(text) + "\n";
  return r;
}

}  // namespace mxkit::fakemx
