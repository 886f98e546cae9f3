#include "fuzz/tlsa_rdata_input.h"

#include <cstdio>
#include <cstdlib>

#include "policy/chain.h"
#include "tls/cert_factory.h"

namespace mxkit::fuzz {

const TlsaFuzzChain& FixedTlsaChain() {
  static const TlsaFuzzChain* chain = [] {
    tls::CertFactoryOptions options;  // mx.test, seed 1
    auto set = tls::CertificateSet::Generate(options, {tls::CertVariant::kGood});
    if (!set.ok()) {
      std::fprintf(stderr, "FixedTlsaChain: %s\n", std::string(set.status().message()).c_str());
      std::abort();
    }
    auto* out = new TlsaFuzzChain;
    out->chain_der = *policy::PemCertificatesToDer((*set->Get(tls::CertVariant::kGood))->chain_pem);
    out->root_der = policy::PemCertificatesToDer(set->root_pem())->front();
    return out;
  }();
  return *chain;
}

}  // namespace mxkit::fuzz
