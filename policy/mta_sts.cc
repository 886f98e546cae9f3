#include "policy/mta_sts.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "base/utf8.h"

namespace mxkit::policy {
namespace {

using base::Av;

// How much of the input an error message quotes.
constexpr size_t kQuoted = 80;

constexpr std::string_view kStsVersion = "v=STSv1";  // RFC 8461 §3.1 sts-version

constexpr bool IsWsp(char c) { return c == ' ' || c == '\t'; }  // RFC 5234 B.1

// RFC 8461 §3.1 sts-ext-name / §3.2 sts-policy-ext-name characters.
constexpr bool IsExtNameChar(char c) {
  return base::IsAlnum(c) || c == '_' || c == '-' || c == '.';
}

bool IsExtName(std::string_view name) {
  if (name.empty() || name.size() > kMaxStsExtensionNameLength) return false;
  if (!base::IsAlnum(name[0])) return false;
  return std::all_of(name.begin(), name.end(), IsExtNameChar);
}

// RFC 8461 §3.1 sts-ext-value = 1*(%x21-3A / %x3C / %x3E-7E).
constexpr bool IsTxtExtValueChar(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u >= 0x21 && u <= 0x7E && c != ';' && c != '=';
}

absl::Status TxtError(std::string_view txt, size_t offset, std::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("MTA-STS TXT record ",
                                                 base::QuoteForMessage(txt, kQuoted),
                                                 ": at offset ", offset, ": ", Av(what)));
}

// RFC 5321 §4.1.2 Domain: sub-domain *("." sub-domain), sub-domain =
// Let-dig [Ldh-str]; with RFC 1035 §2.3.4 lengths. Returns what is wrong,
// or "" when `name` is a domain.
std::string DomainProblem(std::string_view name) {
  if (name.empty()) return "empty domain";
  if (name.size() > kMaxDomainNameLength) {
    return absl::StrCat("domain longer than ", kMaxDomainNameLength, " octets");
  }
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty()) return "empty label";
    if (label.size() > kMaxDomainLabelLength) {
      return absl::StrCat("label longer than ", kMaxDomainLabelLength, " octets");
    }
    for (char c : label) {
      if (!base::IsAlnum(c) && c != '-') {
        return absl::StrCat("label has ", base::DescribeOctet(c),
                            " (letters, digits and '-' only)");
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return "label starts or ends with '-'";
    }
    if (dot == std::string_view::npos) return "";
    start = dot + 1;
  }
}

std::string CacheKey(std::string_view domain) {
  return base::AsciiLower(base::StripOneTrailingDot(domain));
}

}  // namespace

// ---------------------------------------------------------------------------
// §3.1

absl::StatusOr<StsTxtRecord> ParseStsTxtRecord(std::string_view txt) {
  if (txt.substr(0, kStsVersion.size()) != kStsVersion) {
    return TxtError(txt, 0, "does not start with \"v=STSv1\" (RFC 8461 §3.1)");
  }
  StsTxtRecord record;
  bool have_id = false;
  size_t pos = kStsVersion.size();
  while (pos < txt.size()) {
    // sts-sep = *WSP %x3B *WSP
    while (pos < txt.size() && IsWsp(txt[pos])) ++pos;
    if (pos >= txt.size() || txt[pos] != ';') {
      return TxtError(txt, pos,
                      pos < txt.size()
                          ? absl::StrCat("expected ';', found ", base::DescribeOctet(txt[pos]))
                          : std::string("expected ';' before the end"));
    }
    ++pos;
    while (pos < txt.size() && IsWsp(txt[pos])) ++pos;
    if (pos >= txt.size()) break;  // [sts-sep] at the end
    const size_t field_start = pos;
    const size_t eq = txt.find('=', pos);
    if (eq == std::string_view::npos) return TxtError(txt, pos, "field without '='");
    const std::string_view name = txt.substr(pos, eq - pos);
    if (!IsExtName(name)) {
      return TxtError(txt, pos,
                      absl::StrCat("field name ", base::QuoteForMessage(name, kQuoted),
                                   " is not 1-32 letters, digits, '_', '-', '.' starting "
                                   "with a letter or digit"));
    }
    pos = eq + 1;
    const size_t value_start = pos;
    if (name == "id") {
      while (pos < txt.size() && base::IsAlnum(txt[pos])) ++pos;
      const size_t length = pos - value_start;
      if (length == 0 || length > kMaxStsIdLength ||
          (pos < txt.size() && txt[pos] != ';' && !IsWsp(txt[pos]))) {
        return TxtError(txt, field_start,
                        absl::StrCat("id must be 1-", kMaxStsIdLength, " letters and digits"));
      }
      if (have_id) return TxtError(txt, field_start, "a second id field");
      have_id = true;
      record.id = std::string(txt.substr(value_start, length));
    } else {
      while (pos < txt.size() && IsTxtExtValueChar(txt[pos])) ++pos;
      if (pos == value_start ||
          (pos < txt.size() && txt[pos] != ';' && !IsWsp(txt[pos]))) {
        return TxtError(txt, value_start,
                        absl::StrCat("value of ", Av(name),
                                     " must be 1 or more of %x21-3A / %x3C / %x3E-7E"));
      }
      record.extensions.emplace_back(std::string(name),
                                     std::string(txt.substr(value_start, pos - value_start)));
    }
  }
  if (!have_id) {
    return TxtError(txt, txt.size(), "no id field (RFC 8461 §3.1: id is required)");
  }
  return record;
}

