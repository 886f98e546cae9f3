// What the UI's inbox costs: Mailpit's newest-first list (a page of 50) and
// a search, over a store of 1,000 or 10,000 messages, delivered one per
// session or 100 per kept-alive session. Run with --config=opt; under load,
// read CPU time per operation, or count instructions with callgrind
// (docs in BENCHMARKS.md style: the figures are in the commit message).

#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "fakemx/capture.h"
#include "fakemx/http_target.h"
#include "fakemx/mailpit_api.h"

namespace mxkit::fakemx {
namespace {

constexpr int64_t kNow = 1767225600000000;  // 2026-01-01T00:00:00Z

void Fill(CaptureStore& store, int messages, int per_session) {
  std::shared_ptr<CapturedSession> session;
  for (int i = 0; i < messages; ++i) {
    if (i % per_session == 0) {
      if (session) store.Close(*session, kNow, "quit");
      CapturedSession s;
      s.receiver = "example.test";
      s.started_at_us = kNow;
      session = store.Open(std::move(s));
    }
    CapturedMessage m;
    m.delivery.received_at_us = kNow + i;
    m.delivery.reverse_path = "alice@sender.test";
    m.delivery.recipients.push_back({"bob" + std::to_string(i % 10) + "@example.test", {}});
    m.raw = "From: alice@sender.test\r\nTo: bob@example.test\r\nSubject: message " +
            std::to_string(i) + "\r\n\r\nbody\r\n";
    store.AddMessage(*session, std::move(m));
  }
}

void Run(benchmark::State& state, const std::string& target) {
  CaptureStore store;
  Fill(store, static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  MailpitApi api(store, kNow);
  HttpRequest request;
  request.method = "GET";
  request.target = target;
  const HttpTarget parsed = *ParseHttpTarget(target);
  for (auto _ : state) {
    std::optional<HttpResponse> r = api.Handle(request, parsed, kNow);
    benchmark::DoNotOptimize(r);
  }
}

void BM_NewestPage(benchmark::State& state) { Run(state, "/api/v1/messages?start=0&limit=50"); }
void BM_NewestPageDeep(benchmark::State& state) {
  Run(state, "/api/v1/messages?start=500&limit=50");
}
void BM_Search(benchmark::State& state) {
  Run(state, "/api/v1/search?query=to:bob3@example.test&start=0&limit=50");
}

BENCHMARK(BM_NewestPage)->Args({1000, 1})->Args({10000, 1})->Args({10000, 100});
BENCHMARK(BM_NewestPageDeep)->Args({10000, 1});
BENCHMARK(BM_Search)->Args({10000, 1});

}  // namespace
}  // namespace mxkit::fakemx
