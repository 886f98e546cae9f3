#include "auth/dmarc/evaluator.h"

#include <libpsl.h>

#include <cstddef>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "auth/dmarc/record.h"
#include "base/absl_interop.h"
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
bool AlignedWithOrganizationalDomain(std::string_view identifier, std::string_view author_org,
                                     const PublicSuffixList& psl) {
  if (identifier.empty()) return false;
  if (identifier == author_org) return true;
  if (identifier.size() <= author_org.size() + 1 ||
      identifier[identifier.size() - author_org.size() - 1] != '.' ||
      identifier.substr(identifier.size() - author_org.size()) != author_org) {
    return false;
  }
  return psl.OrganizationalDomain(identifier) == author_org;
}

// NormalizeDomain(domain), as a view of `domain` itself when it is already
// normalized (ASCII, no uppercase, no trailing dot: what senders almost
// always write), else of `storage`, which then holds the normalized copy.
// Saves an allocation per name on the evaluation's hot path.
std::string_view NormalizedView(std::string_view domain, std::string& storage) {
  bool normalized = domain.empty() || domain.back() != '.';
  for (std::size_t i = 0; normalized && i < domain.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(domain[i]);
    normalized = c < 0x80 && !(c >= 'A' && c <= 'Z');
  }
  if (normalized) return domain;
  storage = NormalizeDomain(domain);
  return storage;
}

// Room for a typical reason ("record at _dmarc.<name> (sp=quarantine); no
// aligned SPF or DKIM pass; outside pct=50, so one step less strict"), so
// building it allocates once.
constexpr std::size_t kReasonReserve = 160;

// What one _dmarc.<name> query yielded.
struct Fetch {
  enum Kind { kNoRecord, kRecord, kMultiple, kTempError, kPermError } kind = kNoRecord;
  std::optional<RecordResult> parsed;  // for kRecord (may hold a parse error)
  std::string detail;
};

// §6.6.3 steps 1-2 over the TXT answer at _dmarc.<domain>.
Fetch InterpretAnswer(const dns::LookupResult& lr, std::string_view domain) {
  Fetch f;
  switch (lr.status) {
    case dns::LookupStatus::kAnswer: {
      // Views into `lr` (or `joined`), which outlive the parse below.
      std::string_view first;
      std::string joined;
      std::size_t dmarc = 0;
      std::size_t seen = 0;
      for (const dns::ResourceRecord& rr : lr.records) {
        if (++seen > kMaxTxtRecords) break;
        const auto* txt = std::get_if<dns::TxtData>(&rr.data);
        if (txt == nullptr) continue;
        // §6.6.3 step 1: the strings of one TXT record are concatenated.
        std::string text;
        std::string_view view;
        if (txt->strings.size() == 1) {
          view = txt->strings[0];
        } else {
          for (const std::string& s : txt->strings) text += s;
          view = text;
        }
        if (!IsDmarcRecord(view)) continue;
        if (++dmarc == 1) {
          if (txt->strings.size() == 1) {
            first = view;
          } else {
            joined = std::move(text);
            first = joined;
          }
        }
      }
      if (dmarc == 1) {
        f.kind = Fetch::kRecord;
        f.parsed = ParseRecord(first);
      } else if (dmarc > 1) {
        f.kind = Fetch::kMultiple;
        f.detail = absl::StrCat(dmarc, " DMARC records at _dmarc.", base::Av(domain));
      }
      break;
    }
    case dns::LookupStatus::kNxDomain:
    case dns::LookupStatus::kNoData:
      break;
    case dns::LookupStatus::kTemporaryFailure:
      f.kind = Fetch::kTempError;
      f.detail =
          absl::StrCat("TXT lookup of _dmarc.", base::Av(domain), " failed transiently: ",
                                lr.detail);
      break;
    case dns::LookupStatus::kPermanentFailure:
      f.kind = Fetch::kPermError;
      f.detail = absl::StrCat("TXT lookup of _dmarc.", base::Av(domain), " failed: ", lr.detail);
      break;
  }
  return f;
}

// One evaluation's DNS, with every _dmarc answer cached: the tree walk asks
// the same names for the author, SPF and DKIM domains. RFC 7489 discovery
// asks at most two names, so the cache is a small flat array searched
// linearly, held inline (no allocation) for those two; entries are named by
// index, which stays valid as it grows.
//
// A lookup is awaited by the caller itself, not through a Task of its own:
//   std::size_t i = session.Find(name);
//   if (i == Session::kNotCached) i = session.Store(name, co_await session.Lookup(name));
// so a cached or inline answer costs no coroutine frame.
class Session {
 public:
  static constexpr std::size_t kNotCached = static_cast<std::size_t>(-1);

