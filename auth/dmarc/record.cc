#include "auth/dmarc/record.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "base/ascii.h"

namespace mxkit::auth::dmarc {
namespace {

bool IsWsp(char c) { return c == ' ' || c == '\t'; }
using base::AsciiLower;
using base::EqualsIgnoreCase;
using base::IsAlpha;
using base::IsDigit;
using base::ToLowerAscii;

// Trims WSP on both sides; `*begin` moves with the left trim.
std::string_view Trim(std::string_view s, std::size_t* begin) {
  std::size_t b = 0;
  while (b < s.size() && IsWsp(s[b])) ++b;
  std::size_t e = s.size();
  while (e > b && IsWsp(s[e - 1])) --e;
  *begin += b;
  return s.substr(b, e - b);
}

std::optional<Policy> ParsePolicy(std::string_view v) {
  // §6.4 ABNF quoted strings are case-insensitive.
  if (EqualsIgnoreCase(v, "none")) return Policy::kNone;
  if (EqualsIgnoreCase(v, "quarantine")) return Policy::kQuarantine;
  if (EqualsIgnoreCase(v, "reject")) return Policy::kReject;
  return std::nullopt;
}

// RFC 3986 §3.1 scheme ":" followed by something; a DMARC URI may not
// contain "," or "!" unescaped (§6.4: they delimit the list and the size),
// nor WSP or ";".
bool IsValidUri(std::string_view uri) {
  std::size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == uri.size()) return false;
  if (!IsAlpha(uri[0])) return false;
  for (std::size_t i = 1; i < colon; ++i) {
    char c = uri[i];
    if (!IsAlpha(c) && !IsDigit(c) && c != '+' && c != '-' && c != '.') return false;
  }
  for (char c : uri) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == ',' || c == '!' || c == ';') return false;
  }
  return true;
}

struct UriListResult {
  std::vector<ReportUri> uris;
  std::vector<RecordIssue> issues;
  bool too_many = false;
};

// §6.4 dmarc-urilist = dmarc-uri *(*WSP "," *WSP dmarc-uri);
// dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ].
// Invalid entries are dropped with an issue (§6.3).
UriListResult ParseUriList(std::string_view value, std::size_t value_offset) {
  UriListResult out;
  std::size_t pos = 0;
  std::size_t count = 0;
  while (pos <= value.size()) {
    std::size_t comma = value.find(',', pos);
    if (comma == std::string_view::npos) comma = value.size();
    std::size_t item_offset = value_offset + pos;
    std::string_view item = Trim(value.substr(pos, comma - pos), &item_offset);
    if (++count > kMaxReportUris) {
      out.too_many = true;
      return out;
    }
    std::string_view uri = item;
    std::string_view suffix;
    std::size_t bang = item.find('!');
    if (bang != std::string_view::npos) {
      uri = item.substr(0, bang);
      suffix = item.substr(bang + 1);
    }
    bool ok = IsValidUri(uri);
    std::optional<uint64_t> bytes;
    if (ok && bang != std::string_view::npos) {
      std::size_t digits = 0;
      while (digits < suffix.size() && IsDigit(suffix[digits])) ++digits;
      std::string_view unit = suffix.substr(digits);
      int shift = 0;
      if (unit.empty()) {
        shift = 0;
      } else if (unit.size() == 1 && (ToLowerAscii(unit[0]) == 'k')) {
        shift = 10;
      } else if (unit.size() == 1 && (ToLowerAscii(unit[0]) == 'm')) {
        shift = 20;
      } else if (unit.size() == 1 && (ToLowerAscii(unit[0]) == 'g')) {
        shift = 30;
      } else if (unit.size() == 1 && (ToLowerAscii(unit[0]) == 't')) {
        shift = 40;
      } else {
        ok = false;
      }
      if (digits == 0 || digits > kMaxSizeDigits) ok = false;
      if (ok) {
        uint64_t n = 0;
        constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
        for (std::size_t i = 0; i < digits; ++i) {
          uint64_t d = static_cast<uint64_t>(suffix[i] - '0');
          n = (n > (kMax - d) / 10) ? kMax : n * 10 + d;
        }
        bytes = (shift == 0 || n <= (kMax >> shift)) ? (n << shift) : kMax;
      }
    }
    if (ok) {
      out.uris.push_back(ReportUri{std::string(uri), bytes,
                                   bang == std::string_view::npos ? std::string()
                                                                  : std::string(suffix)});
    } else {
      out.issues.push_back(RecordIssue{
          item_offset, "report URI \"" + std::string(item) +
                           "\" is not a URI with an optional !size suffix (RFC 7489 §6.4); "
                           "ignored"});
    }
    pos = comma + 1;
  }
  return out;
}

