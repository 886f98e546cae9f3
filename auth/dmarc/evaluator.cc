#include "auth/dmarc/evaluator.h"

#include <libpsl.h>

#include <cstddef>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "auth/dmarc/record.h"
#include "dns/idna.h"
#include "dns/lookup_task.h"
#include "dns/resolver.h"

namespace mxkit::auth::dmarc {
namespace {

std::vector<std::string_view> Labels(std::string_view domain) {
  std::vector<std::string_view> labels;
  std::size_t start = 0;
  while (start <= domain.size()) {
    std::size_t dot = domain.find('.', start);
    if (dot == std::string_view::npos) dot = domain.size();
    labels.push_back(domain.substr(start, dot - start));
    start = dot + 1;
  }
  return labels;
}

// The last `n` labels of `domain`.
std::string LastLabels(std::string_view domain, std::size_t n) {
  std::vector<std::string_view> labels = Labels(domain);
  std::string out;
  for (std::size_t i = labels.size() - n; i < labels.size(); ++i) {
    if (!out.empty()) out += '.';
    out += labels[i];
  }
  return out;
}

Policy OneStepLessStrict(Policy p) {
  switch (p) {
    case Policy::kReject: return Policy::kQuarantine;
    case Policy::kQuarantine: return Policy::kNone;
    case Policy::kNone: return Policy::kNone;
  }
  return Policy::kNone;
}

int Strictness(Policy p) {
  switch (p) {
    case Policy::kNone: return 0;
    case Policy::kQuarantine: return 1;
    case Policy::kReject: return 2;
  }
  return 0;
}

// Relaxed alignment of a normalized identifier with an author domain whose
// organizational domain is `author_org` (RFC 7489 §3.1: equal organizational
// domains). A name's organizational domain is the name itself or one of its
// parents (§3.2), so only an identifier at or below `author_org` can share it:
// equal names align without the list, and the list is consulted only for a
// name strictly below `author_org`. This saves libpsl walks, the bulk of an
// evaluation's CPU time.
bool AlignedWithOrganizationalDomain(const std::string& identifier, const std::string& author_org,
                                     const PublicSuffixList& psl) {
  if (identifier.empty()) return false;
  if (identifier == author_org) return true;
  if (identifier.size() <= author_org.size() + 1 ||
      identifier[identifier.size() - author_org.size() - 1] != '.' ||
      identifier.compare(identifier.size() - author_org.size(), author_org.size(), author_org) !=
          0) {
    return false;
  }
  return psl.OrganizationalDomain(identifier) == author_org;
}

// What one _dmarc.<name> query yielded.
struct Fetch {
  enum Kind { kNoRecord, kRecord, kMultiple, kTempError, kPermError } kind = kNoRecord;
  RecordResult parsed;  // for kRecord (may hold a parse error)
  std::string detail;
};

// One evaluation's DNS, with every _dmarc answer cached: the tree walk asks
// the same names for the author, SPF and DKIM domains.
class Session {
 public:
  Session(dns::Resolver& resolver, const EvaluatorOptions& options)
      : resolver_(resolver), options_(options) {}

  int queries() const { return queries_; }

  // `domain` by value: it lives in the coroutine frame across the lookup.
  dns::Task<const Fetch*> FetchRecord(std::string domain) {
    auto it = cache_.find(domain);
    if (it != cache_.end()) co_return &it->second;
    Fetch f;
    ++queries_;
    const std::string name = "_dmarc." + domain;
    dns::LookupResult lr = co_await dns::AwaitLookup(resolver_, name, dns::RrType::kTxt);
    switch (lr.status) {
      case dns::LookupStatus::kAnswer: {
        std::vector<std::string> dmarc;
        std::size_t seen = 0;
        for (const dns::ResourceRecord& rr : lr.records) {
          if (++seen > kMaxTxtRecords) break;
          const auto* txt = std::get_if<dns::TxtData>(&rr.data);
          if (txt == nullptr) continue;
          // §6.6.3 step 1: the strings of one TXT record are concatenated.
          std::string text;
          for (const std::string& s : txt->strings) text += s;
          if (IsDmarcRecord(text)) dmarc.push_back(std::move(text));
        }
        if (dmarc.size() == 1) {
          f.kind = Fetch::kRecord;
          f.parsed = ParseRecord(dmarc[0]);
        } else if (dmarc.size() > 1) {
          f.kind = Fetch::kMultiple;
          f.detail = std::to_string(dmarc.size()) + " DMARC records at _dmarc." + domain;
        }
        break;
      }
      case dns::LookupStatus::kNxDomain:
      case dns::LookupStatus::kNoData:
        break;
      case dns::LookupStatus::kTemporaryFailure:
        f.kind = Fetch::kTempError;
        f.detail = "TXT lookup of _dmarc." + domain + " failed transiently: " + lr.detail;
        break;
      case dns::LookupStatus::kPermanentFailure:
        f.kind = Fetch::kPermError;
        f.detail = "TXT lookup of _dmarc." + domain + " failed: " + lr.detail;
        break;
    }
    co_return &cache_.emplace(domain, std::move(f)).first->second;
  }

