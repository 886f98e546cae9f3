// DMARC evaluation: organizational domains, identifier alignment, policy
// discovery and the policy result (RFC 7489, with RFC 9989 DMARCbis as an
// option).
//
// The pieces, each usable alone:
//  - PublicSuffixList: RFC 7489 §3.2 organizational domains from a public
//    suffix list file loaded with libpsl's psl_load_file (never libpsl's
//    built-in snapshot, so answers depend only on the file given).
//  - StrictlyAligned / IsAligned: RFC 7489 §3.1. Strict alignment is an exact
//    (ASCII case-insensitive) match of the two domains and never consults a
//    public suffix list. OpenDMARC got this wrong: with a PSL loaded its
//    strict check compared organizational domains, so "a.example.com" passed
//    strict alignment against "example.com" (see the test named for it).
//  - Evaluator: policy discovery over a dns::Resolver and the evaluation of
//    one author domain against the SPF and DKIM results the caller already
//    has (auth/spf, auth/dkim).
//
// Discovery methods:
//  - kRfc7489 (default): §6.6.3: _dmarc.<author domain>, then, if that yields
//    no record, _dmarc.<organizational domain> from the public suffix list.
//    Relaxed alignment compares PSL organizational domains.
//  - kTreeWalk: RFC 9989 §4.10 DNS Tree Walk. Queries _dmarc.<author domain>,
//    then, when it has 8 or more labels, jumps to its last 7 labels, then
//    removes one label at a time down to the TLD: at most 8 queries
//    (kMaxTreeWalkQueries). The policy record is the first one found (the one
//    closest to the author domain). The organizational domain of a name
//    (RFC 9989 §4.10.2) is the domain of a record with psd=n, or the domain
//    one label below a record with psd=y (other than at the starting name),
//    else the name with the fewest labels holding a record, else the name
//    itself. No public suffix list is used.
//
// Results (RFC 7489 §11.2 / RFC 8601 §2.7.7 keywords):
//   pass       an aligned identifier passed (§4.2)
//   fail       a policy record was found and nothing aligned passed
//   none       no policy record (incl. several records at one name, §6.6.3)
//   temperror  a DNS lookup failed transiently (SERVFAIL, timeout)
//   permerror  the record found is unusable (p= missing/invalid without the
//              rua rule) or a lookup failed permanently (REFUSED, bad answer)
//
// The disposition is what the domain owner asks for a failing message:
// p=, or sp= for a subdomain, or np= (RFC 9989 §4.7) for a non-existent
// subdomain (its name answers NXDOMAIN), then made one step less strict
// (reject -> quarantine -> none; RFC 7489 §6.6.4 and §6.3 "pct") when the
// message falls outside pct= or the record says t=y (RFC 9989 §4.7: t=y is
// the DMARCbis replacement for pct=0). The pct sample is an input, so
// evaluation is deterministic.

#ifndef MXKIT_AUTH_DMARC_EVALUATOR_H_
#define MXKIT_AUTH_DMARC_EVALUATOR_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/dkim/verifier.h"
#include "auth/dmarc/record.h"
#include "auth/spf/evaluator.h"
#include "dns/lookup_task.h"
#include "dns/resolver.h"

struct psl_ctx_st;

namespace mxkit::auth::dmarc {

// Debian's publicsuffix package installs the list here.
inline constexpr char kDefaultPublicSuffixListPath[] =
    "/usr/share/publicsuffix/public_suffix_list.dat";
// RFC 9989 §4.10: the walk queries the author domain, then at most the
// last 7 labels down to 1: never more than 8 queries per starting name.
inline constexpr std::size_t kMaxTreeWalkQueries = 8;
inline constexpr std::size_t kTreeWalkJumpLabels = 7;
// TXT records at one _dmarc name we look at (ours; §6.6.3 keeps one).
inline constexpr std::size_t kMaxTxtRecords = 16;

class PublicSuffixList {
 public:
  // Loads a list in the publicsuffix.org format with psl_load_file. Fails
  // with NotFound/InvalidArgument when the file is missing or holds no rules.
  static absl::StatusOr<std::shared_ptr<const PublicSuffixList>> Load(
      std::string_view path = kDefaultPublicSuffixListPath);
  ~PublicSuffixList();
  PublicSuffixList(const PublicSuffixList&) = delete;
  PublicSuffixList& operator=(const PublicSuffixList&) = delete;

  // RFC 7489 §3.2: the public suffix plus one label, lowercased, without a
  // trailing dot. A name that is itself a public suffix (or has fewer labels)
  // is its own organizational domain.
  std::string OrganizationalDomain(std::string_view domain) const;
  bool IsPublicSuffix(std::string_view domain) const;
  // Rules in the list (exceptions not counted), for diagnostics.
  int size() const;

