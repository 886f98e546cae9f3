#include "dns/static_resolver.h"

#include <string>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "dns/zone.h"

namespace mxkit::dns {
namespace {

// RFC 1035 §2.3.4: 255 octets on the wire, which is 253 characters of text
// once the length bytes and the root label are taken off.
constexpr size_t kMaxTextNameLength = 253;
// RFC 1035 §2.3.4.
constexpr size_t kMaxLabelLength = 63;

// abseil here predates std::string_view interop.
absl::string_view Av(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string_view StripTrailingDot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

// The map key for a name: lower case (RFC 4343 §3: ASCII case-insensitive),
// no trailing dot.
std::string Key(std::string_view name) {
  return absl::AsciiStrToLower(Av(StripTrailingDot(name)));
}

// Empty string when `name` can be looked up; otherwise why not.
std::string CheckName(std::string_view name) {
  std::string_view bare = StripTrailingDot(name);
  if (bare.size() > kMaxTextNameLength) {
    return absl::StrCat("name is ", bare.size(), " characters long, the limit is ",
                        kMaxTextNameLength, " (RFC 1035 §2.3.4)");
  }
  if (bare.empty()) return "";  // the root
  size_t start = 0;
  while (true) {
    size_t dot = bare.find('.', start);
    size_t end = dot == std::string_view::npos ? bare.size() : dot;
    if (end == start) return "name has an empty label";
    if (end - start > kMaxLabelLength) {
      return absl::StrCat("label of ", end - start, " characters, the limit is ",
                          kMaxLabelLength, " (RFC 1035 §2.3.4)");
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return "";
}

LookupResult Fail(LookupStatus status, std::string detail) {
  LookupResult result;
  result.status = status;
  result.detail = std::move(detail);
  return result;
}

}  // namespace

StaticResolver::StaticResolver() = default;

void StaticResolver::Add(ResourceRecord record) {
  record.name = std::string(StripTrailingDot(record.name));
  records_[Key(record.name)].push_back(std::move(record));
  ++record_count_;
}

void StaticResolver::AddFault(std::string_view name, Fault fault) {
  faults_[Key(name)].every_type = fault;
}

void StaticResolver::AddFault(std::string_view name, RrType type, Fault fault) {
  faults_[Key(name)].by_type[type] = fault;
}

absl::Status StaticResolver::LoadZone(std::string_view text, std::string_view filename) {
  absl::StatusOr<Zone> zone = ParseZone(text, filename);
  if (!zone.ok()) return zone.status();
  for (ResourceRecord& record : zone->records) Add(std::move(record));
  for (const ZoneFault& fault : zone->faults) {
    if (fault.type) {
      AddFault(fault.name, *fault.type, fault.fault);
    } else {
      AddFault(fault.name, fault.fault);
    }
  }
  return absl::OkStatus();
}

void StaticResolver::Lookup(std::string_view name, RrType type, Callback done) {
  done(Resolve(name, type));
}

LookupResult StaticResolver::Resolve(std::string_view name, RrType type) const {
  if (std::string why = CheckName(name); !why.empty()) {
    return Fail(LookupStatus::kPermanentFailure, absl::StrCat("\"", Av(name), "\": ", why));
  }
  LookupResult result;
  std::string key = Key(name);
  absl::flat_hash_set<std::string> visited;
  while (true) {
    if (auto faults = faults_.find(key); faults != faults_.end()) {
      std::optional<Fault> fault = faults->second.every_type;
      if (!fault) {
        auto by_type = faults->second.by_type.find(type);
        if (by_type != faults->second.by_type.end()) fault = by_type->second;
      }
      if (fault) {
        result.status = LookupStatus::kTemporaryFailure;
        result.records.clear();
        result.detail = *fault == Fault::kTimeout ? "timeout" : "SERVFAIL";
        return result;
      }
    }
    visited.insert(key);
    auto found = records_.find(key);
    if (found == records_.end() || found->second.empty()) {
      result.status = LookupStatus::kNxDomain;
      return result;
    }
    const ResourceRecord* cname = nullptr;
    for (const ResourceRecord& record : found->second) {
      if (record.type == type) result.records.push_back(record);
      if (record.type == RrType::kCname && cname == nullptr) cname = &record;
    }
    if (!result.records.empty()) {
      result.status = LookupStatus::kAnswer;
      return result;
    }
    // RFC 1034 §3.6.2: a CNAME owner has no other data, so the query restarts
    // at the canonical name (unless the CNAME itself was asked for).
    if (cname == nullptr || type == RrType::kCname) {
      result.status = LookupStatus::kNoData;
      return result;
    }
    const auto* target = std::get_if<NameData>(&cname->data);
    if (target == nullptr) {
      return Fail(LookupStatus::kPermanentFailure,
                  absl::StrCat("CNAME at ", cname->name, " has no target name"));
    }
    result.cname_chain.push_back(*cname);
    if (result.cname_chain.size() > kMaxCnameChain) {
      return Fail(LookupStatus::kPermanentFailure,
                  absl::StrCat("CNAME chain from ", Av(name), " is longer than ", kMaxCnameChain));
    }
    key = Key(target->name);
    if (visited.contains(key)) {
      return Fail(LookupStatus::kPermanentFailure,
                  absl::StrCat("CNAME loop at ", target->name, " while resolving ", Av(name)));
    }
  }
}

}  // namespace mxkit::dns
