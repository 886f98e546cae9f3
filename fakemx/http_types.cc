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

HttpResponse PlainError(unsigned status, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::string(text) + "\n";
  return r;
}

}  // namespace mxkit::fakemx
