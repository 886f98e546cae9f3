#include "policy/tlsrpt.h"

#include <algorithm>
#include <array>
#include <exception>

#include <boost/json.hpp>

#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "base/json.h"
#include "base/status_macros.h"

namespace mxkit::policy {
namespace {

using base::Av;
namespace json = boost::json;

constexpr size_t kQuoted = 80;
constexpr std::string_view kTlsRptVersion = "v=TLSRPTv1";  // RFC 8460 §3

constexpr bool IsWsp(char c) { return c == ' ' || c == '\t'; }

bool IsExtName(std::string_view name) {
  if (name.empty() || name.size() > kMaxTlsRptExtensionNameLength || !base::IsAlnum(name[0])) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return base::IsAlnum(c) || c == '_' || c == '-' || c == '.';
  });
}

// RFC 8460 §3 tlsrpt-ext-value = 1*(%x21-3A / %x3C / %x3E-7E).
constexpr bool IsExtValueChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != ';' && c != '=';
}

// A URI octet inside the rua list: VCHAR without the list's own ',' and the
// record's ';' (RFC 8460 §3: those must be percent-encoded in a URI there).
constexpr bool IsRuaUriChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != ';' && c != ',';
}

absl::Status RecordError(std::string_view txt, size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("TLS-RPT TXT record ",
                                                 base::QuoteForMessage(txt, kQuoted),
                                                 ": at offset ", offset, ": ", Av(what)));
}

constexpr std::array<std::pair<TlsRptPolicyType, std::string_view>, 3> kPolicyTypes = {{
    {TlsRptPolicyType::kTlsa, "tlsa"},
    {TlsRptPolicyType::kSts, "sts"},
    {TlsRptPolicyType::kNoPolicyFound, "no-policy-found"},
}};

// ---------------------------------------------------------------------------
// RFC 3339 §5.6 date-time.

bool Digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!base::IsDigit(s[i])) return false;
  }
  return true;
}
int Number(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// "" when `s` is an RFC 3339 date-time, else what is wrong.
std::string DateTimeProblem(std::string_view s) {
  // full-date = date-fullyear "-" date-month "-" date-mday
  if (!Digits(s, 0, 4) || s.size() < 10 || s[4] != '-' || !Digits(s, 5, 2) || s[7] != '-' ||
      !Digits(s, 8, 2)) {
    return "expected YYYY-MM-DD at the start";
  }
  const int month = Number(s, 5, 2), day = Number(s, 8, 2);
  if (month < 1 || month > 12 || day < 1 || day > 31) return "month or day out of range";
  // RFC 3339 §5.6 NOTE: "T" and "Z" may be lower case.
  if (s.size() < 19 || (s[10] != 'T' && s[10] != 't')) return "expected 'T' after the date";
  if (!Digits(s, 11, 2) || s[13] != ':' || !Digits(s, 14, 2) || s[16] != ':' || !Digits(s, 17, 2)) {
    return "expected HH:MM:SS after 'T'";
  }
  // time-second allows 60 for a leap second (RFC 3339 §5.7).
  if (Number(s, 11, 2) > 23 || Number(s, 14, 2) > 59 || Number(s, 17, 2) > 60) {
    return "hour, minute or second out of range";
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    const size_t start = ++pos;
    while (pos < s.size() && base::IsDigit(s[pos])) ++pos;
    if (pos == start) return "expected digits after '.'";
  }
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    if (!Digits(s, pos + 1, 2) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !Digits(s, pos + 4, 2) || Number(s, pos + 1, 2) > 23 || Number(s, pos + 4, 2) > 59) {
      return "time offset is not +HH:MM or -HH:MM";
    }
    pos += 6;
  } else {
    return "expected a time offset (Z or +HH:MM)";
  }
  if (pos != s.size()) return "text after the time offset";
  return "";
}

// ---------------------------------------------------------------------------
// JSON reading with paths.

const char* KindName(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null: return "null";
    case json::kind::bool_: return "a boolean";
    case json::kind::int64:
    case json::kind::uint64: return "an integer";
    case json::kind::double_: return "a number with a fraction or exponent";
    case json::kind::string: return "a string";
    case json::kind::array: return "an array";
    case json::kind::object: return "an object";
  }
  return "a value";
}

absl::Status PathError(std::string_view path, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(Av(path), ": ", Av(what)));
}

absl::Status Expected(std::string_view path, const char* wanted, const json::value& got) {
  return PathError(path, absl::StrCat("expected ", wanted, ", got ", KindName(got)));
}

std::string Join(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(Av(path), ".", Av(key));
}

