// Checking that an asynchronous evaluation over a Resolver agrees with the
// synchronous one: the async path runs over a DeferredResolver whose lookups
// are answered in several orders (newest first, then shuffled by each seed),
// and must wait for its lookups, complete exactly once and give the same
// result. The SPF and DMARC evaluator tests run every case through it, so
// each case covers both paths (auth/spf/evaluator_test.cc,
// auth/dmarc/evaluator_test.cc).

#ifndef MXKIT_DNS_TESTING_ASYNC_MATCHES_SYNC_H_
#define MXKIT_DNS_TESTING_ASYNC_MATCHES_SYNC_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <utility>

#include "dns/resolver.h"
#include "dns/testing/deferred_resolver.h"
#include "gtest/gtest.h"

namespace mxkit::dns::testing {

// For each seed: `start(resolver, done)` begins the asynchronous evaluation
// over a DeferredResolver in front of `zone` and returns what must outlive
// it (the evaluator); the lookups are answered in the seed's order
// (DeferredResolver::Drain); then `expect_same(got, want)` compares the one
// result with `want`, field by field, with EXPECT_*s.
template <typename Result, typename Start, typename ExpectSame>
void ExpectAsyncMatchesSync(Resolver& zone, std::initializer_list<uint64_t> seeds,
                            const Result& want, Start start, ExpectSame expect_same) {
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("async, completion order seed " + std::to_string(seed));
    DeferredResolver deferred(zone);
    int calls = 0;
    Result got{};
    auto keep_alive =
        start(static_cast<Resolver&>(deferred), std::function<void(Result)>([&](Result r) {
                ++calls;
                got = std::move(r);
              }));
    // A lookup still pending means the evaluation cannot have finished.
    if (deferred.started() > 0) {
      EXPECT_EQ(calls, 0);
    }
    deferred.Drain(seed);
    EXPECT_EQ(deferred.pending(), 0u);
    EXPECT_EQ(calls, 1);
    expect_same(got, want);
  }
}

}  // namespace mxkit::dns::testing

#endif  // MXKIT_DNS_TESTING_ASYNC_MATCHES_SYNC_H_
