// Fuzzes fakemx connections under a scenario with every hook active: the
// scenario behaviour (fakemx/scenario_behaviour.h) as the ServerSession's
// policy, driven by arbitrary client bytes, the way fakemx's driver drives
// it but without sockets: delays (tarpit, rules, greeting) released at once,
// the TLS handshake simulated (OnTlsEstablished right after
// StartTlsRequestedEvent), a fake clock for greylisting.
//
// Input: 4 configuration bytes, then the client's byte stream.
//   byte 0: the STARTTLS profile behaviour (bits 0-2), STARTTLS switches
//           (bit 3), EHLO is ESMTP (bit 4), AUTH only after TLS (bit 5),
//           AUTH required (bit 6), disconnect after DATA (bit 7)
//   byte 1: the chaos seed
//   byte 2: how the stream is cut into Feed()s: 0 = after each LF (a client
//           that waits for each reply, so bytes after STARTTLS are not
//           discarded as an injection), N = chunks of N bytes
//   byte 3: clock step per chunk in 100 ms (bits 0-4), greeting variant
//           (bits 5-6: default, multi-line 220, 554, raw), raw replies in
//           rules (bit 7)
// The stream is split into connections at each "\xff\xfe" (the receiver's
// state, so greylisting and the ordinals, carries over), every other one
// from a client address a `connect` rule refuses.
//
// Properties checked (__builtin_trap on violation):
//   - once closed or stalled, the session writes nothing more;
//   - between StartTlsRequestedEvent and OnTlsEstablished() nothing is written;
//   - no write is larger than kMaxWritePerLine per input line (+1): a reply
//     is bounded whatever the rules say;
//   - without raw replies, everything written parses as strict replies with
//     codes 200-599;
//   - with disconnect after DATA, no message is ever accepted;
//   - a message is accepted exactly when its final reply is 2xx, and a
//     recipient only when its reply is: for raw replies (rules and chaos
//     at `message` and RCPT), the code of the first reply in the bytes;
//   - the greylist never holds more than its max_entries;
//   - the same input run twice gives the same bytes (chaos is replayable).

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fakemx/behaviour.h"
#include "fakemx/scenario.h"
#include "fakemx/scenario_behaviour.h"
#include "fuzz/property_check.h"
#include "smtp/reply.h"
#include "smtp/server_session.h"
#include "tls/receiver_profile.h"