absl::StatusOr<const json::object*> AsObject(const json::value& v, std::string_view path) {
  if (!v.is_object()) return Expected(path, "an object", v);
  return &v.get_object();
}

// nullptr when absent.
const json::value* Member(const json::object& o, std::string_view key) {
  return o.if_contains(json::string_view(key.data(), key.size()));
}

absl::StatusOr<const json::value*> Required(const json::object& o, std::string_view path,
                                            std::string_view key) {
  const json::value* v = Member(o, key);
  if (v == nullptr) return PathError(Join(path, key), "required member missing");
  return v;
}

absl::StatusOr<std::string> StringOf(const json::value& v, std::string_view path) {
  if (!v.is_string()) return Expected(path, "a string", v);
  const json::string& s = v.get_string();
  return std::string(s.data(), s.size());
}

absl::StatusOr<std::string> RequiredString(const json::object& o, std::string_view path,
                                           std::string_view key) {
  auto v = Required(o, path, key);
  if (!v.ok()) return v.status();
  return StringOf(**v, Join(path, key));
}

absl::StatusOr<std::string> OptionalString(const json::object& o, std::string_view path,
                                           std::string_view key) {
  const json::value* v = Member(o, key);
  if (v == nullptr) return std::string();
  return StringOf(*v, Join(path, key));
}

absl::StatusOr<uint64_t> RequiredCount(const json::object& o, std::string_view path,
                                       std::string_view key) {
  auto v = Required(o, path, key);
  if (!v.ok()) return v.status();
  const std::string p = Join(path, key);
  if ((*v)->is_uint64()) return (*v)->get_uint64();
  if ((*v)->is_int64()) {
    if ((*v)->get_int64() < 0) return PathError(p, "expected a non-negative integer, got a negative one");
    return static_cast<uint64_t>((*v)->get_int64());
  }
  return Expected(p, "a non-negative integer", **v);
}

absl::StatusOr<std::vector<std::string>> OptionalStringList(const json::object& o,
                                                            std::string_view path,
                                                            std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = Member(o, key);
  if (v == nullptr) return out;
  const std::string p = Join(path, key);
  if (!v->is_array()) return Expected(p, "an array of strings", *v);
  const json::array& a = v->get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    auto s = StringOf(a[i], absl::StrCat(p, "[", i, "]"));
    if (!s.ok()) return s.status();
    out.push_back(std::move(*s));
  }
  return out;
}

absl::StatusOr<TlsRptFailureDetails> ParseFailure(const json::value& v, const std::string& path) {
  const json::object* o;
  MXKIT_ASSIGN_OR_RETURN(o, AsObject(v, path));
  TlsRptFailureDetails d;
  MXKIT_ASSIGN_OR_RETURN(d.result_type, RequiredString(*o, path, "result-type"));
  if (d.result_type.empty()) return PathError(Join(path, "result-type"), "empty");
  MXKIT_ASSIGN_OR_RETURN(d.sending_mta_ip, OptionalString(*o, path, "sending-mta-ip"));
  MXKIT_ASSIGN_OR_RETURN(d.receiving_mx_hostname, OptionalString(*o, path, "receiving-mx-hostname"));
  MXKIT_ASSIGN_OR_RETURN(d.receiving_mx_helo, OptionalString(*o, path, "receiving-mx-helo"));
  MXKIT_ASSIGN_OR_RETURN(d.receiving_ip, OptionalString(*o, path, "receiving-ip"));
  MXKIT_ASSIGN_OR_RETURN(d.failed_session_count, RequiredCount(*o, path, "failed-session-count"));
  MXKIT_ASSIGN_OR_RETURN(d.additional_information, OptionalString(*o, path, "additional-information"));
  MXKIT_ASSIGN_OR_RETURN(d.failure_reason_code, OptionalString(*o, path, "failure-reason-code"));
  return d;
}

