#include "fakemx/verdict.h"

#include <cstddef>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "auth/authentication_results.h"
#include "auth/authentication_results_resinfo.h"
#include "auth/dkim/signature.h"
#include "auth/dkim/verifier.h"
#include "auth/dmarc/from.h"
#include "base/absl_interop.h"
#include "dns/authoritative_resolver.h"
#include "message/header_block.h"

namespace mxkit::fakemx {
namespace {

namespace spf = auth::spf;
namespace dkim = auth::dkim;
namespace dmarc = auth::dmarc;

constexpr int64_t kMicrosPerSecond = 1000000;

// What an SPF check found, into `v` (whose identity the caller set): copied
// from a memoized result (an lvalue), moved from one of the caller's own.
template <typename CheckResultRef>
void SetSpf(SpfVerdict& v, CheckResultRef&& r) {
  v.result = spf::ResultName(r.result);
  v.domain = std::forward<CheckResultRef>(r).domain;
  v.mechanism = std::forward<CheckResultRef>(r).mechanism;
  v.reason = std::forward<CheckResultRef>(r).reason;
}

// Finish is the last reader of `r` and `e`: their strings are moved into
// the verdict, which is written in place.
void SetDkim(DkimVerdict& v, dkim::SignatureResult&& r) {
  v.result = dkim::DkimResultKeyword(r.result);
  if (r.signature) {
    dkim::Signature& s = *r.signature;
    v.parsed = true;
    v.domain = std::move(s.domain);
    v.selector = std::move(s.selector);
    v.algorithm = std::string(dkim::SignatureAlgorithmName(s.algorithm));
    v.identity = std::move(s.identity);
    v.header_b = auth::HeaderBPrefix(s.signature);
  }
  v.key_bits = r.key_bits;
  v.reason = std::move(r.reason);
}

void SetDmarc(DmarcVerdict& v, dmarc::Evaluation&& e) {
  v.result = dmarc::DmarcResultKeyword(e.result);
  v.disposition = dmarc::PolicyName(e.disposition);
  if (e.requested_policy) v.requested_policy = dmarc::PolicyName(*e.requested_policy);
  v.author_domain = std::move(e.author_domain);
  v.policy_domain = std::move(e.policy_domain);
  v.spf_aligned = e.spf_aligned;
  v.dkim_aligned = e.dkim_aligned;
  v.record_found = e.record.has_value();
  v.reason = std::move(e.reason);
}

// An address as a connection reports it may be IPv4-mapped IPv6
// ("::ffff:127.0.0.1"); spf::IpAddress::Parse keeps that IPv6 and the
// evaluator maps it to IPv4 (RFC 7208 §5), so the text is passed as it is.
std::optional<spf::IpAddress> ParseIp(std::string_view text) {
  return spf::IpAddress::Parse(text);
}

// %{r} (RFC 7208 §7.2) names the host doing the check: our authserv-id.
spf::EvaluatorOptions SpfOptions(const std::string& receiver) {
  spf::EvaluatorOptions options;
  options.receiver = receiver;
  return options;
}

}  // namespace

namespace {

// What ForEach's merge rests on: names in order, every result slot in use
// before the empty ones.
constexpr bool SlotsInOrder(const std::string_view (&checks)[VerdictCounts::kChecks],
                            const std::string_view (&results)[VerdictCounts::kChecks]
                                                             [VerdictCounts::kMaxResults]) {
  for (size_t c = 0; c < VerdictCounts::kChecks; ++c) {
    if (c > 0 && !(checks[c - 1] < checks[c])) return false;
    for (size_t r = 1; r < VerdictCounts::kMaxResults; ++r) {
      if (results[c][r].empty()) continue;
      if (results[c][r - 1].empty() || !(results[c][r - 1] < results[c][r])) return false;
    }
  }
  return true;
}

// Check indices in VerdictCounts' name order.
enum CheckIndex : size_t {
  kDisposition, kDkim, kDmarc, kLock, kSender, kSpfHelo, kSpfMailFrom
};

}  // namespace

std::optional<size_t> VerdictCounts::FindCheck(std::string_view check) {
  for (size_t c = 0; c < kChecks; ++c) {
    if (kCheckNames[c] == check) return c;
  }
  return std::nullopt;
}

std::optional<size_t> VerdictCounts::FindResult(size_t check, std::string_view result) {
  static_assert(SlotsInOrder(kCheckNames, kResultNames));
  const std::string_view* names = kResultNames[check];
  for (size_t r = 0; r < kMaxResults && !names[r].empty(); ++r) {
    if (names[r] == result) return r;
  }
  return std::nullopt;
}

void VerdictCounts::AddAt(size_t check, std::string_view result, uint64_t n) {
  if (const std::optional<size_t> r = FindResult(check, result)) {
    slots_[check][*r] += n;
  } else {
    other_[{std::string(kCheckNames[check]), std::string(result)}] += n;
  }
}

void VerdictCounts::Add(std::string_view check, std::string_view result, uint64_t n) {
  if (const std::optional<size_t> c = FindCheck(check)) {
    AddAt(*c, result, n);
  } else {
    other_[{std::string(check), std::string(result)}] += n;
  }
}

void VerdictCounts::Add(const VerdictCounts& other) {
  for (size_t c = 0; c < kChecks; ++c) {
    for (size_t r = 0; r < kMaxResults; ++r) slots_[c][r] += other.slots_[c][r];
  }
  for (const auto& [key, n] : other.other_) other_[key] += n;
}

uint64_t VerdictCounts::at(std::pair<std::string_view, std::string_view> key) const {
  if (const std::optional<size_t> c = FindCheck(key.first)) {
    if (const std::optional<size_t> r = FindResult(*c, key.second)) return slots_[*c][*r];
  }
  auto it = other_.find({std::string(key.first), std::string(key.second)});
  return it == other_.end() ? 0 : it->second;
}

void CountVerdict(VerdictCounts& counts, const MessageVerdict& v) {
  counts.AddAt(kLock, LockWord(v.summary), 1);
  if (!v.evaluated) return;
  counts.AddAt(kSpfMailFrom, v.spf_mail_from.result, 1);
  counts.AddAt(kSpfHelo, v.spf_helo.result, 1);
  if (v.dkim.empty()) counts.AddAt(kDkim, "none", 1);
  for (const DkimVerdict& d : v.dkim) counts.AddAt(kDkim, d.result, 1);
  counts.AddAt(kDmarc, v.dmarc.result, 1);
  counts.AddAt(kDisposition, v.summary.dmarc, 1);
  counts.AddAt(kSender, SenderWord(v.summary), 1);
}

absl::StatusOr<std::shared_ptr<VerdictEngine>> VerdictEngine::Create(
    std::shared_ptr<dns::Resolver> resolver,
    std::shared_ptr<const dmarc::PublicSuffixList> psl, VerdictOptions options) {
  if (resolver == nullptr) return absl::InvalidArgumentError("verdicts need a resolver");
  if (psl == nullptr) {
    return absl::InvalidArgumentError(
        "verdicts need a public suffix list (RFC 7489 §3.2 organizational domains)");
  }
  {
    // An authserv-id no field can carry is found now, not at the first message.
    auth::AuthenticationResults probe;
    probe.authserv_id = options.authserv_id;
    absl::StatusOr<std::string> formatted = auth::FormatAuthenticationResults(probe);
    if (!formatted.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("authserv_id \"", base::Av(options.authserv_id),
                       "\": ", formatted.status().message()));
    }
  }
  if (options.client_ip && !ParseIp(*options.client_ip)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client_ip \"", base::Av(*options.client_ip), "\" is not an IPv4 or IPv6 address"));
  }
  dmarc::EvaluatorOptions dmarc_options;
  dmarc_options.method = dmarc::DiscoveryMethod::kRfc7489;
  dmarc_options.psl = psl;
  absl::StatusOr<dmarc::Evaluator> dmarc = dmarc::Evaluator::Create(*resolver, dmarc_options);
  if (!dmarc.ok()) return dmarc.status();
  return std::shared_ptr<VerdictEngine>(new VerdictEngine(
      std::move(resolver), std::move(psl), std::move(options), *std::move(dmarc)));
}

