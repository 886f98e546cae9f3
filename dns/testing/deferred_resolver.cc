#include "dns/testing/deferred_resolver.h"

#include <utility>

namespace mxkit::dns::testing {

void DeferredResolver::Lookup(std::string_view name, RrType type, Callback done) {
  ++started_;
  queue_.push_back(Pending{std::string(name), type, std::move(done)});
}

LookupResult DeferredResolver::LookupSync(std::string_view name, RrType type) {
  return answers_.LookupSync(name, type);
}

void DeferredResolver::Complete(std::size_t index) {
  Pending p = std::move(queue_[index]);
  queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(index));
  p.done(answers_.LookupSync(p.name, p.type));
}

std::size_t DeferredResolver::Drain(uint64_t seed, std::size_t max_steps) {
  // splitmix64: tiny, deterministic across platforms (std:: distributions
  // are not), and good enough to shuffle completion order.
  uint64_t state = seed;
  std::size_t steps = 0;
  while (!queue_.empty() && steps < max_steps) {
    std::size_t index = queue_.size() - 1;
    if (seed != 0) {
      uint64_t z = (state += 0x9E3779B97F4A7C15ull);
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      z ^= z >> 31;
      index = static_cast<std::size_t>(z % queue_.size());
    }
    Complete(index);
    ++steps;
  }
  return steps;
}

}  // namespace mxkit::dns::testing