namespace {

// RFC 8461 §3.1: "Records that do not begin with 'v=STSv1;' are discarded."
// The ABNF puts sts-field-delim (*WSP ";" *WSP) after sts-version, so
// "v=STSv1 ;" begins a record too, while "v=STSv10;" and a bare "v=STSv1"
// (no field) do not, and must not count towards "exactly one".
bool BeginsStsRecord(std::string_view txt) {
  if (txt.substr(0, kStsVersion.size()) != kStsVersion) return false;
  size_t pos = kStsVersion.size();
  while (pos < txt.size() && IsWsp(txt[pos])) ++pos;
  return pos < txt.size() && txt[pos] == ';';
}

}  // namespace

absl::StatusOr<StsTxtRecord> DiscoverStsTxtRecord(absl::Span<const std::string> txt_records) {
  const std::string* found = nullptr;
  size_t count = 0;
  for (const std::string& record : txt_records) {
    if (!BeginsStsRecord(record)) continue;
    if (found == nullptr) found = &record;
    ++count;
  }
  if (count == 0) {
    return absl::NotFoundError(
        absl::StrCat("no TXT record beginning with \"v=STSv1;\" among ", txt_records.size()));
  }
  if (count > 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        count, " TXT records begin with \"v=STSv1;\"; RFC 8461 §3.1 requires exactly one"));
  }
  return ParseStsTxtRecord(*found);
}

// ---------------------------------------------------------------------------
// §3.2

std::string_view StsModeName(StsMode mode) {
  switch (mode) {
    case StsMode::kEnforce:
      return "enforce";
    case StsMode::kTesting:
      return "testing";
    case StsMode::kNone:
      return "none";
  }
  return "none";
}

std::string StsPolicyError::ToString() const {
  return absl::StrCat("line ", line, ", column ", column, ": ", message);
}

absl::Status StsPolicyResult::status() const {
  if (ok()) return absl::OkStatus();
  return absl::InvalidArgumentError(error_->ToString());
}