VerdictEngine::VerdictEngine(std::shared_ptr<dns::Resolver> resolver,
                             std::shared_ptr<const dmarc::PublicSuffixList> psl,
                             VerdictOptions options, dmarc::Evaluator dmarc)
    : resolver_(std::move(resolver)),
      psl_(std::move(psl)),
      options_(std::move(options)),
      authserv_id_(std::make_shared<const std::string>(options_.authserv_id)),
      spf_(*resolver_, SpfOptions(options_.authserv_id)),
      dkim_(resolver_.get()),
      dmarc_(std::move(dmarc)),
      resolver_completes_inline_(
          dynamic_cast<const dns::AuthoritativeResolver*>(resolver_.get()) != nullptr) {}

// One message's evaluation in flight: what each step found, for the next.
// It owns copies of the few envelope fields it reads. The message bytes are
// copied only when the resolver may complete after Evaluate returns (then
// the caller's buffer may be gone, and DKIM reads the message until it is
// done); over fakemx's own resolver every step ends inside Evaluate, so
// `raw` views the caller's bytes and a message is not copied to be judged.
//
// The verdict is written where it is kept, as each step finds its part: the
// SPF identities are the checks' inputs (verdict.spf_*.identity), and a
// result is copied once out of the memo, not copied then moved twice.
struct VerdictEngine::Judgement {
  std::string_view raw;
  std::string raw_copy;  // what `raw` views when the resolver may not complete inline
  int64_t now = 0;  // Unix seconds
  std::function<void(MessageVerdict&&)> done;
  MessageVerdict verdict;
  // The MAIL FROM check's result (its text is in verdict.spf_mail_from),
  // for DMARC and the summary.
  spf::Result mail_from = spf::Result::kNone;
  // The header block, split once for DKIM and DMARC (views into `raw`).
  message::HeaderBlockResult header;
  dkim::DkimMessage dkim_message;  // views into `header`'s fields, for DKIM
  std::vector<dkim::SignatureResult> signatures;
  dmarc::EvaluationInput dmarc_input;
  std::vector<std::string> author_domains;
  std::vector<dmarc::Evaluation> evaluations;
};

