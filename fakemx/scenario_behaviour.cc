#include "fakemx/scenario_behaviour.h"

#include <openssl/digest.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "base/base64.h"
#include "smtp/address.h"
#include "smtp/command.h"
#include "smtp/reply.h"

namespace mxkit::fakemx {

// ---- ReceiverState -------------------------------------------------------------

struct ReceiverState::Greylist {
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, std::chrono::steady_clock::time_point> first_seen;
  // Keys in the order they were first seen: entries are never removed but
  // by eviction, so the front is always the oldest.
  std::deque<Key> order;
};

ReceiverState::ReceiverState(Clock now)
    : now_(now ? std::move(now) : Clock([] { return std::chrono::steady_clock::now(); })),
      greylist_(std::make_unique<Greylist>()) {}

ReceiverState::~ReceiverState() = default;

ReceiverState::GreylistVerdict ReceiverState::CheckGreylist(const std::string& client,
                                                            const std::string& sender,
                                                            const std::string& recipient,
                                                            std::chrono::milliseconds delay,
                                                            size_t max_entries) {
  Greylist::Key key{base::AsciiLower(client), base::AsciiLower(sender),
                    base::AsciiLower(recipient)};
  const auto now = now_();
  auto it = greylist_->first_seen.find(key);
  if (it != greylist_->first_seen.end()) {
    return now - it->second >= delay ? GreylistVerdict::kPasses : GreylistVerdict::kTooEarly;
  }
  // At least one entry, or a triplet could never be remembered long enough
  // to pass.
  max_entries = std::max<size_t>(max_entries, 1);
  while (greylist_->order.size() >= max_entries) {
    greylist_->first_seen.erase(greylist_->order.front());
    greylist_->order.pop_front();
  }
  greylist_->first_seen.emplace(key, now);
  greylist_->order.push_back(std::move(key));
  return GreylistVerdict::kFirstAttempt;
}

bool ReceiverState::GreylistPasses(const std::string& client, const std::string& sender,
                                   const std::string& recipient, std::chrono::milliseconds delay,
                                   size_t max_entries) {
  return CheckGreylist(client, sender, recipient, delay, max_entries) == GreylistVerdict::kPasses;
}

size_t ReceiverState::greylist_size() const { return greylist_->first_seen.size(); }

// ---- Helpers -------------------------------------------------------------------

bool ScenarioGlobMatches(std::string_view pattern, std::string_view text) {
  // The classic two-pointer match: on a mismatch after a '*', let that star
  // swallow one more octet and retry. Each retry advances `mark`, so the
  // work is bounded by |pattern| x |text|.
  size_t p = 0, t = 0;
  size_t star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() &&
        (pattern[p] == '?' ||
         (pattern[p] != '*' && base::ToLowerAscii(pattern[p]) == base::ToLowerAscii(text[t])))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

using base::Av;
using smtp::Decision;
using Action = Decision::Action;

// Verbs the session asks a hook about after its own checks (syntax,
// sequence): their chaos is drawn there, after AUTH required and
// greylisting, and a rule's `accept` words are answered there. Rules are
// judged on the line (OnCommand), before the session's own answer.
bool VerbHasHook(std::string_view verb) {
  static constexpr std::array<std::string_view, 7> kHooked = {"HELO", "EHLO", "MAIL", "RCPT",
                                                              "DATA", "STARTTLS", "AUTH"};
  return std::find(kHooked.begin(), kHooked.end(), verb) != kHooked.end();
}

constexpr std::string_view kConnectStage = "connect";
constexpr std::string_view kMessageStage = "message";
constexpr std::string_view kAnyStage = "any";

bool IsCommandStage(std::string_view at) { return at != kConnectStage && at != kMessageStage; }

// What a rule is matched against at one visit of a stage.
struct StageFacts {
  std::string_view stage;    // verb, "connect" or "message"
  std::string_view subject;  // for `match`
  bool tls = false;
  size_t recipients = 0;
  std::optional<uint64_t> size;
};

// The words of a reply a scenario wrote, as the Decision fields that carry
// them; `fallback_*` when the scenario gave no reply (or no code).
Decision FromReply(Action action, const std::optional<ScenarioReply>& reply, int fallback_code,
                   std::string_view fallback_enhanced, std::string_view fallback_text) {
  Decision d;
  d.action = action;
  d.code = fallback_code;
  d.enhanced = std::string(fallback_enhanced);
  d.text = std::string(fallback_text);
  if (!reply) return d;
  if (reply->code != 0) d.code = reply->code;
  if (!reply->enhanced.empty() || reply->code != 0) d.enhanced = reply->enhanced;
  if (reply->lines.size() == 1) {
    d.text = reply->lines.front();
  } else if (reply->lines.size() > 1) {
    d.lines = reply->lines;
  }
  d.raw = reply->raw;
  return d;
}

// RFC 5321 §4.2: the greeting (and a 421) begins with the server's domain.
// Added unless the scenario's text already starts with it.
std::string WithHostname(std::string_view hostname, std::string_view text) {
  if (text == hostname || (text.size() > hostname.size() && text.substr(0, hostname.size()) == hostname &&
                           text[hostname.size()] == ' ')) {
    return std::string(text);
  }
  return text.empty() ? std::string(hostname) : absl::StrCat(Av(hostname), " ", Av(text));
}

std::string_view WithoutHostname(std::string_view hostname, std::string_view text) {
  if (text == hostname) return {};
  if (text.size() > hostname.size() && text.substr(0, hostname.size()) == hostname &&
      text[hostname.size()] == ' ') {
    return text.substr(hostname.size() + 1);
  }
  return text;
}

// What a rule at MAIL or RCPT is matched against: the path (without "<>",
// as the session records it; "" for the null path) and, for MAIL, the
// declared SIZE (RFC 1870 §3). Rules are judged on the line, before the
// session parses it, so the line is parsed here with smtp::ParseCommand:
// with the receiver's leniencies, and also with the path leniencies RFC
// 5321 §4.1.2 refuses (a space after the colon, no angle brackets), so a
// rule still reads the path of a sloppy client's line that the session
// then refuses. A line even those cannot read is matched as its raw
// argument text ("FROM:<a@b" for "MAIL FROM:<a@b").
struct PathFacts {
  std::string subject;
  std::optional<uint64_t> size;
};

PathFacts PathFactsOfLine(std::string_view line, std::string_view argument,
                          const smtp::CommandLeniencies& receiver_leniencies) {
  smtp::CommandParseOptions options;
  static_cast<smtp::CommandLeniencies&>(options) = receiver_leniencies;
  options.allow_space_before_path = true;
  options.allow_missing_angle_brackets = true;
  // RFC 6531 §3.3 paths, whatever the transaction said: a rule may name them.
  options.allow_utf8 = true;
  // The session has already bounded the line by its own limit.
  options.max_command_line = std::max(options.max_command_line, line.size() + 2);
  smtp::CommandResult parsed = smtp::ParseCommand(line, options);
  if (parsed.ok()) {
    if (const auto* mail = parsed.command.get_if<smtp::MailCommand>()) {
      return {mail->reverse_path.is_null ? "" : smtp::FormatMailbox(mail->reverse_path.mailbox),
              mail->size};
    }
    if (const auto* rcpt = parsed.command.get_if<smtp::RcptCommand>()) {
      return {smtp::FormatMailbox(rcpt->forward_path.mailbox), std::nullopt};
    }
  }
  return {std::string(argument), std::nullopt};
}

// At a stage whose step goes ahead or is refused (a hooked verb, the end
// of data), whether a reply accepts: by its code, 2xx/3xx accepting (RFC
// 5321 §4.2.1: the first digit says success or failure). For raw bytes the
// code of the first reply in them; bytes that are no reply refuse, so the
// store never keeps a message, nor the envelope a recipient, that the
// client was not told was taken.
bool ReplyAccepts(const Decision& d) {
  // No code and no bytes: the session's own positive reply.
  if (d.raw.empty() && d.code == 0) return true;
  int code = d.code;
  if (!d.raw.empty()) {
    smtp::RepliesParseResult parsed = smtp::ParseReplies(d.raw);
    code = parsed.replies.empty() ? 0 : parsed.replies.front().code;
  }
  return code >= 200 && code < 400;
}

// `d` at a hooked stage: kAccept when its reply accepts, else a kReject
// carrying the same words (raw bytes included), so what the session does
// matches what the client reads.
Decision SettleAtHook(Decision d) {
  d.action = ReplyAccepts(d) ? Action::kAccept : Action::kReject;
  if (d.action == Action::kAccept && d.raw.empty()) d.code = 0;
  return d;
}

std::string_view ArgumentOfLine(std::string_view line) {
  size_t space = line.find(' ');
  if (space == std::string_view::npos) return {};
  std::string_view rest = line.substr(space + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  return rest;
}

// SplitMix64 (Steele, Lea, Flood, "Fast splittable pseudorandom number
// generators", OOPSLA 2014): fully specified in 64-bit integer arithmetic,
// so a seed gives the same sequence on every platform and standard library
// (std::uniform_*_distribution does not promise that).
uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A connection's chaos stream: the seed and the ordinal mixed, so
// connection k does not replay connection k-1's draws shifted by one.
uint64_t ChaosStreamSeed(uint64_t seed, uint64_t ordinal) {
  uint64_t a = seed;
  uint64_t b = ordinal ^ 0x6A09E667F3BCC909ull;
  return SplitMix64(a) ^ SplitMix64(b);
}

struct DefaultChaosReply {
  int code;
  std::string_view enhanced;
  std::string_view text;
};
// The faults chaos picks from when the scenario lists none (scenario.h).
constexpr std::array<DefaultChaosReply, 5> kDefaultChaosReplies = {{
    {421, "4.3.2", "Service not available, closing channel"},
    {451, "4.3.0", "Temporary local problem, try again later"},
    {452, "4.5.3", "Too many recipients"},
    {550, "5.7.1", "Rejected by policy"},
    {554, "5.3.0", "Transaction failed"},
}};

// RFC 4954 §6: the AUTH replies.
Decision AuthInvalid() { return Decision::Reject(535, "5.7.8", "Authentication credentials invalid"); }
Decision AuthMalformed(std::string text) { return Decision::Reject(501, "5.5.2", std::move(text)); }
Decision AuthChallenge(std::string_view challenge) {
  return Decision::Reject(334, "", base::EncodeBase64(challenge));
}

// Octets of a username quoted in a note.
constexpr size_t kMaxNotedUser = 64;

class ScenarioBehaviour final : public ReceiverBehaviour {
 public:
  ScenarioBehaviour(const Receiver& receiver, ReceiverState* state, const ConnectionInfo& info)
      : ReceiverBehaviour(receiver.tls.profile.starttls),
        r_(receiver),
        state_(state),
        info_(info),
        hostname_(receiver.hostname.empty() ? "mx." + receiver.name : receiver.hostname),
        rule_hits_(receiver.rules.size(), 0),
        rules_see_mail_(HasRulesAt(receiver, "MAIL")),
        rules_see_rcpt_(HasRulesAt(receiver, "RCPT")),
        tls_(info.implicit_tls) {
    if (r_.chaos) chaos_state_ = ChaosStreamSeed(r_.chaos->seed, info.ordinal);
  }

  // ---- Behaviour --------------------------------------------------------------

  bool advertises_starttls() const override {
    if (!r_.tls.enabled || !ReceiverBehaviour::advertises_starttls()) return false;
    if (!r_.ehlo.before_tls) return true;
    for (const std::string& k : *r_.ehlo.before_tls) {
      if (base::EqualsIgnoreCase(FirstWord(k), "STARTTLS")) return true;
    }
    return false;
  }
  std::chrono::milliseconds per_byte_delay() const override { return r_.tarpit.per_byte; }
  std::optional<uint64_t> drop_after_data_bytes() const override {
    return r_.disconnect.mid_data_after_bytes;
  }
  bool disconnect_resets() const override { return r_.disconnect.reset; }
  std::optional<std::chrono::seconds> idle_timeout() const override { return r_.idle_timeout; }

  // ---- smtp::ServerPolicy -----------------------------------------------------

  Decision OnConnect() override {
    const std::chrono::milliseconds delay = r_.greeting.delay + r_.tarpit.per_reply;
    if (r_.greeting.reset) {
      Note("greeting: reset before greeting");
      return Delayed(Decision::Reset(), delay);
    }
    if (r_.greeting.drop) {
      Note("greeting: drop before greeting");
      return Delayed(Decision::Drop(), delay);
    }
    std::optional<Decision> chaos = DrawChaos(kConnectStage);
    StageFacts facts{kConnectStage, info_.client_address, tls_, 0, std::nullopt};
    if (std::optional<Decision> d = MatchRules(facts)) {
      return Delayed(*std::move(d), delay);
    }
    if (chaos) return Delayed(*std::move(chaos), delay);
    return Delayed(Greeting(), delay);
  }

  Decision OnCommand(const smtp::CommandRequest& request) override {
    // RFC 3207 §4.2: the handshake forgets the EHLO.
    if (request.tls_active != tls_) hello_done_ = false;
    tls_ = request.tls_active;
    if (!request.in_transaction) recipients_ = 0;
    auth_step_fresh_ = false;
    accepted_by_rule_.reset();
    const std::string_view verb = request.verb;
    const std::string_view argument = ArgumentOfLine(request.line);
    const bool path_verb = verb == "MAIL" || verb == "RCPT";

    // Draw in a fixed order whatever decides, so the stream depends on the
    // traffic only.
    std::optional<Decision> chaos_any = DrawChaos(kAnyStage);
    std::optional<Decision> chaos_verb;
    if (!verb.empty() && !VerbHasHook(verb)) chaos_verb = DrawChaos(verb);

    // Parsing the line again is for rules only: skipped (it is a second
    // parse and a copy per MAIL and RCPT) when no rule looks at this verb.
    PathFacts path;
    if (path_verb && (verb == "MAIL" ? rules_see_mail_ : rules_see_rcpt_)) {
      path = PathFactsOfLine(request.line, argument, r_.leniencies);
    }
    StageFacts facts{verb, path_verb ? std::string_view(path.subject) : argument, tls_, recipients_,
                     path.size};
    if (std::optional<Decision> d = MatchRules(facts)) {
      if (d->action != Action::kAccept) return Tarpit(*std::move(d));
      // The session handles the command as usual; its hook answers with
      // the rule's words and skips greylisting and chaos (the rule decided).
      Decision go = Decision::Accept();
      go.delay = std::exchange(d->delay, std::chrono::milliseconds(0));
      if (VerbHasHook(verb)) accepted_by_rule_ = SettleAtHook(*std::move(d));
      if (verb == "AUTH") auth_step_fresh_ = true;
      return Tarpit(std::move(go));
    }

    if (verb == "EHLO" && !r_.ehlo.esmtp) {
      Note("ehlo: not ESMTP, EHLO answered as unknown");
      return Tarpit(Decision::Unknown());
    }
    if (verb == "STARTTLS" && !r_.tls.switch_to_tls && !request.tls_active && advertises_starttls() &&
        ReceiverBehaviour::OnStartTls().action == Action::kAccept) {
      // The client's ClientHello then reaches the SMTP parser: a receiver
      // whose STARTTLS "works" but never switches.
      Note("starttls: answered, staying in plaintext (switch: false)");
      Decision d = FromReply(Action::kReply, r_.tls.reply, 220, "2.0.0", "Ready to start TLS");
      return Tarpit(std::move(d));
    }
    if (verb == "MAIL" && r_.auth.required && !r_.auth.mechanisms.empty() &&
        !request.authenticated && !request.in_transaction && hello_done_) {
      if (r_.auth.tls_only && !tls_) {
        // No mechanism is offered before TLS, so the session would not
        // enforce auth_required: refuse as Postfix does with
        // smtpd_tls_auth_only (RFC 3207 §4: 530 until STARTTLS).
        Note("auth: required, STARTTLS first");
        return Tarpit(Decision::Reject(530, "5.7.0", "Must issue a STARTTLS command first"));
      }
      // The session answers 530 (ServerExtensions::auth_required); noted
      // here because no hook sees that refusal.
      Note("auth: required");
    }
    if (chaos_any) return Tarpit(*std::move(chaos_any));
    if (chaos_verb) return Tarpit(*std::move(chaos_verb));
    if (verb == "AUTH") auth_step_fresh_ = true;
    return Tarpit(Decision::Accept());
  }

  Decision OnHello(const smtp::HelloRequest& hello) override {
    std::optional<Decision> chaos = DrawChaos(hello.extended ? "EHLO" : "HELO");
    Decision d = Decision::Accept();
    if (accepted_by_rule_) {
      d = *std::exchange(accepted_by_rule_, std::nullopt);
    } else if (chaos) {
      d = *std::move(chaos);
    }
    hello_done_ = hello_done_ || d.action == Action::kAccept;
    return d;
  }

  Decision OnMailFrom(const smtp::Envelope&) override {
    recipients_ = 0;
    std::optional<Decision> chaos = DrawChaos("MAIL");
    if (accepted_by_rule_) return *std::exchange(accepted_by_rule_, std::nullopt);
    if (chaos) return *std::move(chaos);
    return Decision::Accept();
  }

  Decision OnRcptTo(const smtp::Envelope& envelope, const smtp::Recipient& recipient) override {
    recipients_ = envelope.recipients.size();
    std::optional<Decision> chaos = DrawChaos("RCPT");
    Decision d = Decision::Accept();
    if (accepted_by_rule_) {
      d = *std::exchange(accepted_by_rule_, std::nullopt);
    } else if (std::optional<Decision> grey = Greylist(envelope, recipient)) {
      d = *std::move(grey);
    } else if (chaos) {
      d = *std::move(chaos);
    }
    if (d.action == Action::kAccept) recipients_ = envelope.recipients.size() + 1;
    return d;
  }

  Decision OnDataStart(const smtp::Envelope& envelope) override {
    // The first BDAT chunk also comes here; BDAT's chaos is drawn on every
    // BDAT line instead (OnCommand).
    if (envelope.via_bdat) return Decision::Accept();
    std::optional<Decision> chaos = DrawChaos("DATA");
    if (accepted_by_rule_) return *std::exchange(accepted_by_rule_, std::nullopt);
    if (chaos) return *std::move(chaos);
    return Decision::Accept();
  }

  Decision OnMessage(const smtp::Envelope& envelope, std::string_view message) override {
    // The final reply to DATA content answers no command line, so OnCommand
    // did not tarpit it; a BDAT LAST line did.
    const std::chrono::milliseconds delay = envelope.via_bdat ? std::chrono::milliseconds(0)
                                                              : r_.tarpit.per_reply;
    if (r_.disconnect.after_data) {
      Note(r_.disconnect.reset ? "disconnect: reset after data" : "disconnect: after data");
      return Delayed(r_.disconnect.reset ? Decision::Reset() : Decision::Drop(), delay);
    }
    std::optional<Decision> chaos = DrawChaos(kMessageStage);
    StageFacts facts{kMessageStage, "", tls_, envelope.recipients.size(),
                     static_cast<uint64_t>(message.size())};
    if (std::optional<Decision> d = MatchRules(facts)) return Delayed(*std::move(d), delay);
    if (chaos) return Delayed(*std::move(chaos), delay);
    return Delayed(Decision::Accept(), delay);
  }

  Decision OnStartTls() override {
    std::optional<Decision> chaos = DrawChaos("STARTTLS");
    if (accepted_by_rule_) return *std::exchange(accepted_by_rule_, std::nullopt);
    if (chaos) return *std::move(chaos);
    Decision d = ReceiverBehaviour::OnStartTls();
    if (d.action != Action::kAccept) {
      Note(absl::StrCat("starttls: ", Av(tls::StartTlsBehaviourName(r_.tls.profile.starttls)), " ",
                        d.code));
      return d;
    }
    if (r_.tls.reply) {
      const ScenarioReply& reply = *r_.tls.reply;
      if (reply.raw.empty() && reply.code >= 400) {
        Note(absl::StrCat("starttls: reply ", reply.code));
        return FromReply(Action::kReject, reply, reply.code, "", "");
      }
      Note("starttls: custom reply");
      return FromReply(Action::kAccept, reply, 0, "", "");
    }
    return d;
  }

  Decision OnAuth(const smtp::AuthRequest& request) override {
    const bool first = std::exchange(auth_step_fresh_, false);
    // A SASL response line is no command: OnCommand did not tarpit it.
    const std::chrono::milliseconds delay = first ? std::chrono::milliseconds(0) : r_.tarpit.per_reply;
    if (first) {
      cram_challenge_.reset();
      std::optional<Decision> chaos = DrawChaos("AUTH");
      // A rule's accept lets the exchange run: the credentials decide.
      if (!std::exchange(accepted_by_rule_, std::nullopt) && chaos) return *std::move(chaos);
    }
    return Delayed(Sasl(request), delay);
  }

  std::optional<smtp::ServerExtensions> Extensions(bool tls_active) override {
    return ReceiverExtensions(r_, tls_active, r_.tls.enabled && !info_.implicit_tls);
  }

  // The extensions `receiver` offers; shared with ReceiverSessionConfig.
  static smtp::ServerExtensions ReceiverExtensions(const Receiver& r, bool tls_active,
                                                   bool starttls_available) {
    const bool auth_offered = !r.auth.mechanisms.empty() && (tls_active || !r.auth.tls_only);
    const bool starttls = starttls_available && !tls_active &&
                          r.tls.profile.starttls != tls::StartTlsBehaviour::kHide;
    const std::optional<std::vector<std::string>>& list =
        tls_active ? r.ehlo.after_tls : r.ehlo.before_tls;
    smtp::ServerExtensions x;  // the session's defaults
    if (!list) {
      x.starttls = starttls;
      if (auth_offered) x.auth_mechanisms = r.auth.mechanisms;
    } else {
      x.pipelining = x.size = x.eight_bit_mime = x.enhanced_status_codes = false;
      bool binarymime = false;
      for (const std::string& line : *list) {
        const std::string keyword = base::AsciiUpper(FirstWord(line));
        if (keyword == "PIPELINING") {
          x.pipelining = true;
        } else if (keyword == "SIZE") {
          x.size = true;  // advertises limits.max_message_size
        } else if (keyword == "8BITMIME") {
          x.eight_bit_mime = true;
        } else if (keyword == "SMTPUTF8") {
          x.smtputf8 = true;
        } else if (keyword == "STARTTLS") {
          x.starttls = starttls;
        } else if (keyword == "CHUNKING") {
          x.chunking = true;
        } else if (keyword == "BINARYMIME") {
          binarymime = true;
        } else if (keyword == "DSN") {
          x.dsn = true;
        } else if (keyword == "ENHANCEDSTATUSCODES") {
          x.enhanced_status_codes = true;
        } else if (keyword == "AUTH" && !r.auth.mechanisms.empty()) {
          if (auth_offered) x.auth_mechanisms = r.auth.mechanisms;
        } else {
          x.extra_keywords.push_back(line);
        }
      }
      // RFC 3030 §3: BINARYMIME requires CHUNKING; the session offers it only so.
      x.binarymime = binarymime && x.chunking;
    }
    x.auth_required = r.auth.required && !r.auth.mechanisms.empty();
    return x;
  }

 private:
  static std::string_view FirstWord(std::string_view s) { return s.substr(0, s.find(' ')); }

  // Whether MatchRules can look at a command `verb`'s facts: a rule at it
  // or at `any`.
  static bool HasRulesAt(const Receiver& r, std::string_view verb) {
    return std::any_of(r.rules.begin(), r.rules.end(),
                       [&](const Rule& rule) { return rule.at == verb || rule.at == kAnyStage; });
  }

  static Decision Delayed(Decision d, std::chrono::milliseconds delay) {
    d.delay += delay;
    return d;
  }
  Decision Tarpit(Decision d) const { return Delayed(std::move(d), r_.tarpit.per_reply); }

  // The greeting the scenario asks for (no rule or chaos decided).
  Decision Greeting() {
    if (!r_.greeting.reply) return Decision::Accept();
    const ScenarioReply& reply = *r_.greeting.reply;
    if (!reply.raw.empty()) {
      Note("greeting: raw");
      return Decision::Raw(reply.raw);
    }
    const int code = reply.code != 0 ? reply.code : 220;
    Decision d = FromReply(Action::kReply, reply, code, "", "");
    if (code == 421) {
      // RFC 5321 §3.1: 421 and close.
      d.action = Action::kDisconnect;
    } else if (code >= 400) {
      // RFC 5321 §3.1: the session then serves only QUIT.
      d.action = Action::kReject;
    }
    FitGreetingHostname(d);
    Note(absl::StrCat("greeting: ", code));
    return d;
  }

  // RFC 5321 §4.2: a greeting's (and a 421's) first line begins with our
  // domain. The session writes it before the text of a kReply or kReject
  // greeting; elsewhere (lines, a kDisconnect) it is ours to add, unless
  // the scenario's text already starts with it.
  void FitGreetingHostname(Decision& d) const {
    if (!d.raw.empty()) return;
    if (!d.lines.empty()) {
      d.lines.front() = WithHostname(HostName(), d.lines.front());
    } else if (d.action == Action::kDisconnect) {
      d.text = WithHostname(HostName(), d.text);
    } else if (d.action == Action::kReject || d.action == Action::kReply) {
      d.text = std::string(WithoutHostname(HostName(), d.text));
    }
  }

  const std::string& HostName() const { return hostname_; }

  // The first rule (file order) for this stage whose conditions hold, as a
  // decision. Rules are tried in file order and the search stops at the
  // first that decides, so a rule's `nth` counter counts the visits that
  // reached it with its other conditions holding, not those an earlier rule
  // answered. A counted visit other than the Nth goes on to later rules.
  std::optional<Decision> MatchRules(const StageFacts& facts) {
    const bool command = IsCommandStage(facts.stage);
    for (size_t i = 0; i < r_.rules.size(); ++i) {
      const Rule& rule = r_.rules[i];
      if (rule.at != facts.stage && !(command && rule.at == kAnyStage)) continue;
      if (rule.match && !ScenarioGlobMatches(*rule.match, facts.subject)) continue;
      if (rule.tls && *rule.tls != facts.tls) continue;
      if (rule.after_recipients && facts.recipients < *rule.after_recipients) continue;
      if (rule.size_over && !(facts.size && *facts.size > *rule.size_over)) continue;
      ++rule_hits_[i];
      if (rule.nth && rule_hits_[i] != *rule.nth) continue;
      Decision d = RuleDecision(rule, facts.stage);
      std::string note = absl::StrCat(rule.name, " (at ", rule.at, ") ", Av(RuleActionName(rule.action)));
      if (d.code != 0 && d.raw.empty()) absl::StrAppend(&note, " ", d.code);
      Note(std::move(note));
      return d;
    }
    return std::nullopt;
  }

  Decision RuleDecision(const Rule& rule, std::string_view stage) {
    Decision d;
    switch (rule.action) {
      case RuleAction::kReply:
        d = FromReply(Action::kReply, rule.reply, 250, "", "OK");
        if (stage == kMessageStage) {
          // No "instead" at the end of data: the reply's code decides
          // whether the message is taken (raw bytes included).
          d = SettleAtHook(std::move(d));
        }
        break;
      case RuleAction::kReject:
        d = FromReply(Action::kReject, rule.reply, 550, "5.7.1", "Rejected by scenario rule");
        break;
      case RuleAction::kAccept:
        d = FromReply(Action::kAccept, rule.reply, 0, "", "");
        d.code = 0;
        break;
      case RuleAction::kUnknown:
        d = Decision::Unknown();
        if (!IsCommandStage(stage)) {
          // Only a command can be unknown; the parser refuses this, and a
          // model built in code gets the closest thing.
          d = Decision::Reject(500, "5.5.2", "Command unrecognized");
        }
        break;
      case RuleAction::kNoReply:
        d = Decision::Stall();
        break;
      case RuleAction::kDisconnect:
        d = FromReply(Action::kDisconnect, rule.reply, 421, "4.3.2",
                      "Service not available, closing channel");
        break;
      case RuleAction::kDrop:
        d = Decision::Drop();
        break;
      case RuleAction::kReset:
        d = Decision::Reset();
        break;
    }
    if (stage == kConnectStage) FitGreetingHostname(d);
    d.delay += rule.delay;
    return d;
  }

  // Draws once if `stage` has a chaos probability: the fault to send, or
  // nullopt. Two values are drawn per visit, always, so later visits see
  // the same stream whatever this one decided.
  std::optional<Decision> DrawChaos(std::string_view stage) {
    if (!r_.chaos) return std::nullopt;
    const auto& stages = r_.chaos->stages;
    auto it = std::find_if(stages.begin(), stages.end(),
                           [&](const auto& s) { return s.first == stage; });
    if (it == stages.end()) return std::nullopt;
    // 53 random bits: every double in [0, 1) this can produce is exact.
    const double unit = static_cast<double>(SplitMix64(chaos_state_) >> 11) * 0x1.0p-53;
    const uint64_t pick = SplitMix64(chaos_state_);
    if (!(unit < it->second)) return std::nullopt;
    Decision d;
    const auto& replies = r_.chaos->replies;
    if (replies.empty()) {
      const DefaultChaosReply& c = kDefaultChaosReplies[pick % kDefaultChaosReplies.size()];
      d = Decision::Reject(c.code, std::string(c.enhanced), std::string(c.text));
    } else {
      d = FromReply(Action::kReject, replies[pick % replies.size()], 451, "4.3.0",
                    "Temporary local problem, try again later");
    }
    if (d.code == 421) {
      d.action = Action::kDisconnect;
    } else if (stage == kConnectStage) {
      // A greeting the scenario wrote (raw bytes, a 2xx): sent as such.
      if (d.code < 400 || !d.raw.empty()) d.action = Action::kAccept;
    } else if (IsCommandStage(stage) && !VerbHasHook(stage)) {
      // In place of the command, whatever the words (no step to refuse).
      if (d.code < 400 || !d.raw.empty()) d.action = Action::kReply;
    } else {
      // At a hooked stage the reply's code decides, raw bytes included.
      d = SettleAtHook(std::move(d));
    }
    if (stage == kConnectStage) FitGreetingHostname(d);
    Note(absl::StrCat("chaos: ", d.raw.empty() ? absl::StrCat(d.code) : "raw", " at ", Av(stage)));
    return d;
  }

  std::optional<Decision> Greylist(const smtp::Envelope& envelope, const smtp::Recipient& rcpt) {
    if (!r_.greylist) return std::nullopt;
    const GreylistSpec& g = *r_.greylist;
    switch (state_->CheckGreylist(info_.client_address, envelope.reverse_path, rcpt.forward_path,
                                  g.delay, g.max_entries)) {
      case ReceiverState::GreylistVerdict::kPasses:
        return std::nullopt;
      case ReceiverState::GreylistVerdict::kFirstAttempt:
        Note("greylist: first attempt");
        break;
      case ReceiverState::GreylistVerdict::kTooEarly:
        Note("greylist: retry too early");
        break;
    }
    std::optional<ScenarioReply> reply = g.reply;
    if (reply && reply->code == 0 && reply->raw.empty()) reply.reset();
    return FromReply(Action::kReject, reply, 451, "4.7.1", "Greylisted, try again later");
  }

  // ---- SASL -------------------------------------------------------------------

  bool CredentialsValid(std::string_view user, std::string_view password) const {
    return std::any_of(r_.auth.credentials.begin(), r_.auth.credentials.end(),
                       [&](const Credential& c) { return c.user == user && c.password == password; });
  }

  Decision AuthResult(std::string_view mechanism, std::string_view user, bool ok) {
    Note(absl::StrCat("auth: ", Av(mechanism), ok ? " accepted " : " refused ",
                      base::QuoteForMessage(user, kMaxNotedUser)));
    return ok ? Decision::Accept() : AuthInvalid();
  }

  Decision Sasl(const smtp::AuthRequest& request) {
    const std::vector<std::string>& in = request.responses;
    if (request.mechanism == "PLAIN") {
      // RFC 4616 §2: the client sends first; an empty challenge invites it.
      if (in.empty()) return AuthChallenge("");
      // message = [authzid] UTF8NUL authcid UTF8NUL passwd
      const std::string& m = in[0];
      size_t nul1 = m.find('\0');
      size_t nul2 = nul1 == std::string::npos ? nul1 : m.find('\0', nul1 + 1);
      if (nul2 == std::string::npos || m.find('\0', nul2 + 1) != std::string::npos) {
        Note("auth: PLAIN malformed response");
        return AuthMalformed("Malformed PLAIN response");
      }
      std::string_view authzid(m.data(), nul1);
      std::string_view authcid(m.data() + nul1 + 1, nul2 - nul1 - 1);
      std::string_view password(m.data() + nul2 + 1, m.size() - nul2 - 1);
      // RFC 4616 §2: acting as another identity is an authorization this
      // receiver grants nobody.
      bool ok = (authzid.empty() || authzid == authcid) && CredentialsValid(authcid, password);
      return AuthResult("PLAIN", authcid, ok);
    }
    if (request.mechanism == "LOGIN") {
      // draft-murchison-sasl-login-00 §2: "Username:" then "Password:"; a
      // client may send the user name as the initial response.
      if (in.empty()) return AuthChallenge("Username:");
      if (in.size() == 1) return AuthChallenge("Password:");
      return AuthResult("LOGIN", in[0], CredentialsValid(in[0], in[1]));
    }
    if (request.mechanism == "CRAM-MD5") {
      if (!cram_challenge_) {
        if (!in.empty()) {
          // RFC 2195 §2: the server speaks first; RFC 4954 §4: 501 for an
          // initial response to such a mechanism.
          Note("auth: CRAM-MD5 initial response refused");
          return AuthMalformed("CRAM-MD5 takes no initial response");
        }
        // RFC 2195 §2: "<" random digits "." timestamp "@" hostname ">",
        // from this connection's ordinal and clock so a replay can predict it.
        uint64_t mix = ChaosStreamSeed(info_.ordinal, ++challenges_);
        const auto stamp = std::chrono::duration_cast<std::chrono::milliseconds>(
                               state_->now().time_since_epoch())
                               .count();
        cram_challenge_ = absl::StrCat("<", mix % 1000000000000ull, ".", stamp, "@", HostName(), ">");
        return AuthChallenge(*cram_challenge_);
      }
      const std::string challenge = *std::exchange(cram_challenge_, std::nullopt);
      // RFC 2195 §2: response = user SP lower-case hex HMAC-MD5(password, challenge).
      const std::string& resp = in.back();
      size_t space = resp.rfind(' ');
      if (space == std::string::npos) {
        Note("auth: CRAM-MD5 malformed response");
        return AuthMalformed("Malformed CRAM-MD5 response");
      }
      std::string_view user(resp.data(), space);
      std::string_view digest(resp.data() + space + 1, resp.size() - space - 1);
      bool ok = false;
      for (const Credential& c : r_.auth.credentials) {
        if (c.user != user) continue;
        uint8_t mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        if (HMAC(EVP_md5(), c.password.data(), c.password.size(),
                 reinterpret_cast<const uint8_t*>(challenge.data()), challenge.size(), mac,
                 &mac_len) == nullptr) {
          continue;
        }
        std::string expected = absl::BytesToHexString(
            absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
        // RFC 2195 §2: the digest is "represented in lowercase hex"
        // (BytesToHexString writes lowercase); anything else is wrong.
        if (expected == digest) ok = true;
      }
      return AuthResult("CRAM-MD5", user, ok);
    }
    // Offered (the scenario named it) but not implemented here.
    Note(absl::StrCat("auth: mechanism ", base::QuoteForMessage(request.mechanism, kMaxNotedUser),
                      " not implemented"));
    return Decision::Reject(504, "5.5.4", "Unrecognized authentication type");
  }

  const Receiver& r_;
  ReceiverState* state_;
  ConnectionInfo info_;
  const std::string hostname_;
  std::vector<uint64_t> rule_hits_;  // per rule: times its conditions held (for `nth`)
  const bool rules_see_mail_;  // HasRulesAt(MAIL), HasRulesAt(RCPT)
  const bool rules_see_rcpt_;
  uint64_t chaos_state_ = 0;
  bool tls_ = false;           // as of the last command (or handshake)
  bool hello_done_ = false;
  size_t recipients_ = 0;      // accepted in the transaction, for rules judged on the line
  bool auth_step_fresh_ = false;  // the next OnAuth is the AUTH command's first step
  // A rule accepted the current command: its hook answers with this.
  std::optional<Decision> accepted_by_rule_;
  std::optional<std::string> cram_challenge_;
  uint64_t challenges_ = 0;
};

}  // namespace

std::unique_ptr<Behaviour> MakeScenarioBehaviour(const Receiver& receiver, ReceiverState* state,
                                                 const ConnectionInfo& info) {
  return std::make_unique<ScenarioBehaviour>(receiver, state, info);
}

BehaviourFactory ScenarioBehaviourFactory(std::shared_ptr<const Receiver> receiver,
                                          std::shared_ptr<ReceiverState> state) {
  return [receiver = std::move(receiver), state = std::move(state)](const ConnectionInfo& info) {
    ConnectionInfo numbered = info;
    numbered.ordinal = state->NextOrdinal();
    return MakeScenarioBehaviour(*receiver, state.get(), numbered);
  };
}

smtp::ServerSessionConfig ReceiverSessionConfig(const Receiver& receiver,
                                                smtp::ServerSessionConfig base,
                                                bool tls_available) {
  smtp::ServerSessionConfig c = std::move(base);
  c.hostname = receiver.hostname.empty() ? "mx." + receiver.name : receiver.hostname;
  c.extensions = ScenarioBehaviour::ReceiverExtensions(
      receiver, c.implicit_tls, tls_available && receiver.tls.enabled && !c.implicit_tls);
  c.limits = receiver.limits;
  c.command_leniencies = receiver.leniencies;
  c.data_bare_line_endings = receiver.data_bare_line_endings;
  c.data_nul = receiver.data_nul;
  c.max_protocol_errors = receiver.max_protocol_errors;
  return c;
}

}  // namespace mxkit::fakemx