  Session(dns::Resolver& resolver, const EvaluatorOptions& options)
      : resolver_(resolver), options_(options) {}

  int queries() const { return queries_; }

  std::size_t Find(std::string_view domain) const {
    for (std::size_t i = 0; i < cache_.size(); ++i) {
      if (cache_[i].name == domain) return i;
    }
    return kNotCached;
  }
  // The awaiter views the name until the lookup has it (dns::LookupAwaiter),
  // so the name lives in the session, not in this function: one lookup is
  // awaited at a time.
  dns::LookupAwaiter Lookup(std::string_view domain) {
    ++queries_;
    // Not absl::StrCat: Debian's build zero-fills through resize first,
    // which showed in the profile of every evaluation.
    lookup_name_.clear();
    lookup_name_.reserve(sizeof("_dmarc.") - 1 + domain.size());
    lookup_name_.append("_dmarc.").append(domain);
    return dns::AwaitLookup(resolver_, lookup_name_, dns::RrType::kTxt);
  }
  std::size_t Store(std::string_view domain, const dns::LookupResult& lr) {
    cache_.push_back(Entry{std::string(domain), InterpretAnswer(lr, domain)});
    return cache_.size() - 1;
  }
  const Fetch& fetch(std::size_t i) const { return cache_[i].fetch; }
  Fetch& fetch_mutable(std::size_t i) { return cache_[i].fetch; }

