// Fuzzes the RFC 8601 Authentication-Results parser and formatter. Properties:
// errors stay inside the input; under strict and lenient options alike,
// whatever parses formats, and the formatted text parses back (under the
// same options) to an equal value; the lenient options only widen: a strict
// parse is also a lenient parse with the same value.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "auth/authentication_results.h"

namespace {

using mxkit::auth::AuthResOptions;
using mxkit::auth::AuthResParseResult;
using mxkit::auth::FormatAuthenticationResults;
using mxkit::auth::ParseAuthenticationResults;

void Check(bool property) {
  if (!property) __builtin_trap();
}

AuthResParseResult RoundTrip(std::string_view text, const AuthResOptions& options) {
  AuthResParseResult r = ParseAuthenticationResults(text, options);
  if (!r.ok()) {
    Check(r.offset <= text.size());
    Check(!r.message.empty());
    return r;
  }
  absl::StatusOr<std::string> formatted = FormatAuthenticationResults(r.value);
  Check(formatted.ok());
  AuthResParseResult again = ParseAuthenticationResults(*formatted, options);
  Check(again.ok());
  Check(again.value == r.value);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  AuthResParseResult strict = RoundTrip(text, AuthResOptions{});
  AuthResParseResult lenient = RoundTrip(text, AuthResOptions::Lenient());
  if (strict.ok()) {
    Check(lenient.ok());
    Check(lenient.value == strict.value);
  }
  return 0;
}