namespace {

using namespace mxkit;
using fakemx::Receiver;
using fakemx::Rule;
using fakemx::RuleAction;
using fakemx::ScenarioReply;

constexpr std::string_view kConnectionSeparator = "\xff\xfe";
constexpr size_t kGreylistEntries = 4;
// The biggest reply one command line can get here: an EHLO reply of a few
// dozen lines, a 100-line rule reply, each line at most the session's reply
// line limit.
constexpr size_t kMaxWritePerLine = 100 * smtp::kMaxReplyLine;

ScenarioReply Reply(int code, std::string enhanced, std::vector<std::string> lines) {
  ScenarioReply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.lines = std::move(lines);
  return r;
}

Rule MakeRule(std::string at, RuleAction action, std::optional<ScenarioReply> reply = {}) {
  Rule rule;
  rule.at = std::move(at);
  rule.action = action;
  rule.reply = std::move(reply);
  return rule;
}

Receiver MakeReceiver(uint8_t flags, uint8_t seed, uint8_t variant) {
  Receiver r;
  r.name = "example.test";
  r.hostname = "mx.example.test";
  const bool raw = variant & 0x80;
  switch ((variant >> 5) & 3) {
    case 0: break;
    case 1: r.greeting.reply = Reply(220, "", {"first", "second"}); break;
    case 2: r.greeting.reply = Reply(554, "5.7.1", {"No SMTP service here"}); break;
    case 3:
      if (raw) {
        r.greeting.reply = ScenarioReply{0, "", {}, "220 raw greeting\r\n"};
      } else {
        r.greeting.reply = Reply(421, "4.3.2", {"Too busy"});
      }
      break;
  }
  r.greeting.delay = std::chrono::milliseconds(10);

  r.ehlo.esmtp = flags & 0x10;
  r.ehlo.before_tls = std::vector<std::string>{"PIPELINING", "SIZE", "STARTTLS", "AUTH",
                                               "CHUNKING", "BINARYMIME", "X-EXPS GSSAPI"};
  r.ehlo.after_tls = std::vector<std::string>{"AUTH", "8BITMIME", "SMTPUTF8", "DSN",
                                              "ENHANCEDSTATUSCODES", "CHUNKING"};
  r.tls.profile.starttls = tls::AllStartTlsBehaviours()[(flags & 7) % tls::AllStartTlsBehaviours().size()];
  r.tls.switch_to_tls = flags & 8;
  if (flags & 1) r.tls.reply = Reply(220, "2.0.0", {"Go ahead"});

  r.auth.mechanisms = {"PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2"};
  r.auth.credentials = {{"test", "test"}, {"alice", "s3cret"}};
  r.auth.tls_only = flags & 0x20;
  r.auth.required = flags & 0x40;

  Rule unknown_user = MakeRule("RCPT", RuleAction::kReject, Reply(550, "5.1.1", {"No such user"}));
  unknown_user.match = "unknown*@*";
  Rule too_many = MakeRule("RCPT", RuleAction::kReject, Reply(452, "4.5.3", {"Too many recipients"}));
  too_many.after_recipients = 3;
  Rule big_mail = MakeRule("MAIL", RuleAction::kReject, Reply(552, "5.3.4", {"Too big"}));
  big_mail.size_over = 1000;
  Rule big_message = MakeRule("message", RuleAction::kReject, Reply(552, "5.3.4", {"Too big"}));
  big_message.size_over = 200;
  Rule third_noop = MakeRule("NOOP", RuleAction::kNoReply);
  third_noop.nth = 3;
  Rule drop = MakeRule("RCPT", RuleAction::kDrop);
  drop.match = "drop*";
  Rule reset = MakeRule("RCPT", RuleAction::kReset);
  reset.match = "reset*";
  reset.delay = std::chrono::milliseconds(5);
  Rule data_tls = MakeRule("DATA", RuleAction::kAccept, Reply(354, "", {"Go on, securely"}));
  data_tls.tls = true;
  Rule plugh = MakeRule("any", RuleAction::kReply, Reply(250, "", {"Nothing happens"}));
  plugh.match = "plugh*";
  Rule ten = MakeRule("connect", RuleAction::kReject, Reply(554, "5.7.1", {"Not from you"}));
  ten.match = "10.*";
  Rule bad_helo = MakeRule("EHLO", RuleAction::kReject, Reply(550, "5.7.1", {"Bad name"}));
  bad_helo.match = "*.bad";
  Rule second_starttls = MakeRule("STARTTLS", RuleAction::kReject, Reply(454, "4.7.0", {"Not now"}));
  second_starttls.nth = 2;
  Rule login_twice = MakeRule("AUTH", RuleAction::kReject, Reply(535, "5.7.8", {"No"}));
  login_twice.match = "LOGIN";
  login_twice.nth = 2;
  Rule help = raw ? MakeRule("HELP", RuleAction::kReply, ScenarioReply{0, "", {}, std::string("\0\xff\r\n", 4)})
                  : MakeRule("HELP", RuleAction::kReply, Reply(214, "2.0.0", {"See", "RFC 5321"}));
  Rule mail_reply = MakeRule("MAIL", RuleAction::kReply, Reply(250, "", {"Sure, but no"}));
  mail_reply.match = "fake@*";
  r.rules = {unknown_user, too_many, big_mail, big_message, third_noop, drop, reset, data_tls, plugh,
             ten, bad_helo, second_starttls, login_twice, help, mail_reply,
             MakeRule("VRFY", RuleAction::kUnknown),
             MakeRule("EXPN", RuleAction::kDisconnect)};
  if (raw) {
    // Raw words at the stages that accept or refuse: their code decides.
    Rule later = MakeRule("message", RuleAction::kReply, ScenarioReply{0, "", {}, "451 later\r\n"});
    later.size_over = 50;
    Rule fine = MakeRule("message", RuleAction::kReply, ScenarioReply{0, "", {}, "250 fine\r\n"});
    fine.size_over = 20;
    Rule garbage = MakeRule("message", RuleAction::kReply, ScenarioReply{0, "", {}, "garbage\r\n"});
    garbage.size_over = 10;
    Rule raw_rcpt = MakeRule("RCPT", RuleAction::kAccept, ScenarioReply{0, "", {}, "550 raw no\r\n"});
    raw_rcpt.match = "raw*";
    r.rules.insert(r.rules.end(), {later, fine, garbage, raw_rcpt});
  }
  r.rules.push_back(MakeRule("message", RuleAction::kAccept, Reply(250, "", {"Queued"})));
  for (size_t i = 0; i < r.rules.size(); ++i) r.rules[i].name = "rules[" + std::to_string(i) + "]";

  r.greylist = fakemx::GreylistSpec{};
  r.greylist->delay = std::chrono::seconds(1);
  r.greylist->max_entries = kGreylistEntries;
  r.tarpit.per_reply = std::chrono::milliseconds(5);
  r.tarpit.per_byte = std::chrono::milliseconds(1);
  r.disconnect.after_data = flags & 0x80;
  r.disconnect.mid_data_after_bytes = 100;
  r.chaos = fakemx::ChaosSpec{};
  r.chaos->seed = seed;
  r.chaos->stages = {{"connect", 0.05}, {"EHLO", 0.05}, {"MAIL", 0.2}, {"RCPT", 0.2},
                     {"NOOP", 0.3},     {"AUTH", 0.1},  {"message", 0.1}, {"any", 0.05}};
  if (raw) {
    r.chaos->replies = {ScenarioReply{0, "", {}, "550 raw\r\n"}, ScenarioReply{0, "", {}, "250 raw\r\n"},
                        ScenarioReply{0, "", {}, "garbage\r\n"}, Reply(451, "4.3.0", {"Later"})};
  }
  r.limits.max_recipients = 5;
  r.limits.max_message_size = 4096;
  r.leniencies.allow_space_before_path = seed & 1;
  r.data_bare_line_endings = static_cast<smtp::BareLineEndingPolicy>(seed % 5);
  r.max_protocol_errors = 5;
  return r;
}

// True when the reply `d` puts on the wire starts with a 2xx, given what the
// session did with it (`accepted`). Raw bytes are sent verbatim, so their
// first reply's code is what the client reads; otherwise the session writes
// its 2xx for an accepted step and a 4yz/5yz (or nothing) for a refused one.
bool SendsA2xx(const smtp::Decision& d, bool accepted) {
  if (d.raw.empty()) return accepted;
  smtp::RepliesParseResult parsed = smtp::ParseReplies(d.raw);
  return !parsed.replies.empty() && parsed.replies.front().code / 100 == 2;
}

// The scenario behaviour as the session's policy, with the decisions of
// OnMessage and OnRcptTo kept (in order) to compare with what the session
// then reports: each OnMessage is answered by exactly one
// MessageCompleteEvent, each accepted OnRcptTo by one RecipientAcceptedEvent.
class RecordingPolicy : public smtp::ServerPolicy {
 public:
  explicit RecordingPolicy(smtp::ServerPolicy* inner) : inner_(inner) {}