 private:
  explicit PublicSuffixList(psl_ctx_st* ctx) : ctx_(ctx) {}
  psl_ctx_st* ctx_;
};

// Lowercase, without a trailing dot, U-labels as A-labels (RFC 8616 §6:
// alignment compares A-labels, so an SMTPUTF8 MAIL FROM "bücher.example"
// aligns with From "xn--bcher-kva.example"). A name that is not a valid IDN
// is only lowercased; it then matches nothing a valid name converts to.
std::string NormalizeDomain(std::string_view domain);

// RFC 7489 §3.1 strict alignment: the two domains are identical, ASCII case
// and a trailing dot ignored. No public suffix list is consulted.
bool StrictlyAligned(std::string_view a, std::string_view b);

// Strict as above; relaxed: equal organizational domains under `psl`.
bool IsAligned(std::string_view authenticated_domain, std::string_view author_domain,
               AlignmentMode mode, const PublicSuffixList& psl);

enum class DiscoveryMethod { kRfc7489, kTreeWalk };

enum class DmarcResult { kNone, kPass, kFail, kTempError, kPermError };

// "none", "pass", "fail", "temperror", "permerror".
std::string_view DmarcResultKeyword(DmarcResult result);

// One DKIM signature's outcome, as DMARC needs it (§4.2: only passing
// signatures count, through their d=).
struct DkimIdentifier {
  dkim::DkimResult result = dkim::DkimResult::kPermError;
  std::string domain;  // d=
};

struct EvaluationInput {
  std::string author_domain;  // from ExtractAuthorDomains
  // The SPF result for the domain SPF authenticated: the RFC5321.MailFrom
  // domain, or the HELO domain when MAIL FROM was null (RFC 7489 §3.1.2).
  spf::Result spf_result = spf::Result::kNone;
  std::string spf_domain;
  std::vector<DkimIdentifier> dkim;
  // A number in [0, 100): the message is inside pct= when sample < pct.
  // Callers pass a random number; tests pass a fixed one.
  uint32_t pct_sample = 0;
};

struct Evaluation {
  DmarcResult result = DmarcResult::kNone;
  // What the receiver should do with the message: kNone unless result is
  // kFail.
  Policy disposition = Policy::kNone;
  // The policy the record requests for this author domain (p, sp or np),
  // before pct/t; empty without a record.
  std::optional<Policy> requested_policy;
  std::string author_domain;
  std::string policy_domain;          // where the record was found
  std::string organizational_domain;  // of the author domain
  std::optional<Record> record;
  std::vector<RecordIssue> record_issues;
  bool spf_aligned = false;   // SPF passed and its domain is aligned
  bool dkim_aligned = false;  // some passing signature's d= is aligned
  std::string aligned_dkim_domain;
  bool sampled_out = false;  // outside pct=
  bool testing = false;      // t=y
  bool nonexistent_domain = false;  // np= applied
  std::string reason;  // for humans: what was found where, and why this result
  int dns_queries = 0;
};

struct EvaluatorOptions {
  DiscoveryMethod method = DiscoveryMethod::kRfc7489;
  // Required for kRfc7489; unused by kTreeWalk.
  std::shared_ptr<const PublicSuffixList> psl;
};

class Evaluator {
 public:
  // `resolver` must outlive the evaluator. Fails with InvalidArgument when
  // kRfc7489 is chosen without a public suffix list.
  static absl::StatusOr<Evaluator> Create(dns::Resolver& resolver, EvaluatorOptions options);

  // Discovers the policy for input.author_domain and evaluates it,
  // asynchronously: lookups go through Resolver::Lookup, one after another
  // as discovery and alignment need them, and `done` runs exactly once with
  // the evaluation: inline when every lookup completes inline, else from the
  // resolver's executor. `input` is moved into the evaluation; the evaluator
  // (and its resolver) must outlive it.
  void EvaluateAsync(EvaluationInput input, std::function<void(Evaluation)> done) const;

  // The same evaluation, synchronously: each lookup through
  // Resolver::LookupSync (the one implementation run over
  // dns::SyncLookupResolver).
  Evaluation Evaluate(const EvaluationInput& input) const;

  // The organizational domain of `domain` by the configured method;
  // kTreeWalk may query DNS (nullopt on a transient failure).
  std::optional<std::string> OrganizationalDomain(std::string_view domain) const;
  // The same, asynchronously (as EvaluateAsync).
  void OrganizationalDomainAsync(std::string_view domain,
                                 std::function<void(std::optional<std::string>)> done) const;

 private:
  // The one implementation behind Evaluate and EvaluateAsync. It reads
  // `*borrowed` when set (Evaluate: the caller's input outlives the inline
  // run, so it is not copied), else `owned` (EvaluateAsync: the input lives
  // in the coroutine frame across lookups).
  dns::Task<Evaluation> Run(dns::Resolver& resolver, const EvaluationInput* borrowed,
                            EvaluationInput owned) const;

  Evaluator(dns::Resolver& resolver, EvaluatorOptions options)
      : resolver_(&resolver), options_(std::move(options)) {}
  dns::Resolver* resolver_;
  EvaluatorOptions options_;
};

// RFC 7489 §6.6.1 for a From with several author domains: the evaluation to
// act on is the failing one with the strictest disposition; when none fails,
// the first one. `evaluations` must not be empty.
const Evaluation& Strictest(const std::vector<Evaluation>& evaluations);

// The RFC 9989 §4.10 tree-walk query names for `domain` (normalized), in
// order: the name, then its last min(labels-1, 7) labels, then one label
// fewer each time down to one.
std::vector<std::string> TreeWalkNames(std::string_view domain);

}  // namespace mxkit::auth::dmarc

#endif  // MXKIT_AUTH_DMARC_EVALUATOR_H_
