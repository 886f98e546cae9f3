// The request-target of fakemx's HTTP API, parsed: path segments and query
// parameters, percent-decoded. One home for URL decoding in fakemx; bounded
// and allocation-light like every parser here, errors as values.

#ifndef MXKIT_FAKEMX_HTTP_TARGET_H_
#define MXKIT_FAKEMX_HTTP_TARGET_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace mxkit::fakemx {

// Longer targets are refused (414 by the server); Beast's parser bounds the
// header anyway, this bounds what a handler is handed.
inline constexpr size_t kMaxTargetBytes = 8192;
inline constexpr size_t kMaxQueryParams = 64;

struct HttpTarget {
  // The path split at '/', each segment percent-decoded: "/api/v1/message/7"
  // is {"api", "v1", "message", "7"}; "/" is {}. A trailing slash yields a
  // final empty segment ("/healthz/" is {"healthz", ""}), so routes can
  // refuse it rather than guess.
  std::vector<std::string> segments;
  // The query's parameters in order, names and values percent-decoded, '+'
  // as a space (the application/x-www-form-urlencoded convention Mailpit's
  // clients use, WHATWG URL §5.1). "a" alone has the value "".
  std::vector<std::pair<std::string, std::string>> query;

  // The first value of `name`, or nullopt.
  std::optional<std::string_view> Param(std::string_view name) const;
};

// Parses an origin-form target (RFC 9112 §3.2.1: absolute-path [ "?" query ]).
// InvalidArgument, saying what and where, for: an empty target or one not
// starting with '/', over kMaxTargetBytes, a '%' not followed by two hex
// digits, a decoded NUL or control character (a path or parameter is never
// meant to carry one), a '#' (fragments are not sent, RFC 9110 §7.1), or
// over kMaxQueryParams parameters.
absl::StatusOr<HttpTarget> ParseHttpTarget(std::string_view target);

// Percent-decodes `text` ('+' as space when `plus_is_space`); nullopt on a
// malformed escape. The decoding ParseHttpTarget uses, for request bodies in
// the same form.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_HTTP_TARGET_H_
