// Fuzzes DMARC evaluation (//auth/dmarc:evaluator) end to end: the author
// domains of a fuzzed From field, fuzzed SPF and DKIM results and a fuzzed
// zone with the _dmarc records, through both discovery methods (RFC 7489
// with Debian's public suffix list, and the RFC 9989 tree walk).
//
// Input (fuzz/evaluator_input.h): a zone, a "%%" line, a line of what SPF
// and DKIM said, then the message's header block (RFC 5322, CRLF):
//
//   spf=<result>:<domain> dkim=<result>:<d=> ... pct=<sample>
//
// with SPF results none|neutral|pass|fail|softfail|temperror|permerror, DKIM
// results pass|fail|neutral|temperror|permerror|policy, every token optional,
// at most kMaxSignaturesEvaluated dkim= tokens.
//
// Properties, for every author domain and both methods:
//  - pass exactly when an aligned identifier passed; an identifier counts as
//    aligned only if it passed, and a strict one only if StrictlyAligned
//    (RFC 7489 §3.1). With the public suffix list, alignment is exactly
//    IsAligned on the identifiers that passed (no DNS is involved).
//  - A disposition only for fail: p/sp/np, or one step less strict when the
//    sample is outside pct= or t=y; the policy domain is the author domain
//    or one of its parents.
//  - DNS (names compared exactly as asked: the evaluator normalizes them
//    itself, and a caller's "d.." must not look like "d."): dns_queries is
//    what reached the resolver. RFC 7489: at most the
//    author's and its organizational domain's _dmarc TXT (§6.6.3) and one A
//    for np=. Tree walk: no name asked twice, every name on the walk of the
//    author or of an identifier being aligned, at most kMaxTreeWalkQueries
//    per walk (RFC 9989 §4.10), and the walk starts at _dmarc.<author>.
//  - Both methods find a record at _dmarc.<author> alike; evaluation is
//    deterministic; Strictest picks a failing evaluation when there is one.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "auth/dkim/verifier.h"
#include "auth/dmarc/evaluator.h"
#include "auth/dmarc/from.h"
#include "auth/dmarc/record.h"
#include "auth/spf/evaluator.h"
#include "dns/static_resolver.h"
#include "dns/testing/deferred_resolver.h"
#include "fuzz/evaluator_input.h"
#include "message/header_block.h"

