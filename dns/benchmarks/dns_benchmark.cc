// Throughput of the DNS wire codec, the zone parser and StaticResolver
// lookups: the paths every SPF/DKIM/DMARC evaluation and fakemx answer take.

#include <string>

#include "benchmark/benchmark.h"
#include "dns/message.h"
#include "dns/static_resolver.h"
#include "dns/zone.h"

namespace mxkit::dns {
namespace {

WireRecord Rr(std::string name, RrType type, WireRData data) {
  return WireRecord{std::move(name), static_cast<uint16_t>(type), kClassIn, 300, std::move(data)};
}

// An MX answer with glue, the shape of a typical mail-routing lookup.
Message MxResponse() {
  Message m = MakeQuery(1, "example.com", static_cast<uint16_t>(RrType::kMx));
  m.header.qr = true;
  for (int i = 0; i < 4; ++i) {
    std::string host = "mx" + std::to_string(i) + ".mail.example.com";
    m.answers.push_back(Rr("example.com", RrType::kMx, MxData{static_cast<uint16_t>(10 * i), host}));
    m.additionals.push_back(Rr(host, RrType::kA, AData{{192, 0, 2, static_cast<uint8_t>(i)}}));
  }
  m.answers.push_back(Rr("example.com", RrType::kTxt,
                         TxtData{{"v=spf1 ip4:192.0.2.0/24 ", "include:_spf.example.net -all"}}));
  return m;
}

void BM_ParseMessage(benchmark::State& state) {
  std::string wire = *BuildMessage(MxResponse());
  for (auto _ : state) {
    WireResult<Message> m = ParseMessage(wire);
    benchmark::DoNotOptimize(m);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * wire.size()));
}
BENCHMARK(BM_ParseMessage);

void BM_BuildMessageCompressed(benchmark::State& state) {
  Message m = MxResponse();
  for (auto _ : state) {
    WireResult<std::string> wire = BuildMessage(m);
    benchmark::DoNotOptimize(wire);
  }
}
BENCHMARK(BM_BuildMessageCompressed);

std::string BigZone(int records) {
  std::string zone = "$ORIGIN example.com.\n$TTL 300\n";
  for (int i = 0; i < records; ++i) {
    std::string host = "h" + std::to_string(i);
    zone += host + " IN A 192.0.2." + std::to_string(i % 250) + "\n";
    zone += host + " IN TXT \"v=spf1 ip4:192.0.2.0/24 \" \"-all\"\n";
  }
  return zone;
}

void BM_ParseZone(benchmark::State& state) {
  std::string zone = BigZone(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    absl::StatusOr<Zone> z = ParseZone(zone);
    benchmark::DoNotOptimize(z);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * zone.size()));
}
BENCHMARK(BM_ParseZone)->Arg(100)->Arg(10000);

void BM_StaticLookupThroughCname(benchmark::State& state) {
  StaticResolver resolver;
  if (!resolver.LoadZone(BigZone(1000) + "alias CNAME h500\n").ok()) {
    state.SkipWithError("zone did not load");
    return;
  }
  for (auto _ : state) {
    LookupResult r = resolver.LookupSync("alias.example.com", RrType::kTxt);
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK(BM_StaticLookupThroughCname);

}  // namespace
}  // namespace mxkit::dns
