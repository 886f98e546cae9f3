// Fuzzes CheckRequestTransferEncoding (fakemx/http_types.h, //fakemx:http),
// which both of fakemx's HTTP servers (the API, the MTA-STS policy host) run
// on a request's Transfer-Encoding before they serve it. The whole input is
// the field value.
//
// Properties:
//   - a refusal is 400 or 501 with a reason naming RFC 9112, of bounded
//     length whatever the input (the value is quoted shortened);
//   - accepted values are exactly those whose non-empty list elements,
//     stripped of spaces and tabs, are one "chunked" (any case): checked
//     against a second, naive reading of the list here;
//   - 501 only when the last coding is chunked, once.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ascii.h"
#include "fakemx/http_types.h"
#include "fuzz/property_check.h"

namespace {

// The list's non-empty elements, trimmed: RFC 9110 §5.6.1.
std::vector<std::string> Elements(std::string_view value) {
  std::vector<std::string> out;
  std::string current;
  auto flush = [&] {
    const size_t b = current.find_first_not_of(" \t");
    if (b != std::string::npos) {
      const size_t e = current.find_last_not_of(" \t");
      out.push_back(current.substr(b, e - b + 1));
    }
    current.clear();
  };
  for (char c : value) {
    if (c == ',') {
      flush();
    } else {
      current.push_back(c);
    }
  }
  flush();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const std::optional<mxkit::fakemx::TransferEncodingRefusal> refusal =
      mxkit::fakemx::CheckRequestTransferEncoding(value);
  const std::vector<std::string> elements = Elements(value);
  const auto is_chunked = [](const std::string& e) {
    return mxkit::base::EqualsIgnoreCase(e, "chunked");
  };
  size_t chunked = 0;
  for (const std::string& e : elements) chunked += is_chunked(e) ? 1 : 0;
  const bool acceptable = elements.empty() || (elements.size() == 1 && chunked == 1);
  MXKIT_FUZZ_CHECK(acceptable == !refusal.has_value());
  if (refusal) {
    MXKIT_FUZZ_CHECK(refusal->status == 400 || refusal->status == 501);
    MXKIT_FUZZ_CHECK(refusal->reason.find("RFC 9112") != std::string::npos);
    MXKIT_FUZZ_CHECK(refusal->reason.size() < 300);
    if (refusal->status == 501) {
      MXKIT_FUZZ_CHECK(!elements.empty() && is_chunked(elements.back()) && chunked == 1);
    }
  }
  return 0;
}
