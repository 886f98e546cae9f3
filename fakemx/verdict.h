// fakemx's verdicts: what a mailbox provider would conclude about a message
// it received (SPF for MAIL FROM and HELO, every DKIM signature, DMARC for the
// From domain, an RFC 8601 Authentication-Results value, and the summary in
// the terms a mailbox user sees), and about a session (encrypted, or why not).
// docs/verdicts.md gives every rule and its source.
//
// The engine stands on auth/'s asynchronous evaluators (auth/spf, auth/dkim,
// auth/dmarc; auth/authentication_results_builder for the field) over a
// dns::Resolver: in fakemx an AuthoritativeResolver over the scenario's own
// zones (fakemx's own DNS), whose lookups complete inline, so a verdict is
// ready before Evaluate returns. Over a resolver doing I/O (AresResolver)
// the steps continue from the resolver's executor and nothing blocks.
//
// Single-threaded: an engine is used on one thread (the server's io_context,
// which is also where AresResolver completes); the counters are not locked.

#ifndef MXKIT_FAKEMX_VERDICT_H_
#define MXKIT_FAKEMX_VERDICT_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "auth/dkim/verifier.h"
#include "auth/dmarc/evaluator.h"
#include "auth/dmarc/from.h"
#include "auth/spf/evaluator.h"
#include "dns/authoritative.h"
#include "dns/resolver.h"
#include "fakemx/delivery.h"
#include "fakemx/scenario.h"
#include "fakemx/verdict_types.h"

namespace mxkit::fakemx {

struct VerdictOptions {
  // RFC 8601 §2.5: the authserv-id naming the host that did the checks; the
  // receiver's hostname in fakemx. Must be a value an Authentication-Results
  // field can carry (Create checks).
  std::string authserv_id;
  // The address SPF checks in place of the connecting one (tests connect
  // from 127.0.0.1, which a real world's SPF records never list). Unset:
  // the connecting address.
  std::optional<std::string> client_ip;
  // Prepend "Authentication-Results: <value>" to the stored copy (RFC 8601
  // §5: a receiver adds it at the top). Read by the server, not the engine.
  bool add_authentication_results = false;
};

// Verdict counts by check and result, for /metrics:
//   {"spf_mail_from", "pass"}, {"spf_helo", "none"}, {"dkim", "fail"} (one
//   per signature; "none" for a message without one), {"dmarc", "fail"},
//   {"disposition", "reject"}, {"lock", "red_lock"},
//   {"sender", "question_mark"}.
// Listed (ForEach) in the order of the plain pair of strings, what /metrics
// prints. CountVerdict runs for every stored message (fakemx/server.cc), so
// the checks and the results fakemx's verdicts can have are counted in fixed
// slots, found without a string-keyed lookup; any other pair (a verdict
// made by hand) in a map beside them.
class VerdictCounts {
 public:
  // One more `n` of (check, result).
  void Add(std::string_view check, std::string_view result, uint64_t n = 1);
  // Every count of `other` added to this one.
  void Add(const VerdictCounts& other);
  // The count of (check, result); 0 when never counted.
  uint64_t at(std::pair<std::string_view, std::string_view> key) const;
  // 1 when (check, result) was counted, else 0 (as a map's count).
  size_t count(std::pair<std::string_view, std::string_view> key) const { return at(key) > 0; }
  // f(check, result, n) for every pair counted, in the order above.
  template <typename F>
  void ForEach(F&& f) const;

  // The checks, in name order; and the results of each, in name order.
  static constexpr size_t kChecks = 7;
  static constexpr size_t kMaxResults = 7;

 private:
  friend void CountVerdict(VerdictCounts& counts, const MessageVerdict& verdict);
  static constexpr std::string_view kCheckNames[kChecks] = {
      "disposition", "dkim", "dmarc", "lock", "sender", "spf_helo", "spf_mail_from"};
  static constexpr std::string_view kResultNames[kChecks][kMaxResults] = {
      {"none", "quarantine", "reject"},
      {"fail", "neutral", "none", "pass", "permerror", "policy", "temperror"},
      {"fail", "none", "pass", "permerror", "temperror"},
      {"encrypted", "red_lock"},
      {"authenticated", "question_mark"},
      {"fail", "neutral", "none", "pass", "permerror", "softfail", "temperror"},
      {"fail", "neutral", "none", "pass", "permerror", "softfail", "temperror"},
  };
  // The check with this index: one more `n` of `result`.
  void AddAt(size_t check, std::string_view result, uint64_t n);
  // The slot indices of a check name, and of a result of check `check`;
  // nullopt for a pair counted in other_.
  static std::optional<size_t> FindCheck(std::string_view check);
  static std::optional<size_t> FindResult(size_t check, std::string_view result);

