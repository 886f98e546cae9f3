// Fuzzes the TLS-RPT parsers (RFC 8460 §3 TXT record, §4 JSON report) and
// checks properties: a parsed report written by WriteTlsReport parses back
// and writes the same bytes again (write-parse round trip); errors are
// InvalidArgument with a message; a parsed TXT record has at least one rua,
// each mailto: or https:.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "fuzz/property_check.h"
#include "policy/tlsrpt.h"

using namespace mxkit;
using namespace mxkit::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  auto report = ParseTlsReport(text);
  if (!report.ok()) {
    MXKIT_FUZZ_CHECK(report.status().code() == absl::StatusCode::kInvalidArgument);
    MXKIT_FUZZ_CHECK(!report.status().message().empty());
  } else {
    const std::string written = WriteTlsReport(*report);
    auto again = ParseTlsReport(written);
    MXKIT_FUZZ_CHECK(again.ok());
    MXKIT_FUZZ_CHECK(WriteTlsReport(*again) == written);
    MXKIT_FUZZ_CHECK(again->policies.size() == report->policies.size());
    for (size_t i = 0; i < report->policies.size(); ++i) {
      const auto& a = report->policies[i];
      const auto& b = again->policies[i];
      MXKIT_FUZZ_CHECK(a.total_failure_session_count == b.total_failure_session_count);
      MXKIT_FUZZ_CHECK(a.failure_details.size() == b.failure_details.size());
    }
  }

  auto record = ParseTlsRptRecord(text);
  if (record.ok()) {
    MXKIT_FUZZ_CHECK(!record->rua.empty());
    for (const std::string& uri : record->rua) {
      MXKIT_FUZZ_CHECK(base::StartsWithIgnoreCase(uri, "mailto:") ||
                       base::StartsWithIgnoreCase(uri, "https:"));
    }
  }
  return 0;
}