  // RFC 9989 §4.10.2; nullopt on a DNS failure, which failure() then names.
  dns::Task<std::optional<std::string>> TreeWalkOrganizationalDomain(std::string domain) {
    std::vector<std::string> names = TreeWalkNames(domain);
    std::optional<std::string> fewest;
    for (std::size_t i = 0; i < names.size(); ++i) {
      const Fetch& f = *co_await FetchRecord(names[i]);
      if (f.kind == Fetch::kTempError || f.kind == Fetch::kPermError) {
        failure_ = &f;
        co_return std::nullopt;
      }
      if (f.kind != Fetch::kRecord || !f.parsed.ok()) continue;
      if (f.parsed.record.psd == PsdFlag::kNo) co_return names[i];
      if (f.parsed.record.psd == PsdFlag::kYes && i > 0) {
        // The domain one label below the PSD, on the way to `domain`.
        std::size_t labels = Labels(names[i]).size() + 1;
        co_return LastLabels(domain, labels);
      }
      fewest = names[i];  // names only get shorter
    }
    co_return fewest.value_or(domain);
  }

  dns::Task<std::optional<std::string>> OrganizationalDomain(std::string domain) {
    if (options_.method == DiscoveryMethod::kRfc7489) {
      co_return options_.psl->OrganizationalDomain(domain);
    }
    std::optional<std::string> org = co_await TreeWalkOrganizationalDomain(domain);
    co_return org;
  }

  // Relaxed alignment; nullopt on a DNS failure during a tree walk.
  dns::Task<std::optional<bool>> Aligned(std::string a, std::string b, AlignmentMode mode) {
    if (mode == AlignmentMode::kStrict) co_return StrictlyAligned(a, b);
    if (options_.method == DiscoveryMethod::kRfc7489) {
      // a and b are normalized; b (the author domain) is the same for every
      // identifier of one evaluation, so its organizational domain is kept.
      if (!a.empty() && a == b) co_return true;
      if (org_of_ != b || org_.empty()) {
        org_of_ = b;
        org_ = options_.psl->OrganizationalDomain(b);
      }
      co_return AlignedWithOrganizationalDomain(a, org_, *options_.psl);
    }
    std::optional<std::string> oa = co_await OrganizationalDomain(a);
    std::optional<std::string> ob = co_await OrganizationalDomain(b);
    if (!oa || !ob) co_return std::nullopt;
    co_return *oa == *ob;
  }

  // The result for the lookup that made the last tree walk fail: permerror
  // for a permanent failure (REFUSED, a CNAME loop, a bad answer), temperror
  // otherwise, as evaluator.h promises; with what failed, for the reason.
  DmarcResult FailureResult() const {
    return failure_ != nullptr && failure_->kind == Fetch::kPermError ? DmarcResult::kPermError
                                                                      : DmarcResult::kTempError;
  }
  // Primes Aligned's cache with an organizational domain already known.
  void KnowOrganizationalDomain(std::string name, std::string org) {
    org_of_ = std::move(name);
    org_ = std::move(org);
  }

  std::string FailureDetail() const { return failure_ != nullptr ? ": " + failure_->detail : ""; }

