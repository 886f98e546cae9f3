#include "policy/tls_report_types.h"

#include <array>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"

namespace mxkit::policy {
namespace {

// Longest result-type name is 24 octets; quote a little more of bad input.
constexpr size_t kQuotedInput = 64;

constexpr std::array<std::pair<TlsResultType, std::string_view>, 11> kNames = {{
    {TlsResultType::kStarttlsNotSupported, "starttls-not-supported"},
    {TlsResultType::kCertificateHostMismatch, "certificate-host-mismatch"},
    {TlsResultType::kCertificateExpired, "certificate-expired"},
    {TlsResultType::kCertificateNotTrusted, "certificate-not-trusted"},
    {TlsResultType::kValidationFailure, "validation-failure"},
    {TlsResultType::kTlsaInvalid, "tlsa-invalid"},
    {TlsResultType::kDnssecInvalid, "dnssec-invalid"},
    {TlsResultType::kDaneRequired, "dane-required"},
    {TlsResultType::kStsPolicyFetchError, "sts-policy-fetch-error"},
    {TlsResultType::kStsPolicyInvalid, "sts-policy-invalid"},
    {TlsResultType::kStsWebpkiInvalid, "sts-webpki-invalid"},
}};

constexpr std::array<TlsResultType, kNames.size()> kAll = [] {
  std::array<TlsResultType, kNames.size()> all{};
  for (size_t i = 0; i < kNames.size(); ++i) all[i] = kNames[i].first;
  return all;
}();

}  // namespace

absl::Span<const TlsResultType> AllTlsResultTypes() { return kAll; }

std::string_view TlsResultTypeName(TlsResultType type) {
  for (const auto& [known, name] : kNames) {
    if (known == type) return name;
  }
  return "unknown-result-type";
}

absl::StatusOr<TlsResultType> ParseTlsResultType(std::string_view name) {
  for (const auto& [type, known] : kNames) {
    if (known == name) return type;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown TLS-RPT result type ", base::QuoteForMessage(name, kQuotedInput),
                   " (RFC 8460 §4.3 defines: ", TlsResultTypeNameList(), ")"));
}

std::string TlsResultTypeNameList() {
  std::string out;
  for (const auto& [type, name] : kNames) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

}  // namespace mxkit::policy
