// C++20 coroutine plumbing for code that awaits dns::Resolver lookups: the
// SPF, DKIM and DMARC evaluators keep one linear implementation (check_host()
// reads top to bottom as RFC 7208 §4 does) that runs asynchronously over any
// Resolver, and synchronously over SyncLookupResolver, so there is never a
// second copy of an algorithm for the blocking case.
//
//   dns::Task<int> CountTxt(dns::Resolver& r, std::string name) {
//     dns::LookupResult txt = co_await dns::AwaitLookup(r, name, dns::RrType::kTxt);
//     co_return static_cast<int>(txt.records.size());
//   }
//   dns::StartTask(CountTxt(resolver, "example.com"), [](int n) { ... });
//
// Stack depth. A resolver may complete a lookup inline (StaticResolver,
// SyncLookupResolver), and a Task awaited by another runs inline until it
// first suspends. Neither nests a call per lookup: an awaiter that finds its
// result already there tells the compiler not to suspend (await_suspend
// returns false), so a loop of a hundred inline lookups runs in one stack
// frame. The native stack grows only with the nesting of Tasks awaiting
// Tasks, which callers bound (SPF: include/redirect depth is bounded by the
// RFC 7208 §4.6.4 ten-lookup limit).
//
// Threads. A lookup may complete on another thread than the one that started
// it; the hand-over uses an atomic exchange, so exactly one side resumes the
// awaiting coroutine. A Task itself is not shared between threads.
//
// Lifetime. A started Task owns its frame until it completes; if a resolver
// drops a callback without calling it (which Resolver::Lookup forbids), the
// frame is leaked, never resumed twice.

#ifndef MXKIT_DNS_LOOKUP_TASK_H_
#define MXKIT_DNS_LOOKUP_TASK_H_

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dns/resolver.h"

// The frame cache (internal::FrameCache) hides a frame's reuse from
// AddressSanitizer; sanitized builds use the global allocator directly.
#if defined(__SANITIZE_ADDRESS__)
#define MXKIT_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MXKIT_FRAME_CACHE 0
#endif
#endif
#ifndef MXKIT_FRAME_CACHE
#define MXKIT_FRAME_CACHE 1
#endif

namespace mxkit::dns {

namespace internal {

// Who got to the hand-over point first: the starter (still inside
// await_suspend) or the completer (a callback, or a finished Task).
enum HandOff : int { kStarting = 0, kSuspended = 1, kCompleted = 2 };

// Coroutine frames are allocated at every call of a Task coroutine and
// freed when it ends: an SPF check makes five to ten (check_host, the record
// walk, each address lookup), and malloc/free of those frames showed among
// the top costs of the SPF suite benchmark. Each thread keeps the frames it
// freed, in size classes of kGranule bytes up to kMaxBytes, at most
// kMaxPerClass per class, and hands them out again; larger frames and the
// overflow go to the global allocator. A frame freed on another thread than
// the one that allocated it simply joins that thread's cache. Once a
// thread's cache is destroyed (at its exit, before objects of static storage
// and thread-locals made before it), frames go straight to the global
// allocator: a frame freed that late must not join a cache that is gone.
// Off under AddressSanitizer, so it still sees every frame's lifetime.
class FrameCache {
 public:
  static constexpr std::size_t kGranule = 64;
  static constexpr std::size_t kClasses = 32;  // frames up to 2 KiB
  static constexpr std::size_t kMaxPerClass = 16;

  FrameCache() = default;
  FrameCache(const FrameCache&) = delete;
  FrameCache& operator=(const FrameCache&) = delete;
  ~FrameCache() {
    destroyed_ = true;
    for (Block*& head : free_) {
      while (head != nullptr) ::operator delete(std::exchange(head, head->next));
    }
  }

  static void* Allocate(std::size_t size) {
#if MXKIT_FRAME_CACHE
    std::size_t c = Class(size);
    if (c < kClasses && !destroyed_) {
      FrameCache& cache = Local();
      if (Block* block = cache.free_[c]) {
        cache.free_[c] = block->next;
        --cache.count_[c];
        return block;
      }
      return ::operator new((c + 1) * kGranule);
    }
#endif
    return ::operator new(size);
  }

