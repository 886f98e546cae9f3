// Fuzzes SPF check_host() (//auth/spf:evaluator) over a fuzzed zone: the
// whole evaluation, includes, redirects, macros and exp= under hostile DNS.
//
// Input (fuzz/evaluator_input.h): a zone, a "%%" line, then one line
// "<ip> <mail-from> <helo>"; "<>" is the null reverse-path (RFC 7208 §2.4,
// the HELO identity is checked instead).
//
// Properties, from the query log of a recording resolver:
//  - check_host() starts with the TXT lookup of <domain> (§4.4).
//  - §4.6.4: the lookups made by DNS-querying terms (include/redirect TXT,
//    mx MX, a/exists A or AAAA) never exceed kMaxDnsMechanisms. A/AAAA
//    queries for names an earlier MX or PTR answer pointed at are host
//    lookups, bounded separately: at most kMaxMxNames per MX answer and
//    kMaxPtrNames per PTR answer. An MX answer with more names is a
//    permerror with no query after it.
//  - §4.6.4: once a third term lookup came back void (NXDOMAIN/NODATA) the
//    check makes no further query and the result is permerror; the void and
//    term counts the result reports cover what was observed.
//  - Termination: at most kMaxQueriesPerCheck queries in all.
//  - The record cache changes nothing: the same check without it gives the
//    same result and the same queries.
//  - The asynchronous path (CheckMailFromAsync over a resolver that answers
//    only when told, in an order chosen from the input) gives the same
//    result after the same number of lookups, does not finish before its
//    lookups are answered, and calls `done` exactly once.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "auth/spf/evaluator.h"
#include "auth/spf/record.h"
#include "dns/static_resolver.h"
#include "dns/testing/deferred_resolver.h"
#include "fuzz/evaluator_input.h"

namespace {

using mxkit::auth::spf::CheckResult;
using mxkit::auth::spf::Evaluator;
using mxkit::auth::spf::EvaluatorOptions;
using mxkit::auth::spf::IpAddress;
using mxkit::auth::spf::kMaxDnsMechanisms;
using mxkit::auth::spf::kMaxMxNames;
using mxkit::auth::spf::kMaxPtrNames;
using mxkit::auth::spf::kMaxVoidLookups;
using mxkit::auth::spf::Result;
using mxkit::dns::LookupStatus;
using mxkit::dns::RrType;
using mxkit::fuzz::CountingResolver;

// The top-level TXT, one query per DNS term, kMaxMxNames host lookups for
// each of up to kMaxDnsMechanisms mx terms, a PTR lookup plus kMaxPtrNames
// host lookups for each ptr term and for a %{p} in exp=, and the exp= TXT.
constexpr size_t kMaxQueriesPerCheck = 1 + kMaxDnsMechanisms + kMaxDnsMechanisms * kMaxMxNames +
                                       (kMaxDnsMechanisms + 1) * (1 + kMaxPtrNames) + 1;

void Check(bool property) {
  if (!property) __builtin_trap();
}

bool SameQueries(const std::vector<CountingResolver::Query>& a,
                 const std::vector<CountingResolver::Query>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].type != b[i].type || a[i].status != b[i].status) return false;
  }
  return true;
}

void CheckLimits(const CheckResult& result, const std::vector<CountingResolver::Query>& queries) {
  Check(queries.size() <= kMaxQueriesPerCheck);
  if (queries.empty()) return;
  Check(queries[0].type == RrType::kTxt);
  Check(queries[0].name == mxkit::fuzz::CanonicalName(result.domain));

  // A fail may end with the exp= TXT lookup (§6.2), which is no term's,
  // followed only by the PTR and address lookups of a %{p} in its text.
  size_t exp_index = 0;  // 0: none (query 0 is the top-level TXT)
  if (result.result == Result::kFail) {
    for (size_t i = queries.size(); i-- > 1;) {
      if (queries[i].type == RrType::kTxt) {
        exp_index = i;
        break;
      }
      if (queries[i].type != RrType::kPtr && queries[i].type != RrType::kA &&
          queries[i].type != RrType::kAaaa) {
        break;
      }
    }
  }

  absl::flat_hash_set<std::string> hosts;  // names MX and PTR answers pointed at
  size_t term_queries = 0, host_queries = 0, mx_queries = 0, ptr_queries = 0, term_voids = 0;
  for (size_t i = 1; i < queries.size(); ++i) {
    const CountingResolver::Query& q = queries[i];
    // §4.6.4: the third void lookup ends the check with permerror.
    Check(term_voids <= static_cast<size_t>(kMaxVoidLookups));
    bool term = false;
    switch (q.type) {
      case RrType::kTxt:
        term = i != exp_index;
        break;
      case RrType::kMx:
        term = true;
        ++mx_queries;
        if (q.targets.size() > kMaxMxNames) {
          Check(i + 1 == queries.size());
          Check(result.result == Result::kPermError);
        }
        break;
      case RrType::kPtr:
        ++ptr_queries;
        break;
      case RrType::kA:
      case RrType::kAaaa:
        if (hosts.contains(q.name)) {
          ++host_queries;
        } else {
          term = true;
        }
        break;
      default:
        Check(false);  // SPF asks for nothing else
    }
    for (const std::string& t : q.targets) hosts.insert(t);
    if (term) {
      ++term_queries;
      if (mxkit::fuzz::IsVoid(q.status)) ++term_voids;
    }
  }
  if (term_voids > static_cast<size_t>(kMaxVoidLookups)) Check(result.result == Result::kPermError);
  Check(term_queries <= static_cast<size_t>(kMaxDnsMechanisms));
  Check(term_queries <= static_cast<size_t>(result.dns_lookups));
  Check(term_voids <= static_cast<size_t>(result.void_lookups));
  Check(ptr_queries <= static_cast<size_t>(kMaxDnsMechanisms) + 1);
  // A term may also look up a name some answer pointed at; those count here.
  Check(host_queries <= kMaxMxNames * mx_queries + kMaxPtrNames * ptr_queries +
                            (kMaxDnsMechanisms - term_queries));
}