// The steps run one after another, each started from the previous one's
// completion: SPF MAIL FROM, SPF HELO, DKIM, DMARC per author domain, then
// the field and the summary. Over fakemx's in-process resolver every step
// completes inline; over a resolver doing I/O, each continues from the
// resolver's executor, and the server thread never waits.
void VerdictEngine::Evaluate(const Delivery& delivery, std::string_view raw, int64_t now_us,
                             std::function<void(MessageVerdict&&)> done) {
  auto j = std::make_shared<Judgement>();
  MessageVerdict& v = j->verdict;
  // The identities checked, as the field names them (smtp.mailfrom,
  // smtp.helo), and the checks' inputs.
  const std::string& reverse_path = v.spf_mail_from.identity = delivery.reverse_path;
  const std::string& helo_name = v.spf_helo.identity = delivery.helo;
  if (resolver_completes_inline_) {
    j->raw = raw;
  } else {
    j->raw_copy = std::string(raw);
    j->raw = j->raw_copy;
  }
  j->now = now_us / kMicrosPerSecond;
  j->done = std::move(done);
  v.evaluated = true;
  v.summary.encrypted = delivery.tls.used;
  v.client_ip = options_.client_ip.value_or(delivery.client_address);

  // SPF (RFC 7208 §2.3, §2.4): the MAIL FROM identity (postmaster@HELO for
  // the null reverse-path) and the HELO identity, each for the client IP.
  const std::optional<spf::IpAddress> ip = ParseIp(v.client_ip);
  if (!ip) {
    // Only a connection with an address SPF cannot read gets here (a Unix
    // socket, say); RFC 7208 §4.3 has no result for it, so none, saying why.
    spf::CheckResult none;
    none.reason =
        absl::StrCat("client address \"", base::Av(v.client_ip), "\" is not an IP address");
    SetSpf(v.spf_mail_from, none);
    SetSpf(v.spf_helo, std::move(none));
    VerifyDkim(std::move(j));
    return;
  }
  if (resolver_completes_inline_) {
    // The memo (verdict.h): one key per check, the second's from the first.
    key_.clear();
    KeyPart(v.client_ip);
    KeyPart(helo_name);
    KeyPart(j->now);
    const size_t helo_key_size = key_.size();
    KeyPart(reverse_path);
    // Both checks in one map: a HELO check's key is the MAIL FROM check's
    // without its last part, and length-prefixed parts read back one way
    // only, so no key is both.
    const spf::CheckResult& mail_from =
        Memoized(spf_memo_, key_, [&](std::function<void(spf::CheckResult)> done) {
          spf_.CheckMailFromAsync(*ip, reverse_path, helo_name, j->now, std::move(done));
        });
    j->mail_from = mail_from.result;
    SetSpf(v.spf_mail_from, mail_from);  // before the next Memoized may empty the memo
    key_.resize(helo_key_size);
    SetSpf(v.spf_helo, Memoized(spf_memo_, key_, [&](std::function<void(spf::CheckResult)> done) {
             spf_.CheckHeloAsync(*ip, helo_name, j->now, std::move(done));
           }));
    VerifyDkim(std::move(j));
    return;
  }
  spf_.CheckMailFromAsync(
      *ip, reverse_path, helo_name, j->now,
      [this, j, ip = *ip](spf::CheckResult mail_from) {
        j->mail_from = mail_from.result;
        SetSpf(j->verdict.spf_mail_from, std::move(mail_from));
        spf_.CheckHeloAsync(ip, j->verdict.spf_helo.identity, j->now,
                            [this, j](spf::CheckResult helo) {
          SetSpf(j->verdict.spf_helo, std::move(helo));
          VerifyDkim(j);
        });
      });
}