absl::StatusOr<TlsRptPolicyResult> ParsePolicyResult(const json::value& v, const std::string& path) {
  const json::object* o;
  MXKIT_ASSIGN_OR_RETURN(o, AsObject(v, path));
  TlsRptPolicyResult result;

  const json::value* policy_value;
  MXKIT_ASSIGN_OR_RETURN(policy_value, Required(*o, path, "policy"));
  const std::string policy_path = Join(path, "policy");
  const json::object* policy;
  MXKIT_ASSIGN_OR_RETURN(policy, AsObject(*policy_value, policy_path));
  std::string type;
  MXKIT_ASSIGN_OR_RETURN(type, RequiredString(*policy, policy_path, "policy-type"));
  auto parsed_type = ParseTlsRptPolicyType(type);
  if (!parsed_type.ok()) {
    return PathError(Join(policy_path, "policy-type"), base::StatusText(parsed_type.status()));
  }
  result.policy.policy_type = *parsed_type;
  MXKIT_ASSIGN_OR_RETURN(result.policy.policy_string, OptionalStringList(*policy, policy_path, "policy-string"));
  MXKIT_ASSIGN_OR_RETURN(result.policy.policy_domain, RequiredString(*policy, policy_path, "policy-domain"));
  MXKIT_ASSIGN_OR_RETURN(result.policy.mx_host, OptionalStringList(*policy, policy_path, "mx-host"));

  const json::value* summary_value;
  MXKIT_ASSIGN_OR_RETURN(summary_value, Required(*o, path, "summary"));
  const std::string summary_path = Join(path, "summary");
  const json::object* summary;
  MXKIT_ASSIGN_OR_RETURN(summary, AsObject(*summary_value, summary_path));
  MXKIT_ASSIGN_OR_RETURN(result.total_successful_session_count,
               RequiredCount(*summary, summary_path, "total-successful-session-count"));
  MXKIT_ASSIGN_OR_RETURN(result.total_failure_session_count,
               RequiredCount(*summary, summary_path, "total-failure-session-count"));

  if (const json::value* details = Member(*o, "failure-details")) {
    const std::string details_path = Join(path, "failure-details");
    if (!details->is_array()) return Expected(details_path, "an array", *details);
    const json::array& a = details->get_array();
    for (size_t i = 0; i < a.size(); ++i) {
      TlsRptFailureDetails d;
      MXKIT_ASSIGN_OR_RETURN(d, ParseFailure(a[i], absl::StrCat(details_path, "[", i, "]")));
      result.failure_details.push_back(std::move(d));
    }
  }
  return result;
}

absl::StatusOr<TlsReport> ParseReportValue(const json::value& root) {
  const json::object* o;
  MXKIT_ASSIGN_OR_RETURN(o, AsObject(root, "(report)"));
  TlsReport report;
  MXKIT_ASSIGN_OR_RETURN(report.organization_name, RequiredString(*o, "", "organization-name"));
  const json::value* range_value;
  MXKIT_ASSIGN_OR_RETURN(range_value, Required(*o, "", "date-range"));
  const json::object* range;
  MXKIT_ASSIGN_OR_RETURN(range, AsObject(*range_value, "date-range"));
  MXKIT_ASSIGN_OR_RETURN(report.start_datetime, RequiredString(*range, "date-range", "start-datetime"));
  MXKIT_ASSIGN_OR_RETURN(report.end_datetime, RequiredString(*range, "date-range", "end-datetime"));
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{
                                       "date-range.start-datetime", &report.start_datetime},
                                   {"date-range.end-datetime", &report.end_datetime}}) {
    const std::string problem = DateTimeProblem(*value);
    if (!problem.empty()) {
      return PathError(key, absl::StrCat(base::QuoteForMessage(*value, kQuoted),
                                         " is not an RFC 3339 date-time: ", problem));
    }
  }
  MXKIT_ASSIGN_OR_RETURN(report.contact_info, RequiredString(*o, "", "contact-info"));
  MXKIT_ASSIGN_OR_RETURN(report.report_id, RequiredString(*o, "", "report-id"));
  const json::value* policies;
  MXKIT_ASSIGN_OR_RETURN(policies, Required(*o, "", "policies"));
  if (!policies->is_array()) return Expected("policies", "an array", *policies);
  const json::array& a = policies->get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    TlsRptPolicyResult result;
    MXKIT_ASSIGN_OR_RETURN(result, ParsePolicyResult(a[i], absl::StrCat("policies[", i, "]")));
    report.policies.push_back(std::move(result));
  }
  return report;
}

// ---------------------------------------------------------------------------
// Writing.

void Key(std::string& out, std::string_view key) {
  base::AppendJsonString(out, key);
  out += ':';
}

void StringMember(std::string& out, bool& first, std::string_view key, std::string_view value) {
  if (!first) out += ',';
  first = false;
  Key(out, key);
  base::AppendJsonString(out, value);
}

void OptionalStringMember(std::string& out, bool& first, std::string_view key,
                          std::string_view value) {
  if (!value.empty()) StringMember(out, first, key, value);
}

void CountMember(std::string& out, bool& first, std::string_view key, uint64_t value) {
  if (!first) out += ',';
  first = false;
  Key(out, key);
  absl::StrAppend(&out, value);
}

