#include "dns/zone.h"

#include "absl/status/status.h"

namespace mxkit::dns {

absl::StatusOr<Zone> ParseZone(std::string_view text, std::string_view filename,
                               std::string_view origin, ZoneError* error) {
  // The real parser lands in the next commit; until then say so loudly.
  return absl::UnimplementedError("dns/zone.cc: zone file parsing is not implemented yet");
}

}  // namespace mxkit::dns