namespace {

namespace dkim = mxkit::auth::dkim;
namespace dmarc = mxkit::auth::dmarc;
namespace spf = mxkit::auth::spf;
using mxkit::dns::RrType;
using mxkit::fuzz::CountingResolver;

void Check(bool property) {
  if (!property) __builtin_trap();
}

std::optional<spf::Result> SpfResultNamed(std::string_view name) {
  for (spf::Result r : {spf::Result::kNone, spf::Result::kNeutral, spf::Result::kPass,
                        spf::Result::kFail, spf::Result::kSoftFail, spf::Result::kTempError,
                        spf::Result::kPermError}) {
    if (spf::ResultName(r) == name) return r;
  }
  return std::nullopt;
}

std::optional<dkim::DkimResult> DkimResultNamed(std::string_view name) {
  for (dkim::DkimResult r : {dkim::DkimResult::kPass, dkim::DkimResult::kFail,
                             dkim::DkimResult::kNeutral, dkim::DkimResult::kTempError,
                             dkim::DkimResult::kPermError, dkim::DkimResult::kPolicy}) {
    if (dkim::DkimResultKeyword(r) == name) return r;
  }
  return std::nullopt;
}

// The "spf=... dkim=... pct=..." line; nullopt when it is malformed.
std::optional<dmarc::EvaluationInput> ParseVerdicts(std::string_view line) {
  dmarc::EvaluationInput input;
  bool have_spf = false;
  while (!line.empty()) {
    size_t space = line.find(' ');
    std::string_view token = line.substr(0, space);
    line = space == std::string_view::npos ? std::string_view() : line.substr(space + 1);
    if (token.empty()) continue;
    size_t eq = token.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    std::string_view key = token.substr(0, eq), value = token.substr(eq + 1);
    if (key == "pct") {
      if (!absl::SimpleAtoi(absl::string_view(value.data(), value.size()), &input.pct_sample)) {
        return std::nullopt;
      }
      continue;
    }
    size_t colon = value.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string_view result = value.substr(0, colon), domain = value.substr(colon + 1);
    if (key == "spf" && !have_spf) {
      std::optional<spf::Result> r = SpfResultNamed(result);
      if (!r) return std::nullopt;
      input.spf_result = *r;
      input.spf_domain = std::string(domain);
      have_spf = true;
    } else if (key == "dkim" && input.dkim.size() < dkim::kMaxSignaturesEvaluated) {
      std::optional<dkim::DkimResult> r = DkimResultNamed(result);
      if (!r) return std::nullopt;
      input.dkim.push_back({*r, std::string(domain)});
    } else {
      return std::nullopt;
    }
  }
  return input;
}

const dmarc::PublicSuffixList& DebianPsl() {
  static const std::shared_ptr<const dmarc::PublicSuffixList> psl = [] {
    auto loaded = dmarc::PublicSuffixList::Load(dmarc::kDefaultPublicSuffixListPath);
    if (!loaded.ok()) __builtin_trap();  // the Debian publicsuffix package is required
    return *loaded;
  }();
  return *psl;
}

bool SameOrParent(std::string_view name, std::string_view parent) {
  if (name == parent) return true;
  return name.size() > parent.size() && name.substr(name.size() - parent.size()) == parent &&
         name[name.size() - parent.size() - 1] == '.';
}

dmarc::Policy OneStepLessStrict(dmarc::Policy p) {
  return p == dmarc::Policy::kReject ? dmarc::Policy::kQuarantine : dmarc::Policy::kNone;
}

void CheckEvaluation(const dmarc::Evaluation& ev, const dmarc::EvaluationInput& input,
                     dmarc::DiscoveryMethod method, const std::vector<CountingResolver::Query>& queries) {
  const dmarc::PublicSuffixList& psl = DebianPsl();
  const std::string author = dmarc::NormalizeDomain(input.author_domain);
  Check(ev.author_domain == author);
  Check(!ev.reason.empty());
  Check(ev.dns_queries >= 0 && static_cast<size_t>(ev.dns_queries) == queries.size());
  if (ev.result != dmarc::DmarcResult::kFail) Check(ev.disposition == dmarc::Policy::kNone);
  if (!ev.policy_domain.empty()) Check(SameOrParent(author, ev.policy_domain));

  const bool decided = ev.result == dmarc::DmarcResult::kPass || ev.result == dmarc::DmarcResult::kFail;
  if (decided) {
    Check(ev.record.has_value() && ev.requested_policy.has_value() && !ev.policy_domain.empty());
    Check((ev.result == dmarc::DmarcResult::kPass) == (ev.spf_aligned || ev.dkim_aligned));
  }
  if (ev.spf_aligned) {
    Check(ev.record.has_value());
    Check(input.spf_result == spf::Result::kPass);
    if (ev.record->spf_alignment == dmarc::AlignmentMode::kStrict) {
      Check(dmarc::StrictlyAligned(input.spf_domain, author));
    }
  }
  if (ev.dkim_aligned) {
    Check(ev.record.has_value());
    bool passed = false;
    for (const dmarc::DkimIdentifier& d : input.dkim) {
      if (d.result == dkim::DkimResult::kPass && dmarc::NormalizeDomain(d.domain) == ev.aligned_dkim_domain) {
        passed = true;
      }
    }
    Check(passed);
    if (ev.record->dkim_alignment == dmarc::AlignmentMode::kStrict) {
      Check(dmarc::StrictlyAligned(ev.aligned_dkim_domain, author));
    }
  }
  if (method == dmarc::DiscoveryMethod::kRfc7489 && decided) {
    // With a PSL, alignment involves no DNS, so it can be recomputed.
    bool spf_aligned = input.spf_result == spf::Result::kPass && !input.spf_domain.empty() &&
                       dmarc::IsAligned(dmarc::NormalizeDomain(input.spf_domain), author,
                                        ev.record->spf_alignment, psl);
    bool dkim_aligned = false;
    for (const dmarc::DkimIdentifier& d : input.dkim) {
      if (d.result == dkim::DkimResult::kPass && !d.domain.empty() &&
          dmarc::IsAligned(dmarc::NormalizeDomain(d.domain), author, ev.record->dkim_alignment, psl)) {
        dkim_aligned = true;
      }
    }
    Check(ev.spf_aligned == spf_aligned);
    Check(ev.dkim_aligned == dkim_aligned);
  }
  if (ev.result == dmarc::DmarcResult::kFail) {
    const uint32_t sample = input.pct_sample < 100 ? input.pct_sample : 99;
    Check(ev.sampled_out == (sample >= static_cast<uint32_t>(ev.record->percent)));
    Check(ev.testing == ev.record->testing);
    Check(ev.disposition == (ev.sampled_out || ev.testing ? OneStepLessStrict(*ev.requested_policy)
                                                          : *ev.requested_policy));
    if (ev.nonexistent_domain) Check(ev.record->nonexistent_policy == ev.requested_policy);
  }

  // DNS.
  size_t txt = 0, a = 0;
  absl::flat_hash_set<std::string> asked;
  for (const CountingResolver::Query& q : queries) {
    if (q.type == RrType::kA) {
      ++a;
      Check(q.asked == author);  // np=: does the author domain exist (RFC 9989 §4.7)
      continue;
    }
    Check(q.type == RrType::kTxt);
    Check(q.asked.rfind("_dmarc.", 0) == 0);
    ++txt;
    if (method == dmarc::DiscoveryMethod::kTreeWalk) Check(asked.insert(q.asked).second);
  }
  Check(a <= 1);
  if (queries.empty()) return;
  Check(queries[0].type == RrType::kTxt && queries[0].asked == "_dmarc." + author);
  if (method == dmarc::DiscoveryMethod::kRfc7489) {
    Check(txt <= 2);
    if (txt == 2) Check(queries[1].asked == "_dmarc." + psl.OrganizationalDomain(author));
    return;
  }
  std::vector<std::string> starts = {author};
  if (input.spf_result == spf::Result::kPass) starts.push_back(dmarc::NormalizeDomain(input.spf_domain));
  for (const dmarc::DkimIdentifier& d : input.dkim) {
    if (d.result == dkim::DkimResult::kPass) starts.push_back(dmarc::NormalizeDomain(d.domain));
  }
  absl::flat_hash_set<std::string> on_a_walk;
  for (const std::string& s : starts) {
    std::vector<std::string> names = dmarc::TreeWalkNames(s);
    Check(names.size() <= dmarc::kMaxTreeWalkQueries);
    for (const std::string& n : names) on_a_walk.insert("_dmarc." + n);
  }
  for (const std::string& name : asked) Check(on_a_walk.contains(name));
  Check(txt <= dmarc::kMaxTreeWalkQueries * starts.size());
}

bool SameEvaluation(const dmarc::Evaluation& a, const dmarc::Evaluation& b) {
  return a.result == b.result && a.disposition == b.disposition && a.reason == b.reason &&
         a.requested_policy == b.requested_policy && a.policy_domain == b.policy_domain &&
         a.organizational_domain == b.organizational_domain && a.record == b.record &&
         a.dns_queries == b.dns_queries;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  mxkit::dns::StaticResolver zone;
  std::optional<mxkit::fuzz::FramedInput> framed = mxkit::fuzz::LoadFramedInput(input, zone);
  if (!framed) return 0;

  size_t newline = framed->query.find('\n');
  if (newline == std::string_view::npos) return 0;
  std::string_view line = framed->query.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::optional<dmarc::EvaluationInput> verdicts = ParseVerdicts(line);
  if (!verdicts) return 0;
  mxkit::message::HeaderBlockResult header = mxkit::message::SplitHeaderBlock(framed->query.substr(newline + 1));
  if (!header.ok()) return 0;
  dmarc::FromOptions every_author;
  every_author.multiple_from_fields = dmarc::MultipleAuthorAction::kEvaluateAll;
  every_author.multiple_mailboxes = dmarc::MultipleAuthorAction::kEvaluateAll;
  dmarc::FromResult from = dmarc::ExtractAuthorDomains(header.block, every_author);
  if (!from.ok()) return 0;
  Check(!from.domains.empty());

  std::shared_ptr<const dmarc::PublicSuffixList> psl(&DebianPsl(), [](const dmarc::PublicSuffixList*) {});
  for (dmarc::DiscoveryMethod method : {dmarc::DiscoveryMethod::kRfc7489, dmarc::DiscoveryMethod::kTreeWalk}) {
    std::vector<dmarc::Evaluation> evaluations;
    for (const std::string& author : from.domains) {
      dmarc::EvaluationInput in = *verdicts;
      in.author_domain = author;
      CountingResolver counted(zone);
      absl::StatusOr<dmarc::Evaluator> evaluator = dmarc::Evaluator::Create(counted, {method, psl});
      Check(evaluator.ok());
      dmarc::Evaluation ev = evaluator->Evaluate(in);
      CheckEvaluation(ev, in, method, counted.queries());
      Check(SameEvaluation(evaluator->Evaluate(in), ev));
      // The asynchronous path over lookups answered in an input-chosen
      // order: `done` once, after its lookups, with the same evaluation.
      mxkit::dns::testing::DeferredResolver deferred(zone);
      absl::StatusOr<dmarc::Evaluator> async = dmarc::Evaluator::Create(deferred, {method, psl});
      Check(async.ok());
      int calls = 0;
      dmarc::Evaluation later;
      async->EvaluateAsync(in, [&](dmarc::Evaluation e) {
        ++calls;
        later = std::move(e);
      });
      Check(calls == 0 || deferred.started() == 0);
      deferred.Drain(mxkit::fuzz::CompletionOrderSeed(input));
      Check(calls == 1);
      Check(deferred.started() == static_cast<size_t>(ev.dns_queries));
      Check(SameEvaluation(later, ev));
      evaluations.push_back(std::move(ev));
    }
    const dmarc::Evaluation& strictest = dmarc::Strictest(evaluations);
    bool any_fail = false;
    for (const dmarc::Evaluation& e : evaluations) any_fail |= e.result == dmarc::DmarcResult::kFail;
    Check((strictest.result == dmarc::DmarcResult::kFail) == any_fail);
  }

  // A record at _dmarc.<author> is found by both methods.
  for (const std::string& author : from.domains) {
    dmarc::EvaluationInput in = *verdicts;
    in.author_domain = author;
    auto by_psl = dmarc::Evaluator::Create(zone, {dmarc::DiscoveryMethod::kRfc7489, psl});
    auto by_walk = dmarc::Evaluator::Create(zone, {dmarc::DiscoveryMethod::kTreeWalk, nullptr});
    Check(by_psl.ok() && by_walk.ok());
    dmarc::Evaluation a = by_psl->Evaluate(in);
    if (!a.policy_domain.empty() && a.policy_domain == a.author_domain) {
      Check(by_walk->Evaluate(in).policy_domain == a.author_domain);
    }
  }
  return 0;
}
