// The fuzzers' property check: names the violated property and where before
// trapping, so a crash report says which property broke, not only that one
// did. One home for every target that checks more than "did not crash".

#ifndef MXKIT_FUZZ_PROPERTY_CHECK_H_
#define MXKIT_FUZZ_PROPERTY_CHECK_H_

#include <cstdio>

#define MXKIT_FUZZ_CHECK(ok)                                             \
  do {                                                                   \
    if (!(ok)) {                                                         \
      std::fprintf(stderr, "property violated at %s:%d: %s\n", __FILE__, \
                   __LINE__, #ok);                                       \
      __builtin_trap();                                                  \
    }                                                                    \
  } while (0)

#endif  // MXKIT_FUZZ_PROPERTY_CHECK_H_