std::string DescribeAt(std::size_t offset) { return " at offset " + std::to_string(offset); }

}  // namespace

std::string_view PolicyName(Policy policy) {
  switch (policy) {
    case Policy::kNone: return "none";
    case Policy::kQuarantine: return "quarantine";
    case Policy::kReject: return "reject";
  }
  return "none";
}

std::string_view RecordErrorName(RecordError error) {
  switch (error) {
    case RecordError::kOk: return "Ok";
    case RecordError::kTooLong: return "TooLong";
    case RecordError::kNotDmarc: return "NotDmarc";
    case RecordError::kDuplicateTag: return "DuplicateTag";
    case RecordError::kMissingPolicy: return "MissingPolicy";
    case RecordError::kInvalidPolicy: return "InvalidPolicy";
    case RecordError::kInvalidValue: return "InvalidValue";
    case RecordError::kTooManyUris: return "TooManyUris";
  }
  return "Unknown";
}

bool IsDmarcRecord(std::string_view text) {
  std::size_t i = 0;
  // RFC 5234 §2.3: the quoted "v" is case-insensitive; "DMARC1" is spelled
  // with %x codes and is not.
  if (text.empty() || (text[0] != 'v' && text[0] != 'V')) return false;
  ++i;
  while (i < text.size() && IsWsp(text[i])) ++i;
  if (i >= text.size() || text[i] != '=') return false;
  ++i;
  while (i < text.size() && IsWsp(text[i])) ++i;
  if (text.substr(i, 6) != "DMARC1") return false;
  i += 6;
  return i == text.size() || IsWsp(text[i]) || text[i] == ';';
}

