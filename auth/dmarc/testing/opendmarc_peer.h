// OpenDMARC (libopendmarc 1.4.2, Debian's libopendmarc-dev) as a test peer
// for auth/dmarc: the differential test and the benchmark call it in-process
// on the same inputs as our Evaluator. Test-only: never link it into a library.
//
// What the peer does is what the opendmarc milter (opendmarc/opendmarc.c,
// mlfi_eom) does with the library, so its answers are the ones a Postfix or
// Sendmail installation running opendmarc gives:
//  - store_from_domain, then store_dkim for each passing signature (the milter
//    stores only passes, before the policy lookup), store_spf for the MAIL FROM
//    domain;
//  - policy discovery as opendmarc_policy_query_dmarc does it, but over a TXT
//    lookup we supply (the library's own lookup goes to the system resolver
//    and cannot be pointed at a test zone): _dmarc.<From domain>, the first TXT
//    record containing "v=DMARC" (dmarc_dns_get_record's rule), else
//    _dmarc.<organizational domain> with the organizational domain from
//    OpenDMARC's own public suffix code (opendmarc_get_tld) over the same list
//    file our PublicSuffixList loads; the record text then goes to
//    opendmarc_policy_store_dmarc;
//  - opendmarc_get_policy_to_enforce, fetch_alignment, fetch_pct and
//    get_policy_token_used, mapped to our result keywords by MapMilterOutcome
//    (the one place that does it; see there for the RFC 7489 reasons).
//
// libopendmarc keeps the public suffix list in process-global state, so one
// OpenDmarcPeer may exist at a time (Create fails while another lives).

#ifndef MXKIT_AUTH_DMARC_TESTING_OPENDMARC_PEER_H_
#define MXKIT_AUTH_DMARC_TESTING_OPENDMARC_PEER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/dmarc/evaluator.h"
#include "auth/dmarc/record.h"
#include "dns/resolver.h"

namespace mxkit::auth::dmarc::testing {

// One TXT lookup as the peer sees it: the TXT records at a name (each one's
// strings already concatenated) or why there are none.
struct PeerTxtAnswer {
  dns::LookupStatus status = dns::LookupStatus::kNxDomain;
  std::vector<std::string> records;
};
using PeerTxtLookup = std::function<PeerTxtAnswer(std::string_view name)>;

// Adapts a resolver (a dns::StaticResolver over the test's zone) to the peer.
PeerTxtLookup TxtLookupFrom(dns::Resolver& resolver);

struct PeerEvaluation {
  DmarcResult result = DmarcResult::kNone;
  Policy disposition = Policy::kNone;        // what the milter enacts
  std::optional<Policy> requested_policy;    // p or sp, as token_used says
  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string policy_domain;  // where the record was found
  // The library's own codes, for messages: store_dmarc's status and
  // get_policy_to_enforce's answer (opendmarc_policy_status_to_str).
  std::string detail;
};

class OpenDmarcPeer {
 public:
  // Initialises libopendmarc with the public suffix list at `psl_path`
  // (opendmarc_policy_library_init, OPENDMARC_TLD_TYPE_MOZILLA). Fails when
  // the file cannot be read or another peer is alive.
  static absl::StatusOr<std::unique_ptr<OpenDmarcPeer>> Create(
      std::string_view psl_path = kDefaultPublicSuffixListPath);
  ~OpenDmarcPeer();  // opendmarc_policy_library_shutdown
  OpenDmarcPeer(const OpenDmarcPeer&) = delete;
  OpenDmarcPeer& operator=(const OpenDmarcPeer&) = delete;

  // Evaluates `input` as the milter would, discovering the policy through
  // `lookup`. input.pct_sample plays the milter's random() % 100.
  PeerEvaluation Evaluate(const EvaluationInput& input, const PeerTxtLookup& lookup) const;

  // OpenDMARC's organizational domain of `domain` (opendmarc_get_tld);
  // nullopt when it reports an error.
  std::optional<std::string> OrganizationalDomain(std::string_view domain) const;

 private:
  OpenDmarcPeer() = default;
};

}  // namespace mxkit::auth::dmarc::testing

#endif  // MXKIT_AUTH_DMARC_TESTING_OPENDMARC_PEER_H_