  // Whether `domain` does not exist (RFC 9989 §4.7 np=: NXDOMAIN).
  dns::Task<std::optional<bool>> NonExistent(std::string domain) {
    ++queries_;
    dns::LookupResult lr = co_await dns::AwaitLookup(resolver_, domain, dns::RrType::kA);
    if (lr.status == dns::LookupStatus::kTemporaryFailure) co_return std::nullopt;
    co_return lr.status == dns::LookupStatus::kNxDomain;
  }

 private:
  dns::Resolver& resolver_;
  const EvaluatorOptions& options_;
  std::map<std::string, Fetch> cache_;  // node-based: failure_ stays valid
  const Fetch* failure_ = nullptr;
  int queries_ = 0;
  std::string org_of_;  // the name whose organizational domain org_ is
  std::string org_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<const PublicSuffixList>> PublicSuffixList::Load(
    std::string_view path) {
  std::string p(path);
  if (!std::ifstream(p).good()) {
    return absl::NotFoundError("public suffix list " + p + " cannot be opened");
  }
  psl_ctx_t* ctx = psl_load_file(p.c_str());
  if (ctx == nullptr || psl_suffix_count(ctx) <= 0) {
    if (ctx != nullptr) psl_free(ctx);
    return absl::InvalidArgumentError("public suffix list " + p +
                                      " holds no rules libpsl can read");
  }
  return std::shared_ptr<const PublicSuffixList>(new PublicSuffixList(ctx));
}

PublicSuffixList::~PublicSuffixList() { psl_free(ctx_); }

int PublicSuffixList::size() const { return psl_suffix_count(ctx_); }

std::string PublicSuffixList::OrganizationalDomain(std::string_view domain) const {
  std::string d = NormalizeDomain(domain);
  const char* reg = psl_registrable_domain(ctx_, d.c_str());
  // NULL: the name is a public suffix itself (or empty); §3.2 has no
  // "x+1"th label to add, so it stands for itself.
  return reg == nullptr ? d : std::string(reg);
}

bool PublicSuffixList::IsPublicSuffix(std::string_view domain) const {
  std::string d = NormalizeDomain(domain);
  return psl_is_public_suffix(ctx_, d.c_str()) != 0;
}

std::string NormalizeDomain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  std::string out(domain);
  if (dns::HasNonAscii(out)) {
    dns::IdnaResult converted = dns::ToALabels(out);
    if (converted.ok()) out = std::move(converted.name);
  }
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool StrictlyAligned(std::string_view a, std::string_view b) {
  std::string na = NormalizeDomain(a);
  return !na.empty() && na == NormalizeDomain(b);
}

bool IsAligned(std::string_view authenticated_domain, std::string_view author_domain,
               AlignmentMode mode, const PublicSuffixList& psl) {
  if (mode == AlignmentMode::kStrict) return StrictlyAligned(authenticated_domain, author_domain);
  std::string a = NormalizeDomain(authenticated_domain);
  std::string b = NormalizeDomain(author_domain);
  if (!a.empty() && a == b) return true;
  return AlignedWithOrganizationalDomain(a, psl.OrganizationalDomain(b), psl);
}

std::string_view DmarcResultKeyword(DmarcResult result) {
  switch (result) {
    case DmarcResult::kNone: return "none";
    case DmarcResult::kPass: return "pass";
    case DmarcResult::kFail: return "fail";
    case DmarcResult::kTempError: return "temperror";
    case DmarcResult::kPermError: return "permerror";
  }
  return "permerror";
}

std::vector<std::string> TreeWalkNames(std::string_view domain) {
  std::string d = NormalizeDomain(domain);
  std::vector<std::string> names;
  if (d.empty()) return names;
  names.push_back(d);
  std::size_t x = Labels(d).size();
  // RFC 9989 §4.10 step 5: fewer than 8 labels lose one; 8 or more jump to
  // the last 7. Step 8: then one label at a time.
  std::size_t n = (x >= kMaxTreeWalkQueries) ? kTreeWalkJumpLabels : x - 1;
  for (; n >= 1; --n) names.push_back(LastLabels(d, n));
  return names;
}

absl::StatusOr<Evaluator> Evaluator::Create(dns::Resolver& resolver, EvaluatorOptions options) {
  if (options.method == DiscoveryMethod::kRfc7489 && options.psl == nullptr) {
    return absl::InvalidArgumentError(
        "RFC 7489 discovery needs a public suffix list (§3.2); load one or use the "
        "RFC 9989 tree walk");
  }
  return Evaluator(resolver, std::move(options));
}

namespace {

dns::Task<std::optional<std::string>> RunOrganizationalDomain(dns::Resolver& resolver,
                                                              const EvaluatorOptions& options,
                                                              std::string domain) {
  Session session(resolver, options);
  std::optional<std::string> org = co_await session.OrganizationalDomain(NormalizeDomain(domain));
  co_return org;
}

}  // namespace

std::optional<std::string> Evaluator::OrganizationalDomain(std::string_view domain) const {
  dns::SyncLookupResolver sync(*resolver_);
  return dns::RunInline(RunOrganizationalDomain(sync, options_, std::string(domain)));
}

void Evaluator::OrganizationalDomainAsync(
    std::string_view domain, std::function<void(std::optional<std::string>)> done) const {
  dns::StartTask(RunOrganizationalDomain(*resolver_, options_, std::string(domain)),
                 std::move(done));
}

Evaluation Evaluator::Evaluate(const EvaluationInput& input) const {
  dns::SyncLookupResolver sync(*resolver_);
  return dns::RunInline(Run(sync, input));
}

void Evaluator::EvaluateAsync(EvaluationInput input, std::function<void(Evaluation)> done) const {
  dns::StartTask(Run(*resolver_, std::move(input)), std::move(done));
}

dns::Task<Evaluation> Evaluator::Run(dns::Resolver& resolver, EvaluationInput input) const {
  Evaluation ev;
  Session session(resolver, options_);
  const std::string author = NormalizeDomain(input.author_domain);
  ev.author_domain = author;
  auto finish = [&](DmarcResult result, std::string reason) {
    ev.result = result;
    ev.reason = std::move(reason);
    ev.dns_queries = session.queries();
    // Every call is a co_return: ev is not used again, so move it rather
    // than copy its record and strings.
    return std::move(ev);
  };
  if (author.empty()) co_return finish(DmarcResult::kPermError, "no author domain to evaluate");

  // Policy discovery.
  const Fetch* found = nullptr;
  std::string found_at;
  std::vector<std::string> candidates;
  if (options_.method == DiscoveryMethod::kRfc7489) {
    // §6.6.3 steps 1-4.
    candidates.push_back(author);
    std::string org = options_.psl->OrganizationalDomain(author);
    ev.organizational_domain = org;
    session.KnowOrganizationalDomain(author, org);
    if (org != author) candidates.push_back(org);
  } else {
    candidates = TreeWalkNames(author);
  }
  std::string notes;
  for (const std::string& name : candidates) {
    const Fetch& f = *co_await session.FetchRecord(name);
    if (f.kind == Fetch::kTempError) co_return finish(DmarcResult::kTempError, f.detail);
    if (f.kind == Fetch::kPermError) co_return finish(DmarcResult::kPermError, f.detail);
    if (f.kind == Fetch::kMultiple) {
      if (options_.method == DiscoveryMethod::kRfc7489) {
        // §6.6.3: "If the remaining set contains multiple records or no
        // records, policy discovery terminates and DMARC processing is not
        // applied to this message."
        co_return finish(DmarcResult::kNone, f.detail + ": all discarded (RFC 7489 §6.6.3)");
      }
      // RFC 9989 §4.10 step 2/7: discarded, and the walk goes on.
      notes += f.detail + " discarded; ";
      continue;
    }
    if (f.kind == Fetch::kRecord) {
      found = &f;
      found_at = name;
      break;
    }
  }
  if (found == nullptr) {
    co_return finish(DmarcResult::kNone, notes + "no DMARC record for " + author +
                                          (options_.method == DiscoveryMethod::kRfc7489
                                               ? " or its organizational domain"
                                               : " or any parent (RFC 9989 tree walk)"));
  }
  ev.policy_domain = found_at;
  if (!found->parsed.ok()) {
    co_return finish(DmarcResult::kPermError,
                  "DMARC record at _dmarc." + found_at + " is unusable: " + found->parsed.message);
  }
  const Record& record = found->parsed.record;
  ev.record = record;
  ev.record_issues = found->parsed.issues;
  if (options_.method == DiscoveryMethod::kTreeWalk) {
    std::optional<std::string> org = co_await session.TreeWalkOrganizationalDomain(author);
    if (!org) {
      co_return finish(session.FailureResult(),
                    "DNS failure while finding the organizational domain of " + author +
                        session.FailureDetail());
    }
    ev.organizational_domain = *org;
  }

  // Which policy applies (§6.3 p/sp, RFC 9989 §4.7 np).
  Policy requested = record.policy;
  if (found_at != author) {
    requested = record.subdomain_policy.value_or(record.policy);
    if (record.nonexistent_policy) {
      std::optional<bool> nx = co_await session.NonExistent(author);
      if (!nx) {
        co_return finish(DmarcResult::kTempError,
                      "DNS failure while checking whether " + author + " exists (for np=)");
      }
      if (*nx) {
        requested = *record.nonexistent_policy;
        ev.nonexistent_domain = true;
      }
    }
  }
  ev.requested_policy = requested;

  // Alignment (§3.1, §4.2).
  if (input.spf_result == spf::Result::kPass && !input.spf_domain.empty()) {
    std::optional<bool> a =
        co_await session.Aligned(NormalizeDomain(input.spf_domain), author, record.spf_alignment);
    if (!a) {
      co_return finish(session.FailureResult(), "DNS failure while aligning SPF domain " +
                                                 input.spf_domain + session.FailureDetail());
    }
    ev.spf_aligned = *a;
  }
  for (const DkimIdentifier& d : input.dkim) {
    if (d.result != dkim::DkimResult::kPass || d.domain.empty()) continue;
    std::optional<bool> a =
        co_await session.Aligned(NormalizeDomain(d.domain), author, record.dkim_alignment);
    if (!a) {
      co_return finish(session.FailureResult(),
                    "DNS failure while aligning DKIM domain " + d.domain + session.FailureDetail());
    }
    if (*a) {
      ev.dkim_aligned = true;
      ev.aligned_dkim_domain = NormalizeDomain(d.domain);
      break;
    }
  }

  std::string where = "record at _dmarc." + found_at;
  if (ev.spf_aligned || ev.dkim_aligned) {
    co_return finish(DmarcResult::kPass,
                  where + "; aligned " +
                      (ev.dkim_aligned ? "DKIM d=" + ev.aligned_dkim_domain
                                       : "SPF " + NormalizeDomain(input.spf_domain)) +
                      " passed");
  }
  Policy disposition = requested;
  ev.testing = record.testing;
  // A sample of 100 or more would fall outside even pct=100; clamp it.
  uint32_t sample = input.pct_sample < 100 ? input.pct_sample : 99;
  ev.sampled_out = sample >= static_cast<uint32_t>(record.percent);
  std::string why;
  if (ev.sampled_out) why += "; outside pct=" + std::to_string(record.percent);
  if (ev.testing) why += "; t=y";
  // One step less strict once, whether pct, t=y or both say so: t=y is
  // DMARCbis's spelling of pct=0 (RFC 9989 §4.7), not a second downgrade.
  if (ev.sampled_out || ev.testing) {
    disposition = OneStepLessStrict(disposition);
    why += ", so one step less strict";
  }
  ev.disposition = disposition;
  co_return finish(DmarcResult::kFail,
                where + " (" +
                    std::string(found_at == author ? "p" : (ev.nonexistent_domain ? "np" : "sp")) +
                    "=" + std::string(PolicyName(requested)) +
                    "); no aligned SPF or DKIM pass" + why);
}

const Evaluation& Strictest(const std::vector<Evaluation>& evaluations) {
  const Evaluation* best = &evaluations.front();
  for (const Evaluation& e : evaluations) {
    bool e_fails = e.result == DmarcResult::kFail;
    bool best_fails = best->result == DmarcResult::kFail;
    if (e_fails && (!best_fails || Strictness(e.disposition) > Strictness(best->disposition))) {
      best = &e;
    }
  }
  return *best;
}

}  // namespace mxkit::auth::dmarc