  static void Free(void* frame, std::size_t size) {
#if MXKIT_FRAME_CACHE
    std::size_t c = Class(size);
    if (c < kClasses && !destroyed_) {
      FrameCache& cache = Local();
      if (cache.count_[c] < kMaxPerClass) {
        cache.free_[c] = new (frame) Block{cache.free_[c]};
        ++cache.count_[c];
        return;
      }
    }
#else
    (void)size;
#endif
    ::operator delete(frame);
  }

 private:
  struct Block {
    Block* next;
  };
  // Trivially destructible, so readable for the whole of the thread's exit.
  static inline thread_local bool destroyed_ = false;
  static std::size_t Class(std::size_t size) { return size == 0 ? 0 : (size - 1) / kGranule; }
  static FrameCache& Local() {
    thread_local FrameCache cache;
    return cache;
  }

  // Unused when MXKIT_FRAME_CACHE is 0 (sanitized builds).
  [[maybe_unused]] Block* free_[kClasses] = {};
  [[maybe_unused]] std::size_t count_[kClasses] = {};
};

}  // namespace internal

// A lazily started coroutine producing a T. Await it from another coroutine
// (`T v = co_await task;`, once) or hand it to StartTask. Move-only; a Task
// destroyed before it was started destroys its frame unrun.
template <typename T>
class [[nodiscard]] Task {
 public:
  struct promise_type {
    std::optional<T> value;
    std::coroutine_handle<> continuation;
    std::atomic<int> hand_off{internal::kStarting};

    static void* operator new(std::size_t size) { return internal::FrameCache::Allocate(size); }
    static void operator delete(void* frame, std::size_t size) {
      internal::FrameCache::Free(frame, size);
    }

    Task get_return_object() {
      return Task(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    std::suspend_always initial_suspend() noexcept { return {}; }

    struct FinalAwaiter {
      bool await_ready() noexcept { return false; }
      // Symmetric transfer to the awaiting coroutine, but only when it has
      // really suspended; otherwise its await_suspend is still on the stack
      // below us and will carry on by itself.
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
        promise_type& p = h.promise();
        if (p.hand_off.exchange(internal::kCompleted) == internal::kSuspended) {
          return p.continuation;
        }
        return std::noop_coroutine();
      }
      void await_resume() noexcept {}
    };
    FinalAwaiter final_suspend() noexcept { return {}; }

    template <typename U>
    void return_value(U&& v) {
      value.emplace(std::forward<U>(v));
    }
    // mxkit code does not throw across these frames (house style: errors are
    // values); an escaping exception is a bug, not a condition to report.
    void unhandled_exception() noexcept { std::terminate(); }
  };

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  // Awaiting runs the task inline until it completes or first suspends.
  struct Awaiter {
    std::coroutine_handle<promise_type> handle;
    bool await_ready() noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
      promise_type& p = handle.promise();
      p.continuation = awaiting;
      handle.resume();
      // Completed inline: resume the awaiting coroutine by not suspending it.
      return p.hand_off.exchange(internal::kSuspended) != internal::kCompleted;
    }
    T await_resume() { return std::move(*handle.promise().value); }
  };
  Awaiter operator co_await() && noexcept { return Awaiter{handle_}; }

 private:
  template <typename U>
  friend U RunInline(Task<U> task);

  explicit Task(std::coroutine_handle<promise_type> h) : handle_(h) {}

  std::coroutine_handle<promise_type> handle_;
};

// Awaits `resolver.Lookup(name, type)`. A resolver that answers from memory
// (Resolver::LookupInline) is asked first, with the name as given, and the
// coroutine does not suspend. Otherwise the name is copied before Lookup is
// called, so it needs to stay valid only until the co_await starts: a view
// into a temporary of the co_await's own expression is fine.
class LookupAwaiter {
 public:
  LookupAwaiter(Resolver& resolver, std::string_view name, RrType type)
      : resolver_(resolver), view_(name), type_(type) {}
  LookupAwaiter(const LookupAwaiter&) = delete;
  LookupAwaiter& operator=(const LookupAwaiter&) = delete;

