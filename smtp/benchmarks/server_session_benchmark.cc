// ServerSession throughput on a pipelined workload, so a change to the hot
// path (every command line now passes ServerPolicy::OnCommand) shows up as
// commands per second; run with
//   ./bazelw run --config=opt //smtp/benchmarks:server_session_benchmark
#include <cstdint>
#include <string>

#include "benchmark/benchmark.h"
#include "smtp/server_session.h"

namespace mxkit::smtp {
namespace {

// Transactions per session in one read: the smtp-source -d (reused
// connection) shape, with a 1 KiB message as in tests/perf.
constexpr int kTransactions = 20;
constexpr int kCommandsPerTransaction = 5;  // MAIL, RCPT, RCPT, DATA, RSET

const std::string& Workload() {
  static const std::string input = [] {
    std::string body;
    while (body.size() < 1024) body += "Lorem ipsum dolor sit amet, consectetur adipiscing.\r\n";
    std::string s = "EHLO client.example.org\r\n";
    for (int i = 0; i < kTransactions; ++i) {
      s += "MAIL FROM:<sender@client.example.org> SIZE=1100\r\n"
           "RCPT TO:<alice@example.com>\r\n"
           "RCPT TO:<bob@example.com>\r\n"
           "DATA\r\n" +
           body + ".\r\nRSET\r\n";
    }
    return s + "QUIT\r\n";
  }();
  return input;
}

// A policy that overrides nothing: what fakemx's default behaviour costs.
class DefaultPolicy : public ServerPolicy {};

void BM_PipelinedSession(benchmark::State& state) {
  const std::string& input = Workload();
  const size_t chunk = static_cast<size_t>(state.range(0));
  DefaultPolicy policy;
  for (auto _ : state) {
    ServerSession s(ServerSessionConfig{}, &policy);
    s.Start();
    for (size_t off = 0; off < input.size(); off += chunk) {
      s.Feed(std::string_view(input).substr(off, chunk));
      benchmark::DoNotOptimize(s.TakeOutput());
      while (auto e = s.NextEvent()) benchmark::DoNotOptimize(e);
    }
  }
  const int64_t commands = 2 + kTransactions * kCommandsPerTransaction;
  state.SetItemsProcessed(state.iterations() * commands);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(input.size()));
}
// One read per session, and reads of a typical socket buffer size.
BENCHMARK(BM_PipelinedSession)->Arg(1 << 20)->Arg(4096);

}  // namespace
}  // namespace mxkit::smtp
