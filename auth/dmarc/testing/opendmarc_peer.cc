#include "auth/dmarc/testing/opendmarc_peer.h"

// dmarc.h uses struct sockaddr_in and u_char without including their headers.
#include <netinet/in.h>
#include <sys/types.h>

#include "opendmarc/dmarc.h"

#include <atomic>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "dns/message.h"

// Exported by libopendmarc.so.2 but declared only in its internal header
// (opendmarc_internal.h): the organizational domain from the loaded list.
extern "C" int opendmarc_get_tld(u_char* domain, u_char* tld, size_t tld_len);

namespace mxkit::auth::dmarc::testing {
namespace {

std::atomic<bool> g_peer_alive{false};

// The library takes mutable u_char* for strings it only reads.
u_char* U(std::string& s) { return reinterpret_cast<u_char*>(s.data()); }

struct PolicyDeleter {
  void operator()(DMARC_POLICY_T* p) const { opendmarc_policy_connect_shutdown(p); }
};
using PolicyPtr = std::unique_ptr<DMARC_POLICY_T, PolicyDeleter>;

// What the milter passes to store_spf (opendmarc.c maps the SPF
// Authentication-Results keywords this way): softfail and neutral count as
// fail, permerror as none.
int SpfOutcome(spf::Result r) {
  switch (r) {
    case spf::Result::kPass: return DMARC_POLICY_SPF_OUTCOME_PASS;
    case spf::Result::kTempError: return DMARC_POLICY_SPF_OUTCOME_TMPFAIL;
    case spf::Result::kFail:
    case spf::Result::kSoftFail:
    case spf::Result::kNeutral: return DMARC_POLICY_SPF_OUTCOME_FAIL;
    case spf::Result::kNone:
    case spf::Result::kPermError: return DMARC_POLICY_SPF_OUTCOME_NONE;
  }
  return DMARC_POLICY_SPF_OUTCOME_NONE;
}

std::optional<Policy> FromRecordP(int p) {
  switch (p) {
    case DMARC_RECORD_P_NONE: return Policy::kNone;
    case DMARC_RECORD_P_QUARANTINE: return Policy::kQuarantine;
    case DMARC_RECORD_P_REJECT: return Policy::kReject;
    default: return std::nullopt;
  }
}

// One _dmarc lookup the way dmarc_dns_get_record answers: the first TXT
// record that contains "v=DMARC" anywhere (strstr), else nothing.
std::optional<std::string> FirstDmarcTxt(const PeerTxtAnswer& answer) {
  if (answer.status != dns::LookupStatus::kAnswer) return std::nullopt;
  for (const std::string& txt : answer.records) {
    if (txt.find("v=DMARC") != std::string::npos) return txt;
  }
  return std::nullopt;
}

// The single place where OpenDMARC's codes become our result keywords, as the
// milter's mlfi_eom turns them into "dmarc=" and its disposition:
//  - store_dmarc's parse errors (BAD_VERSION, BAD_VALUE, NO_REQUIRED_P,
//    NO_DOMAIN) -> permerror (RFC 7489 §6.6.3 step 6: an unusable record);
//  - no record anywhere -> none (§6.6.3: DMARC is not applied);
//  - a lookup that failed transiently leaves p unset, so
//    get_policy_to_enforce answers DMARC_POLICY_ABSENT -> none (the milter
//    has no path to temperror here; RFC 7489 §11.2 says temperror);
//  - DMARC_POLICY_PASS -> pass (§4.2: an aligned identifier passed);
//  - DMARC_POLICY_NONE/QUARANTINE/REJECT -> fail with that policy; the
//    milter enacts quarantine/reject only when random() % 100 < pct and
//    otherwise accepts outright (disposition none), where RFC 7489 §6.6.4
//    asks for the next less strict policy.
void MapMilterOutcome(int store_status, bool found, int policy, int pct, uint32_t sample,
                      PeerEvaluation& out) {
  if (found && store_status != DMARC_PARSE_OKAY) {
    out.result = DmarcResult::kPermError;
    return;
  }
  switch (policy) {
    case DMARC_POLICY_PASS:
      out.result = DmarcResult::kPass;
      return;
    case DMARC_POLICY_NONE:
      out.result = DmarcResult::kFail;
      out.disposition = Policy::kNone;
      return;
    case DMARC_POLICY_QUARANTINE:
    case DMARC_POLICY_REJECT: {
      out.result = DmarcResult::kFail;
      bool enforce = static_cast<int>(sample % 100) < pct;
      out.disposition = !enforce ? Policy::kNone
                        : policy == DMARC_POLICY_REJECT ? Policy::kReject
                                                        : Policy::kQuarantine;
      return;
    }
    case DMARC_POLICY_ABSENT:
    case DMARC_FROM_DOMAIN_ABSENT:
      out.result = DmarcResult::kNone;
      return;
    default:
      out.result = DmarcResult::kTempError;
      return;
  }
}

}  // namespace

PeerTxtLookup TxtLookupFrom(dns::Resolver& resolver) {
  return [&resolver](std::string_view name) {
    dns::LookupResult lr = resolver.LookupSync(name, dns::RrType::kTxt);
    PeerTxtAnswer answer;
    answer.status = lr.status;
    for (const dns::ResourceRecord& rr : lr.records) {
      const auto* txt = std::get_if<dns::TxtData>(&rr.data);
      if (txt == nullptr) continue;
      std::string text;
      for (const std::string& s : txt->strings) text += s;
      answer.records.push_back(std::move(text));
    }
    return answer;
  };
}

absl::StatusOr<std::unique_ptr<OpenDmarcPeer>> OpenDmarcPeer::Create(std::string_view psl_path) {
  std::string path(psl_path);
  if (!std::ifstream(path).good()) {
    return absl::NotFoundError("public suffix list " + path + " cannot be opened");
  }
  OPENDMARC_LIB_T lib;
  std::memset(&lib, 0, sizeof lib);
  if (path.size() >= sizeof lib.tld_source_file) {
    return absl::InvalidArgumentError("public suffix list path longer than OpenDMARC's " +
                                      std::to_string(sizeof lib.tld_source_file - 1) + " bytes");
  }
  bool expected = false;
  if (!g_peer_alive.compare_exchange_strong(expected, true)) {
    return absl::FailedPreconditionError(
        "an OpenDmarcPeer is alive: libopendmarc's suffix list is process-global");
  }
  lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
  std::memcpy(lib.tld_source_file, path.data(), path.size());
  int status = opendmarc_policy_library_init(&lib);
  if (status != DMARC_PARSE_OKAY) {
    opendmarc_policy_library_shutdown(&lib);
    g_peer_alive = false;
    return absl::InternalError("opendmarc_policy_library_init(" + path + ") failed: " +
                               std::to_string(status) + " (" + std::strerror(status) + ")");
  }
  return std::unique_ptr<OpenDmarcPeer>(new OpenDmarcPeer());
}

OpenDmarcPeer::~OpenDmarcPeer() {
  OPENDMARC_LIB_T lib;
  std::memset(&lib, 0, sizeof lib);
  opendmarc_policy_library_shutdown(&lib);
  g_peer_alive = false;
}

std::optional<std::string> OpenDmarcPeer::OrganizationalDomain(std::string_view domain) const {
  std::string d(domain);
  u_char buf[256] = {0};
  if (opendmarc_get_tld(U(d), buf, sizeof buf) != 0) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(buf));
}