RecordResult ParseRecord(std::string_view text, const RecordOptions& options) {
  RecordResult r;
  auto fail = [&r](RecordError e, std::size_t offset, std::string message) {
    r.error = e;
    r.offset = offset;
    r.message = std::move(message);
    return r;
  };
  if (text.size() > kMaxRecordLength) {
    return fail(RecordError::kTooLong, kMaxRecordLength,
                "DMARC record is " + std::to_string(text.size()) + " bytes, over the " +
                    std::to_string(kMaxRecordLength) + "-byte TXT RDATA limit");
  }
  if (!IsDmarcRecord(text)) {
    return fail(RecordError::kNotDmarc, 0,
                "record does not start with \"v=DMARC1\" (RFC 7489 §6.4 dmarc-version; "
                "§6.6.3 discards such records)");
  }

  // Raw values of the tags we know, with their offsets; unknown tags are
  // skipped (§6.3).
  struct Tag {
    std::string_view value;
    std::size_t offset = 0;
    bool present = false;
  };
  Tag p, sp, np, pct, adkim, aspf, rua, ruf, fo, rf, ri, t, psd;
  // Compared in place, not through a lowercased copy: this runs for every
  // tag of every record an evaluation fetches.
  auto tag_for = [&](std::string_view n) -> Tag* {
    for (auto [name, tag] : {std::pair{"p", &p}, std::pair{"sp", &sp}, std::pair{"np", &np},
                             std::pair{"pct", &pct}, std::pair{"adkim", &adkim},
                             std::pair{"aspf", &aspf}, std::pair{"rua", &rua},
                             std::pair{"ruf", &ruf}, std::pair{"fo", &fo}, std::pair{"rf", &rf},
                             std::pair{"ri", &ri}, std::pair{"t", &t}, std::pair{"psd", &psd}}) {
      if (EqualsIgnoreCase(n, name)) return tag;
    }
    return nullptr;
  };

  std::size_t pos = text.find(';');
  pos = (pos == std::string_view::npos) ? text.size() : pos + 1;

  while (pos < text.size()) {
    std::size_t semi = text.find(';', pos);
    if (semi == std::string_view::npos) semi = text.size();
    std::size_t seg_offset = pos;
    std::string_view seg = Trim(text.substr(pos, semi - pos), &seg_offset);
    pos = semi + 1;
    if (seg.empty()) {
      // "v=DMARC1; p=none;" ends in a separator (§6.4 allows a trailing
      // dmarc-sep); an empty segment elsewhere is a harmless syntax slip.
      continue;
    }

    std::size_t eq = seg.find('=');
    std::size_t name_offset = seg_offset;
    std::string_view name =
        Trim(seg.substr(0, eq == std::string_view::npos ? seg.size() : eq), &name_offset);
    bool name_ok = !name.empty() && IsAlpha(name[0]);
    for (char c : name) name_ok = name_ok && (IsAlpha(c) || IsDigit(c) || c == '_');
    if (eq == std::string_view::npos || !name_ok) {
      RecordIssue issue{seg_offset, "\"" + std::string(seg) +
                                        "\" is not a tag=value pair (RFC 7489 §6.4); ignored"};
      if (options.invalid_values_are_errors) {
        return fail(RecordError::kInvalidValue, seg_offset, issue.message);
      }
      r.issues.push_back(std::move(issue));
      continue;
    }
    if (EqualsIgnoreCase(name, "v")) {
      return fail(RecordError::kDuplicateTag, seg_offset,
                  "v= appears again" + DescribeAt(seg_offset) + "; it must appear once, first");
    }
    Tag* tag = tag_for(name);
    if (tag == nullptr) continue;  // §6.3: unknown tags MUST be ignored
    if (tag->present) {
      return fail(RecordError::kDuplicateTag, name_offset,
                  "tag " + AsciiLower(name) + "= appears twice" + DescribeAt(name_offset));
    }
    std::size_t value_offset = seg_offset + eq + 1;
    tag->value = Trim(seg.substr(eq + 1), &value_offset);
    tag->offset = value_offset;
    tag->present = true;
  }

  // Discarded values (§6.3): the default stays, the issue is recorded.
  bool value_error = false;
  auto discard = [&](const Tag& tag, std::string_view name, std::string why) {
    r.issues.push_back(RecordIssue{tag.offset, std::string(name) + "=\"" +
                                                   std::string(tag.value) + "\" " + why +
                                                   "; using the default (RFC 7489 §6.3)"});
    if (options.invalid_values_are_errors && !value_error) {
      value_error = true;
      r.error = RecordError::kInvalidValue;
      r.offset = tag.offset;
      r.message = r.issues.back().message;
    }
  };

  // rua first: the §6.6.3 rule for p= depends on it.
  bool has_valid_rua = false;
  for (auto [tag, list, name] : {std::tuple{&rua, &r.record.aggregate_uris, "rua"},
                                 std::tuple{&ruf, &r.record.failure_uris, "ruf"}}) {
    if (!tag->present) continue;
    UriListResult uris = ParseUriList(tag->value, tag->offset);
    if (uris.too_many) {
      return fail(RecordError::kTooManyUris, tag->offset,
                  std::string(name) + "= lists more than " + std::to_string(kMaxReportUris) +
                      " URIs" + DescribeAt(tag->offset));
    }
    *list = std::move(uris.uris);
    for (RecordIssue& issue : uris.issues) {
      if (options.invalid_values_are_errors && !value_error) {
        value_error = true;
        r.error = RecordError::kInvalidValue;
        r.offset = issue.offset;
        r.message = issue.message;
      }
      r.issues.push_back(std::move(issue));
    }
  }
  has_valid_rua = !r.record.aggregate_uris.empty();

  // p= and sp= (§6.6.3 step 6).
  std::optional<Policy> policy = p.present ? ParsePolicy(p.value) : std::nullopt;
  std::optional<Policy> sub = sp.present ? ParsePolicy(sp.value) : std::nullopt;
  bool sp_invalid = sp.present && !sub.has_value();
  if (!policy.has_value() || sp_invalid) {
    if (!has_valid_rua) {
      if (!p.present) {
        return fail(RecordError::kMissingPolicy, text.size(),
                    "record has no p= tag and no valid rua= (RFC 7489 §6.3: p is required "
                    "for policy records; §6.6.3 step 6)");
      }
      const Tag& bad = policy.has_value() ? sp : p;
      return fail(RecordError::kInvalidPolicy, bad.offset,
                  std::string(policy.has_value() ? "sp" : "p") + "=\"" +
                      std::string(bad.value) + "\"" + DescribeAt(bad.offset) +
                      " is not none, quarantine or reject, and there is no valid rua= "
                      "(RFC 7489 §6.6.3 step 6)");
    }
    // §6.6.3 step 6.1: "act as if a record containing a valid "v" tag and
    // "p=none" was retrieved".
    r.record.policy = Policy::kNone;
    r.record.subdomain_policy.reset();
    r.record.policy_from_rua_rule = true;
  } else {
    r.record.policy = *policy;
    r.record.subdomain_policy = sub;
  }

  if (np.present) {
    if (auto v = ParsePolicy(np.value)) {
      r.record.nonexistent_policy = v;
    } else {
      discard(np, "np", "is not none, quarantine or reject");
    }
  }
  if (pct.present) {
    bool ok = !pct.value.empty() && pct.value.size() <= 3;
    int n = 0;
    for (char c : pct.value) {
      ok = ok && IsDigit(c);
      if (ok) n = n * 10 + (c - '0');
    }
    if (ok && n <= kMaxPercent) {
      r.record.percent = n;
    } else {
      discard(pct, "pct", "is not an integer from 0 to 100");
    }
  }
  for (auto [tag, mode, name] :
       {std::tuple{&adkim, &r.record.dkim_alignment, "adkim"},
        std::tuple{&aspf, &r.record.spf_alignment, "aspf"}}) {
    if (!tag->present) continue;
    if (EqualsIgnoreCase(tag->value, "r")) {
      *mode = AlignmentMode::kRelaxed;
    } else if (EqualsIgnoreCase(tag->value, "s")) {
      *mode = AlignmentMode::kStrict;
    } else {
      discard(*tag, name, "is not r or s");
    }
  }
  if (fo.present) {
    // §6.4 dmarc-fo = ( "0" / "1" / "d" / "s" ) *( *WSP ":" *WSP ( ... ) )
    std::vector<char> opts;
    bool ok = true;
    std::size_t i = 0;
    std::string_view v = fo.value;
    while (ok) {
      while (i < v.size() && IsWsp(v[i])) ++i;
      if (i >= v.size()) { ok = false; break; }
      char c = ToLowerAscii(v[i]);
      if (c != '0' && c != '1' && c != 'd' && c != 's') { ok = false; break; }
      opts.push_back(c);
      ++i;
      while (i < v.size() && IsWsp(v[i])) ++i;
      if (i == v.size()) break;
      if (v[i] != ':') { ok = false; break; }
      ++i;
    }
    if (ok) {
      r.record.failure_options = std::move(opts);
    } else {
      discard(fo, "fo", "is not a colon-separated list of 0, 1, d, s");
    }
  }
  if (rf.present) {
    // §6.4 dmarc-rfmt = Keyword *(*WSP ":" Keyword); only "afrf" is
    // registered, but other keywords are well formed.
    std::vector<std::string> formats;
    bool ok = true;
    std::size_t start = 0;
    std::string_view v = rf.value;
    while (ok && start <= v.size()) {
      std::size_t colon = v.find(':', start);
      if (colon == std::string_view::npos) colon = v.size();
      std::size_t dummy = 0;
      std::string_view kw = Trim(v.substr(start, colon - start), &dummy);
      ok = !kw.empty() && (IsAlpha(kw[0]) || IsDigit(kw[0])) && kw.back() != '-';
      for (char c : kw) ok = ok && (IsAlpha(c) || IsDigit(c) || c == '-');
      if (ok) formats.push_back(AsciiLower(kw));
      start = colon + 1;
    }
    if (ok) {
      r.record.report_formats = std::move(formats);
    } else {
      discard(rf, "rf", "is not a colon-separated list of keywords");
    }
  }
  if (ri.present) {
    bool ok = !ri.value.empty() && ri.value.size() <= kMaxIntervalDigits;
    uint64_t n = 0;
    for (char c : ri.value) {
      ok = ok && IsDigit(c);
      if (ok) n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(c - '0'), UINT64_MAX / 10);
    }
    if (ok && n <= std::numeric_limits<uint32_t>::max()) {
      r.record.report_interval = static_cast<uint32_t>(n);
    } else {
      discard(ri, "ri", "is not a 32-bit unsigned integer");
    }
  }
  if (t.present) {
    if (EqualsIgnoreCase(t.value, "y")) {
      r.record.testing = true;
    } else if (EqualsIgnoreCase(t.value, "n")) {
      r.record.testing = false;
    } else {
      discard(t, "t", "is not y or n (RFC 9989 §4.7)");
    }
  }
  if (psd.present) {
    if (EqualsIgnoreCase(psd.value, "y")) {
      r.record.psd = PsdFlag::kYes;
    } else if (EqualsIgnoreCase(psd.value, "n")) {
      r.record.psd = PsdFlag::kNo;
    } else if (EqualsIgnoreCase(psd.value, "u")) {
      r.record.psd = PsdFlag::kUnspecified;
    } else {
      discard(psd, "psd", "is not y, n or u (RFC 9989 §4.7)");
    }
  }
  return r;
}