void VerdictEngine::KeyPart(std::string_view part) {
  KeyPart(static_cast<int64_t>(part.size()));
  key_.append(part);
}

void VerdictEngine::KeyPart(int64_t number) {
  char bytes[sizeof number];
  std::memcpy(bytes, &number, sizeof number);
  key_.append(bytes, sizeof bytes);
}

template <typename Result, typename Start>
const Result& VerdictEngine::Memoized(absl::flat_hash_map<std::string, Result>& memo,
                                      const std::string& key, Start start) {
  if (auto it = memo.find(key); it != memo.end()) return it->second;
  std::optional<Result> result;
  start([&result](Result r) { result = std::move(r); });
  // The resolver completes inline (the memo's condition), so the call has.
  if (memo.size() >= kMaxMemoEntries) memo.clear();
  return memo.emplace(key, *std::move(result)).first->second;
}

void VerdictEngine::VerifyDkim(std::shared_ptr<Judgement> j) {
  // One split of the header block serves DKIM and DMARC's From. A message
  // whose header cannot be split has no signature to verify (dkim none) and
  // gets DMARC permerror, saying why.
  j->header = message::SplitHeaderBlock(j->raw);
  if (!j->header.ok()) {
    EvaluateDmarc(std::move(j));
    return;
  }
  // DKIM (RFC 6376 §6, RFC 8301): every signature, in message order. The
  // judgement keeps the views the verification reads until it is done.
  j->dkim_message = dkim::SplitMessage(j->header.block);
  const dkim::DkimMessage& m = j->dkim_message;
  dkim_.VerifyAsync(m.headers, m.body, j->now,
                    [this, j](std::vector<dkim::SignatureResult> signatures) {
                      j->signatures = std::move(signatures);
                      EvaluateDmarc(j);
                    });
}