  uint64_t slots_[kChecks][kMaxResults] = {};
  std::map<std::pair<std::string, std::string>, uint64_t> other_;
};

template <typename F>
void VerdictCounts::ForEach(F&& f) const {
  // Merges the slots (in order by construction) with the map (ordered).
  auto other = other_.begin();
  auto before = [](std::string_view c1, std::string_view r1, std::string_view c2,
                   std::string_view r2) { return c1 < c2 || (c1 == c2 && r1 < r2); };
  for (size_t c = 0; c < kChecks; ++c) {
    for (size_t r = 0; r < kMaxResults && !kResultNames[c][r].empty(); ++r) {
      if (slots_[c][r] == 0) continue;
      while (other != other_.end() &&
             before(other->first.first, other->first.second, kCheckNames[c], kResultNames[c][r])) {
        f(std::string_view(other->first.first), std::string_view(other->first.second),
          other->second);
        ++other;
      }
      f(kCheckNames[c], kResultNames[c][r], slots_[c][r]);
    }
  }
  for (; other != other_.end(); ++other) {
    f(std::string_view(other->first.first), std::string_view(other->first.second), other->second);
  }
}

// Adds `verdict` to `counts` as above (nothing for an unevaluated verdict
// except its lock).
void CountVerdict(VerdictCounts& counts, const MessageVerdict& verdict);

class VerdictEngine {
 public:
  // `resolver` answers every lookup (shared: the engine keeps it alive);
  // `psl` gives organizational domains for DMARC (RFC 7489 §3.2). Fails
  // with InvalidArgument when the authserv-id cannot be written in an
  // Authentication-Results field, or client_ip is not an IP address.
  static absl::StatusOr<std::shared_ptr<VerdictEngine>> Create(
      std::shared_ptr<dns::Resolver> resolver,
      std::shared_ptr<const auth::dmarc::PublicSuffixList> psl, VerdictOptions options);

  // Judges the message `raw` (as received: dot-unstuffed, CRLF line ends)
  // that arrived with `delivery`; `now_us` is the clock (µs since the
  // epoch) for SPF's %{t} and DKIM's x=. `done` runs exactly once, with
  // `evaluated` set: before Evaluate returns when the resolver completes
  // inline (fakemx's own), else from the resolver's executor (what it
  // reads of `delivery` and `raw` is copied). The engine must outlive it.
  // The verdict is handed over as an rvalue: `done` moves it where it is
  // kept, and no copy is made on the way. Never fails: a message whose
  // header cannot be split gets dkim none and dmarc permerror, saying why.
  void Evaluate(const Delivery& delivery, std::string_view raw, int64_t now_us,
                std::function<void(MessageVerdict&&)> done);

  const VerdictOptions& options() const { return options_; }

 private:
  VerdictEngine(std::shared_ptr<dns::Resolver> resolver,
                std::shared_ptr<const auth::dmarc::PublicSuffixList> psl, VerdictOptions options,
                auth::dmarc::Evaluator dmarc);
  struct Judgement;
  void VerifyDkim(std::shared_ptr<Judgement> j);
  void EvaluateDmarc(std::shared_ptr<Judgement> j);
  void EvaluateNextAuthor(std::shared_ptr<Judgement> j);
  void Finish(std::shared_ptr<Judgement> j);

  // The memo of SPF checks and DMARC evaluations (below) holds at most this
  // many of each, and is emptied when full: the bound of the resolver's own
  // answer cache (dns::AuthoritativeResolver::kMaxCachedAnswers).
  static constexpr size_t kMaxMemoEntries = 4096;

  // Appends the key of an SPF check or DMARC evaluation to key_ (each part
  // length-prefixed, so no two inputs share a key).
  void KeyPart(std::string_view part);
  void KeyPart(int64_t number);
  // What `start` (called with its completion) gives: from `memo` under
  // `key` when there, else run (inline: the memo's condition) and kept.
  // Serves the SPF checks and the DMARC evaluations alike.
  // The result is the memo's own: valid until the next Memoized call.
  template <typename Result, typename Start>
  static const Result& Memoized(absl::flat_hash_map<std::string, Result>& memo,
                                const std::string& key, Start start);

