// Fuzzes the MTA-STS parsers (RFC 8461 §3.1 TXT record, §3.2 policy text) and
// checks properties: errors point inside the text; a parsed policy honours
// every limit the header promises; FormatStsPolicy output parses back to the
// same text; a parsed TXT record's id is 1-32 letters and digits; every mx
// pattern of a policy matches a host built from it, and never the bare
// suffix under a wildcard (RFC 8461 §4.1).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/ascii.h"
#include "fuzz/property_check.h"
#include "policy/mta_sts.h"

using namespace mxkit::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  StsPolicyResult result = ParseStsPolicy(text);
  if (!result.ok()) {
    const StsPolicyError& e = result.error();
    MXKIT_FUZZ_CHECK(e.line >= 1 && e.column >= 1);
    MXKIT_FUZZ_CHECK(!e.message.empty());
    const size_t lines = static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    MXKIT_FUZZ_CHECK(e.line <= lines);
    MXKIT_FUZZ_CHECK(!result.status().ok());
  } else {
    const StsPolicy& p = result.policy();
    MXKIT_FUZZ_CHECK(p.max_age <= kMaxStsMaxAge);
    MXKIT_FUZZ_CHECK(p.mode == StsMode::kNone || !p.mx.empty());
    for (const std::string& mx : p.mx) {
      const bool wildcard = mx.size() > 2 && mx[0] == '*' && mx[1] == '.';
      const std::string suffix = wildcard ? mx.substr(2) : mx;
      MXKIT_FUZZ_CHECK(CheckDomainSyntax(suffix).ok());
      if (wildcard) {
        MXKIT_FUZZ_CHECK(MxPatternMatches(mx, "x." + suffix));
        MXKIT_FUZZ_CHECK(!MxPatternMatches(mx, suffix));
        MXKIT_FUZZ_CHECK(!MxPatternMatches(mx, "a.b." + suffix));
      } else {
        MXKIT_FUZZ_CHECK(MxPatternMatches(mx, mxkit::base::AsciiUpper(mx) + "."));
      }
      MXKIT_FUZZ_CHECK(StsPolicyAllowsMx(p, wildcard ? "x." + suffix : mx));
    }
    const std::string formatted = FormatStsPolicy(p);
    StsPolicyResult again = ParseStsPolicy(formatted);
    MXKIT_FUZZ_CHECK(again.ok());
    MXKIT_FUZZ_CHECK(FormatStsPolicy(again.policy()) == formatted);
  }

  auto record = ParseStsTxtRecord(text);
  if (record.ok()) {
    MXKIT_FUZZ_CHECK(!record->id.empty() && record->id.size() <= kMaxStsIdLength);
    MXKIT_FUZZ_CHECK(std::all_of(record->id.begin(), record->id.end(), mxkit::base::IsAlnum));
    MXKIT_FUZZ_CHECK(text.substr(0, 7) == "v=STSv1");
    for (const auto& [name, value] : record->extensions) {
      MXKIT_FUZZ_CHECK(!name.empty() && name.size() <= kMaxStsExtensionNameLength);
      MXKIT_FUZZ_CHECK(!value.empty());
    }
  }
  // Discovery over the input split at NULs: never more lenient than parsing.
  std::vector<std::string> records;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t nul = text.find('\0', start);
    records.emplace_back(text.substr(start, nul == std::string_view::npos ? nul : nul - start));
    if (nul == std::string_view::npos) break;
    start = nul + 1;
  }
  auto discovered = DiscoverStsTxtRecord(records);
  if (discovered.ok()) {
    // RFC 8461 §3.1: only records beginning "v=STSv1" *WSP ";" count, so
    // "v=STSv1oly" beside a real record still leaves exactly one.
    size_t versioned = 0;
    for (const std::string& r : records) {
      if (r.rfind("v=STSv1", 0) != 0) continue;
      const size_t field = r.find_first_not_of(" \t", 7);
      versioned += field != std::string::npos && r[field] == ';' ? 1 : 0;
    }
    MXKIT_FUZZ_CHECK(versioned == 1);
  }
  return 0;
}
