#include "auth/spf/testing/libspf2_peer.h"

// spf.h relies on these being included first, as libspf2's own tools do.
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>

extern "C" {
#include "spf2/spf.h"
#include "spf2/spf_dns_cache.h"
#include "spf2/spf_dns_zone.h"
}

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "base/ascii.h"

namespace mxkit::auth::spf::testing {
namespace {

using base::AsciiLower;

// libspf2 reports through global handlers that print to stderr; a test run of
// thousands of checks would drown its own output in "Warning: N errors in
// response" lines. Errors (SPF_error, fatal in libspf2) keep their handler.
void QuietLibspf2() {
  static std::once_flag once;
  std::call_once(once, [] {
    SPF_info_handler = nullptr;
    SPF_debug_handler = nullptr;
    SPF_warning_handler = nullptr;
  });
}

std::string Joined(const dns::TxtData& txt) {
  // RFC 7208 §3.3: the strings of one TXT record are concatenated without
  // spaces; libspf2's resolv layer does the same, its zone layer takes the
  // result as one C string.
  std::string out;
  for (const std::string& s : txt.strings) out += s;
  return out;
}

// The ns_type a zone fault's RR type maps to, or -1 for the types libspf2
// never asks for (CNAME, NS, SOA, TLSA), which need no entry.
int Libspf2Type(dns::RrType type) {
  switch (type) {
    case dns::RrType::kA:
      return ns_t_a;
    case dns::RrType::kAaaa:
      return ns_t_aaaa;
    case dns::RrType::kMx:
      return ns_t_mx;
    case dns::RrType::kTxt:
      return ns_t_txt;
    case dns::RrType::kPtr:
      return ns_t_ptr;
    default:
      return -1;
  }
}

// RFC 7208 §2.6 names; libspf2's own SPF_strresult prints INVALID as
// "(invalid)".
const char* ResultKeyword(SPF_result_t result) {
  switch (result) {
    case SPF_RESULT_NEUTRAL:
      return "neutral";
    case SPF_RESULT_PASS:
      return "pass";
    case SPF_RESULT_FAIL:
      return "fail";
    case SPF_RESULT_SOFTFAIL:
      return "softfail";
    case SPF_RESULT_NONE:
      return "none";
    case SPF_RESULT_TEMPERROR:
      return "temperror";
    case SPF_RESULT_PERMERROR:
      return "permerror";
    default:
      return "invalid";
  }
}

// Bounds alias chains while flattening (dns/static_resolver.h follows at most
// this many too).
constexpr int kMaxCnameHops = 8;

// The zone layer has no aliases. A resolver answers a query for an alias
// with the target's records, which is all libspf2 looks at (it never sees
// owner names), so an alias gets copies of its final target's records and
// faults under its own name; an alias whose chain ends nowhere answers
// NXDOMAIN, as a resolver would.
void FlattenCnames(dns::Zone& zone) {
  std::map<std::string, std::string> alias;
  for (const dns::ResourceRecord& rr : zone.records) {
    if (rr.type != dns::RrType::kCname) continue;
    if (const auto* target = std::get_if<dns::NameData>(&rr.data)) alias[AsciiLower(rr.name)] = AsciiLower(target->name);
  }
  if (alias.empty()) return;
  std::vector<dns::ResourceRecord> records;
  std::vector<dns::ZoneFault> faults = zone.faults;
  for (const dns::ResourceRecord& rr : zone.records) {
    if (rr.type != dns::RrType::kCname) records.push_back(rr);
  }
  for (const auto& [name, first] : alias) {
    std::string target = first;
    for (int hop = 0; hop < kMaxCnameHops && alias.count(target) > 0; ++hop) target = alias[target];
    if (alias.count(target) > 0) continue;  // a loop or a longer chain: NXDOMAIN
    for (const dns::ResourceRecord& rr : zone.records) {
      if (rr.type == dns::RrType::kCname || AsciiLower(rr.name) != target) continue;
      dns::ResourceRecord copy = rr;
      copy.name = name;
      records.push_back(std::move(copy));
    }
    for (const dns::ZoneFault& fault : zone.faults) {
      if (AsciiLower(fault.name) != target) continue;
      dns::ZoneFault copy = fault;
      copy.name = name;
      faults.push_back(std::move(copy));
    }
  }
  zone.records = std::move(records);
  zone.faults = std::move(faults);
}

absl::Status Added(SPF_errcode_t err, const std::string& name, std::string_view what) {
  if (err == SPF_E_SUCCESS) return absl::OkStatus();
  return absl::InvalidArgumentError("libspf2 zone rejects " + name + " " + std::string(what) + ": " +
                                    SPF_strerror(err));
}

}  // namespace

absl::StatusOr<std::unique_ptr<Libspf2Peer>> Libspf2Peer::Create(const SuiteScenario& scenario, Libspf2Dns dns) {
  QuietLibspf2();
  std::unique_ptr<Libspf2Peer> peer(new Libspf2Peer);
  SPF_dns_server_t* zone = SPF_dns_zone_new(nullptr, "zone", 0);
  if (zone == nullptr) return absl::ResourceExhaustedError("SPF_dns_zone_new failed");
  SPF_dns_server_t* top = zone;
  if (dns == Libspf2Dns::kZoneBehindCache) {
    // 2^8 buckets: SPF_server_new(SPF_DNS_CACHE, ...) uses the same.
    top = SPF_dns_cache_new(zone, "cache", 0, 8);
    if (top == nullptr) {
      SPF_dns_free(zone);
      return absl::ResourceExhaustedError("SPF_dns_cache_new failed");
    }
  }
  // From here SPF_server_free frees the DNS layers with the server.
  peer->server_ = SPF_server_new_dns(top, 0);
  if (peer->server_ == nullptr) {
    SPF_dns_free(top);
    return absl::ResourceExhaustedError("SPF_server_new_dns failed");
  }
  SPF_server_t* server = peer->server_;
  if (SPF_errcode_t err = SPF_server_set_rec_dom(server, kReceiver); err != SPF_E_SUCCESS) {
    return absl::InternalError(std::string("SPF_server_set_rec_dom: ") + SPF_strerror(err));
  }
  SPF_response_t* response = nullptr;
  SPF_errcode_t err = SPF_server_set_explanation(server, kDefaultExplanation, &response);
  if (response != nullptr) SPF_response_free(response);
  if (err != SPF_E_SUCCESS) {
    return absl::InternalError(std::string("SPF_server_set_explanation: ") + SPF_strerror(err));
  }
  dns::Zone z = ScenarioZone(scenario);
  FlattenCnames(z);
  // Which types each name has, and the names that exist at all.
  std::map<std::string, std::set<dns::RrType>> types;
  for (const dns::ResourceRecord& rr : z.records) types[AsciiLower(rr.name)].insert(rr.type);
  std::map<std::string, std::vector<std::string>> spf_type, txt_type;

  for (const dns::ResourceRecord& rr : z.records) {
    std::string name = AsciiLower(rr.name);
    std::string data;
    ns_type type;
    if (const auto* a = std::get_if<dns::AData>(&rr.data)) {
      char text[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, a->address.data(), text, sizeof text);
      data = text;
      type = ns_t_a;
    } else if (const auto* aaaa = std::get_if<dns::AaaaData>(&rr.data)) {
      char text[INET6_ADDRSTRLEN];
      inet_ntop(AF_INET6, aaaa->address.data(), text, sizeof text);
      data = text;
      type = ns_t_aaaa;
    } else if (const auto* mx = std::get_if<dns::MxData>(&rr.data)) {
      // The zone layer parses "<preference> <exchange>" and keeps the name.
      data = std::to_string(mx->preference) + " " + mx->exchange;
      type = ns_t_mx;
    } else if (const auto* txt = std::get_if<dns::TxtData>(&rr.data)) {
      data = Joined(*txt);
      if (rr.type == kSpfType) {
        // Type 99: libspf2 1.2.10 asks for it before TXT, but its zone
        // layer refuses the type (SPF_dns_zone_add_str calls SPF_error,
        // which exits). Left out: the name answers NO_DATA for 99 and
        // libspf2 goes on to TXT, where the suite convention already serves
        // SPF records unless the name has explicit TXT.
        spf_type[name].push_back(data);
        continue;
      }
      type = ns_t_txt;
      txt_type[name].push_back(data);
      if (data.find('\0') != std::string::npos) {
        // A C string cannot hold it.
        peer->inexpressible_.insert(name);
        continue;
      }
    } else if (const auto* target = std::get_if<dns::NameData>(&rr.data); target && rr.type == dns::RrType::kPtr) {
      data = target->name;
      type = ns_t_ptr;
    } else {
      // Any other type (FlattenCnames removed the CNAMEs): nothing libspf2
      // asks for.
      continue;
    }
    if (absl::Status s = Added(SPF_dns_zone_add_str(zone, name.c_str(), type, NETDB_SUCCESS, data.c_str()),
                               name, data);
        !s.ok()) {
      return s;
    }
  }
  // A name whose type-99 records differ from its TXT ones: libspf2 with real
  // DNS would decide on the type-99 set, which it cannot be given here.
  for (const auto& [name, spf] : spf_type) {
    auto txt = txt_type.find(name);
    if (txt == txt_type.end() || txt->second != spf) peer->inexpressible_.insert(name);
  }

  // Timeouts: TRY_AGAIN, which libspf2 turns into temperror. Added before the
  // per-name fallbacks below, since a lookup takes the first entry that fits.
  for (const dns::ZoneFault& fault : z.faults) {
    std::string name = AsciiLower(fault.name);
    int type = fault.type ? Libspf2Type(*fault.type) : ns_t_any;
    if (type < 0) continue;
    if (absl::Status s = Added(SPF_dns_zone_add_str(zone, name.c_str(), static_cast<ns_type>(type), TRY_AGAIN,
                                                    nullptr),
                               name, "timeout");
        !s.ok()) {
      return s;
    }
  }
  // The zone layer answers HOST_NOT_FOUND (NXDOMAIN) for any (name, type) it
  // has no entry for. A name that exists answers NO_DATA for its other types
  // (RFC 7208 §4.6.4 counts both as void; libspf2 needs NO_DATA for type 99
  // to go on to TXT at all): an ANY entry after the typed ones.
  for (const auto& [name, unused] : types) {
    if (absl::Status s = Added(SPF_dns_zone_add_str(zone, name.c_str(), ns_t_any, NO_DATA, nullptr), name,
                               "NO_DATA fallback");
        !s.ok()) {
      return s;
    }
  }
  return peer;
}

Libspf2Peer::~Libspf2Peer() {
  if (server_ != nullptr) SPF_server_free(server_);
}

Libspf2Answer Libspf2Peer::Check(std::string_view ip, std::string_view mail_from, std::string_view helo,
                                 bool with_detail) const {
  Libspf2Answer answer;
  SPF_request_t* request = SPF_request_new(server_);
  if (request == nullptr) return {"invalid", "", "SPF_request_new failed"};
  std::string ip_text(ip);
  SPF_errcode_t err = ip_text.find(':') == std::string::npos ? SPF_request_set_ipv4_str(request, ip_text.c_str())
                                                             : SPF_request_set_ipv6_str(request, ip_text.c_str());
  if (err == SPF_E_SUCCESS) err = SPF_request_set_helo_dom(request, std::string(helo).c_str());
  if (err == SPF_E_SUCCESS) {
    // After the HELO name, so that "" becomes postmaster@<helo>.
    err = static_cast<SPF_errcode_t>(SPF_request_set_env_from(request, std::string(mail_from).c_str()));
  }
  if (err != SPF_E_SUCCESS) {
    SPF_request_free(request);
    return {"invalid", "", std::string("request rejected: ") + SPF_strerror(err)};
  }
  SPF_response_t* response = nullptr;
  err = SPF_request_query_mailfrom(request, &response);
  if (response == nullptr) {
    SPF_request_free(request);
    return {"invalid", "", std::string("no response: ") + SPF_strerror(err)};
  }
  SPF_result_t result = SPF_response_result(response);
  answer.result = ResultKeyword(result);
  if (result == SPF_RESULT_FAIL) {
    const char* exp = SPF_response_get_explanation(response);
    answer.explanation = exp ? exp : "";
  }
  if (with_detail) {
    answer.detail = std::string("reason ") + SPF_strreason(SPF_response_reason(response)) + ", error " +
                    SPF_strerror(err);
  }
  if (with_detail && SPF_response_messages(response) > 0) {
    SPF_error_t* first = SPF_response_message(response, 0);
    if (first != nullptr && SPF_error_message(first) != nullptr) {
      answer.detail += ": " + std::string(SPF_error_message(first));
    }
  }
  SPF_response_free(response);
  SPF_request_free(request);
  return answer;
}

}  // namespace mxkit::auth::spf::testing
