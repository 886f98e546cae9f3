// A request and a response of fakemx's HTTP API as plain data, so the
// handlers (fakemx/api.h, fakemx/mailpit_api.h) are sans-IO: the server
// (fakemx/api_server.h) turns Beast messages into these and back, and the
// fuzzers and unit tests call the handlers without a socket.

#ifndef MXKIT_FAKEMX_HTTP_TYPES_H_
#define MXKIT_FAKEMX_HTTP_TYPES_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxkit::fakemx {

struct HttpRequest {
  std::string method;        // "GET", as sent (methods are case-sensitive, RFC 9110 §9.1)
  std::string target;        // origin-form, "/api/v1/messages?limit=10" (RFC 9112 §3.2.1)
  std::string content_type;  // the Content-Type field value, "" when absent
  std::string body;
  std::string if_none_match;  // the If-None-Match field value, "" when absent (RFC 9110 §13.1.2)
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";  // "" sends none (a 304)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond Content-Type/Length
};

// {"error":"<reason>","status":<status>} with `status`: fakemx's own
// endpoints' error form (docs/api.md).
HttpResponse JsonError(unsigned status, std::string_view reason);
// `text` + "\n" as text/plain: Mailpit's error form, for its endpoints.
HttpResponse PlainError(unsigned status, std::string_view text);
// 405 as a JsonError naming the refused method, with the `Allow` field
// RFC 9110 §15.5.6 requires: fakemx's own endpoints and the web UI.
HttpResponse JsonMethodNotAllowed(std::string_view method, std::string_view allow);

// Why a request with this Transfer-Encoding cannot be served, for a server
// that knows the chunked coding only (Beast's parser): `value` is the
// request's Transfer-Encoding field values joined with ","; empty when it
// has none. nullopt when it is absent or "chunked" alone.
//   - chunked not the final coding, or applied twice: 400, as RFC 9112
//     §6.3 (item 4) demands ("MUST respond with the 400 ... and then close
//     the connection"), since the body's length cannot be known. Beast
//     takes such a request as one without a body and would run what follows
//     as the next request: the desync request smuggling is made of.
//   - a coding before chunked that it does not know (gzip, ...): 501, as
//     RFC 9112 §6.1 advises.
// The connection is to be closed after either. Bounded: the value is read
// once; the reason quotes at most one coding, shortened.
struct TransferEncodingRefusal {
  unsigned status = 400;
  std::string reason;
};
std::optional<TransferEncodingRefusal> CheckRequestTransferEncoding(std::string_view value);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_HTTP_TYPES_H_
