// Fuzzes the zone-file parser (//dns:zone) and StaticResolver over what it
// loads. Properties: an error names a line that exists in the input; every
// record loaded is answered for its own name and type (or fails with the
// fault injected for that name); a record that fits a DNS message survives
// the wire codec unchanged.

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
    std::string prefix = "fuzz.zone:" + std::to_string(error.line) + ": ";
    if (zone.status().message().substr(0, prefix.size()) != prefix) __builtin_trap();
    return 0;
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