std::string FormatRecord(const Record& record) {
  std::string out = "v=DMARC1; p=";
  out += PolicyName(record.policy);
  if (record.subdomain_policy) {
    out += "; sp=";
    out += PolicyName(*record.subdomain_policy);
  }
  if (record.nonexistent_policy) {
    out += "; np=";
    out += PolicyName(*record.nonexistent_policy);
  }
  if (record.percent != 100) out += "; pct=" + std::to_string(record.percent);
  if (record.dkim_alignment == AlignmentMode::kStrict) out += "; adkim=s";
  if (record.spf_alignment == AlignmentMode::kStrict) out += "; aspf=s";
  for (auto [list, name] : {std::pair{&record.aggregate_uris, "rua"},
                            std::pair{&record.failure_uris, "ruf"}}) {
    if (list->empty()) continue;
    out += "; ";
    out += name;
    out += '=';
    for (std::size_t i = 0; i < list->size(); ++i) {
      if (i > 0) out += ',';
      out += (*list)[i].uri;
      if (!(*list)[i].size_suffix.empty() || (*list)[i].max_bytes) {
        out += '!';
        out += (*list)[i].size_suffix;
      }
    }
  }
  if (record.failure_options != std::vector<char>{'0'}) {
    out += "; fo=";
    for (std::size_t i = 0; i < record.failure_options.size(); ++i) {
      if (i > 0) out += ':';
      out += record.failure_options[i];
    }
  }
  if (record.report_formats != std::vector<std::string>{"afrf"}) {
    out += "; rf=";
    for (std::size_t i = 0; i < record.report_formats.size(); ++i) {
      if (i > 0) out += ':';
      out += record.report_formats[i];
    }
  }
  if (record.report_interval != 86400) out += "; ri=" + std::to_string(record.report_interval);
  if (record.testing) out += "; t=y";
  if (record.psd == PsdFlag::kYes) out += "; psd=y";
  if (record.psd == PsdFlag::kNo) out += "; psd=n";
  return out;
}

}  // namespace mxkit::auth::dmarc