  smtp::Decision OnConnect() override { return inner_->OnConnect(); }
  smtp::Decision OnHello(const smtp::HelloRequest& h) override { return inner_->OnHello(h); }
  smtp::Decision OnMailFrom(const smtp::Envelope& e) override { return inner_->OnMailFrom(e); }
  smtp::Decision OnRcptTo(const smtp::Envelope& e, const smtp::Recipient& r) override {
    smtp::Decision d = inner_->OnRcptTo(e, r);
    if (d.action == smtp::Decision::Action::kAccept) accepted_rcpts.push_back(d);
    return d;
  }
  smtp::Decision OnDataStart(const smtp::Envelope& e) override { return inner_->OnDataStart(e); }
  smtp::Decision OnMessage(const smtp::Envelope& e, std::string_view m) override {
    smtp::Decision d = inner_->OnMessage(e, m);
    messages.push_back(d);
    return d;
  }
  smtp::Decision OnAuth(const smtp::AuthRequest& a) override { return inner_->OnAuth(a); }
  smtp::Decision OnStartTls() override { return inner_->OnStartTls(); }
  smtp::Decision OnCommand(const smtp::CommandRequest& c) override { return inner_->OnCommand(c); }
  std::optional<smtp::ServerExtensions> Extensions(bool tls_active) override {
    return inner_->Extensions(tls_active);
  }

  std::deque<smtp::Decision> messages;
  std::deque<smtp::Decision> accepted_rcpts;

