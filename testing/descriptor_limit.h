// Makes the process's next new descriptor fail with EMFILE, for tests of how
// a listener handles a failed accept (it must pause, not spin: the
// connection stays in the backlog and the acceptor readable).

#ifndef MXKIT_TESTING_DESCRIPTOR_LIMIT_H_
#define MXKIT_TESTING_DESCRIPTOR_LIMIT_H_

#include <sys/resource.h>
#include <unistd.h>

namespace mxkit::testing {

// Lowers RLIMIT_NOFILE to the lowest free descriptor for as long as it
// lives (or until Restore()). Open the sockets the test itself needs first.
class ScopedDescriptorExhaustion {
 public:
  ScopedDescriptorExhaustion() {
    if (getrlimit(RLIMIT_NOFILE, &saved_) != 0) return;
    const int lowest_free = dup(0);
    if (lowest_free < 0) return;
    close(lowest_free);
    rlimit lowered = saved_;
    lowered.rlim_cur = static_cast<rlim_t>(lowest_free);
    ok_ = setrlimit(RLIMIT_NOFILE, &lowered) == 0;
  }
  ~ScopedDescriptorExhaustion() { Restore(); }
  ScopedDescriptorExhaustion(const ScopedDescriptorExhaustion&) = delete;
  ScopedDescriptorExhaustion& operator=(const ScopedDescriptorExhaustion&) = delete;

  // Whether the limit was lowered.
  bool ok() const { return ok_; }
  // The limit as it was; true when restored (or never lowered).
  bool Restore() {
    if (!ok_) return true;
    ok_ = false;
    return setrlimit(RLIMIT_NOFILE, &saved_) == 0;
  }

 private:
  rlimit saved_{};
  bool ok_ = false;
};

}  // namespace mxkit::testing

#endif  // MXKIT_TESTING_DESCRIPTOR_LIMIT_H_
