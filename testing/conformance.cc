#include "testing/conformance.h"

#include <cstdio>
#include <cstdlib>

namespace mxkit::testing {

bool ConformanceRequired() {
  const char* value = std::getenv(kRequireConformanceVariable);
  return value != nullptr && *value != '\0' && std::string_view(value) != "0";
}

std::string SharedDir() {
  const char* value = std::getenv("MXKIT_SHARED_DIR");
  return value == nullptr ? "" : value;
}

std::string MissingMessage(std::string_view missing, bool required) {
  std::string out(missing);
  if (required) {
    out += " [failing instead of skipping because MXKIT_REQUIRE_CONFORMANCE is set]";
  } else {
    out += " [skipped; MXKIT_REQUIRE_CONFORMANCE=1 makes this a failure]";
  }
  return out;
}

void NoteMissingOrFail(std::string_view missing) {
  if (ConformanceRequired()) {
    ADD_FAILURE() << MissingMessage(missing, true);
    return;
  }
  std::string message(missing);
  std::printf("note: %s\n", message.c_str());
}

}  // namespace mxkit::testing