StsPolicyResult ParseStsPolicy(std::string_view text) {
  auto fail = [](size_t line, size_t column, std::string message) {
    return StsPolicyResult(StsPolicyError{line, column, std::move(message)});
  };
  if (text.size() > kMaxStsPolicySize) {
    return fail(1, 1, absl::StrCat("policy of ", text.size(), " octets exceeds ",
                                   kMaxStsPolicySize));
  }
  StsPolicy policy;
  bool have_version = false, have_mode = false, have_max_age = false;
  size_t line_number = 0;
  size_t pos = 0;
  size_t last_line_length = 0;
  while (pos < text.size()) {
    ++line_number;
    const size_t lf = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, lf == std::string_view::npos ? std::string_view::npos : lf - pos);
    pos = lf == std::string_view::npos ? text.size() : lf + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF
    last_line_length = line.size();
    if (line.empty()) return fail(line_number, 1, "empty line");
    // Every octet: no CTL other than HTAB (a bare CR lands here too).
    for (size_t i = 0; i < line.size(); ++i) {
      if (base::IsCtl(line[i]) && line[i] != '\t') {
        return fail(line_number, i + 1, absl::StrCat("control character ",
                                                     base::DescribeOctet(line[i])));
      }
    }
    const size_t bad_utf8 = base::FindInvalidUtf8(line);
    if (bad_utf8 != line.size()) {
      return fail(line_number, bad_utf8 + 1, "invalid UTF-8");
    }
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return fail(line_number, 1, "no ':' (a policy line is \"key: value\")");
    }
    const std::string_view key = line.substr(0, colon);
    size_t value_start = colon + 1;
    while (value_start < line.size() && IsWsp(line[value_start])) ++value_start;
    size_t value_end = line.size();
    while (value_end > value_start && IsWsp(line[value_end - 1])) --value_end;
    const std::string_view value = line.substr(value_start, value_end - value_start);
    const size_t column = value_start + 1;
    auto quoted = [&] { return base::QuoteForMessage(value, kQuoted); };

    if (key == "version") {
      if (have_version) return fail(line_number, 1, "a second version line");
      if (value != "STSv1") {
        return fail(line_number, column, absl::StrCat("version: ", quoted(), " is not STSv1"));
      }
      have_version = true;
    } else if (key == "mode") {
      if (have_mode) return fail(line_number, 1, "a second mode line");
      if (value == "enforce") {
        policy.mode = StsMode::kEnforce;
      } else if (value == "testing") {
        policy.mode = StsMode::kTesting;
      } else if (value == "none") {
        policy.mode = StsMode::kNone;
      } else {
        return fail(line_number, column,
                    absl::StrCat("mode: ", quoted(), " is not enforce, testing or none"));
      }
      have_mode = true;
    } else if (key == "max_age") {
      if (have_max_age) return fail(line_number, 1, "a second max_age line");
      if (value.empty() || value.size() > kMaxStsMaxAgeDigits ||
          !std::all_of(value.begin(), value.end(), base::IsDigit)) {
        return fail(line_number, column,
                    absl::StrCat("max_age: ", quoted(), " is not 1 to ", kMaxStsMaxAgeDigits,
                                 " digits"));
      }
      uint64_t seconds = 0;
      for (char c : value) seconds = seconds * 10 + static_cast<uint64_t>(c - '0');
      if (seconds > kMaxStsMaxAge) {
        return fail(line_number, column,
                    absl::StrCat("max_age: ", seconds, " exceeds ", kMaxStsMaxAge,
                                 " (RFC 8461 §3.2)"));
      }
      policy.max_age = static_cast<uint32_t>(seconds);
      have_max_age = true;
    } else if (key == "mx") {
      const std::string_view domain =
          value.substr(0, 2) == "*." ? value.substr(2) : value;
      const std::string problem = DomainProblem(domain);
      if (!problem.empty()) {
        return fail(line_number, column,
                    absl::StrCat("mx: ", quoted(), " is not [\"*.\"] domain: ", problem));
      }
      policy.mx.emplace_back(value);
    } else {
      if (!IsExtName(key)) {
        return fail(line_number, 1,
                    absl::StrCat("key ", base::QuoteForMessage(key, kQuoted),
                                 " is not 1-32 letters, digits, '_', '-', '.' starting "
                                 "with a letter or digit"));
      }
      // sts-policy-ext-value = sts-policy-vchar *(*WSP sts-policy-vchar):
      // non-empty; inner WSP allowed; CTLs refused above.
      if (value.empty()) {
        return fail(line_number, column, absl::StrCat(Av(key), ": empty value"));
      }
      policy.extensions.emplace_back(std::string(key), std::string(value));
    }
  }
  // Missing fields are reported just past the end of the text.
  const size_t end_line = std::max<size_t>(line_number, 1);
  const size_t end_column = last_line_length + 1;
  if (!have_version) return fail(end_line, end_column, "no version line");
  if (!have_mode) return fail(end_line, end_column, "no mode line");
  if (!have_max_age) return fail(end_line, end_column, "no max_age line");
  if (policy.mx.empty() && policy.mode != StsMode::kNone) {
    return fail(end_line, end_column,
                absl::StrCat("no mx line (required with mode ", Av(StsModeName(policy.mode)), ")"));
  }
  return StsPolicyResult(std::move(policy));
}

