#include "policy/tlsrpt.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "base/absl_interop.h"
#include "gtest/gtest.h"

namespace mxkit::policy {
namespace {

std::string ReadTestdata(const std::string& name) {
  std::ifstream in("policy/testdata/" + name, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string ErrorOf(const absl::Status& status) { return base::StatusText(status); }

TEST(ParseTlsRptRecord, FollowsRfc8460Section3Grammar) {
  struct Row {
    const char* txt;
    std::vector<std::string> rua;  // empty: an error expected
    const char* error_part;
  };
  const Row rows[] = {
      // RFC 8460 §3.1 examples.
      {"v=TLSRPTv1;rua=mailto:reports@example.com", {"mailto:reports@example.com"}, nullptr},
      {"v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
       {"https://reporting.example.com/v1/tlsrpt"}, nullptr},
      {"v=TLSRPTv1; rua=mailto:a@example.com , https://r.example/x ;",
       {"mailto:a@example.com", "https://r.example/x"}, nullptr},
      {"v=TLSRPTv1; rua=MAILTO:a@example.com; ext=1", {"MAILTO:a@example.com"}, nullptr},
      {"v=TLSRPTv1;", {}, "no rua"},
      {"v=TLSRPTv1; rua=http://r.example/", {}, "neither mailto: nor https:"},
      {"v=TLSRPTv1; rua=ftp://r.example/", {}, "neither"},
      {"v=TLSRPTv1; rua=", {}, "empty URI"},
      {"v=TLSRPTv1; rua=mailto:", {}, "without an address"},
      {"v=TLSRPTv1; rua=mailto:a@x,", {}, "empty URI"},
      {"v=TLSRPTv1; rua=mailto:a@x; rua=mailto:b@x", {}, "second rua"},
      {"v=TLSRPTv2; rua=mailto:a@x", {}, "does not start"},
      {"v=TLSRPTv10; rua=mailto:a@x", {}, "expected ';'"},
      {"v=tlsrptv1; rua=mailto:a@x", {}, "does not start"},
      {"v=TLSRPTv1 rua=mailto:a@x", {}, "expected ';'"},
      {"v=TLSRPTv1; rua=mailto:a@x x", {}, "expected ';'"},
      {"v=TLSRPTv1; rua=mailto:a\x01@x", {}, "unexpected 0x01"},
  };
  for (const Row& row : rows) {
    auto record = ParseTlsRptRecord(row.txt);
    if (!row.rua.empty()) {
      ASSERT_TRUE(record.ok()) << row.txt << ": " << record.status();
      EXPECT_EQ(record->rua, row.rua) << row.txt;
    } else {
      ASSERT_FALSE(record.ok()) << row.txt;
      EXPECT_NE(ErrorOf(record.status()).find(row.error_part), std::string::npos)
          << row.txt << ": " << record.status();
    }
  }
}

TEST(DiscoverTlsRptRecord, ExactlyOneVersionedRecord) {
  EXPECT_TRUE(DiscoverTlsRptRecord(std::vector<std::string>{"x", "v=TLSRPTv1; rua=mailto:a@b"}).ok());
  EXPECT_EQ(DiscoverTlsRptRecord(std::vector<std::string>{"v=spf1"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(DiscoverTlsRptRecord(std::vector<std::string>{"v=TLSRPTv1; rua=mailto:a@b",
                                                          "v=TLSRPTv1; rua=mailto:c@d"})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseTlsReport, ReadsRfc8460AppendixBExample) {
  const std::string text = ReadTestdata("rfc8460_appendix_b.json");
  ASSERT_FALSE(text.empty());
  auto report = ParseTlsReport(text);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->organization_name, "Company-X");
  EXPECT_EQ(report->start_datetime, "2016-04-01T00:00:00Z");
  EXPECT_EQ(report->end_datetime, "2016-04-01T23:59:59Z");
  EXPECT_EQ(report->contact_info, "sts-reporting@company-x.example");
  EXPECT_EQ(report->report_id, "5065427c-23d3-47ca-b6e0-946ea0e8c4be");
  ASSERT_EQ(report->policies.size(), 1u);
  const TlsRptPolicyResult& p = report->policies[0];
  EXPECT_EQ(p.policy.policy_type, TlsRptPolicyType::kSts);
  EXPECT_EQ(p.policy.policy_string,
            (std::vector<std::string>{"version: STSv1", "mode: testing",
                                      "mx: *.mail.company-y.example", "max_age: 86400"}));
  EXPECT_EQ(p.policy.policy_domain, "company-y.example");
  EXPECT_EQ(p.policy.mx_host, std::vector<std::string>{"*.mail.company-y.example"});
  EXPECT_EQ(p.total_successful_session_count, 5326u);
  EXPECT_EQ(p.total_failure_session_count, 303u);
  ASSERT_EQ(p.failure_details.size(), 3u);
  EXPECT_EQ(p.failure_details[0].known_result_type(), TlsResultType::kCertificateExpired);
  EXPECT_EQ(p.failure_details[0].sending_mta_ip, "2001:db8:abcd:0012::1");
  EXPECT_EQ(p.failure_details[0].failed_session_count, 100u);
  EXPECT_EQ(p.failure_details[1].known_result_type(), TlsResultType::kStarttlsNotSupported);
  EXPECT_EQ(p.failure_details[1].receiving_ip, "203.0.113.56");
  EXPECT_EQ(p.failure_details[2].failure_reason_code, "X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED");
  EXPECT_EQ(p.failure_details[2].failed_session_count, 3u);
}

TlsReport SampleReport() {
  TlsReport report;
  report.organization_name = "mxkit \"probe\"\n";
  report.start_datetime = "2026-11-29T00:00:00Z";
  report.end_datetime = "2026-11-29T23:59:59.5+01:00";
  report.contact_info = "tlsrpt@example.test";
  report.report_id = "r-1";
  TlsRptPolicyResult tlsa;
  tlsa.policy.policy_type = TlsRptPolicyType::kTlsa;
  tlsa.policy.policy_string = {"3 1 1 00ff"};
  tlsa.policy.policy_domain = "example.test";
  tlsa.policy.mx_host = {"mx.example.test"};
  tlsa.total_successful_session_count = 0;
  tlsa.total_failure_session_count = 18446744073709551615ull;
  TlsRptFailureDetails d;
  d.result_type = "tlsa-invalid";
  d.receiving_mx_hostname = "mx.example.test";
  d.receiving_mx_helo = "mx";
  d.failed_session_count = 1;
  d.additional_information = "https://example.test/x";
  tlsa.failure_details.push_back(d);
  TlsRptPolicyResult none;
  none.policy.policy_type = TlsRptPolicyType::kNoPolicyFound;
  none.policy.policy_domain = "other.test";
  none.total_successful_session_count = 3;
  report.policies = {tlsa, none};
  return report;
}

TEST(WriteTlsReport, RoundTripsThroughTheParser) {
  const TlsReport report = SampleReport();
  const std::string json = WriteTlsReport(report);
  auto parsed = ParseTlsReport(json);
  ASSERT_TRUE(parsed.ok()) << parsed.status() << "\n" << json;
  EXPECT_EQ(WriteTlsReport(*parsed), json);
  EXPECT_EQ(parsed->organization_name, report.organization_name);
  EXPECT_EQ(parsed->policies[0].total_failure_session_count, 18446744073709551615ull);
  EXPECT_EQ(parsed->policies[1].policy.policy_string, std::vector<std::string>{});
}

TEST(WriteTlsReport, UsesRfc8460MemberNamesInOrder) {
  const std::string json = WriteTlsReport(SampleReport());
  EXPECT_EQ(json.find("{\"organization-name\":\"mxkit \\\"probe\\\"\\n\",\"date-range\":{"), 0u)
      << json;
  for (const char* name :
       {"\"start-datetime\"", "\"end-datetime\"", "\"contact-info\"", "\"report-id\"",
        "\"policies\"", "\"policy-type\":\"tlsa\"", "\"policy-string\"", "\"policy-domain\"",
        "\"mx-host\"", "\"total-successful-session-count\":0",
        "\"total-failure-session-count\":18446744073709551615", "\"failure-details\"",
        "\"result-type\":\"tlsa-invalid\"", "\"receiving-mx-helo\":\"mx\"",
        "\"failed-session-count\":1", "\"policy-type\":\"no-policy-found\""}) {
    EXPECT_NE(json.find(name), std::string::npos) << name << " in " << json;
  }
  // Absent optional members stay absent.
  EXPECT_EQ(json.find("\"sending-mta-ip\""), std::string::npos);
  EXPECT_EQ(json.find("\"failure-reason-code\""), std::string::npos);
}

TEST(ParseTlsReport, ErrorsNameThePathAndWhatIsWrong) {
  std::string base = ReadTestdata("rfc8460_appendix_b.json");
  ASSERT_FALSE(base.empty());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    const size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  struct Row {
    std::string json;
    const char* error;
  };
  const Row rows[] = {
      {replace("\"total-failure-session-count\": 303", "\"total-failure-session-count\": \"303\""),
       "policies[0].summary.total-failure-session-count: expected a non-negative integer, got a "
       "string"},
      {replace("\"failed-session-count\": 100", "\"failed-session-count\": -1"),
       "policies[0].failure-details[0].failed-session-count: expected a non-negative integer, "
       "got a negative one"},
      {replace("\"failed-session-count\": 3", "\"failed-session-count\": 3.5"),
       "policies[0].failure-details[2].failed-session-count: expected a non-negative integer, "
       "got a number with a fraction or exponent"},
      {replace("\"organization-name\": \"Company-X\",", ""),
       "organization-name: required member missing"},
      {replace("\"policy-type\": \"sts\"", "\"policy-type\": \"dane\""),
       "policies[0].policy.policy-type: \"dane\" is not a policy-type"},
      {replace("\"2016-04-01T00:00:00Z\"", "\"2016-04-01 00:00:00\""),
       "date-range.start-datetime: \"2016-04-01 00:00:00\" is not an RFC 3339 date-time"},
      {replace("\"2016-04-01T23:59:59Z\"", "\"2016-13-01T23:59:59Z\""),
       "date-range.end-datetime"},
      {replace("\"mx-host\": [\"*.mail.company-y.example\"]", "\"mx-host\": \"x\""),
       "policies[0].policy.mx-host: expected an array of strings, got a string"},
      {replace("\"policy-string\": [\"version: STSv1\"", "\"policy-string\": [1"),
       "policies[0].policy.policy-string[0]: expected a string, got an integer"},
      {replace("\"result-type\": \"certificate-expired\",", ""),
       "policies[0].failure-details[0].result-type: required member missing"},
      {"[]", "(report): expected an object, got an array"},
      {"{\"organization-name\": 1}", "organization-name: expected a string, got an integer"},
      {"{", "not JSON (RFC 8259) at offset 1"},
      {"{} x", "not JSON (RFC 8259) at offset 3"},
      {std::string(100, '[') + std::string(100, ']'), "not JSON"},
  };
  for (const Row& row : rows) {
    auto report = ParseTlsReport(row.json);
    ASSERT_FALSE(report.ok()) << row.error;
    EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(ErrorOf(report.status()).find(row.error), std::string::npos)
        << "want: " << row.error << "\ngot:  " << report.status();
  }
}

TEST(ParseTlsReport, KeepsUnknownResultTypesAndIgnoresUnknownMembers) {
  std::string json = WriteTlsReport(SampleReport());
  const std::string from = "\"result-type\":\"tlsa-invalid\"";
  json.replace(json.find(from), from.size(), "\"result-type\":\"future-type\",\"x-new\":[1,2]");
  auto report = ParseTlsReport(json);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->policies[0].failure_details[0].result_type, "future-type");
  EXPECT_EQ(report->policies[0].failure_details[0].known_result_type(), std::nullopt);
}

TEST(TlsRptPolicyType, NamesRoundTrip) {
  for (TlsRptPolicyType t :
       {TlsRptPolicyType::kTlsa, TlsRptPolicyType::kSts, TlsRptPolicyType::kNoPolicyFound}) {
    auto parsed = ParseTlsRptPolicyType(TlsRptPolicyTypeName(t));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_FALSE(ParseTlsRptPolicyType("STS").ok());
}

}  // namespace
}  // namespace mxkit::policy
