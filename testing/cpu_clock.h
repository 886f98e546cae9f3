// CPU clocks for benchmarks that must compare two implementations on a shared
// machine: wall time would charge each side for other processes, so ratios
// are taken in CPU time (clock_gettime(2)).

#ifndef MXKIT_TESTING_CPU_CLOCK_H_
#define MXKIT_TESTING_CPU_CLOCK_H_

#include <time.h>

namespace mxkit::testing {

// CPU seconds this thread has used.
inline double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// CPU seconds this process (all its threads) has used.
inline double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

}  // namespace mxkit::testing

#endif  // MXKIT_TESTING_CPU_CLOCK_H_
