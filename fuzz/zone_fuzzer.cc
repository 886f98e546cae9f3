// Fuzzes the zone-file parser (//dns:zone) and StaticResolver over what it
// loads. Properties: an error names a line that exists in the input and a
// column within that line; a parsed zone written back by FormatZone parses
// to the same records and faults (escaped names included); every record
// loaded is answered for its own name and type (or fails with the fault
// injected for that name); a record that fits a DNS message survives the
// wire codec unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "dns/message.h"
#include "dns/static_resolver.h"
#include "dns/zone.h"

namespace {

bool NeedsEscape(std::string_view name) {
  for (char c : name) {
    auto byte = static_cast<unsigned char>(c);
    if (byte < 0x21 || byte > 0x7e || c == '\\') return true;
  }
  return false;
}

bool HasOctetNeedingEscape(const mxkit::dns::ResourceRecord& record) {
  using namespace mxkit::dns;
  if (NeedsEscape(record.name)) return true;
  if (const auto* n = std::get_if<NameData>(&record.data)) return NeedsEscape(n->name);
  if (const auto* mx = std::get_if<MxData>(&record.data)) return NeedsEscape(mx->exchange);
  if (const auto* soa = std::get_if<SoaData>(&record.data)) {
    return NeedsEscape(soa->mname) || NeedsEscape(soa->rname);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mxkit::dns;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t lines = 1;
  for (char c : input) lines += c == '\n';

  ZoneError error;
  absl::StatusOr<Zone> zone = ParseZone(input, "fuzz.zone", "", &error);
  if (!zone.ok()) {
    if (error.line < 1 || error.line > lines) __builtin_trap();
    if (error.message.empty()) __builtin_trap();
    if (error.column > 0) {
      // The column is inside the line (1-based; the line's end is allowed,
      // for an escape cut off by it).
      size_t start = 0;
      for (size_t l = 1; l < error.line; ++l) start = input.find('\n', start) + 1;
      size_t end = input.find('\n', start);
      if (end == std::string_view::npos) end = input.size();
      if (error.column > end - start + 1) __builtin_trap();
    }
    std::string prefix = "fuzz.zone:" + std::to_string(error.line) +
                         (error.column > 0 ? ":" + std::to_string(error.column) : "") + ": ";
    if (zone.status().message().substr(0, prefix.size()) != prefix) __builtin_trap();
    return 0;
  }

  // Round trip: every zone ParseZone accepts, FormatZone can write, and
  // the text reads back the same.
  absl::StatusOr<std::string> written = FormatZone(*zone);
  if (!written.ok()) __builtin_trap();
  absl::StatusOr<Zone> again = ParseZone(*written, "written.zone");
  if (!again.ok() || again->records.size() != zone->records.size() ||
      again->faults.size() != zone->faults.size()) {
    __builtin_trap();
  }
  for (size_t i = 0; i < zone->records.size(); ++i) {
    if (!(ToWireRecord(again->records[i]) == ToWireRecord(zone->records[i]))) __builtin_trap();
  }
  for (size_t i = 0; i < zone->faults.size(); ++i) {
    const ZoneFault& a = again->faults[i];
    const ZoneFault& b = zone->faults[i];
    if (a.name != b.name || a.fault != b.fault || a.type != b.type) __builtin_trap();
  }

  StaticResolver resolver;
  if (!resolver.LoadZone(input, "fuzz.zone").ok()) __builtin_trap();
  if (resolver.size() != zone->records.size()) __builtin_trap();
  // Names faulted for every type ("*") or for one type ("TYPE<n>").
  absl::flat_hash_set<std::string> faulted;
  auto fault_key = [](std::string_view name, std::string_view type) {
    return absl::StrCat(absl::AsciiStrToLower(absl::string_view(name.data(), name.size())), " ",
                        absl::string_view(type.data(), type.size()));
  };
  for (const ZoneFault& f : zone->faults) {
    faulted.insert(fault_key(f.name, f.type ? std::to_string(static_cast<int>(*f.type)) : "*"));
  }

  size_t checked = 0;
  for (const ResourceRecord& record : zone->records) {
    if (++checked > 64) break;  // keeps each input fast; the rest is the same code
    LookupResult r = resolver.LookupSync(record.name, record.type);
    if (faulted.contains(fault_key(record.name, "*")) ||
        faulted.contains(fault_key(record.name, std::to_string(static_cast<int>(record.type))))) {
      if (r.status != LookupStatus::kTemporaryFailure) __builtin_trap();
    } else if (r.status != LookupStatus::kAnswer || r.records.empty()) {
      __builtin_trap();
    }

    // dns/message.h speaks presentation text ("a\\032b"), zones give octets
    // ("a b"); where the two differ the wire comparison would compare forms,
    // not values, and the FormatZone round trip above covers those names.
    if (HasOctetNeedingEscape(record)) continue;
    Message m;
    m.answers.push_back(ToWireRecord(record));
    WireResult<std::string> wire = BuildMessage(m);
    if (!wire.ok()) {
      if (wire.error().kind != WireErrorKind::kTooLarge) __builtin_trap();
      continue;
    }
    WireResult<Message> back = ParseMessage(*wire);
    if (!back.ok() || back->answers.size() != 1 || !(back->answers[0] == m.answers[0])) {
      __builtin_trap();
    }
  }
  return 0;
}
