// Skip or fail: what a test does when the conformance data or the peer it
// compares against is absent.
//
// A downstream user without ../shared or the Python peers gets a skip that
// says what is missing. CI sets MXKIT_REQUIRE_CONFORMANCE=1 (.ci/run, passed
// into tests by .bazelrc), and then the same absence is a failure: a check
// that did not run must not look like a check that passed.

#ifndef MXKIT_TESTING_CONFORMANCE_H_
#define MXKIT_TESTING_CONFORMANCE_H_

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace mxkit::testing {

// The environment variable that turns a skip into a failure.
inline constexpr char kRequireConformanceVariable[] = "MXKIT_REQUIRE_CONFORMANCE";

// True when MXKIT_REQUIRE_CONFORMANCE is set to anything but "" or "0".
bool ConformanceRequired();

// $MXKIT_SHARED_DIR, or "" when it is unset or empty.
std::string SharedDir();

// The text a skip or failure carries: `missing` (what was looked for, where,
// and how to get it) and which of the two this is and why.
std::string MissingMessage(std::string_view missing, bool required);

// For a test that can still run in part without the data: a failure when
// conformance is required, otherwise a "note:" line on stdout.
void NoteMissingOrFail(std::string_view missing);

}  // namespace mxkit::testing

// Ends the current test: GTEST_FAIL when conformance is required, GTEST_SKIP
// otherwise, either way with MissingMessage(missing). Use it where gtest's
// own macros go (inside a TEST body, or a function returning void).
#define MXKIT_SKIP_OR_FAIL(missing)                                                        \
  switch (0)                                                                               \
  case 0:                                                                                  \
  default:                                                                                 \
    if (::mxkit::testing::ConformanceRequired())                                           \
      GTEST_FAIL() << ::mxkit::testing::MissingMessage((missing), true);                   \
    else                                                                                   \
      GTEST_SKIP() << ::mxkit::testing::MissingMessage((missing), false)

#endif  // MXKIT_TESTING_CONFORMANCE_H_
