#include "fuzz/evaluator_input.h"

#include <utility>
#include <variant>

#include "base/ascii.h"

namespace mxkit::fuzz {

uint64_t CompletionOrderSeed(std::string_view input) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : input) {
    h ^= static_cast<uint8_t>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::optional<FramedInput> SplitFramedInput(std::string_view input) {
  size_t line_start = 0;
  while (line_start <= input.size()) {
    size_t end = input.find('\n', line_start);
    std::string_view line =
        input.substr(line_start, end == std::string_view::npos ? std::string_view::npos : end - line_start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "%%") {
      FramedInput out;
      out.zone = input.substr(0, line_start);
      out.query = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
      return out;
    }
    if (end == std::string_view::npos) break;
    line_start = end + 1;
  }
  return std::nullopt;
}

std::optional<FramedInput> LoadFramedInput(std::string_view input, dns::StaticResolver& zone) {
  std::optional<FramedInput> framed = SplitFramedInput(input);
  if (!framed || !zone.LoadZone(framed->zone, "fuzz.zone").ok()) return std::nullopt;
  return framed;
}

std::string CanonicalName(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return base::AsciiLower(name);
}

bool IsVoid(dns::LookupStatus status) {
  return status == dns::LookupStatus::kNxDomain || status == dns::LookupStatus::kNoData;
}

void CountingResolver::Record(std::string_view name, dns::RrType type,
                              const dns::LookupResult& result) {
  Query q{CanonicalName(name), std::string(name), type, result.status, {}};
  for (const dns::ResourceRecord& rr : result.records) {
    if (const auto* mx = std::get_if<dns::MxData>(&rr.data)) {
      q.targets.push_back(CanonicalName(mx->exchange));
    } else if (const auto* ptr = std::get_if<dns::NameData>(&rr.data); ptr && type == dns::RrType::kPtr) {
      q.targets.push_back(CanonicalName(ptr->name));
    }
  }
  queries_.push_back(std::move(q));
}

void CountingResolver::Lookup(std::string_view name, dns::RrType type, Callback done) {
  dns::LookupResult result = inner_.LookupSync(name, type);
  Record(name, type, result);
  done(std::move(result));
}

dns::LookupResult CountingResolver::LookupSync(std::string_view name, dns::RrType type) {
  dns::LookupResult result = inner_.LookupSync(name, type);
  Record(name, type, result);
  return result;
}

std::size_t CountingResolver::Count(dns::RrType type) const {
  std::size_t n = 0;
  for (const Query& q : queries_) n += q.type == type;
  return n;
}

}  // namespace mxkit::fuzz
