#include "fakemx/http_target.h"

#include "absl/status/status.h"
#include "base/ascii.h"

namespace mxkit::fakemx {
namespace {

absl::Status Bad(std::string_view what, size_t offset, std::string_view why) {
  return absl::InvalidArgumentError("request target: " + std::string(what) + " at offset " +
                                    std::to_string(offset) + ": " + std::string(why));
}

// Decodes `text` (which starts at `offset` in the target) into `out`;
// refuses control characters after decoding.
absl::Status Decode(std::string_view text, size_t offset, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      const int hi = i + 2 < text.size() ? base::HexDigitValue(text[i + 1]) : -1;
      const int lo = hi >= 0 ? base::HexDigitValue(text[i + 2]) : -1;
      if (lo < 0) return Bad("'%'", offset + i, "not followed by two hex digits");
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (base::IsCtl(c)) {
      return Bad(base::DescribeOctet(c), offset + i, "a control character");
    }
    out.push_back(c);
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<std::string_view> HttpTarget::Param(std::string_view name) const {
  for (const auto& [n, v] : query) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  if (!Decode(text, 0, plus_is_space, out).ok()) return std::nullopt;
  return out;
}

absl::StatusOr<HttpTarget> ParseHttpTarget(std::string_view target) {
  if (target.empty()) return absl::InvalidArgumentError("request target: empty");
  if (target.size() > kMaxTargetBytes) {
    return absl::InvalidArgumentError("request target: " + std::to_string(target.size()) +
                                      " octets, over the limit of " +
                                      std::to_string(kMaxTargetBytes));
  }
  if (target[0] != '/') return Bad("the first octet", 0, "an origin-form target starts with '/'");
  if (const size_t hash = target.find('#'); hash != std::string_view::npos) {
    return Bad("'#'", hash, "a fragment is never sent in a request (RFC 9110 §7.1)");
  }
  const size_t question = target.find('?');
  const std::string_view path = target.substr(0, question);
  HttpTarget out;
  // Segments after the leading '/'.
  size_t start = 1;
  if (path.size() > 1) {
    while (true) {
      const size_t slash = path.find('/', start);
      const std::string_view raw = path.substr(start, slash == std::string_view::npos
                                                          ? std::string_view::npos
                                                          : slash - start);
      std::string& segment = out.segments.emplace_back();
      if (absl::Status s = Decode(raw, start, /*plus_is_space=*/false, segment); !s.ok()) return s;
      if (slash == std::string_view::npos) break;
      start = slash + 1;
    }
  }
  if (question == std::string_view::npos) return out;
  size_t at = question + 1;
  while (at <= target.size()) {
    size_t amp = target.find('&', at);
    if (amp == std::string_view::npos) amp = target.size();
    const std::string_view pair = target.substr(at, amp - at);
    if (!pair.empty()) {
      if (out.query.size() == kMaxQueryParams) {
        return Bad("the query", question + 1,
                   "more than " + std::to_string(kMaxQueryParams) + " parameters");
      }
      const size_t eq = pair.find('=');
      auto& [name, value] = out.query.emplace_back();
      if (absl::Status s = Decode(pair.substr(0, eq), at, true, name); !s.ok()) return s;
      if (eq != std::string_view::npos) {
        if (absl::Status s = Decode(pair.substr(eq + 1), at + eq + 1, true, value); !s.ok()) {
          return s;
        }
      }
    }
    at = amp + 1;
  }
  return out;
}

}  // namespace mxkit::fakemx
