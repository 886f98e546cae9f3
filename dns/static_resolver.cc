#include "dns/static_resolver.h"

#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "dns/zone.h"

namespace mxkit::dns {
namespace {

// RFC 1035 §2.3.4: 255 octets on the wire, which is 253 characters of text
// once the length bytes and the root label are taken off.
constexpr size_t kMaxTextNameLength = 253;
// RFC 1035 §2.3.4.
constexpr size_t kMaxLabelLength = 63;

using base::Av;

std::string_view StripTrailingDot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

// The map key for a name: lower case (RFC 4343 §3: ASCII case-insensitive),
// no trailing dot.
std::string Key(std::string_view name) {
  return absl::AsciiStrToLower(Av(StripTrailingDot(name)));
}

// The same key as Key(name), built in place so a lookup (several per SPF
// check) allocates nothing for names of legal length. Longer names can still
// arrive as CNAME targets; those take the heap.
class FoldedKey {
 public:
  FoldedKey() = default;
  FoldedKey(const FoldedKey&) = delete;
  FoldedKey& operator=(const FoldedKey&) = delete;

  // Folds `name` and reports whether it is well formed in the same pass:
  // at most kMaxTextNameLength characters, no empty label (except the root,
  // which is empty), no label over kMaxLabelLength (RFC 1035 §2.3.4).
  // The key is built either way.
  bool Assign(std::string_view name) {
    name = StripTrailingDot(name);
    char* out = buffer_;
    if (name.size() > sizeof(buffer_)) {
      heap_.resize(name.size());
      out = heap_.data();
    }
    bool well_formed = name.size() <= kMaxTextNameLength;
    size_t label = 0;
    for (size_t i = 0; i < name.size(); ++i) {
      char c = name[i];
      out[i] = absl::ascii_tolower(static_cast<unsigned char>(c));
      if (c == '.') {
        if (label == 0) well_formed = false;
        label = 0;
      } else if (++label > kMaxLabelLength) {
        well_formed = false;
      }
    }
    if (!name.empty() && label == 0) well_formed = false;
    view_ = absl::string_view(out, name.size());
    return well_formed;
  }

  absl::string_view view() const { return view_; }

 private:
  char buffer_[kMaxTextNameLength];
  std::string heap_;
  absl::string_view view_;
};

// Empty string when `name` can be looked up; otherwise why not. FoldedKey
// makes the same decision on the fast path; this says why.
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
  std::string key = Key(record.name);
  // RFC 8020 §2: a name with anything below it exists, so every ancestor up
  // to the root gets a node (an empty non-terminal when it has no records,
  // RFC 4592 §2.2.2). Every node's ancestors already have nodes, so the walk
  // stops at the first one that exists.
  std::string_view ancestor = key;
  while (!ancestor.empty()) {
    size_t dot = ancestor.find('.');
    ancestor = dot == std::string_view::npos ? std::string_view() : ancestor.substr(dot + 1);
    if (!names_.try_emplace(std::string(ancestor)).second) break;
  }
  names_[std::move(key)].records.push_back(std::move(record));
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

LookupResult StaticResolver::LookupSync(std::string_view name, RrType type) {
  return Resolve(name, type);
}

bool StaticResolver::LookupInline(std::string_view name, RrType type, LookupResult& out) {
  out = Resolve(name, type);
  return true;
}

LookupResult StaticResolver::Resolve(std::string_view name, RrType type) const {
  FoldedKey key;
  if (!key.Assign(name)) {
    return Fail(LookupStatus::kPermanentFailure,
                absl::StrCat("\"", Av(name), "\": ", CheckName(name)));
  }
  LookupResult result;
  while (true) {
    if (!faults_.empty()) {
      if (auto faults = faults_.find(key.view()); faults != faults_.end()) {
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
    }
    auto found = names_.find(key.view());
    if (found == names_.end()) {
      result.status = LookupStatus::kNxDomain;
      return result;
    }
    const std::vector<ResourceRecord>& records = found->second.records;
    size_t matches = 0;
    const ResourceRecord* cname = nullptr;
    for (const ResourceRecord& record : records) {
      if (record.type == type) ++matches;
      if (record.type == RrType::kCname && cname == nullptr) cname = &record;
    }
    if (matches > 0) {
      result.records.reserve(matches);
      for (const ResourceRecord& record : records) {
        if (record.type == type) result.records.push_back(record);
      }
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
    // The names visited so far are exactly the owners of the CNAMEs followed
    // (a record is stored under Key(record.name)), at most kMaxCnameChain of
    // them, so a linear scan finds a loop without building a set per lookup.
    key.Assign(target->name);
    for (const ResourceRecord& followed : result.cname_chain) {
      if (absl::EqualsIgnoreCase(Av(StripTrailingDot(followed.name)), key.view())) {
        return Fail(LookupStatus::kPermanentFailure,
                    absl::StrCat("CNAME loop at ", target->name, " while resolving ", Av(name)));
      }
    }
  }
}

}  // namespace mxkit::dns
