// A Resolver test double that answers nothing until the test says so: every
// Lookup is queued, and the test completes queued lookups one at a time, in
// the order it chooses (shuffled, reversed, by name), with the answers of the
// wrapped resolver. Asynchronous evaluators must give the same results as
// their synchronous wrappers whatever the completion order, and must not
// complete before their lookups are answered; this is how tests and fuzz
// targets check both.

#ifndef MXKIT_DNS_TESTING_DEFERRED_RESOLVER_H_
#define MXKIT_DNS_TESTING_DEFERRED_RESOLVER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.h"

namespace mxkit::dns::testing {

class DeferredResolver : public Resolver {
 public:
  struct Pending {
    std::string name;
    RrType type;
    Callback done;
  };

  // Answers come from `answers.LookupSync`, which must outlive this.
  explicit DeferredResolver(Resolver& answers) : answers_(answers) {}
  // Completes nothing: a test that leaves lookups queued leaks their callers,
  // which ASan reports, so tests should Drain before the end.
  ~DeferredResolver() override = default;

  // Queues the lookup; `done` runs only from Complete/Drain.
  void Lookup(std::string_view name, RrType type, Callback done) override;
  // Answers at once (never queued), for code that blocks on purpose.
  LookupResult LookupSync(std::string_view name, RrType type) override;

  std::size_t pending() const { return queue_.size(); }
  const std::vector<Pending>& queue() const { return queue_; }
  // Lookups started so far (answered or not).
  std::size_t started() const { return started_; }

  // Answers the queued lookup at `index` (< pending()), removing it from the
  // queue before its callback runs (which may queue more).
  void Complete(std::size_t index);

  // Completes queued lookups, including those they cause, until none is
  // left, choosing each next one with a deterministic generator seeded by
  // `seed` (seed 0: always the newest, the order most unlike inline
  // completion). Returns how many it completed. Stops after `max_steps`
  // completions so a runaway evaluator cannot hang a test.
  std::size_t Drain(uint64_t seed, std::size_t max_steps = 100000);

 private:
  Resolver& answers_;
  std::vector<Pending> queue_;
  std::size_t started_ = 0;
};

}  // namespace mxkit::dns::testing

#endif  // MXKIT_DNS_TESTING_DEFERRED_RESOLVER_H_
