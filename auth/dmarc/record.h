// DMARC policy records (RFC 7489 §6.3/§6.4, with the DMARCbis additions of
// RFC 9989 §4.7: np=, t= and psd=).
//
// ParseRecord takes the TXT strings of one _dmarc record already concatenated
// (RFC 7489 §6.6.3 step 1 concatenates them as SPF does) and returns either a
// Record or an error with the byte offset where parsing stopped.
//
// What is an error and what is not follows the RFC, not our taste:
//  - the record must start with "v=DMARC1" (§6.4 dmarc-version: "v" is
//    case-insensitive, DMARC1 is the case-sensitive %x44.4d.41.52.43.31), else
//    kNotDmarc: §6.6.3 says such TXT records are discarded, so a caller skips
//    them without treating them as broken;
//  - p= may appear anywhere after v= (the §6.4 ABNF puts it second, but
//    §6.3 and RFC 9989 do not require the order, and receivers accept it);
//  - a missing or invalid p= (or an invalid sp=) makes the record unusable
//    (kMissingPolicy / kInvalidPolicy) UNLESS rua= holds at least one
//    syntactically valid URI, in which case §6.6.3 step 6 says to act as if
//    "p=none" had been published; Record::policy_from_rua_rule says so;
//  - "Syntax errors in the remainder of the record SHOULD be discarded in
//    favor of default values (if any) or ignored outright" (§6.3): a bad pct=,
//    adkim=, fo=, ... keeps its default and is listed in `issues`. A linter
//    that wants them fatal sets RecordOptions::invalid_values_are_errors;
//  - unknown tags are ignored (§6.3: "Unknown tags MUST be ignored"), and so
//    is a segment that is not a tag=value pair (a syntax error in "the
//    remainder of the record"), listed in `issues`.

#ifndef MXKIT_AUTH_DMARC_RECORD_H_
#define MXKIT_AUTH_DMARC_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxkit::auth::dmarc {

// RFC 7489 sets no bound on a record; DNS does (a TXT RDATA is at most 65535
// bytes, RFC 1035 §3.2.1 RDLENGTH). Real records are under 512 bytes.
inline constexpr std::size_t kMaxRecordLength = 65535;
// Bounds the URI lists (ours: RFC 7489 §6.2 only says receivers MAY limit
// the number of reports; two or three URIs are common, dozens are abuse).
inline constexpr std::size_t kMaxReportUris = 32;
// RFC 7489 §6.4 dmarc-percent = 1*3DIGIT, 0..100.
inline constexpr int kMaxPercent = 100;
// RFC 7489 §6.4 ri = 1*32DIGIT (a 32-bit unsigned count of seconds, §6.3).
inline constexpr std::size_t kMaxIntervalDigits = 32;
// The size suffix "!" 1*DIGIT [unit] (§6.4 dmarc-uri): digits beyond this
// cannot describe a real limit; we saturate at UINT64_MAX below it.
inline constexpr std::size_t kMaxSizeDigits = 20;

enum class Policy { kNone, kQuarantine, kReject };
enum class AlignmentMode { kRelaxed, kStrict };
// RFC 9989 §4.7 psd=: y (a Public Suffix Domain), n (not one: the
// Organizational Domain), u or absent (let the tree walk decide).
enum class PsdFlag { kUnspecified, kYes, kNo };

// "none", "quarantine", "reject".
std::string_view PolicyName(Policy policy);

// One reporting URI from rua=/ruf= (§6.4 dmarc-uri).
struct ReportUri {
  std::string uri;  // as written, without the size suffix
  // The "!" size limit in bytes (k/m/g/t are powers of two, §6.4), if any.
  std::optional<uint64_t> max_bytes;
  std::string size_suffix;  // the suffix as written, without "!" ("10m")

  bool operator==(const ReportUri&) const = default;
};

struct Record {
  // p=; always set in a successfully parsed record (kNone when the §6.6.3
  // rua rule applied).
  Policy policy = Policy::kNone;
  std::optional<Policy> subdomain_policy;    // sp=
  std::optional<Policy> nonexistent_policy;  // np= (RFC 9989 §4.7)
  int percent = 100;                         // pct=, 0..100
  AlignmentMode dkim_alignment = AlignmentMode::kRelaxed;  // adkim=
  AlignmentMode spf_alignment = AlignmentMode::kRelaxed;   // aspf=
  std::vector<ReportUri> aggregate_uris;  // rua=, valid URIs only
  std::vector<ReportUri> failure_uris;    // ruf=, valid URIs only
  std::vector<char> failure_options = {'0'};              // fo=, each of 0 1 d s
  std::vector<std::string> report_formats = {"afrf"};    // rf=, lowercased
  uint32_t report_interval = 86400;                       // ri=, seconds
  bool testing = false;                                   // t=y (RFC 9989 §4.7)
  PsdFlag psd = PsdFlag::kUnspecified;                    // psd=
  // True when p= was missing or invalid (or sp= invalid) and §6.6.3 step 6's
  // rua rule turned the record into "v=DMARC1; p=none".
  bool policy_from_rua_rule = false;

  bool operator==(const Record&) const = default;
};

enum class RecordError {
  kOk,
  kTooLong,         // longer than kMaxRecordLength
  kNotDmarc,        // does not start with v=DMARC1 (§6.6.3: discard it)
  kDuplicateTag,    // a tag appears twice (§6.3 defines one value per tag)
  kMissingPolicy,   // no p= and no valid rua= (§6.6.3 step 6.2)
  kInvalidPolicy,   // p=/sp= not none/quarantine/reject and no valid rua=
  kInvalidValue,    // only with invalid_values_are_errors: see `issues`
  kTooManyUris,     // rua=/ruf= with more than kMaxReportUris entries
};

// The enumerator's name without the 'k' ("NotDmarc").
std::string_view RecordErrorName(RecordError error);

// A value §6.3 says to discard in favour of the default.
struct RecordIssue {
  std::size_t offset = 0;  // of the tag's value in the record text
  std::string message;
};

struct RecordOptions {
  // Make every discarded value (see RecordIssue) a kInvalidValue error
  // instead. Stricter than RFC 7489 §6.3 asks of receivers; for linting.
  bool invalid_values_are_errors = false;
};

struct RecordResult {
  RecordError error = RecordError::kOk;
  std::size_t offset = 0;  // where parsing stopped (on error)
  std::string message;     // what, where and why (on error)
  Record record;           // valid when ok()
  std::vector<RecordIssue> issues;  // values discarded per §6.3

  bool ok() const { return error == RecordError::kOk; }
};

// Parses one DMARC record (the TXT strings concatenated).
RecordResult ParseRecord(std::string_view text, const RecordOptions& options = {});

// True when `text` starts with the DMARC version tag ("v" *WSP "=" *WSP
// "DMARC1" followed by the end, WSP or ";"): the §6.6.3 step 3 filter that
// decides which TXT records at _dmarc.<domain> count.
bool IsDmarcRecord(std::string_view text);

// Writes `record` in canonical form ("v=DMARC1; p=reject; ..."), only tags
// that differ from their defaults, so ParseRecord(FormatRecord(r)) == r for
// any r that ParseRecord returned (policy_from_rua_rule aside: a formatted
// record always carries p=).
std::string FormatRecord(const Record& record);

}  // namespace mxkit::auth::dmarc

#endif  // MXKIT_AUTH_DMARC_RECORD_H_
