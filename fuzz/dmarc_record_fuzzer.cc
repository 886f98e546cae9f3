// Fuzzes the DMARC record parser (RFC 7489 §6.3/§6.4, RFC 9989 §4.7) and
// checks properties: errors and issues stay inside the input; only records
// passing the §6.6.3 v=DMARC1 filter parse; FormatRecord output parses back
// to the same record; the linting mode accepts only what the default mode
// accepts without discarding anything.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dmarc/record.h"

namespace {

using mxkit::auth::dmarc::FormatRecord;
using mxkit::auth::dmarc::ParseRecord;
using mxkit::auth::dmarc::Record;
using mxkit::auth::dmarc::RecordError;
using mxkit::auth::dmarc::RecordOptions;
using mxkit::auth::dmarc::RecordResult;

void Check(bool property) {
  if (!property) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  RecordResult r = ParseRecord(text);
  for (const auto& issue : r.issues) {
    Check(issue.offset <= text.size());
    Check(!issue.message.empty());
  }
  RecordOptions lint;
  lint.invalid_values_are_errors = true;
  RecordResult strict = ParseRecord(text, lint);
  if (!r.ok()) {
    Check(r.offset <= text.size() || r.error == RecordError::kTooLong);
    Check(!r.message.empty());
    Check(mxkit::auth::dmarc::IsDmarcRecord(text) || r.error == RecordError::kNotDmarc ||
          r.error == RecordError::kTooLong);
    Check(!strict.ok());
    return 0;
  }
  Check(mxkit::auth::dmarc::IsDmarcRecord(text));
  Check(r.record.percent >= 0 && r.record.percent <= 100);
  if (strict.ok()) {
    Check(r.issues.empty());
    Check(strict.record == r.record);
  } else {
    Check(strict.error == RecordError::kInvalidValue || strict.error == RecordError::kDuplicateTag);
    Check(!r.issues.empty());
  }

  std::string formatted = FormatRecord(r.record);
  RecordResult again = ParseRecord(formatted, lint);
  Check(again.ok());
  Record expected = r.record;
  expected.policy_from_rua_rule = false;  // a formatted record always has p=
  Check(again.record == expected);
  Check(FormatRecord(again.record) == formatted);
  return 0;
}