 private:
  smtp::ServerPolicy* inner_;
};

// One run over the whole input; returns every byte written.
std::string Run(const Receiver& receiver, std::string_view stream, size_t step,
                std::chrono::milliseconds clock_step, bool raw_replies) {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
  auto state = std::make_shared<fakemx::ReceiverState>([&now] { return now; });
  auto shared = std::make_shared<const Receiver>(receiver);
  fakemx::BehaviourFactory factory = fakemx::ScenarioBehaviourFactory(shared, state);
  std::string all;
  size_t index = 0;
  while (true) {
    size_t cut = stream.find(kConnectionSeparator);
    std::string_view input = stream.substr(0, cut);

    fakemx::ConnectionInfo info;
    info.client_address = index % 2 ? "10.0.0.7" : "192.0.2.1";
    std::unique_ptr<fakemx::Behaviour> behaviour = factory(info);
    smtp::ServerSessionConfig base;
    base.command_events = true;
    RecordingPolicy policy(behaviour.get());
    smtp::ServerSession session(fakemx::ReceiverSessionConfig(receiver, base, true), &policy);
    bool closed = false, stalled = false, awaiting_tls = false;
    std::string output;

    auto pump = [&](size_t lines) {
      for (;;) {
        std::string out = session.TakeOutput();
        if (closed || stalled || awaiting_tls) MXKIT_FUZZ_CHECK(out.empty());
        MXKIT_FUZZ_CHECK(out.size() <= kMaxWritePerLine * (lines + 1));
        output += out;
        bool again = false;
        while (auto e = session.NextEvent()) {
          if (std::holds_alternative<smtp::DecisionDelayedEvent>(*e)) {
            MXKIT_FUZZ_CHECK(!closed && !stalled);
            again = true;
          } else if (std::holds_alternative<smtp::StartTlsRequestedEvent>(*e)) {
            MXKIT_FUZZ_CHECK(receiver.tls.switch_to_tls);
            awaiting_tls = true;
          } else if (std::holds_alternative<smtp::CloseRequestedEvent>(*e)) {
            closed = true;
          } else if (std::holds_alternative<smtp::StalledEvent>(*e)) {
            stalled = true;
          } else if (auto* m = std::get_if<smtp::MessageCompleteEvent>(&*e)) {
            if (receiver.disconnect.after_data) MXKIT_FUZZ_CHECK(!m->accepted);
            MXKIT_FUZZ_CHECK(!policy.messages.empty());
            MXKIT_FUZZ_CHECK(SendsA2xx(policy.messages.front(), m->accepted) == m->accepted);
            policy.messages.pop_front();
          } else if (std::holds_alternative<smtp::RecipientAcceptedEvent>(*e)) {
            MXKIT_FUZZ_CHECK(!policy.accepted_rcpts.empty());
            MXKIT_FUZZ_CHECK(SendsA2xx(policy.accepted_rcpts.front(), true));
            policy.accepted_rcpts.pop_front();
          }
        }
        if (stalled) MXKIT_FUZZ_CHECK(session.state() == smtp::ServerState::kStalled);
        if (awaiting_tls) {
          // The handshake "succeeds" at once; its output is checked on the
          // next round like any other.
          MXKIT_FUZZ_CHECK(session.TakeOutput().empty());
          awaiting_tls = false;
          session.OnTlsEstablished();
          again = true;
        }
        if (!again) break;
        session.ReleaseDelayedDecision();
      }
      // Notes are bounded per decision; draining them checks nothing but
      // keeps a long input from accumulating them.
      behaviour->TakeNotes();
      MXKIT_FUZZ_CHECK(state->greylist_size() <= kGreylistEntries);
    };

    session.Start();
    pump(0);
    for (size_t off = 0; off < input.size();) {
      size_t n = step;
      if (step == 0) {
        size_t lf = input.find('\n', off);
        n = lf == std::string_view::npos ? input.size() - off : lf + 1 - off;
      }
      std::string_view chunk = input.substr(off, n);
      off += chunk.size();
      now += clock_step;
      session.Feed(chunk);
      pump(static_cast<size_t>(std::count(chunk.begin(), chunk.end(), '\n')));
    }
    if (!raw_replies) {
      smtp::RepliesParseResult replies = smtp::ParseReplies(output);
      MXKIT_FUZZ_CHECK(!replies.error.has_value());
      for (const smtp::Reply& r : replies.replies) MXKIT_FUZZ_CHECK(r.code >= 200 && r.code <= 599);
    }
    all += output;
    all += '\0';
    if (cut == std::string_view::npos) break;
    stream.remove_prefix(cut + kConnectionSeparator.size());
    ++index;
  }
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t flags = data[0], seed = data[1], chunk = data[2], variant = data[3];
  std::string_view stream(reinterpret_cast<const char*>(data) + 4, size - 4);
  const Receiver receiver = MakeReceiver(flags, seed, variant);
  const size_t step = chunk;
  const std::chrono::milliseconds clock_step(100 * (variant & 0x1f));
  // Raw greeting or rule replies are not replies a strict parser takes.
  const bool raw = variant & 0x80;
  const std::string first = Run(receiver, stream, step, clock_step, raw);
  MXKIT_FUZZ_CHECK(first == Run(receiver, stream, step, clock_step, raw));
  return 0;
}
