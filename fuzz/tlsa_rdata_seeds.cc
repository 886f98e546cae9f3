// Writes the seed corpus of tlsa_rdata_fuzzer: RRsets that match the fixed
// chain (fuzz/tlsa_rdata_input.h) under each usage, selector and matching
// type, near misses, unusable records and every lookup state. Run once and
// commit the output:
//
//   bazel run //fuzz:tlsa_rdata_seeds -- $PWD/fuzz/corpus/tlsa_rdata

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz/tlsa_rdata_input.h"
#include "policy/dane.h"

using namespace mxkit;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tlsa_rdata_seeds OUTPUT_DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const fuzz::TlsaFuzzChain& chain = fuzz::FixedTlsaChain();
  auto rdata = [](int usage, int selector, int matching, const std::string& cert) {
    auto data = policy::TlsaAssociationData(cert, static_cast<uint8_t>(selector),
                                            static_cast<uint8_t>(matching));
    return policy::SerializeTlsaRdata(policy::TlsaRecord{
        static_cast<uint8_t>(usage), static_cast<uint8_t>(selector),
        static_cast<uint8_t>(matching), data.ok() ? *data : std::string("x")});
  };
  std::vector<std::pair<std::string, std::string>> seeds;
  const int kAuthenticated = static_cast<int>(policy::TlsaLookup::kAuthenticated);
  for (int selector : {0, 1}) {
    for (int matching : {0, 1, 2}) {
      const std::string tag = std::to_string(selector) + std::to_string(matching);
      seeds.emplace_back("ee-" + tag, fuzz::FrameTlsaInput(kAuthenticated,
                                                           {rdata(3, selector, matching, chain.chain_der[0])}));
      seeds.emplace_back("ta-" + tag, fuzz::FrameTlsaInput(kAuthenticated,
                                                           {rdata(2, selector, matching, chain.chain_der[1])}));
    }
  }
  seeds.emplace_back("ta-root-full", fuzz::FrameTlsaInput(kAuthenticated, {rdata(2, 0, 0, chain.root_der)}));
  std::string near = rdata(3, 1, 1, chain.chain_der[0]);
  near.back() ^= 1;
  seeds.emplace_back("ee-near-miss", fuzz::FrameTlsaInput(kAuthenticated, {near}));
  seeds.emplace_back("pkix-unusable",
                     fuzz::FrameTlsaInput(kAuthenticated, {rdata(1, 1, 1, chain.chain_der[0]),
                                                           rdata(0, 0, 1, chain.chain_der[1])}));
  seeds.emplace_back("mixed", fuzz::FrameTlsaInput(kAuthenticated,
                                                   {near, rdata(1, 1, 1, chain.chain_der[0]),
                                                    rdata(2, 1, 2, chain.chain_der[1])}));
  seeds.emplace_back("short", fuzz::FrameTlsaInput(kAuthenticated, {std::string("\x03\x01\x01", 3)}));
  for (int lookup = 0; lookup < 4; ++lookup) {
    seeds.emplace_back("lookup-" + std::to_string(lookup),
                       fuzz::FrameTlsaInput(lookup, {rdata(3, 1, 1, chain.chain_der[0])}));
  }
  for (const auto& [name, bytes] : seeds) {
    std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
    out << bytes;
    if (!out) {
      std::fprintf(stderr, "cannot write %s/%s\n", dir.c_str(), name.c_str());
      return 1;
    }
  }
  std::printf("wrote %zu seeds to %s\n", seeds.size(), dir.c_str());
  return 0;
}