void VerdictEngine::EvaluateDmarc(std::shared_ptr<Judgement> j) {
  // DMARC (RFC 7489 §6.6): each author domain of From, the strictest wins.
  const message::HeaderBlockResult& block = j->header;
  dmarc::FromResult from;
  if (block.ok()) from = dmarc::ExtractAuthorDomains(block.block, from_memo_);
  if (!block.ok() || !from.ok()) {
    // RFC 7489 §6.6.1: no single usable author domain; reported as
    // permerror (the usual receiver choice, as mxkit's CLI does).
    dmarc::Evaluation ev;
    ev.result = dmarc::DmarcResult::kPermError;
    ev.reason = block.ok() ? "RFC5322.From: " + from.message
                           : "header block: " + block.message;
    j->evaluations.push_back(std::move(ev));
    Finish(std::move(j));
    return;
  }
  dmarc::EvaluationInput& in = j->dmarc_input;
  in.spf_result = j->mail_from;
  in.spf_domain = j->verdict.spf_mail_from.domain;
  for (const dkim::SignatureResult& s : j->signatures) {
    if (s.signature) in.dkim.push_back({s.result, s.signature->domain});
  }
  // pct= sampling (RFC 7489 §6.3) is an input; 0 puts every message inside
  // any pct above 0, so a verdict is reproducible.
  in.pct_sample = 0;
  j->author_domains = std::move(from.domains);
  j->evaluations.reserve(j->author_domains.size());
  EvaluateNextAuthor(std::move(j));
}

void VerdictEngine::EvaluateNextAuthor(std::shared_ptr<Judgement> j) {
  const size_t next = j->evaluations.size();
  if (next == j->author_domains.size()) {
    Finish(std::move(j));
    return;
  }
  if (resolver_completes_inline_) {
    // The memo (verdict.h), keyed by every field of the input; the input is
    // copied for the evaluator only when the memo does not have it.
    dmarc::EvaluationInput& in = j->dmarc_input;
    in.author_domain = j->author_domains[next];
    key_.clear();
    KeyPart(in.author_domain);
    KeyPart(static_cast<int64_t>(in.spf_result));
    KeyPart(in.spf_domain);
    KeyPart(static_cast<int64_t>(in.dkim.size()));
    for (const dmarc::DkimIdentifier& d : in.dkim) {
      KeyPart(static_cast<int64_t>(d.result));
      KeyPart(d.domain);
    }
    KeyPart(static_cast<int64_t>(in.pct_sample));
    j->evaluations.push_back(
        Memoized(dmarc_memo_, key_, [&](std::function<void(dmarc::Evaluation)> done) {
          dmarc_.EvaluateAsync(in, std::move(done));
        }));
    EvaluateNextAuthor(std::move(j));
    return;
  }
  dmarc::EvaluationInput in = j->dmarc_input;
  in.author_domain = j->author_domains[next];
  dmarc_.EvaluateAsync(std::move(in), [this, j](dmarc::Evaluation evaluation) {
    j->evaluations.push_back(std::move(evaluation));
    EvaluateNextAuthor(j);
  });
}

void VerdictEngine::Finish(std::shared_ptr<Judgement> j) {
  MessageVerdict& v = j->verdict;
  // The summary (docs/verdicts.md): Gmail's "?" when neither SPF nor DKIM
  // authenticated the sender.
  v.summary.authenticated = j->mail_from == spf::Result::kPass;
  for (const dkim::SignatureResult& s : j->signatures) {
    if (s.result == dkim::DkimResult::kPass) v.summary.authenticated = true;
  }
  // Strictest names one of the judgement's own evaluations.
  const std::size_t decisive = &dmarc::Strictest(j->evaluations) - j->evaluations.data();

  // RFC 8601: the field is written from the verdict when it is read
  // (fakemx/verdict_authentication_results.h); the verdict keeps what it
  // names. Finish is the judgement's last step, so that is moved, not copied.
  v.authserv_id = authserv_id_;
  v.dkim.resize(j->signatures.size());
  for (size_t i = 0; i < j->signatures.size(); ++i) {
    SetDkim(v.dkim[i], std::move(j->signatures[i]));
  }
  SetDmarc(v.dmarc, std::move(j->evaluations[decisive]));

  v.summary.dmarc = v.dmarc.disposition.empty() ? "none" : v.dmarc.disposition;
  std::function<void(MessageVerdict&&)> done = std::move(j->done);
  done(std::move(v));
}

