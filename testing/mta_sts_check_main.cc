// What our own MTA-STS library (//policy:mta_sts, //policy:mta_sts_fetcher)
// makes of a domain, end to end: the _mta-sts TXT through c-ares (RFC 8461
// §3.1 discovery), the policy host's address, the HTTPS fetch (§3.3) and the
// policy (§3.2), then each MX host against the policy's patterns (§4.1). One
// line on standard output, for tests/mta_sts_resolver_test.sh to set beside
// postfix-mta-sts-resolver's verdict:
//
//   none: <why>                      no usable _mta-sts record
//   valid id=ID mode=M max_age=N mx=P[,P] MXHOST=allowed|refused ...
//   failure <RFC 8460 result type>: <detail>
//
// Usage: mta_sts_check --dns=HOST:PORT --ca=ROOTS.pem [--port=443]
//            [--timeout-ms=N] DOMAIN
// Exit 0 with a verdict, 2 on a usage or setup error.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/absl_interop.h"
#include "dns/ares_resolver.h"
#include "dns/resolver.h"
#include "policy/mta_sts.h"
#include "policy/mta_sts_fetcher.h"
#include "policy/tls_report_types.h"

namespace {

using mxkit::base::Av;
namespace dns = mxkit::dns;
namespace policy = mxkit::policy;

int Usage(const std::string& why) {
  std::fprintf(stderr,
               "mta_sts_check: %s\nusage: mta_sts_check --dns=HOST:PORT --ca=ROOTS.pem "
               "[--port=443] [--timeout-ms=N] DOMAIN\n",
               why.c_str());
  return 2;
}

std::string Describe(const dns::LookupResult& r) {
  switch (r.status) {
    case dns::LookupStatus::kAnswer: return "answer";
    case dns::LookupStatus::kNxDomain: return "NXDOMAIN";
    case dns::LookupStatus::kNoData: return "no data";
    case dns::LookupStatus::kTemporaryFailure: return absl::StrCat("temporary failure: ", r.detail);
    case dns::LookupStatus::kPermanentFailure: return absl::StrCat("permanent failure: ", r.detail);
  }
  return r.detail;
}

int Verdict(const std::string& line) {
  std::printf("%s\n", line.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dns_server, ca_file, domain;
  int port = 443;
  long timeout_ms = policy::kDefaultStsFetchTimeout.count();
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--dns=", 0) == 0) {
      dns_server = arg.substr(6);
    } else if (arg.rfind("--ca=", 0) == 0) {
      ca_file = arg.substr(5);
    } else if (arg.rfind("--port=", 0) == 0) {
      port = std::atoi(std::string(arg.substr(7)).c_str());
    } else if (arg.rfind("--timeout-ms=", 0) == 0) {
      timeout_ms = std::atol(std::string(arg.substr(13)).c_str());
    } else if (!arg.empty() && arg[0] != '-' && domain.empty()) {
      domain = arg;
    } else {
      return Usage(absl::StrCat("unexpected argument ", Av(arg)));
    }
  }
  if (dns_server.empty() || ca_file.empty() || domain.empty()) {
    return Usage("--dns, --ca and DOMAIN are required");
  }
  if (port < 1 || port > 65535 || timeout_ms < 1) return Usage("bad --port or --timeout-ms");
  std::ifstream ca(ca_file, std::ios::binary);
  if (!ca) return Usage(absl::StrCat("cannot read ", ca_file));
  std::stringstream roots;
  roots << ca.rdbuf();

  boost::asio::io_context io;
  dns::AresOptions options;
  options.servers = {dns_server};
  options.timeout = std::chrono::milliseconds(2000);
  auto resolver = dns::AresResolver::Create(io, options);
  if (!resolver.ok()) return Usage(std::string(resolver.status().message()));

  // §3.1: the TXT RRset, each record's strings concatenated.
  const dns::LookupResult txt = (*resolver)->LookupSync("_mta-sts." + domain, dns::RrType::kTxt);
  if (!txt.ok()) return Verdict(absl::StrCat("none: _mta-sts.", domain, " TXT: ", Describe(txt)));
  std::vector<std::string> records;
  for (const dns::ResourceRecord& rr : txt.records) {
    if (const auto* t = std::get_if<dns::TxtData>(&rr.data)) {
      records.push_back(absl::StrJoin(t->strings, ""));
    }
  }
  auto record = policy::DiscoverStsTxtRecord(records);
  if (!record.ok()) return Verdict(absl::StrCat("none: ", record.status().message()));

  // The caller resolves the policy host (the fetcher takes an address).
  const std::string policy_host = absl::StrCat(policy::kStsPolicyHostPrefix, domain);
  const dns::LookupResult a = (*resolver)->LookupSync(policy_host, dns::RrType::kA);
  std::string address;
  for (const dns::ResourceRecord& rr : a.records) {
    if (const auto* v4 = std::get_if<dns::AData>(&rr.data)) {
      address = absl::StrCat(v4->address[0], ".", v4->address[1], ".", v4->address[2], ".",
                             v4->address[3]);
      break;
    }
  }
  if (address.empty()) {
    return Verdict(absl::StrCat(
        "failure ", Av(policy::TlsResultTypeName(policy::TlsResultType::kStsPolicyFetchError)),
        ": no A record for ", policy_host, " (", Describe(a), ")"));
  }

  policy::StsFetchRequest request;
  request.policy_domain = domain;
  request.connect_address = address;
  request.connect_port = static_cast<uint16_t>(port);
  request.trusted_roots_pem = roots.str();
  request.timeout = std::chrono::milliseconds(timeout_ms);
  const policy::StsFetchResult fetched = policy::FetchStsPolicy(request);
  if (!fetched.ok()) {
    return Verdict(absl::StrCat("failure ", Av(policy::TlsResultTypeName(*fetched.failure)), ": ",
                                fetched.detail));
  }
  const policy::StsPolicy& p = *fetched.policy;
  std::string line = absl::StrCat("valid id=", record->id, " mode=", Av(policy::StsModeName(p.mode)),
                                  " max_age=", p.max_age, " mx=", absl::StrJoin(p.mx, ","));
  // §4.1: each MX host of the domain against the patterns.
  const dns::LookupResult mx = (*resolver)->LookupSync(domain, dns::RrType::kMx);
  for (const dns::ResourceRecord& rr : mx.records) {
    if (const auto* m = std::get_if<dns::MxData>(&rr.data)) {
      absl::StrAppend(&line, " ", m->exchange, "=",
                      policy::StsPolicyAllowsMx(p, m->exchange) ? "allowed" : "refused");
    }
  }
  return Verdict(line);
}