std::string FormatStsPolicy(const StsPolicy& policy) {
  std::string out = absl::StrCat("version: STSv1\r\nmode: ", Av(StsModeName(policy.mode)), "\r\n");
  for (const std::string& mx : policy.mx) absl::StrAppend(&out, "mx: ", mx, "\r\n");
  absl::StrAppend(&out, "max_age: ", policy.max_age, "\r\n");
  for (const auto& [key, value] : policy.extensions) absl::StrAppend(&out, key, ": ", value, "\r\n");
  return out;
}

absl::Status CheckDomainSyntax(std::string_view name) {
  const std::string problem = DomainProblem(name);
  if (problem.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(base::QuoteForMessage(name, kQuoted), " is not a domain name: ", problem));
}

// ---------------------------------------------------------------------------
// §4.1

bool MxPatternMatches(std::string_view pattern, std::string_view mx_host) {
  mx_host = base::StripOneTrailingDot(mx_host);
  if (pattern.empty() || mx_host.empty()) return false;
  if (pattern.substr(0, 2) != "*.") return base::EqualsIgnoreCase(pattern, mx_host);
  const std::string_view suffix = pattern.substr(2);
  const size_t dot = mx_host.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  return base::EqualsIgnoreCase(mx_host.substr(dot + 1), suffix);
}

bool StsPolicyAllowsMx(const StsPolicy& policy, std::string_view mx_host) {
  return std::any_of(policy.mx.begin(), policy.mx.end(),
                     [&](const std::string& pattern) { return MxPatternMatches(pattern, mx_host); });
}

// ---------------------------------------------------------------------------
// §5.1

StsPolicyCache::StsPolicyCache(size_t max_entries) : max_entries_(std::max<size_t>(max_entries, 1)) {}

StsPolicyCache::Decision StsPolicyCache::Decide(std::string_view domain,
                                                const std::optional<std::string>& txt_id,
                                                absl::Time now) const {
  Decision decision;
  const Entry* live = Find(domain, now);
  if (txt_id.has_value()) {
    if (live != nullptr && live->id == *txt_id) {
      decision.action = Action::kUseCached;
      decision.entry = live;
      decision.reason = absl::StrCat("cached policy id ", live->id, " is current");
      return decision;
    }
    decision.action = Action::kFetch;
    decision.entry = live;
    if (live != nullptr) {
      decision.reason = absl::StrCat("TXT id changed from ", live->id, " to ", *txt_id);
    } else {
      const auto it = entries_.find(CacheKey(domain));
      decision.reason = it != entries_.end() ? "cached policy expired" : "no cached policy";
    }
    return decision;
  }
  if (live != nullptr) {
    // RFC 8461 §5.1: without a TXT record the cached policy still applies
    // until it expires (a TXT lookup an attacker suppresses must not strip it).
    decision.action = Action::kUseCached;
    decision.entry = live;
    decision.reason = "no TXT record; the unexpired cached policy applies";
    return decision;
  }
  decision.action = Action::kNoPolicy;
  decision.reason = "no TXT record and no cached policy";
  return decision;
}

void StsPolicyCache::Store(std::string_view domain, std::string_view txt_id, StsPolicy policy,
                           absl::Time now) {
  std::string key = CacheKey(domain);
  if (policy.max_age == 0) {
    entries_.erase(key);
    return;
  }
  if (entries_.find(key) == entries_.end() && entries_.size() >= max_entries_) {
    ExpireOld(now);
    if (entries_.size() >= max_entries_) {
      auto soonest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
        return a.second.expires_at < b.second.expires_at;
      });
      entries_.erase(soonest);
    }
  }
  Entry entry;
  entry.id = std::string(txt_id);
  entry.fetched_at = now;
  entry.expires_at = now + absl::Seconds(policy.max_age);
  entry.policy = std::move(policy);
  entries_[std::move(key)] = std::move(entry);
}

const StsPolicyCache::Entry* StsPolicyCache::Find(std::string_view domain, absl::Time now) const {
  const auto it = entries_.find(CacheKey(domain));
  if (it == entries_.end() || now >= it->second.expires_at) return nullptr;
  return &it->second;
}

void StsPolicyCache::Erase(std::string_view domain) { entries_.erase(CacheKey(domain)); }

void StsPolicyCache::ExpireOld(absl::Time now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    it = now >= it->second.expires_at ? entries_.erase(it) : std::next(it);
  }
}

}  // namespace mxkit::policy
