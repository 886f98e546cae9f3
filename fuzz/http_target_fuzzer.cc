// Fuzzes the HTTP API's request-target parser (fakemx/http_target.h,
// //fakemx:http) and PercentDecode, its one home for URL decoding. The whole
// input is the target.
//
// Properties:
//   - an error is InvalidArgument whose message starts "request target: ";
//     a target over kMaxTargetBytes, empty, not starting with '/', or holding
//     a '#' is always an error;
//   - a parsed target has one segment per '/' of its path (none for "/"),
//     at most kMaxQueryParams parameters, and no control character
//     (RFC 5234 CTL) in any decoded segment, name or value;
//   - every segment, name and value is PercentDecode of its raw text (path
//     segments without '+' as space, query parts with it);
//   - written back with every octet outside RFC 3986's unreserved set
//     percent-encoded, a parsed target parses to the same segments and
//     parameters (parse(format(parse(x))) == parse(x)) when the written
//     target fits kMaxTargetBytes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/absl_interop.h"
#include "base/ascii.h"
#include "fakemx/http_target.h"
#include "fuzz/property_check.h"

namespace {

using mxkit::fakemx::HttpTarget;
using mxkit::fakemx::kMaxQueryParams;
using mxkit::fakemx::kMaxTargetBytes;
using mxkit::fakemx::ParseHttpTarget;
using mxkit::fakemx::PercentDecode;

// RFC 3986 §2.3 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"; all
// else is written as %XX, so no octet of a value can act as a delimiter.
void AppendEncoded(std::string_view text, std::string& out) {
  mxkit::base::AppendPercentEncoded(out, text, mxkit::base::kUriUnreservedMarks);
}

std::string Format(const HttpTarget& t) {
  std::string out;
  for (const std::string& segment : t.segments) {
    out.push_back('/');
    AppendEncoded(segment, out);
  }
  if (out.empty()) out = "/";
  if (!t.query.empty()) {
    out.push_back('?');
    for (size_t i = 0; i < t.query.size(); ++i) {
      if (i > 0) out.push_back('&');
      AppendEncoded(t.query[i].first, out);
      out.push_back('=');
      AppendEncoded(t.query[i].second, out);
    }
  }
  return out;
}

bool FreeOfControls(std::string_view text) {
  return std::none_of(text.begin(), text.end(), mxkit::base::IsCtl);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);

  // PercentDecode on its own: never longer than its input.
  for (bool plus : {false, true}) {
    const std::optional<std::string> decoded = PercentDecode(target, plus);
    if (decoded) {
      MXKIT_FUZZ_CHECK(decoded->size() <= target.size());
      MXKIT_FUZZ_CHECK(FreeOfControls(*decoded));
    }
  }

  const absl::StatusOr<HttpTarget> parsed = ParseHttpTarget(target);
  if (!parsed.ok()) {
    MXKIT_FUZZ_CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    MXKIT_FUZZ_CHECK(mxkit::base::StatusText(parsed.status()).starts_with("request target: "));
    return 0;
  }
  MXKIT_FUZZ_CHECK(!target.empty() && target.size() <= kMaxTargetBytes && target[0] == '/');
  MXKIT_FUZZ_CHECK(target.find('#') == std::string_view::npos);

  const HttpTarget& t = *parsed;
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  const size_t slashes = static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
  MXKIT_FUZZ_CHECK(t.segments.size() == (path == "/" ? 0 : slashes));
  MXKIT_FUZZ_CHECK(t.query.size() <= kMaxQueryParams);

  // Each segment decodes from its raw text, without '+' as space.
  size_t start = 1;
  for (const std::string& segment : t.segments) {
    MXKIT_FUZZ_CHECK(FreeOfControls(segment));
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    const std::optional<std::string> decoded =
        PercentDecode(path.substr(start, slash - start), /*plus_is_space=*/false);
    MXKIT_FUZZ_CHECK(decoded && *decoded == segment);
    start = slash + 1;
  }
  // Each non-empty "name[=value]" between '&'s is one parameter, in order.
  if (question != std::string_view::npos) {
    size_t at = question + 1, index = 0;
    while (at <= target.size()) {
      size_t amp = target.find('&', at);
      if (amp == std::string_view::npos) amp = target.size();
      const std::string_view pair = target.substr(at, amp - at);
      if (!pair.empty()) {
        MXKIT_FUZZ_CHECK(index < t.query.size());
        const auto& [name, value] = t.query[index++];
        MXKIT_FUZZ_CHECK(FreeOfControls(name) && FreeOfControls(value));
        const size_t eq = pair.find('=');
        MXKIT_FUZZ_CHECK(PercentDecode(pair.substr(0, eq), true) == name);
        const std::string_view raw_value =
            eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
        MXKIT_FUZZ_CHECK(PercentDecode(raw_value, true) == value);
      }
      at = amp + 1;
    }
    MXKIT_FUZZ_CHECK(index == t.query.size());
  } else {
    MXKIT_FUZZ_CHECK(t.query.empty());
  }

  // Round trip through the fully escaped form.
  const std::string again_text = Format(t);
  if (again_text.size() <= kMaxTargetBytes) {
    const absl::StatusOr<HttpTarget> again = ParseHttpTarget(again_text);
    MXKIT_FUZZ_CHECK(again.ok());
    MXKIT_FUZZ_CHECK(again->segments == t.segments);
    MXKIT_FUZZ_CHECK(again->query == t.query);
  }
  return 0;
}
