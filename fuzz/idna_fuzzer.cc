// Fuzzes the U-label to A-label conversion (dns/idna.h). Properties: ASCII
// input comes back unchanged; a success is ASCII, has no uppercase letters,
// fits in 253 characters (254 with a trailing dot) and converts to itself
// again; a failure has a message and no name.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dns/idna.h"

namespace {

void Check(bool property) {
  if (!property) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  mxkit::dns::IdnaResult r = mxkit::dns::ToALabels(input);
  if (!mxkit::dns::HasNonAscii(input)) {
    Check(r.ok() && r.name == input);
    return 0;
  }
  if (!r.ok()) {
    Check(r.name.empty());
    return 0;
  }
  Check(!mxkit::dns::HasNonAscii(r.name));
  for (char c : r.name) Check(!(c >= 'A' && c <= 'Z'));
  Check(r.name.size() <= 254);
  mxkit::dns::IdnaResult again = mxkit::dns::ToALabels(r.name);
  Check(again.ok() && again.name == r.name);
  return 0;
}