  bool await_ready() { return resolver_.LookupInline(view_, type_, result_); }
  bool await_suspend(std::coroutine_handle<> awaiting) {
    awaiting_ = awaiting;
    name_.assign(view_.data(), view_.size());
    resolver_.Lookup(name_, type_, [this](LookupResult result) {
      result_ = std::move(result);
      if (hand_off_.exchange(internal::kCompleted) == internal::kSuspended) {
        // `this` lives in the coroutine frame, which may end inside resume().
        std::coroutine_handle<> h = awaiting_;
        h.resume();
      }
    });
    // Completed inline: do not suspend, so no stack frame is left behind.
    return hand_off_.exchange(internal::kSuspended) != internal::kCompleted;
  }
  LookupResult await_resume() { return std::move(result_); }

 private:
  Resolver& resolver_;
  std::string_view view_;  // the caller's; valid until await_suspend copies it
  std::string name_;
  RrType type_;
  LookupResult result_;
  std::coroutine_handle<> awaiting_;
  std::atomic<int> hand_off_{internal::kStarting};
};

// `LookupResult r = co_await AwaitLookup(resolver, name, type);`
inline LookupAwaiter AwaitLookup(Resolver& resolver, std::string_view name, RrType type) {
  return LookupAwaiter(resolver, name, type);
}

namespace internal {

// A coroutine that starts at once and frees its own frame when it ends.
struct Detached {
  struct promise_type {
    static void* operator new(std::size_t size) { return FrameCache::Allocate(size); }
    static void operator delete(void* frame, std::size_t size) { FrameCache::Free(frame, size); }
    Detached get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept { std::terminate(); }
  };
};

template <typename T, typename F>
Detached RunDetached(Task<T> task, F done) {
  T value = co_await std::move(task);
  done(std::move(value));
}

}  // namespace internal

// Starts `task`; `done(T)` runs exactly once when it completes: inline,
// before StartTask returns, when every lookup it awaits completes inline;
// otherwise on the thread of the lookup that completes it last.
template <typename T, typename F>
void StartTask(Task<T> task, F done) {
  internal::RunDetached(std::move(task), std::move(done));
}

// Runs `task` over resolvers that complete inline and returns its value.
// For the synchronous wrappers, whose Task awaits only SyncLookupResolver.
// It resumes the task directly rather than through StartTask, so the value
// moves once, out of the promise, with no detached frame or callback around
// it (the DMARC evaluation's profile showed both).
template <typename T>
T RunInline(Task<T> task) {
  typename Task<T>::promise_type& promise = task.handle_.promise();
  task.handle_.resume();
  if (!promise.value) {
    // A programming error, not an input: a lookup that did not complete
    // inline would resume later into this returned stack frame.
    std::fputs("mxkit: dns::RunInline: the task suspended on a lookup that did not complete "
               "inline\n",
               stderr);
    std::abort();
  }
  return std::move(*promise.value);
}

// A Resolver whose Lookup completes inline with the wrapped resolver's
// LookupSync: the synchronous evaluators run their one asynchronous
// implementation over it. Thread-safe when the wrapped LookupSync is.
class SyncLookupResolver : public Resolver {
 public:
  explicit SyncLookupResolver(Resolver& inner) : inner_(inner) {}
  void Lookup(std::string_view name, RrType type, Callback done) override {
    done(inner_.LookupSync(name, type));
  }
  LookupResult LookupSync(std::string_view name, RrType type) override {
    return inner_.LookupSync(name, type);
  }
  bool LookupInline(std::string_view name, RrType type, LookupResult& out) override {
    out = inner_.LookupSync(name, type);
    return true;
  }

 private:
  Resolver& inner_;
};

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_LOOKUP_TASK_H_
