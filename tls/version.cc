#include "tls/version.h"

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"

namespace mxkit::tls {
namespace {

using base::Av;

struct NamedVersion {
  std::string_view number;  // as users write it: "1.2"
  std::string_view name;    // as SSL_get_version spells it
  TlsVersion version;
};

constexpr NamedVersion kVersions[] = {
    {"1.0", "TLSv1", TlsVersion::kTls10},
    {"1.1", "TLSv1.1", TlsVersion::kTls11},
    {"1.2", "TLSv1.2", TlsVersion::kTls12},
    {"1.3", "TLSv1.3", TlsVersion::kTls13},
};

constexpr std::string_view kKnown = "1.0, 1.1, 1.2, 1.3";

absl::StatusOr<TlsVersion> ParseOne(std::string_view part, std::string_view what,
                                    std::string_view whole) {
  for (const NamedVersion& v : kVersions) {
    if (part == v.number) return v.version;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "TLS version range \"", Av(whole), "\": ", Av(what), " \"", Av(part),
      "\" is not a TLS version (there are ", Av(kKnown), ")"));
}

std::string_view Number(TlsVersion version) {
  for (const NamedVersion& v : kVersions) {
    if (v.version == version) return v.number;
  }
  return "?";
}

}  // namespace

absl::StatusOr<VersionRange> ParseVersionRange(std::string_view text) {
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS version range is empty; write one version or MIN-MAX, from ", Av(kKnown)));
  }
  const size_t dash = text.find('-');
  VersionRange range;
  if (dash == std::string_view::npos) {
    auto v = ParseOne(text, "version", text);
    if (!v.ok()) return v.status();
    range.min = range.max = *v;
    return range;
  }
  auto min = ParseOne(text.substr(0, dash), "minimum", text);
  if (!min.ok()) return min.status();
  auto max = ParseOne(text.substr(dash + 1), "maximum", text);
  if (!max.ok()) return max.status();
  if (static_cast<uint16_t>(*min) > static_cast<uint16_t>(*max)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLS version range \"", Av(text), "\": minimum ", Av(Number(*min)),
        " is above maximum ", Av(Number(*max))));
  }
  range.min = *min;
  range.max = *max;
  return range;
}

std::string FormatVersionRange(const VersionRange& range) {
  if (range.min == range.max) return std::string(Number(range.min));
  return absl::StrCat(Av(Number(range.min)), "-", Av(Number(range.max)));
}

std::string_view VersionName(TlsVersion version) {
  for (const NamedVersion& v : kVersions) {
    if (v.version == version) return v.name;
  }
  return "unknown";
}

bool VersionFromWire(uint16_t wire, TlsVersion* version) {
  for (const NamedVersion& v : kVersions) {
    if (static_cast<uint16_t>(v.version) == wire) {
      *version = v.version;
      return true;
    }
  }
  return false;
}

}  // namespace mxkit::tls
