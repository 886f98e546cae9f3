// DATA phase throughput: DataDecoder and DataEncoder over a 1 MiB message of
// 76-character lines (base64 bodies are wrapped at 76, RFC 2045 §6.8), beside
// the floor any line-oriented decoder pays: one memchr scan for '\n' over the
// same wire bytes. Compare bytes_per_second of BM_DataDecode with
// BM_MemchrNewlineScan.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "benchmark/benchmark.h"
#include "smtp/data.h"

namespace mxkit::smtp {
namespace {

constexpr std::size_t kMessageBytes = 1 << 20;

// A message of 76-character lines plus CRLF, with a dot-leading line every
// 64 lines so the stuffing path is exercised too.
std::string MakeMessage() {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string m;
  m.reserve(kMessageBytes + 100);
  std::size_t line = 0;
  while (m.size() < kMessageBytes) {
    std::string l;
    for (std::size_t i = 0; i < 76; ++i) l.push_back(kAlphabet[(line * 7 + i * 13) % 64]);
    if (line % 64 == 63) l[0] = '.';
    m += l;
    m += "\r\n";
    ++line;
  }
  return m;
}

const std::string& Message() {
  static const std::string* m = new std::string(MakeMessage());
  return *m;
}

const std::string& Wire() {
  static const std::string* w = [] {
    auto* s = new std::string;
    EncodeData(Message(), s);
    return s;
  }();
  return *w;
}

void BM_DataDecode(benchmark::State& state) {
  const std::string& wire = Wire();
  std::string out;
  out.reserve(wire.size());
  for (auto _ : state) {
    out.clear();
    DataDecoder decoder;
    const DataPutResult r = decoder.Put(wire, &out);
    if (r.status != DataStatus::kDone || r.consumed != wire.size()) {
      state.SkipWithError("decoder did not find the end of data");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_DataDecode);

// As a server sees it: the stream arrives in socket-sized reads.
void BM_DataDecodeChunked(benchmark::State& state) {
  const std::string& wire = Wire();
  const std::size_t chunk = static_cast<std::size_t>(state.range(0));
  std::string out;
  out.reserve(wire.size());
  for (auto _ : state) {
    out.clear();
    DataDecoder decoder;
    std::size_t pos = 0;
    DataStatus status = DataStatus::kNeedMore;
    while (pos < wire.size() && status == DataStatus::kNeedMore) {
      const std::size_t n = std::min(chunk, wire.size() - pos);
      const DataPutResult r = decoder.Put(std::string_view(wire).substr(pos, n), &out);
      pos += r.consumed;
      status = r.status;
    }
    if (status != DataStatus::kDone) {
      state.SkipWithError("decoder did not find the end of data");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_DataDecodeChunked)->Arg(4096)->Arg(65536);

// The baseline: find every '\n' with memchr, doing nothing else.
void BM_MemchrNewlineScan(benchmark::State& state) {
  const std::string& wire = Wire();
  for (auto _ : state) {
    std::size_t lines = 0;
    const char* p = wire.data();
    const char* const end = p + wire.size();
    while (p < end) {
      const void* q = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
      if (q == nullptr) break;
      ++lines;
      p = static_cast<const char*>(q) + 1;
    }
    benchmark::DoNotOptimize(lines);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_MemchrNewlineScan);

void BM_DataEncode(benchmark::State& state) {
  const std::string& message = Message();
  std::string out;
  out.reserve(message.size() + message.size() / 64 + 8);
  for (auto _ : state) {
    out.clear();
    const DataEncodeResult r = EncodeData(message, &out);
    if (!r.ok()) {
      state.SkipWithError("encoder failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(message.size()));
}
BENCHMARK(BM_DataEncode);

}  // namespace
}  // namespace mxkit::smtp
