#include "dns/resolver.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace mxkit::dns {

std::string RrTypeName(RrType type) {
  switch (type) {
    case RrType::kA: return "A";
    case RrType::kNs: return "NS";
    case RrType::kCname: return "CNAME";
    case RrType::kSoa: return "SOA";
    case RrType::kPtr: return "PTR";
    case RrType::kMx: return "MX";
    case RrType::kTxt: return "TXT";
    case RrType::kAaaa: return "AAAA";
    case RrType::kTlsa: return "TLSA";
  }
  return "TYPE" + std::to_string(static_cast<uint16_t>(type));
}

TxtData SplitIntoCharacterStrings(std::string_view text) {
  constexpr size_t kMaxCharacterString = 255;  // RFC 1035 §3.3
  TxtData txt;
  do {
    txt.strings.emplace_back(text.substr(0, kMaxCharacterString));
    text.remove_prefix(std::min(text.size(), kMaxCharacterString));
  } while (!text.empty());
  return txt;
}

LookupResult Resolver::LookupSync(std::string_view name, RrType type) {
  std::optional<LookupResult> result;
  Lookup(name, type, [&result](LookupResult r) { result = std::move(r); });
  if (!result) {
    LookupResult failed;
    failed.status = LookupStatus::kTemporaryFailure;
    failed.detail = "resolver did not complete the lookup synchronously";
    return failed;
  }
  return std::move(*result);
}

}  // namespace mxkit::dns