  std::shared_ptr<dns::Resolver> resolver_;
  std::shared_ptr<const auth::dmarc::PublicSuffixList> psl_;
  VerdictOptions options_;
  // options_.authserv_id, for every verdict to share.
  std::shared_ptr<const std::string> authserv_id_;
  auth::spf::Evaluator spf_;
  auth::dkim::Verifier dkim_;
  auth::dmarc::Evaluator dmarc_;
  // An AuthoritativeResolver answers before Lookup returns (its contract),
  // so a judgement never outlives Evaluate and need not copy the message.
  bool resolver_completes_inline_ = false;
  // Over an AuthoritativeResolver (only), what an SPF check or a DMARC
  // evaluation gives depends on its inputs alone: the responder's zones and
  // faults are fixed for the resolver's life (a scenario switch makes a new
  // resolver and a new engine), a "timeout" fault is an immediate, fixed
  // temperror and not a clock running out, and nothing else varies (the
  // resolver caches its answers on the same grounds). So fakemx, which
  // judges the same sender again and again, keeps each result by its full
  // input: for SPF the client address as text, the identity, the HELO name
  // and the second (%{t}, which an exp= explanation may hold); for DMARC every field of the EvaluationInput. A
  // resolver doing I/O (timeouts, changing answers) is never memoized.
  absl::flat_hash_map<std::string, auth::spf::CheckResult> spf_memo_;
  absl::flat_hash_map<std::string, auth::dmarc::Evaluation> dmarc_memo_;
  std::string key_;  // the key being built, reused
  // From values already read (auth/dmarc/from.h: exact for any resolver).
  auth::dmarc::FromValueMemo from_memo_;
};

// The engine `receiver`'s `verdicts:` settings ask for, over `resolver` and
// `psl`: authserv-id the receiver's hostname unless given, client_ip and
// add_authentication_results as given. Null when `enabled: false`.
absl::StatusOr<std::shared_ptr<VerdictEngine>> MakeReceiverVerdicts(
    const Receiver& receiver, std::shared_ptr<dns::Resolver> resolver,
    std::shared_ptr<const auth::dmarc::PublicSuffixList> psl);

// One engine per receiver of `scenario` (null where verdicts are off), all
// over fakemx's own DNS: an AuthoritativeResolver over `zones` (the
// ScenarioDns zones the DNS listener serves, also with --dns=off), and the
// public suffix list at `psl_path`. What fakemx's main and an embedding
// test hand to ReceiverOptions::verdicts, receiver by receiver. Errors
// name the receiver, or the list file.
absl::StatusOr<std::vector<std::shared_ptr<VerdictEngine>>> MakeScenarioVerdicts(
    const Scenario& scenario, std::vector<dns::ServedZone> zones,
    std::string_view psl_path = auth::dmarc::kDefaultPublicSuffixListPath);

// The message with "Authentication-Results: <value>" CRLF prepended, as a
// receiver adds it (RFC 8601 §5), the value folded as it came (the writer
// writes no line longer than 78 characters; AuthenticationResultsValue).
std::string PrependAuthenticationResults(std::string_view raw, std::string_view value);

// What the driver knows about a session's TLS, for JudgeSession.
struct SessionTlsFacts {
  bool implicit_tls = false;        // the implicit-TLS listener (RFC 8314 §3.3)
  bool starttls_offered = false;    // STARTTLS was in an EHLO reply (RFC 3207 §4)
  bool starttls_requested = false;  // the client sent STARTTLS
  bool handshake_started = false;   // a 220 to STARTTLS went out (or implicit TLS)
  bool established = false;         // a handshake completed
  // The client sent SMTP (any byte of application data) over the
  // established TLS. A client that checks the certificate only after the
  // handshake and then leaves never does.
  bool client_sent_under_tls = false;
  bool timed_out = false;           // the handshake hit the idle timeout
  std::string handshake_error;      // a failed handshake's error
};

// The session verdict (docs/verdicts.md, "Sessions"): encrypted once a
// handshake completed and the client then sent SMTP under it; else
// tls_outcome says why, first of:
//   "handshake timed out", "handshake failed: <error>" (a client that
//     refused the certificate: "handshake failed: client refused the
//     certificate: alert certificate_expired (45)"),
//   "client sent nothing under tls" (completed, then not a byte from the client),
//   "client closed during the handshake" (started, neither completed nor failed),
//   "starttls refused by the receiver" (requested, no 220: a scenario's 454),
//   "client did not use starttls" (offered, never requested: stripped or
//     declined by the client), "starttls not offered".
SessionVerdict JudgeSession(const SessionTlsFacts& facts, uint64_t messages);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_VERDICT_H_