  // RFC 9989 §4.10.2; nullopt on a DNS failure, which failure() then names.
  dns::Task<std::optional<std::string>> TreeWalkOrganizationalDomain(std::string domain) {
    std::vector<std::string> names = TreeWalkNames(domain);
    std::optional<std::string> fewest;
    for (std::size_t i = 0; i < names.size(); ++i) {
      std::size_t at = Find(names[i]);
      if (at == kNotCached) at = Store(names[i], co_await Lookup(names[i]));
      const Fetch& f = fetch(at);
      if (f.kind == Fetch::kTempError || f.kind == Fetch::kPermError) {
        failure_ = at;
        co_return std::nullopt;
      }
      if (f.kind != Fetch::kRecord || !f.parsed->ok()) continue;
      if (f.parsed->record.psd == PsdFlag::kNo) co_return names[i];
      if (f.parsed->record.psd == PsdFlag::kYes && i > 0) {
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

  // Whether aligning under `mode` queries DNS: only relaxed alignment under
  // the RFC 9989 tree walk does; everything else is AlignedWithoutDns.
  bool AlignmentNeedsDns(AlignmentMode mode) const {
    return mode == AlignmentMode::kRelaxed && options_.method == DiscoveryMethod::kTreeWalk;
  }

  // Strict alignment, or relaxed under RFC 7489 with the public suffix list.
  // `a` and `author` are normalized; `author_org` is the author domain's
  // organizational domain, computed once per evaluation.
  bool AlignedWithoutDns(std::string_view a, std::string_view author, std::string_view author_org,
                         AlignmentMode mode) const {
    if (a.empty()) return false;
    if (a == author) return true;
    if (mode == AlignmentMode::kStrict) return false;
    return AlignedWithOrganizationalDomain(a, author_org, *options_.psl);
  }

  // Relaxed alignment by the tree walk; nullopt on a DNS failure.
  dns::Task<std::optional<bool>> AlignedByTreeWalk(std::string a, std::string b) {
    std::optional<std::string> oa = co_await OrganizationalDomain(a);
    std::optional<std::string> ob = co_await OrganizationalDomain(b);
    if (!oa || !ob) co_return std::nullopt;
    co_return *oa == *ob;
  }

  // The result for the lookup that made the last tree walk fail: permerror
  // for a permanent failure (REFUSED, a CNAME loop, a bad answer), temperror
  // otherwise, as evaluator.h promises; with what failed, for the reason.
  DmarcResult FailureResult() const {
    return failure_ != kNotCached && fetch(failure_).kind == Fetch::kPermError
               ? DmarcResult::kPermError
               : DmarcResult::kTempError;
  }
  std::string FailureDetail() const {
    return failure_ != kNotCached ? ": " + fetch(failure_).detail : "";
  }

  // Whether `domain` does not exist (RFC 9989 §4.7 np=: NXDOMAIN).
  dns::Task<std::optional<bool>> NonExistent(std::string domain) {
    ++queries_;
    dns::LookupResult lr = co_await dns::AwaitLookup(resolver_, domain, dns::RrType::kA);
    if (lr.status == dns::LookupStatus::kTemporaryFailure) co_return std::nullopt;
    co_return lr.status == dns::LookupStatus::kNxDomain;
  }

 private:
  struct Entry {
    std::string name;
    Fetch fetch;
  };
  dns::Resolver& resolver_;
  const EvaluatorOptions& options_;
  absl::InlinedVector<Entry, 2> cache_;
  std::size_t failure_ = kNotCached;  // index into cache_
  std::string lookup_name_;  // the name Lookup() awaits
  int queries_ = 0;
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
  std::string storage;
  // libpsl needs a NUL-terminated name: one copy either way.
  std::string d(NormalizedView(domain, storage));
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
  // The input outlives the inline run: borrowed, not copied.
  return dns::RunInline(Run(sync, &input, EvaluationInput()));
}

void Evaluator::EvaluateAsync(EvaluationInput input, std::function<void(Evaluation)> done) const {
  dns::StartTask(Run(*resolver_, nullptr, std::move(input)), std::move(done));
}

dns::Task<Evaluation> Evaluator::Run(dns::Resolver& resolver, const EvaluationInput* borrowed,
                                     EvaluationInput owned) const {
  const EvaluationInput& input = borrowed != nullptr ? *borrowed : owned;
  Evaluation ev;
  Session session(resolver, options_);
  {
    std::string storage;
    ev.author_domain = NormalizedView(input.author_domain, storage);
  }
  const std::string& author = ev.author_domain;
  // Every call is a co_return: ev is not used again, so it is moved (once,
  // into the promise: finish returns a reference) rather than copied.
  auto finish = [&](DmarcResult result, std::string reason) -> Evaluation&& {
    ev.result = result;
    ev.reason = std::move(reason);
    ev.dns_queries = session.queries();
    return std::move(ev);
  };
  if (author.empty()) co_return finish(DmarcResult::kPermError, "no author domain to evaluate");

  // Policy discovery over the candidate names: the author domain and its
  // organizational domain (RFC 7489 §6.6.3 steps 1-4, both in ev), or the
  // tree walk's names (in `walk`). Named by index rather than gathered into
  // an array of views: a value-initialized array in the coroutine frame
  // cost a rep stos per evaluation (perf annotate).
  std::vector<std::string> walk;
  std::size_t candidate_count = 0;
  if (options_.method == DiscoveryMethod::kRfc7489) {
    ev.organizational_domain = options_.psl->OrganizationalDomain(author);
    candidate_count = ev.organizational_domain != author ? 2 : 1;
  } else {
    walk = TreeWalkNames(author);
    candidate_count = walk.size();
  }
  std::string notes;
  std::size_t found = Session::kNotCached;
  for (std::size_t c = 0; c < candidate_count; ++c) {
    const std::string_view name =
        options_.method == DiscoveryMethod::kRfc7489 ? (c == 0 ? author : ev.organizational_domain)
                                                     : std::string_view(walk[c]);
    std::size_t at = session.Find(name);
    if (at == Session::kNotCached) at = session.Store(name, co_await session.Lookup(name));
    const Fetch& f = session.fetch(at);
    if (f.kind == Fetch::kTempError) co_return finish(DmarcResult::kTempError, f.detail);
    if (f.kind == Fetch::kPermError) co_return finish(DmarcResult::kPermError, f.detail);
    if (f.kind == Fetch::kMultiple) {
      if (options_.method == DiscoveryMethod::kRfc7489) {
        // §6.6.3: "If the remaining set contains multiple records or no
        // records, policy discovery terminates and DMARC processing is not
        // applied to this message."
        co_return finish(DmarcResult::kNone,
                         absl::StrCat(f.detail, ": all discarded (RFC 7489 §6.6.3)"));
      }
      // RFC 9989 §4.10 step 2/7: discarded, and the walk goes on.
      absl::StrAppend(&notes, f.detail, " discarded; ");
      continue;
    }
    if (f.kind == Fetch::kRecord) {
      found = at;
      ev.policy_domain = std::string(name);
      break;
    }
  }
  // The reasons of the common outcomes (none, pass, fail) are appended to
  // one reserved buffer rather than built by absl::StrCat, for the reason
  // given in Session::Lookup.
  std::string reason;
  reason.reserve(kReasonReserve);
  if (found == Session::kNotCached) {
    reason.append(notes).append("no DMARC record for ").append(author);
    reason.append(options_.method == DiscoveryMethod::kRfc7489
                      ? " or its organizational domain"
                      : " or any parent (RFC 9989 tree walk)");
    co_return finish(DmarcResult::kNone, std::move(reason));
  }
  const std::string& found_at = ev.policy_domain;
  {
    const RecordResult& parsed = *session.fetch(found).parsed;
    if (!parsed.ok()) {
      co_return finish(DmarcResult::kPermError, absl::StrCat("DMARC record at _dmarc.", found_at,
                                                             " is unusable: ", parsed.message));
    }
    ev.record_issues = parsed.issues;
    if (options_.method == DiscoveryMethod::kRfc7489) {
      // Nothing reads the cache after discovery under RFC 7489: the record
      // moves into the evaluation instead of being copied.
      ev.record = std::move(session.fetch_mutable(found).parsed->record);
    } else {
      ev.record = parsed.record;  // the tree walk below reads the cache again
    }
  }
  // ev.record, not the cache: the cache may grow (and move) below.
  const Record& record = *ev.record;
  if (options_.method == DiscoveryMethod::kTreeWalk) {
    std::optional<std::string> org = co_await session.TreeWalkOrganizationalDomain(author);
    if (!org) {
      co_return finish(session.FailureResult(),
                       absl::StrCat("DNS failure while finding the organizational domain of ",
                                    author, session.FailureDetail()));
    }
    ev.organizational_domain = *std::move(org);
  }

  // Which policy applies (§6.3 p/sp, RFC 9989 §4.7 np).
  Policy requested = record.policy;
  if (found_at != author) {
    requested = record.subdomain_policy.value_or(record.policy);
    if (record.nonexistent_policy) {
      std::optional<bool> nx = co_await session.NonExistent(author);
      if (!nx) {
        co_return finish(DmarcResult::kTempError,
                         absl::StrCat("DNS failure while checking whether ", author,
                                      " exists (for np=)"));
      }
      if (*nx) {
        requested = *record.nonexistent_policy;
        ev.nonexistent_domain = true;
      }
    }
  }
  ev.requested_policy = requested;

  // Alignment (§3.1, §4.2).
  std::string spf_storage;
  std::string_view spf_domain;
  if (input.spf_result == spf::Result::kPass && !input.spf_domain.empty()) {
    spf_domain = NormalizedView(input.spf_domain, spf_storage);
    std::optional<bool> a;
    if (session.AlignmentNeedsDns(record.spf_alignment)) {
      a = co_await session.AlignedByTreeWalk(std::string(spf_domain), author);
    } else {
      a = session.AlignedWithoutDns(spf_domain, author, ev.organizational_domain,
                                    record.spf_alignment);
    }
    if (!a) {
      co_return finish(session.FailureResult(),
                       absl::StrCat("DNS failure while aligning SPF domain ", input.spf_domain,
                                    session.FailureDetail()));
    }
    ev.spf_aligned = *a;
  }
  for (const DkimIdentifier& d : input.dkim) {
    if (d.result != dkim::DkimResult::kPass || d.domain.empty()) continue;
    std::string storage;
    std::string_view domain = NormalizedView(d.domain, storage);
    std::optional<bool> a;
    if (session.AlignmentNeedsDns(record.dkim_alignment)) {
      a = co_await session.AlignedByTreeWalk(std::string(domain), author);
    } else {
      a = session.AlignedWithoutDns(domain, author, ev.organizational_domain,
                                    record.dkim_alignment);
    }
    if (!a) {
      co_return finish(session.FailureResult(),
                       absl::StrCat("DNS failure while aligning DKIM domain ", d.domain,
                                    session.FailureDetail()));
    }
    if (*a) {
      ev.dkim_aligned = true;
      ev.aligned_dkim_domain = std::string(domain);
      break;
    }
  }

  reason.append("record at _dmarc.").append(found_at);
  if (ev.spf_aligned || ev.dkim_aligned) {
    reason.append("; aligned ").append(ev.dkim_aligned ? "DKIM d=" : "SPF ");
    reason.append(ev.dkim_aligned ? std::string_view(ev.aligned_dkim_domain) : spf_domain);
    reason.append(" passed");
    co_return finish(DmarcResult::kPass, std::move(reason));
  }
  Policy disposition = requested;
  ev.testing = record.testing;
  // A sample of 100 or more would fall outside even pct=100; clamp it.
  uint32_t sample = input.pct_sample < 100 ? input.pct_sample : 99;
  ev.sampled_out = sample >= static_cast<uint32_t>(record.percent);
  // One step less strict once, whether pct, t=y or both say so: t=y is
  // DMARCbis's spelling of pct=0 (RFC 9989 §4.7), not a second downgrade.
  if (ev.sampled_out || ev.testing) disposition = OneStepLessStrict(disposition);
  ev.disposition = disposition;
  reason.append(" (").append(found_at == author ? "p" : (ev.nonexistent_domain ? "np" : "sp"));
  reason.append("=").append(PolicyName(requested)).append("); no aligned SPF or DKIM pass");
  if (ev.sampled_out) reason.append("; outside pct=").append(std::to_string(record.percent));
  if (ev.testing) reason.append("; t=y");
  if (ev.sampled_out || ev.testing) reason.append(", so one step less strict");
  co_return finish(DmarcResult::kFail, std::move(reason));
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
