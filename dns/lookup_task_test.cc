#include "dns/lookup_task.h"

#include <cstdlib>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dns/static_resolver.h"
#include "dns/testing/deferred_resolver.h"
#include "gtest/gtest.h"

// Counts global deletes on a thread while t_deletes >= 0
// (AFrameFreedAfterTheThreadsCacheIsGoneGoesBackToTheHeap).
thread_local int t_deletes = -1;

void* operator new(std::size_t n) {
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  if (p != nullptr && t_deletes >= 0) ++t_deletes;
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept { operator delete(p); }

namespace mxkit::dns {
namespace {

StaticResolver Zone() {
  StaticResolver zone;
  absl::Status loaded = zone.LoadZone(
      "a.test. 300 IN A 192.0.2.1\n"
      "b.test. 300 IN A 192.0.2.2\n"
      "t.test. 300 IN TXT \"hello\"\n");
  EXPECT_TRUE(loaded.ok()) << loaded;
  return zone;
}

Task<int> CountAnswers(Resolver& r, std::vector<std::string> names) {
  int answers = 0;
  for (const std::string& name : names) {
    LookupResult result = co_await AwaitLookup(r, name, RrType::kA);
    if (result.ok()) ++answers;
  }
  co_return answers;
}

Task<int> One(Resolver& r, std::string name) {
  LookupResult result = co_await AwaitLookup(r, name, RrType::kA);
  co_return result.ok() ? 1 : 0;
}

Task<int> SumOfNested(Resolver& r, int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) sum += co_await One(r, i % 2 == 0 ? "a.test" : "nx.test");
  co_return sum;
}

TEST(LookupTask, InlineLookupsRunInOneStackFrame) {
  // A nested resume per inline lookup would need megabytes of stack here.
  StaticResolver zone = Zone();
  std::vector<std::string> names(200000, "a.test");
  EXPECT_EQ(RunInline(CountAnswers(zone, names)), 200000);
  EXPECT_EQ(RunInline(SumOfNested(zone, 200000)), 100000);
}

TEST(LookupTask, DoneWaitsForEveryDeferredLookupAndRunsOnce) {
  StaticResolver zone = Zone();
  testing::DeferredResolver deferred(zone);
  int calls = 0, value = -1;
  StartTask(CountAnswers(deferred, {"a.test", "nx.test", "b.test"}), [&](int n) {
    ++calls;
    value = n;
  });
  // Each lookup is started only after the previous one is answered.
  for (int step = 0; step < 3; ++step) {
    EXPECT_EQ(calls, 0);
    ASSERT_EQ(deferred.pending(), 1u);
    deferred.Complete(0);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(value, 2);
  EXPECT_EQ(deferred.started(), 3u);
}

TEST(LookupTask, NestedTasksResumeTheirCallerAfterDeferredCompletion) {
  StaticResolver zone = Zone();
  testing::DeferredResolver deferred(zone);
  int calls = 0, value = -1;
  StartTask(SumOfNested(deferred, 5), [&](int n) {
    ++calls;
    value = n;
  });
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(deferred.Drain(/*seed=*/7), 5u);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(value, 3);
}

TEST(LookupTask, SyncLookupResolverCompletesInline) {
  StaticResolver zone = Zone();
  SyncLookupResolver sync(zone);
  bool called = false;
  sync.Lookup("t.test", RrType::kTxt, [&](LookupResult r) {
    called = true;
    EXPECT_TRUE(r.ok());
  });
  EXPECT_TRUE(called);
}

// Answers from memory through LookupInline only; a Lookup call is a test
// failure, so awaiting it proves the awaiter takes the inline path.
class InlineOnlyResolver : public Resolver {
 public:
  explicit InlineOnlyResolver(StaticResolver& zone) : zone_(zone) {}
  void Lookup(std::string_view name, RrType, Callback done) override {
    ADD_FAILURE() << "Lookup(" << name << ") called on a resolver that answers inline";
    LookupResult failed;
    done(std::move(failed));
  }
  bool LookupInline(std::string_view name, RrType type, LookupResult& out) override {
    ++inline_lookups;
    return zone_.LookupInline(name, type, out);
  }
  int inline_lookups = 0;

 private:
  StaticResolver& zone_;
};

TEST(LookupTask, AwaiterAnswersFromLookupInlineWithoutCallingLookup) {
  StaticResolver zone = Zone();
  InlineOnlyResolver resolver(zone);
  EXPECT_EQ(RunInline(CountAnswers(resolver, {"a.test", "nx.test", "b.test"})), 2);
  EXPECT_EQ(resolver.inline_lookups, 3);
}

Task<bool> LookupOfTemporaryName(Resolver& r, std::string_view prefix) {
  // The name is a temporary of the co_await expression: the awaiter must copy
  // it before the resolver queues the lookup and the coroutine suspends.
  LookupResult result = co_await AwaitLookup(r, std::string(prefix) + ".test", RrType::kA);
  co_return result.ok();
}

TEST(LookupTask, DeferredLookupKeepsItsOwnCopyOfATemporaryName) {
  StaticResolver zone = Zone();
  testing::DeferredResolver deferred(zone);
  std::optional<bool> answered;
  StartTask(LookupOfTemporaryName(deferred, "a"), [&](bool ok) { answered = ok; });
  ASSERT_EQ(deferred.pending(), 1u);
  EXPECT_EQ(deferred.queue()[0].name, "a.test");
  deferred.Complete(0);
  ASSERT_TRUE(answered.has_value());
  EXPECT_TRUE(*answered);
}

TEST(FrameCache, ReusesAFreedFrameOfTheSameSizeClassAndNotLargeOnes) {
  using internal::FrameCache;
  void* a = FrameCache::Allocate(100);
  FrameCache::Free(a, 100);
  void* b = FrameCache::Allocate(120);  // same 64-byte class as 100
#if MXKIT_FRAME_CACHE
  EXPECT_EQ(a, b);
#endif
  FrameCache::Free(b, 120);
  // A class holds at most kMaxPerClass frames; the rest go back to the heap.
  std::vector<void*> frames;
  for (size_t i = 0; i < FrameCache::kMaxPerClass + 4; ++i) frames.push_back(FrameCache::Allocate(100));
  for (void* f : frames) FrameCache::Free(f, 100);
  const size_t large = FrameCache::kGranule * FrameCache::kClasses + 1;
  void* big = FrameCache::Allocate(large);
  FrameCache::Free(big, large);
  // Tasks still run over recycled frames.
  StaticResolver zone = Zone();
  EXPECT_EQ(RunInline(SumOfNested(zone, 10)), 5);
  EXPECT_EQ(RunInline(SumOfNested(zone, 10)), 5);
}

// A frame freed at thread exit after the thread's cache is gone (say, by a
// thread-local made before the cache that owns a task) goes back to the
// heap, not into the destroyed cache: the global operator delete (replaced
// below to count) sees it.
TEST(FrameCache, AFrameFreedAfterTheThreadsCacheIsGoneGoesBackToTheHeap) {
  using internal::FrameCache;
  struct FreesAtExit {
    void* frame = nullptr;
    int* deletes = nullptr;
    ~FreesAtExit() {
      t_deletes = 0;
      FrameCache::Free(frame, 100);
      *deletes = t_deletes;
      t_deletes = -1;
    }
  };
  int deletes = -1;
  std::thread thread([&] {
    // Made before the cache (its first use is below), so destroyed after it.
    thread_local FreesAtExit holder;
    holder.deletes = &deletes;
    holder.frame = FrameCache::Allocate(100);
  });
  thread.join();
  EXPECT_EQ(deletes, 1);
}

}  // namespace
}  // namespace mxkit::dns