void StringListMember(std::string& out, bool& first, std::string_view key,
                      const std::vector<std::string>& values) {
  if (values.empty()) return;
  if (!first) out += ',';
  first = false;
  Key(out, key);
  out += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    base::AppendJsonString(out, values[i]);
  }
  out += ']';
}

}  // namespace

// ---------------------------------------------------------------------------
// §3

absl::StatusOr<TlsRptRecord> ParseTlsRptRecord(std::string_view txt) {
  if (txt.substr(0, kTlsRptVersion.size()) != kTlsRptVersion) {
    return RecordError(txt, 0, "does not start with \"v=TLSRPTv1\" (RFC 8460 §3)");
  }
  TlsRptRecord record;
  bool have_rua = false;
  size_t pos = kTlsRptVersion.size();
  while (pos < txt.size()) {
    while (pos < txt.size() && IsWsp(txt[pos])) ++pos;
    if (pos >= txt.size() || txt[pos] != ';') {
      return RecordError(txt, pos,
                         pos < txt.size()
                             ? absl::StrCat("expected ';', found ", base::DescribeOctet(txt[pos]))
                             : std::string("expected ';' before the end"));
    }
    ++pos;
    while (pos < txt.size() && IsWsp(txt[pos])) ++pos;
    if (pos >= txt.size()) break;
    const size_t field_start = pos;
    const size_t eq = txt.find('=', pos);
    if (eq == std::string_view::npos) return RecordError(txt, pos, "field without '='");
    const std::string_view name = txt.substr(pos, eq - pos);
    if (!IsExtName(name)) {
      return RecordError(txt, pos,
                         absl::StrCat("field name ", base::QuoteForMessage(name, kQuoted),
                                      " is not 1-32 letters, digits, '_', '-', '.' starting "
                                      "with a letter or digit"));
    }
    pos = eq + 1;
    if (name == "rua") {
      if (have_rua) return RecordError(txt, field_start, "a second rua field");
      have_rua = true;
      while (true) {
        const size_t uri_start = pos;
        while (pos < txt.size() && IsRuaUriChar(txt[pos])) ++pos;
        const std::string_view uri = txt.substr(uri_start, pos - uri_start);
        const bool mailto = base::StartsWithIgnoreCase(uri, "mailto:");
        const bool https = base::StartsWithIgnoreCase(uri, "https:");
        if (uri.empty()) return RecordError(txt, uri_start, "rua: empty URI");
        if (!mailto && !https) {
          return RecordError(txt, uri_start,
                             absl::StrCat("rua: ", base::QuoteForMessage(uri, kQuoted),
                                          " is neither mailto: nor https: (RFC 8460 §3)"));
        }
        if (uri.size() == (mailto ? 7u : 6u)) {
          return RecordError(txt, uri_start, "rua: URI without an address");
        }
        record.rua.emplace_back(uri);
        size_t next = pos;
        while (next < txt.size() && IsWsp(txt[next])) ++next;
        if (next < txt.size() && txt[next] == ',') {
          pos = next + 1;
          while (pos < txt.size() && IsWsp(txt[pos])) ++pos;
          continue;
        }
        if (pos < txt.size() && txt[pos] != ';' && !IsWsp(txt[pos])) {
          return RecordError(txt, pos, absl::StrCat("rua: unexpected ",
                                                    base::DescribeOctet(txt[pos])));
        }
        break;
      }
    } else {
      const size_t value_start = pos;
      while (pos < txt.size() && IsExtValueChar(txt[pos])) ++pos;
      if (pos == value_start || (pos < txt.size() && txt[pos] != ';' && !IsWsp(txt[pos]))) {
        return RecordError(txt, value_start,
                           absl::StrCat("value of ", Av(name),
                                        " must be 1 or more of %x21-3A / %x3C / %x3E-7E"));
      }
      record.extensions.emplace_back(std::string(name),
                                     std::string(txt.substr(value_start, pos - value_start)));
    }
  }
  if (!have_rua) return RecordError(txt, txt.size(), "no rua field (RFC 8460 §3: rua is required)");
  return record;
}

absl::StatusOr<TlsRptRecord> DiscoverTlsRptRecord(absl::Span<const std::string> txt_records) {
  const std::string* found = nullptr;
  size_t count = 0;
  for (const std::string& record : txt_records) {
    if (std::string_view(record).substr(0, kTlsRptVersion.size()) != kTlsRptVersion) continue;
    if (found == nullptr) found = &record;
    ++count;
  }
  if (count == 0) {
    return absl::NotFoundError(absl::StrCat("no TXT record starting with \"v=TLSRPTv1\" among ",
                                            txt_records.size()));
  }
  if (count > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        count, " TXT records start with \"v=TLSRPTv1\"; RFC 8460 §3 requires exactly one"));
  }
  return ParseTlsRptRecord(*found);
}

