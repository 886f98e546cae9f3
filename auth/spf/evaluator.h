// SPF evaluation: check_host() (RFC 7208 §4) over a dns::Resolver, with the
// MAIL FROM and HELO identities (§2.3, §2.4) on top.
//
// One implementation, asynchronous: check_host() is a coroutine awaiting
// Resolver::Lookup (dns/lookup_task.h), so a server evaluates on its network
// thread without blocking it (CheckHostAsync and friends). The synchronous
// CheckHost/CheckMailFrom/CheckHelo run that same coroutine over
// dns::SyncLookupResolver, whose Lookup calls the resolver's LookupSync
// inline: results are identical, and there is no second check_host().
//
// Limits (§4.6.4): at most kMaxDnsMechanisms mechanisms/modifiers that do DNS
// lookups per check (include, a, mx, ptr, exists, redirect; counted when they
// are evaluated, so terms after a match cost nothing — the suite's
// include-at-limit), at most kMaxVoidLookups void lookups (NXDOMAIN or NODATA)
// counted per term's own query, permerror for an mx target with more than
// kMaxMxNames MX records, and only the first kMaxPtrNames PTR names checked.
// The exp= TXT lookup counts towards neither limit (suite test exp-void).

#ifndef MXKIT_AUTH_SPF_EVALUATOR_H_
#define MXKIT_AUTH_SPF_EVALUATOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"

#include "auth/spf/record.h"
#include "dns/lookup_task.h"
#include "dns/resolver.h"

namespace mxkit::auth::spf {

inline constexpr int kMaxDnsMechanisms = 10;  // RFC 7208 §4.6.4
inline constexpr int kMaxVoidLookups = 2;     // RFC 7208 §4.6.4 (SHOULD, default two)
inline constexpr size_t kMaxMxNames = 10;     // RFC 7208 §4.6.4
inline constexpr size_t kMaxPtrNames = 10;    // RFC 7208 §4.6.4

// RFC 7208 §2.6.
enum class Result { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror".
std::string_view ResultName(Result result);

struct CheckResult {
  Result result = Result::kNone;
  // Why, for humans: the term that matched and in which domain's record, or
  // what error stopped evaluation, where and why.
  std::string reason;
  // For kFail only: the exp= text of the deciding record (§6.2) expanded, or
  // the evaluator's default explanation when there is none or it is unusable.
  std::string explanation;
  // The deciding term as written ("-all", "ip4:192.0.2.0/24"), empty when the
  // result came from the default (§4.7) or an error.
  std::string mechanism;
  // The <domain> check_host() started from, without a trailing dot: the
  // MAIL FROM domain, or the HELO name for CheckHelo and for a null
  // reverse-path (§2.4). DMARC aligns on this (RFC 7489 §4.2).
  std::string domain;
  // DNS-lookup terms and void lookups used, for diagnostics.
  int dns_lookups = 0;
  int void_lookups = 0;
};

struct EvaluatorOptions {
  // %{r} (§7.2): the domain name of the host doing the check.
  std::string receiver = "unknown";
  // An explain-string (§6.2, macros allowed) used for fail results without a
  // usable exp=. Must parse; an invalid one falls back to the fixed text.
  std::string default_explanation = "%{d} does not designate %{c} as a permitted sender";
  // §4.6.4 lets the void limit be configurable; the default is the RFC's two.
  int max_void_lookups = kMaxVoidLookups;
  // Parsed records kept by exact text, so a busy receiver does not re-parse
  // the same popular policies for every message (DNS answers are cached by the
  // resolver; this caches what we make of them). The cache is emptied when it
  // reaches this many entries; 0 turns it off.
  size_t record_cache_size = 1024;
};

class Evaluator {
 public:
  // `resolver` must outlive the evaluator. Evaluations may run concurrently
  // (the record cache is locked) if the resolver is thread-safe.
  explicit Evaluator(dns::Resolver& resolver, EvaluatorOptions options = {});

  // check_host(<ip>, <domain>, <sender>) (§4). `helo` feeds %{h};
  // `timestamp` (seconds since the epoch) feeds %{t}. An IPv4-mapped IPv6
  // `ip` is evaluated as IPv4 (§5). A malformed or single-label <domain>, or
  // one without an SPF record, gives kNone (§4.3, §4.5). A <sender> without a
  // local-part gets "postmaster" (§4.3).
  //
  // Asynchronous: lookups go through Resolver::Lookup (several may be
  // needed, one after another, as the record is walked) and `done` runs
  // exactly once with the result: inline when every lookup completes inline,
  // else from the resolver's executor after the last one. The arguments are
  // copied; the evaluator (and its resolver) must outlive the evaluation.
  void CheckHostAsync(const IpAddress& ip, std::string_view domain, std::string_view sender,
                      std::string_view helo, int64_t timestamp,
                      std::function<void(CheckResult)> done) const;
  // The MAIL FROM identity (§2.4), asynchronously: check_host with the domain
  // of `mail_from` (the reverse-path without angle brackets); for the null
  // reverse-path ("") the HELO identity postmaster@<helo> is checked instead.
  void CheckMailFromAsync(const IpAddress& ip, std::string_view mail_from, std::string_view helo,
                          int64_t timestamp, std::function<void(CheckResult)> done) const;
  // The HELO identity (§2.3), asynchronously: check_host(<ip>, <helo>,
  // "postmaster@" <helo>). A domain literal or single-label HELO gives kNone.
  void CheckHeloAsync(const IpAddress& ip, std::string_view helo, int64_t timestamp,
                      std::function<void(CheckResult)> done) const;

  // Synchronous conveniences: the same evaluation, each lookup through the
  // resolver's LookupSync, returning when done.
  CheckResult CheckHost(const IpAddress& ip, std::string_view domain, std::string_view sender,
                        std::string_view helo, int64_t timestamp = 0) const;
  CheckResult CheckMailFrom(const IpAddress& ip, std::string_view mail_from,
                            std::string_view helo, int64_t timestamp = 0) const;
  CheckResult CheckHelo(const IpAddress& ip, std::string_view helo, int64_t timestamp = 0) const;

  // ParseRecord(text) through the record cache (record_cache_size): the
  // same shared result for the same text while it stays cached.
  std::shared_ptr<const ParseResult<Record>> ParseCached(std::string_view text) const;

 private:
  // The one check_host() driver, over `resolver` (the evaluator's own, or
  // the synchronous adapter around it). Arguments by value: they live in the
  // coroutine frame for the whole evaluation.
  dns::Task<CheckResult> Run(dns::Resolver& resolver, IpAddress ip, std::string domain,
                             std::string sender, std::string helo, int64_t timestamp) const;

  dns::Resolver* resolver_;
  EvaluatorOptions options_;
  MacroString default_explanation_;
  mutable std::mutex cache_mutex_;
  mutable absl::flat_hash_map<std::string, std::shared_ptr<const ParseResult<Record>>> cache_;
};

// True when `name` (no trailing dot) can be queried: 1..253 characters,
// labels of 1..63 (RFC 1035 §2.3.4).
bool IsQueryableName(std::string_view name);

}  // namespace mxkit::auth::spf

#endif  // MXKIT_AUTH_SPF_EVALUATOR_H_
