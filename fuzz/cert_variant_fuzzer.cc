// Fuzzes the names a user gives the certificate factory (tls/cert_factory.h):
// ParseCertVariant (fakemx --cert=VARIANT) and ValidateCertHostname (the
// names the leaves are issued for). Both see the whole input.
//
// Properties:
//  - ParseCertVariant succeeds exactly for the 13 names, and then the
//    variant's name is the input (the parser round-trips);
//  - a hostname that passes is one a certificate can carry as a dNSName:
//    lower-case LDH labels of 1 to 63 octets without edge hyphens, at least
//    two, at most 253 octets, the last label not all digits;
//  - every error is InvalidArgument with a message that is well-formed UTF-8,
//    free of control bytes and at most kMaxMessageOctets long, whatever
//    the input (it is quoted escaped and cut).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "base/utf8.h"
#include "fuzz/property_check.h"
#include "tls/cert_factory.h"

namespace {

using mxkit::base::IsCtl;
using mxkit::base::StatusText;
using mxkit::tls::AllCertVariants;
using mxkit::tls::CertVariantName;
using mxkit::tls::ParseCertVariant;
using mxkit::tls::ValidateCertHostname;

// Inputs are quoted at most 64 octets each, escaped to at most 4 octets per
// octet; the longest message quotes three such excerpts.
constexpr size_t kMaxMessageOctets = 2048;

void CheckError(const absl::Status& status) {
  MXKIT_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  const std::string message = StatusText(status);
  MXKIT_FUZZ_CHECK(!message.empty() && message.size() <= kMaxMessageOctets);
  MXKIT_FUZZ_CHECK(mxkit::base::FindInvalidUtf8(message) == message.size());
  for (const char c : message) MXKIT_FUZZ_CHECK(!IsCtl(c));
}

bool IsLdhName(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t labels = 0;
  size_t start = 0;
  std::string_view last;
  while (true) {
    size_t dot = name.find('.', start);
    const bool end = dot == std::string_view::npos;
    if (end) dot = name.size();
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (const char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    ++labels;
    last = label;
    if (end) break;
    start = dot + 1;
  }
  bool all_digits = true;
  for (const char c : last) all_digits = all_digits && c >= '0' && c <= '9';
  return labels >= 2 && !all_digits;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const absl::StatusOr<mxkit::tls::CertVariant> variant = ParseCertVariant(input);
  bool is_a_name = false;
  for (const auto v : AllCertVariants()) is_a_name = is_a_name || CertVariantName(v) == input;
  MXKIT_FUZZ_CHECK(variant.ok() == is_a_name);
  if (variant.ok()) {
    MXKIT_FUZZ_CHECK(CertVariantName(*variant) == input);
  } else {
    CheckError(variant.status());
  }

  const absl::Status hostname = ValidateCertHostname(input);
  MXKIT_FUZZ_CHECK(hostname.ok() == IsLdhName(input));
  if (!hostname.ok()) CheckError(hostname);
  return 0;
}