// ---------------------------------------------------------------------------
// §4

std::string_view TlsRptPolicyTypeName(TlsRptPolicyType type) {
  for (const auto& [known, name] : kPolicyTypes) {
    if (known == type) return name;
  }
  return "no-policy-found";
}

absl::StatusOr<TlsRptPolicyType> ParseTlsRptPolicyType(std::string_view name) {
  for (const auto& [type, known] : kPolicyTypes) {
    if (known == name) return type;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      base::QuoteForMessage(name, kQuoted),
      " is not a policy-type (RFC 8460 §4.4: tlsa, sts, no-policy-found)"));
}

std::optional<TlsResultType> TlsRptFailureDetails::known_result_type() const {
  auto parsed = ParseTlsResultType(result_type);
  if (!parsed.ok()) return std::nullopt;
  return *parsed;
}

std::string WriteTlsReport(const TlsReport& report) {
  std::string out = "{";
  bool first = true;
  StringMember(out, first, "organization-name", report.organization_name);
  out += ',';
  Key(out, "date-range");
  {
    out += '{';
    bool f = true;
    StringMember(out, f, "start-datetime", report.start_datetime);
    StringMember(out, f, "end-datetime", report.end_datetime);
    out += '}';
  }
  StringMember(out, first, "contact-info", report.contact_info);
  StringMember(out, first, "report-id", report.report_id);
  out += ',';
  Key(out, "policies");
  out += '[';
  for (size_t i = 0; i < report.policies.size(); ++i) {
    const TlsRptPolicyResult& result = report.policies[i];
    if (i > 0) out += ',';
    out += '{';
    Key(out, "policy");
    out += '{';
    bool f = true;
    StringMember(out, f, "policy-type", TlsRptPolicyTypeName(result.policy.policy_type));
    StringListMember(out, f, "policy-string", result.policy.policy_string);
    StringMember(out, f, "policy-domain", result.policy.policy_domain);
    StringListMember(out, f, "mx-host", result.policy.mx_host);
    out += "},";
    Key(out, "summary");
    out += '{';
    f = true;
    CountMember(out, f, "total-successful-session-count", result.total_successful_session_count);
    CountMember(out, f, "total-failure-session-count", result.total_failure_session_count);
    out += '}';
    if (!result.failure_details.empty()) {
      out += ',';
      Key(out, "failure-details");
      out += '[';
      for (size_t j = 0; j < result.failure_details.size(); ++j) {
        const TlsRptFailureDetails& d = result.failure_details[j];
        if (j > 0) out += ',';
        out += '{';
        bool g = true;
        StringMember(out, g, "result-type", d.result_type);
        OptionalStringMember(out, g, "sending-mta-ip", d.sending_mta_ip);
        OptionalStringMember(out, g, "receiving-mx-hostname", d.receiving_mx_hostname);
        OptionalStringMember(out, g, "receiving-mx-helo", d.receiving_mx_helo);
        OptionalStringMember(out, g, "receiving-ip", d.receiving_ip);
        CountMember(out, g, "failed-session-count", d.failed_session_count);
        OptionalStringMember(out, g, "additional-information", d.additional_information);
        OptionalStringMember(out, g, "failure-reason-code", d.failure_reason_code);
        out += '}';
      }
      out += ']';
    }
    out += '}';
  }
  out += "]}";
  return out;
}

absl::StatusOr<TlsReport> ParseTlsReport(std::string_view text) {
  if (text.size() > kMaxTlsReportSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("report of ", text.size(), " octets exceeds ", kMaxTlsReportSize));
  }
  // Boost.JSON reports errors through the error_code; it throws only on
  // allocation failure, which must not cross this boundary either.
  try {
    json::parse_options options;
    options.max_depth = kMaxTlsReportJsonDepth;
    json::monotonic_resource resource;
    json::stream_parser parser(json::storage_ptr(), options);
    parser.reset(&resource);
    boost::system::error_code ec;
    const size_t used = parser.write(text.data(), text.size(), ec);
    if (!ec) parser.finish(ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat("not JSON (RFC 8259) at offset ", used, ": ", ec.message()));
    }
    return ParseReportValue(parser.release());
  } catch (const std::exception& e) {
    return absl::ResourceExhaustedError(absl::StrCat("parsing the report: ", e.what()));
  }
}

}  // namespace mxkit::policy