void CheckResultShape(const CheckResult& result) {
  Check(result.result >= Result::kNone && result.result <= Result::kPermError);
  Check(!result.reason.empty());
  Check(result.explanation.empty() == (result.result != Result::kFail));
  Check(result.dns_lookups >= 0 && result.dns_lookups <= kMaxDnsMechanisms + 1);
  Check(result.void_lookups >= 0 && result.void_lookups <= kMaxVoidLookups + 1);
  if (result.result != Result::kPermError) {
    Check(result.dns_lookups <= kMaxDnsMechanisms);
    Check(result.void_lookups <= kMaxVoidLookups);
  }
  if (!result.mechanism.empty()) {
    Check(result.result != Result::kTempError && result.result != Result::kPermError &&
          result.result != Result::kNone);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  mxkit::dns::StaticResolver zone;
  std::optional<mxkit::fuzz::FramedInput> framed = mxkit::fuzz::LoadFramedInput(input, zone);
  if (!framed) return 0;

  std::string_view line = framed->query.substr(0, framed->query.find('\n'));
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  size_t s1 = line.find(' ');
  if (s1 == std::string_view::npos) return 0;
  size_t s2 = line.find(' ', s1 + 1);
  if (s2 == std::string_view::npos) return 0;
  std::optional<IpAddress> ip = IpAddress::Parse(line.substr(0, s1));
  if (!ip) return 0;
  std::string_view mail_from = line.substr(s1 + 1, s2 - s1 - 1);
  if (mail_from == "<>") mail_from = "";
  std::string_view helo = line.substr(s2 + 1);

  CountingResolver counted(zone);
  Evaluator evaluator(counted);
  CheckResult result = evaluator.CheckMailFrom(*ip, mail_from, helo);
  CheckResultShape(result);
  CheckLimits(result, counted.queries());

  CountingResolver counted_uncached(zone);
  EvaluatorOptions no_cache;
  no_cache.record_cache_size = 0;
  Evaluator uncached(counted_uncached, no_cache);
  CheckResult again = uncached.CheckMailFrom(*ip, mail_from, helo);
  Check(again.result == result.result && again.reason == result.reason &&
        again.explanation == result.explanation && again.mechanism == result.mechanism &&
        again.dns_lookups == result.dns_lookups && again.void_lookups == result.void_lookups);
  Check(SameQueries(counted.queries(), counted_uncached.queries()));

  mxkit::dns::testing::DeferredResolver deferred(zone);
  Evaluator async(deferred);
  int calls = 0;
  CheckResult later;
  async.CheckMailFromAsync(*ip, mail_from, helo, 0, [&](CheckResult r) {
    ++calls;
    later = std::move(r);
  });
  Check(calls == 0 || deferred.started() == 0);
  deferred.Drain(mxkit::fuzz::CompletionOrderSeed(input));
  Check(calls == 1);
  Check(deferred.pending() == 0);
  Check(deferred.started() == counted.queries().size());
  Check(later.result == result.result && later.reason == result.reason &&
        later.explanation == result.explanation && later.mechanism == result.mechanism &&
        later.domain == result.domain && later.dns_lookups == result.dns_lookups &&
        later.void_lookups == result.void_lookups);
  return 0;
}
