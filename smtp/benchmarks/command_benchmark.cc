// Command parsing throughput on a realistic session mix. Target: >= 5M
// commands/s with -c opt (see the smtp/ report); run with
//   ./bazelw run -c opt //smtp/benchmarks:command_benchmark
#include <string>
#include <string_view>
#include <vector>

#include "benchmark/benchmark.h"
#include "smtp/command.h"

namespace mxkit::smtp {
namespace {

// One transaction as Postfix/Exim clients send it with pipelining: EHLO,
// MAIL with SIZE/BODY, three RCPTs (one with DSN), DATA, QUIT.
const std::vector<std::string_view>& Mix() {
  static const std::vector<std::string_view> lines = {
      "EHLO mail-relay.example.org",
      "MAIL FROM:<newsletter-bounces+user=example.com@lists.example.org> SIZE=48213 "
      "BODY=8BITMIME",
      "RCPT TO:<alice@example.com>",
      "RCPT TO:<bob.smith@mx.example.com> NOTIFY=FAILURE,DELAY ORCPT=rfc822;bob.smith@example.com",
      "RCPT TO:<carol@example.net>",
      "DATA",
      "QUIT",
  };
  return lines;
}

void BM_ParseCommandMix(benchmark::State& state) {
  const auto& lines = Mix();
  const CommandParseOptions options;
  std::size_t bytes = 0;
  for (std::string_view line : lines) bytes += line.size();
  for (auto _ : state) {
    for (std::string_view line : lines) {
      CommandResult r = ParseCommand(line, options);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(lines.size()));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_ParseCommandMix);

void BM_ParseOne(benchmark::State& state, std::string_view line) {
  const CommandParseOptions options;
  for (auto _ : state) {
    CommandResult r = ParseCommand(line, options);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_ParseOne, ehlo, "EHLO mail-relay.example.org");
BENCHMARK_CAPTURE(BM_ParseOne, mail_with_params,
                  "MAIL FROM:<sender@example.org> SIZE=48213 BODY=8BITMIME");
BENCHMARK_CAPTURE(BM_ParseOne, rcpt, "RCPT TO:<alice@example.com>");
BENCHMARK_CAPTURE(BM_ParseOne, data, "DATA");
BENCHMARK_CAPTURE(BM_ParseOne, unknown_parameter,
                  "MAIL FROM:<sender@example.org> X-UNKNOWN=1");

void BM_FormatCommandMix(benchmark::State& state) {
  std::vector<Command> commands;
  for (std::string_view line : Mix()) commands.push_back(ParseCommand(line).command);
  std::string out;
  for (auto _ : state) {
    for (const Command& c : commands) {
      out.clear();
      AppendCommand(c, &out);
      benchmark::DoNotOptimize(out.data());
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(commands.size()));
}
BENCHMARK(BM_FormatCommandMix);

}  // namespace
}  // namespace mxkit::smtp
