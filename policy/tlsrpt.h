// SMTP TLS Reporting (RFC 8460): the _smtp._tls TXT record (§3) and the JSON
// aggregate report (§4): a model, a writer and a parser. JSON goes through
// Boost.JSON (//base:boost_json holds its one implementation unit); strings
// are written by base/json.h.

#ifndef MXKIT_POLICY_TLSRPT_H_
#define MXKIT_POLICY_TLSRPT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "policy/tls_report_types.h"

namespace mxkit::policy {

// ---------------------------------------------------------------------------
// §3 The TXT record at _smtp._tls.<domain>.

// RFC 8460 §3 tlsrpt-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
inline constexpr size_t kMaxTlsRptExtensionNameLength = 32;

struct TlsRptRecord {
  // rua URIs in order, each "mailto:..." or "https:..." (RFC 8460 §3:
  // tlsrpt-uri; the scheme compares case-insensitively, RFC 3986 §3.1).
  std::vector<std::string> rua;
  std::vector<std::pair<std::string, std::string>> extensions;
};

// Parses one record (strings concatenated): "v=TLSRPTv1" first, fields
// separated by *WSP ";" *WSP, exactly one rua= with one or more URIs
// separated by *WSP "," *WSP, each mailto: or https: (other schemes are an
// error, RFC 8460 §3 "rua" lists exactly these two), extensions kept.
// InvalidArgument names the field and offset and quotes the input.
absl::StatusOr<TlsRptRecord> ParseTlsRptRecord(std::string_view txt);

// Discovery (RFC 8460 §3): records not starting with "v=TLSRPTv1" are
// discarded; exactly one must remain. NotFound / InvalidArgument as
// DiscoverStsTxtRecord in policy/mta_sts.h.
absl::StatusOr<TlsRptRecord> DiscoverTlsRptRecord(absl::Span<const std::string> txt_records);

// ---------------------------------------------------------------------------
// §4 The JSON report.

// §4.4 policy-type.
enum class TlsRptPolicyType { kTlsa, kSts, kNoPolicyFound };
// "tlsa", "sts", "no-policy-found".
std::string_view TlsRptPolicyTypeName(TlsRptPolicyType type);
absl::StatusOr<TlsRptPolicyType> ParseTlsRptPolicyType(std::string_view name);

struct TlsRptPolicy {
  TlsRptPolicyType policy_type = TlsRptPolicyType::kNoPolicyFound;
  // "policy-string": the policy, one entry per TLSA record or policy line.
  std::vector<std::string> policy_string;
  std::string policy_domain;
  // "mx-host": the MX patterns (STS) or host names the report is about.
  std::vector<std::string> mx_host;
};

struct TlsRptFailureDetails {
  // Text, not TlsResultType: RFC 8460 §6 makes result types an IANA
  // registry that grows, so a parser keeps types it does not know.
  // known_result_type() maps the ones RFC 8460 defines.
  std::string result_type;
  std::string sending_mta_ip;         // "" = absent
  std::string receiving_mx_hostname;  // "" = absent
  std::string receiving_mx_helo;      // "" = absent
  std::string receiving_ip;           // "" = absent
  uint64_t failed_session_count = 0;
  std::string additional_information;  // a URI; "" = absent
  std::string failure_reason_code;     // "" = absent

  std::optional<TlsResultType> known_result_type() const;
};

struct TlsRptPolicyResult {
  TlsRptPolicy policy;
  uint64_t total_successful_session_count = 0;
  uint64_t total_failure_session_count = 0;
  std::vector<TlsRptFailureDetails> failure_details;
};

struct TlsReport {
  std::string organization_name;
  // RFC 3339 date-time strings (§4.4 "date-range"); the parser checks the
  // grammar (RFC 3339 §5.6), the writer writes what it is given.
  std::string start_datetime;
  std::string end_datetime;
  std::string contact_info;
  std::string report_id;
  std::vector<TlsRptPolicyResult> policies;
};

// Our bound on a report handed to the parser (RFC 8460 sets none; reports
// from large senders run to some hundreds of KiB).
inline constexpr size_t kMaxTlsReportSize = 16 * 1024 * 1024;
// Nesting the report needs is 5 levels; refuse deep JSON early.
inline constexpr size_t kMaxTlsReportJsonDepth = 32;

// The report as JSON (RFC 8460 §4.4 member names), compact, members in the
// RFC's order, absent optional members left out. Strings are escaped by
// base::AppendJsonString (invalid UTF-8 becomes U+FFFD).
std::string WriteTlsReport(const TlsReport& report);

// Parses a report. Required members (§4.4): organization-name, date-range
// {start-datetime, end-datetime}, contact-info, report-id, policies[] each
// with policy{policy-type, policy-domain} (policy-string and mx-host
// optional) and summary{total-successful-session-count,
// total-failure-session-count}; failure-details optional, each with
// result-type and failed-session-count. Unknown members are ignored (§4.4
// allows extension). InvalidArgument names the JSON path and what is wrong:
// "policies[0].summary.total-failure-session-count: expected a non-negative
// integer, got a string".
absl::StatusOr<TlsReport> ParseTlsReport(std::string_view json);

}  // namespace mxkit::policy

#endif  // MXKIT_POLICY_TLSRPT_H_