absl::StatusOr<std::shared_ptr<VerdictEngine>> MakeReceiverVerdicts(
    const Receiver& receiver, std::shared_ptr<dns::Resolver> resolver,
    std::shared_ptr<const dmarc::PublicSuffixList> psl) {
  const VerdictSpec& spec = receiver.verdicts;
  if (!spec.enabled) return std::shared_ptr<VerdictEngine>();
  VerdictOptions options;
  options.authserv_id = spec.authserv_id.value_or(receiver.hostname);
  options.client_ip = spec.client_ip;
  options.add_authentication_results = spec.add_authentication_results;
  absl::StatusOr<std::shared_ptr<VerdictEngine>> engine =
      VerdictEngine::Create(std::move(resolver), std::move(psl), std::move(options));
  if (!engine.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("receiver ", base::Av(receiver.name),
                                                   ": verdicts: ", engine.status().message()));
  }
  return engine;
}

absl::StatusOr<std::vector<std::shared_ptr<VerdictEngine>>> MakeScenarioVerdicts(
    const Scenario& scenario, std::vector<dns::ServedZone> zones, std::string_view psl_path) {
  std::vector<std::shared_ptr<VerdictEngine>> out(scenario.receivers.size());
  bool any = false;
  for (const Receiver& r : scenario.receivers) any = any || r.verdicts.enabled;
  if (!any) return out;
  absl::StatusOr<dns::AuthoritativeResponder> responder =
      dns::AuthoritativeResponder::Create(std::move(zones));
  if (!responder.ok()) return responder.status();
  auto resolver = std::make_shared<dns::AuthoritativeResolver>(*std::move(responder));
  absl::StatusOr<std::shared_ptr<const dmarc::PublicSuffixList>> psl =
      dmarc::PublicSuffixList::Load(psl_path);
  if (!psl.ok()) {
    return absl::Status(psl.status().code(),
                        absl::StrCat("verdicts need the public suffix list (Debian's "
                                     "publicsuffix package): ",
                                     psl.status().message()));
  }
  for (size_t i = 0; i < scenario.receivers.size(); ++i) {
    absl::StatusOr<std::shared_ptr<VerdictEngine>> engine =
        MakeReceiverVerdicts(scenario.receivers[i], resolver, *psl);
    if (!engine.ok()) return engine.status();
    out[i] = *std::move(engine);
  }
  return out;
}

std::string PrependAuthenticationResults(std::string_view raw, std::string_view value) {
  std::string out;
  out.reserve(raw.size() + value.size() + 32);
  out += "Authentication-Results: ";
  out += value;
  out += "\r\n";
  out += raw;
  return out;
}

SessionVerdict JudgeSession(const SessionTlsFacts& f, uint64_t messages) {
  SessionVerdict v;
  v.messages = messages;
  if (f.established && f.client_sent_under_tls && f.handshake_error.empty()) {
    v.encrypted = true;
  } else if (f.timed_out) {
    v.tls_outcome = "handshake timed out";
  } else if (!f.handshake_error.empty()) {
    v.tls_outcome = "handshake failed: " + f.handshake_error;
  } else if (f.established) {
    // Nothing was protected by it (docs/verdicts.md, "Session verdicts").
    v.tls_outcome = "client sent nothing under tls";
  } else if (f.handshake_started || f.implicit_tls) {
    v.tls_outcome = "client closed during the handshake";
  } else if (f.starttls_requested) {
    v.tls_outcome = "starttls refused by the receiver";
  } else if (f.starttls_offered) {
    v.tls_outcome = "client did not use starttls";
  } else {
    v.tls_outcome = "starttls not offered";
  }
  return v;
}

}  // namespace mxkit::fakemx