PeerEvaluation OpenDmarcPeer::Evaluate(const EvaluationInput& input,
                                       const PeerTxtLookup& lookup) const {
  PeerEvaluation out;
  std::string ip = "192.0.2.1";
  PolicyPtr ctx(opendmarc_policy_connect_init(U(ip), 0));
  if (ctx == nullptr) {
    out.result = DmarcResult::kTempError;
    out.detail = "opendmarc_policy_connect_init failed";
    return out;
  }
  std::string from = input.author_domain;
  if (from.empty() || opendmarc_policy_store_from_domain(ctx.get(), U(from)) != DMARC_PARSE_OKAY) {
    out.result = DmarcResult::kNone;  // the milter: DMARC_FROM_DOMAIN_ABSENT
    out.detail = "store_from_domain refused '" + from + "'";
    return out;
  }
  // The milter stores only passing signatures, before the policy lookup.
  for (const DkimIdentifier& d : input.dkim) {
    if (d.result != dkim::DkimResult::kPass || d.domain.empty()) continue;
    std::string domain = d.domain;
    std::string selector = "sel";
    opendmarc_policy_store_dkim(ctx.get(), U(domain), U(selector), DMARC_POLICY_DKIM_OUTCOME_PASS,
                                nullptr);
  }
  if (!input.spf_domain.empty()) {
    std::string domain = input.spf_domain;
    opendmarc_policy_store_spf(ctx.get(), U(domain), SpfOutcome(input.spf_result),
                               DMARC_POLICY_SPF_ORIGIN_MAILFROM, nullptr);
  }

  // opendmarc_policy_query_dmarc's discovery: the From domain, then (whatever
  // the first lookup said, a transient failure included) the organizational
  // domain.
  std::optional<std::string> record = FirstDmarcTxt(lookup("_dmarc." + from));
  std::optional<std::string> org;
  if (record) {
    out.policy_domain = from;
  } else {
    org = OrganizationalDomain(from);
    if (org && !org->empty()) {
      record = FirstDmarcTxt(lookup("_dmarc." + *org));
      if (record) out.policy_domain = *org;
    }
  }
  int store_status = DMARC_DNS_ERROR_NO_RECORD;
  if (record) {
    std::string org_copy = org.value_or("");
    store_status = opendmarc_policy_store_dmarc(ctx.get(), U(*record), U(from),
                                                org ? U(org_copy) : nullptr);
  }
  int policy = opendmarc_get_policy_to_enforce(ctx.get());
  int pct = 100;
  opendmarc_policy_fetch_pct(ctx.get(), &pct);
  out.detail = std::string("store_dmarc: ") +
               (record ? opendmarc_policy_status_to_str(store_status) : "no record") +
               "; policy: " + opendmarc_policy_status_to_str(policy) + "; pct " +
               std::to_string(pct);
  MapMilterOutcome(store_status, record.has_value(), policy, pct, input.pct_sample, out);
  if (out.result == DmarcResult::kPass || out.result == DmarcResult::kFail) {
    int p = 0, sp = 0;
    opendmarc_policy_fetch_p(ctx.get(), &p);
    opendmarc_policy_fetch_sp(ctx.get(), &sp);
    out.requested_policy =
        FromRecordP(opendmarc_get_policy_token_used(ctx.get()) == DMARC_USED_POLICY_IS_SP ? sp : p);
    int dkim_alignment = 0, spf_alignment = 0;
    opendmarc_policy_fetch_alignment(ctx.get(), &dkim_alignment, &spf_alignment);
    out.dkim_aligned = dkim_alignment == DMARC_POLICY_DKIM_ALIGNMENT_PASS;
    out.spf_aligned = spf_alignment == DMARC_POLICY_SPF_ALIGNMENT_PASS;
  }
  return out;
}

}  // namespace mxkit::auth::dmarc::testing
