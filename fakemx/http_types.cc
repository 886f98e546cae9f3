#include "fakemx/http_types.h"

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

HttpResponse PlainError(unsigned status, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = std::string(text) + "\n";
  return r;
}

}  // namespace mxkit::fakemx
