// The input framing of tlsa_rdata_fuzzer and its seed writer: byte 0 picks
// the TLSA lookup state (its low two bits, a policy::TlsaLookup), then up to
// kMaxRecords RDATAs, each a 16-bit big-endian length and that many bytes
// (a length beyond the input takes the rest). The chain the records are
// matched against is fixed: the certificate factory's "good" chain for
// mx.test (seed 1), which is deterministic, so seeds holding its digests
// stay valid.

#ifndef MXKIT_FUZZ_TLSA_RDATA_INPUT_H_
#define MXKIT_FUZZ_TLSA_RDATA_INPUT_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace mxkit::fuzz {

inline constexpr size_t kMaxTlsaRecords = 8;

struct TlsaFuzzInput {
  int lookup = 0;  // 0-3
  std::vector<std::string_view> rdatas;
};

inline TlsaFuzzInput SplitTlsaInput(std::string_view data) {
  TlsaFuzzInput input;
  if (data.empty()) return input;
  input.lookup = static_cast<unsigned char>(data[0]) & 3;
  data.remove_prefix(1);
  while (data.size() >= 2 && input.rdatas.size() < kMaxTlsaRecords) {
    const size_t length = (static_cast<size_t>(static_cast<unsigned char>(data[0])) << 8) |
                          static_cast<unsigned char>(data[1]);
    data.remove_prefix(2);
    const size_t take = length < data.size() ? length : data.size();
    input.rdatas.push_back(data.substr(0, take));
    data.remove_prefix(take);
  }
  return input;
}

inline std::string FrameTlsaInput(int lookup, const std::vector<std::string>& rdatas) {
  std::string out(1, static_cast<char>(lookup));
  for (const std::string& r : rdatas) {
    out.push_back(static_cast<char>(r.size() >> 8));
    out.push_back(static_cast<char>(r.size() & 0xff));
    out += r;
  }
  return out;
}

// The fixed chain, DER, leaf first (leaf, intermediate) and the root, made
// once per process.
struct TlsaFuzzChain {
  std::vector<std::string> chain_der;
  std::string root_der;
};
const TlsaFuzzChain& FixedTlsaChain();

}  // namespace mxkit::fuzz

#endif  // MXKIT_FUZZ_TLSA_RDATA_INPUT_H_
