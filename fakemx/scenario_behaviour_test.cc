#include "fakemx/scenario_behaviour.h"

#include <openssl/digest.h>
#include <openssl/hmac.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "base/base64.h"
#include "fakemx/scenario.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smtp/server_session.h"

namespace mxkit::fakemx {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

// A receiver as the catalogue writes them: example.test, STARTTLS offered.
Receiver BaseReceiver() {
  Receiver r;
  r.name = "example.test";
  r.hostname = "mx.example.test";
  return r;
}

// A fake clock the greylist and CRAM-MD5 read.
struct FakeClock {
  std::chrono::steady_clock::time_point now{std::chrono::hours(1000)};
  ReceiverState::Clock AsClock() {
    return [this] { return now; };
  }
};

// One connection: a ServerSession with a scenario behaviour as its policy,
// driven as the fakemx driver drives it, delays released at once (and
// recorded), TLS handshakes simulated.
class Connection {
 public:
  Connection(const Receiver& receiver, ReceiverState* state, std::string client = "192.0.2.1",
             bool implicit_tls = false) {
    ConnectionInfo info;
    info.client_address = std::move(client);
    info.implicit_tls = implicit_tls;
    info.ordinal = state->NextOrdinal();
    behaviour_ = MakeScenarioBehaviour(receiver, state, info);
    smtp::ServerSessionConfig base;
    base.implicit_tls = implicit_tls;
    session_ = std::make_unique<smtp::ServerSession>(
        ReceiverSessionConfig(receiver, base, /*tls_available=*/true), behaviour_.get());
  }

  std::string Start() {
    session_->Start();
    return Pump();
  }
  std::string Send(std::string_view bytes) {
    session_->Feed(bytes);
    return Pump();
  }
  // The handshake after StartTlsRequestedEvent succeeded.
  std::string Handshake() {
    EXPECT_TRUE(tls_requested);
    tls_requested = false;
    session_->OnTlsEstablished();
    return Pump();
  }
  std::vector<std::string> Notes() { return behaviour_->TakeNotes(); }
  smtp::ServerSession& session() { return *session_; }
  Behaviour& behaviour() { return *behaviour_; }

  std::vector<milliseconds> delays;
  bool closed = false;
  bool reset = false;
  bool stalled = false;
  bool tls_requested = false;
  int messages_accepted = 0;

 private:
  std::string Pump() {
    std::string out;
    for (;;) {
      out += session_->TakeOutput();
      bool released = false;
      while (auto e = session_->NextEvent()) {
        if (auto* d = std::get_if<smtp::DecisionDelayedEvent>(&*e)) {
          delays.push_back(d->delay);
          released = true;
        } else if (auto* c = std::get_if<smtp::CloseRequestedEvent>(&*e)) {
          closed = true;
          reset = reset || c->reset;
        } else if (std::holds_alternative<smtp::StalledEvent>(*e)) {
          stalled = true;
        } else if (std::holds_alternative<smtp::StartTlsRequestedEvent>(*e)) {
          tls_requested = true;
        } else if (auto* m = std::get_if<smtp::MessageCompleteEvent>(&*e)) {
          messages_accepted += m->accepted ? 1 : 0;
        }
      }
      if (!released) break;
      session_->ReleaseDelayedDecision();
    }
    return out + session_->TakeOutput();
  }

  std::unique_ptr<Behaviour> behaviour_;
  std::unique_ptr<smtp::ServerSession> session_;
};

ScenarioReply Reply(int code, std::string enhanced, std::string text) {
  ScenarioReply r;
  r.code = code;
  r.enhanced = std::move(enhanced);
  r.lines = {std::move(text)};
  return r;
}
ScenarioReply Raw(std::string bytes) {
  ScenarioReply r;
  r.raw = std::move(bytes);
  return r;
}

Rule MakeRule(std::string at, RuleAction action, std::optional<ScenarioReply> reply = std::nullopt) {
  Rule rule;
  rule.name = "rules[0]";
  rule.at = std::move(at);
  rule.action = action;
  rule.reply = std::move(reply);
  return rule;
}

// ---- Glob ---------------------------------------------------------------------

TEST(ScenarioGlob, MatchesStarQuestionMarkAndCaseInsensitively) {
  struct Row {
    std::string_view pattern, text;
    bool matches;
  };
  const Row rows[] = {
      {"unknown*@*", "unknown1@example.test", true},
      {"unknown*@*", "Unknown@x", true},
      {"unknown*@*", "bob@x", false},
      {"unknown*@*", "unknown", false},
      {"*@unknown.test", "a@UNKNOWN.test", true},
      {"a?c", "abc", true},
      {"a?c", "ac", false},
      {"", "", true},
      {"", "a", false},
      {"*", "", true},
      {"**a**", "bab", true},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "aXbY", false},
      {"*a", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", false},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(ScenarioGlobMatches(row.pattern, row.text), row.matches)
        << row.pattern << " vs " << row.text;
  }
}

// ---- Greeting -------------------------------------------------------------------

TEST(ScenarioGreeting, EachGreetingSpecSendsItsReply) {
  struct Row {
    std::string name;
    GreetingSpec greeting;
    std::string expected;  // the exact bytes
    bool closed;
    bool reset;
  };
  GreetingSpec multi;
  multi.reply = ScenarioReply{220, "", {"first line", "second line"}, ""};
  GreetingSpec busy;
  busy.reply = Reply(421, "4.3.2", "Too busy, try again later");
  GreetingSpec busy_with_host;
  busy_with_host.reply = Reply(421, "4.3.2", "mx.example.test Too busy, try again later");
  GreetingSpec raw;
  raw.reply = Raw("garbage greeting\n");
  GreetingSpec drop;
  drop.drop = true;
  GreetingSpec reset;
  reset.reset = true;
  GreetingSpec text220;
  text220.reply = Reply(220, "", "Welcome");
  const Row rows[] = {
      {"default", GreetingSpec{}, "220 mx.example.test ESMTP mxkit\r\n", false, false},
      {"multi-line", multi, "220-mx.example.test first line\r\n220 second line\r\n", false, false},
      {"220 text", text220, "220 mx.example.test Welcome\r\n", false, false},
      {"421 closes", busy, "421 4.3.2 mx.example.test Too busy, try again later\r\n", true, false},
      {"421 hostname not doubled", busy_with_host,
       "421 4.3.2 mx.example.test Too busy, try again later\r\n", true, false},
      {"raw", raw, "garbage greeting\n", false, false},
      {"drop", drop, "", true, false},
      {"reset", reset, "", true, true},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Receiver r = BaseReceiver();
    r.greeting = row.greeting;
    ReceiverState state;
    Connection c(r, &state);
    EXPECT_EQ(c.Start(), row.expected);
    EXPECT_EQ(c.closed, row.closed);
    EXPECT_EQ(c.reset, row.reset);
  }
}

TEST(ScenarioGreeting, A554GreetingServesOnlyQuit) {
  Receiver r = BaseReceiver();
  r.greeting.reply = Reply(554, "", "No SMTP service here");
  ReceiverState state;
  Connection c(r, &state);
  EXPECT_THAT(c.Start(), StartsWith("554 mx.example.test No SMTP service here"));
  EXPECT_FALSE(c.closed);
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), StartsWith("503"));
  EXPECT_THAT(c.Send("QUIT\r\n"), StartsWith("221"));
  EXPECT_TRUE(c.closed);
}

TEST(ScenarioGreeting, DelayAndTarpitHoldTheGreeting) {
  Receiver r = BaseReceiver();
  r.greeting.delay = milliseconds(2000);
  r.tarpit.per_reply = milliseconds(500);
  ReceiverState state;
  Connection c(r, &state);
  EXPECT_THAT(c.Start(), StartsWith("220 "));
  EXPECT_THAT(c.delays, ElementsAre(milliseconds(2500)));
}

// ---- EHLO -----------------------------------------------------------------------

TEST(ScenarioEhlo, NotEsmtpAnswersEhloAsUnknownAndAcceptsHelo) {
  Receiver r = BaseReceiver();
  r.ehlo.esmtp = false;
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), StartsWith("500 "));
  EXPECT_THAT(c.Notes(), ElementsAre("ehlo: not ESMTP, EHLO answered as unknown"));
  EXPECT_THAT(c.Send("HELO client.test\r\n"), StartsWith("250 mx.example.test"));
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test>\r\n"), StartsWith("250"));
  EXPECT_THAT(c.Send("RCPT TO:<b@example.test>\r\n"), StartsWith("250"));
  EXPECT_THAT(c.Send("DATA\r\n"), StartsWith("354"));
  EXPECT_THAT(c.Send("Subject: x\r\n\r\nhi\r\n.\r\n"), StartsWith("250"));
  EXPECT_EQ(c.messages_accepted, 1);
}

TEST(ScenarioEhlo, KeywordListsDifferBeforeAndAfterTls) {
  Receiver r = BaseReceiver();
  r.ehlo.before_tls = std::vector<std::string>{"PIPELINING", "STARTTLS", "X-EXPS GSSAPI"};
  r.ehlo.after_tls = std::vector<std::string>{"AUTH", "8BITMIME", "SIZE"};
  r.auth.mechanisms = {"PLAIN", "LOGIN"};
  r.auth.credentials = {{"test", "test"}};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  const std::string before = c.Send("EHLO client.test\r\n");
  EXPECT_THAT(before, HasSubstr("250-PIPELINING\r\n"));
  EXPECT_THAT(before, HasSubstr("STARTTLS\r\n"));
  EXPECT_THAT(before, HasSubstr("X-EXPS GSSAPI\r\n"));
  EXPECT_THAT(before, Not(HasSubstr("SIZE")));
  EXPECT_THAT(before, Not(HasSubstr("8BITMIME")));
  EXPECT_THAT(before, Not(HasSubstr("AUTH")));
  EXPECT_TRUE(c.behaviour().advertises_starttls());

  EXPECT_THAT(c.Send("STARTTLS\r\n"), StartsWith("220"));
  c.Handshake();
  const std::string after = c.Send("EHLO client.test\r\n");
  EXPECT_THAT(after, HasSubstr("AUTH PLAIN LOGIN"));
  EXPECT_THAT(after, HasSubstr("8BITMIME"));
  EXPECT_THAT(after, HasSubstr("SIZE"));
  EXPECT_THAT(after, Not(HasSubstr("PIPELINING")));
  EXPECT_THAT(after, Not(HasSubstr("STARTTLS")));
  EXPECT_THAT(after, Not(HasSubstr("X-EXPS")));
}

TEST(ScenarioEhlo, AuthTlsOnlyIsOfferedOnlyAfterTls) {
  Receiver r = BaseReceiver();
  r.auth.mechanisms = {"PLAIN"};
  r.auth.tls_only = true;
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  const std::string before = c.Send("EHLO client.test\r\n");
  EXPECT_THAT(before, HasSubstr("STARTTLS"));
  EXPECT_THAT(before, Not(HasSubstr("AUTH")));
  c.Send("STARTTLS\r\n");
  c.Handshake();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), HasSubstr("AUTH PLAIN"));
}

TEST(ScenarioEhlo, StarttlsNotAdvertisedWhenHiddenOrTlsOffOrListedWithout) {
  struct Row {
    std::string name;
    Receiver receiver;
  };
  Receiver hide = BaseReceiver();
  hide.tls.profile.starttls = tls::StartTlsBehaviour::kHide;
  Receiver off = BaseReceiver();
  off.tls.enabled = false;
  Receiver unlisted = BaseReceiver();
  unlisted.ehlo.before_tls = std::vector<std::string>{"PIPELINING"};
  for (const Row& row : {Row{"hide", hide}, Row{"tls off", off}, Row{"unlisted", unlisted}}) {
    SCOPED_TRACE(row.name);
    ReceiverState state;
    Connection c(row.receiver, &state);
    c.Start();
    EXPECT_THAT(c.Send("EHLO client.test\r\n"), Not(HasSubstr("STARTTLS")));
    EXPECT_FALSE(c.behaviour().advertises_starttls());
    EXPECT_THAT(c.Send("STARTTLS\r\n"), StartsWith("502"));
    EXPECT_FALSE(c.tls_requested);
  }
}

// ---- STARTTLS -------------------------------------------------------------------

TEST(ScenarioStarttls, ProfileRefusalsCustomReplyAndNoSwitch) {
  {
    Receiver r = BaseReceiver();
    r.tls.profile.starttls = tls::StartTlsBehaviour::kRefuse454;
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\n");
    EXPECT_EQ(c.Send("STARTTLS\r\n"), "454 4.7.0 TLS not available due to temporary reason\r\n");
    EXPECT_FALSE(c.tls_requested);
  }
  {
    Receiver r = BaseReceiver();
    r.tls.reply = Reply(220, "2.0.0", "Go ahead");
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\n");
    EXPECT_EQ(c.Send("STARTTLS\r\n"), "220 2.0.0 Go ahead\r\n");
    EXPECT_TRUE(c.tls_requested);
  }
  {
    Receiver r = BaseReceiver();
    r.tls.switch_to_tls = false;
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\n");
    EXPECT_EQ(c.Send("STARTTLS\r\n"), "220 2.0.0 Ready to start TLS\r\n");
    EXPECT_FALSE(c.tls_requested);
    EXPECT_FALSE(c.session().tls_active());
    // Still plaintext SMTP: the next command is answered.
    EXPECT_THAT(c.Send("NOOP\r\n"), StartsWith("250"));
  }
}

// ---- Rules ----------------------------------------------------------------------

struct RuleRow {
  std::string name;
  std::vector<Rule> rules;
  std::vector<std::string> setup;  // sent first, replies not checked
  std::string command;
  std::string expected;  // the reply's start ("" = no reply at all)
  bool closed = false;
  bool reset = false;
  bool stalled = false;
};

std::vector<RuleRow> RuleRows() {
  const std::vector<std::string> mail = {"EHLO client.test\r\n", "MAIL FROM:<a@client.test>\r\n"};
  const std::vector<std::string> rcpt = {"EHLO client.test\r\n", "MAIL FROM:<a@client.test>\r\n",
                                         "RCPT TO:<b@example.test>\r\n"};
  std::vector<RuleRow> rows;
  Rule unknown_user = MakeRule("RCPT", RuleAction::kReject, Reply(550, "5.1.1", "No such user here"));
  unknown_user.match = "unknown*@*";
  rows.push_back({"glob on the recipient matches", {unknown_user}, mail,
                  "RCPT TO:<Unknown7@example.test>\r\n", "550 5.1.1 No such user here\r\n"});
  rows.push_back({"glob on the recipient does not match", {unknown_user}, mail,
                  "RCPT TO:<bob@example.test>\r\n", "250"});
  Rule too_many = MakeRule("RCPT", RuleAction::kReject, Reply(452, "4.5.3", "Too many recipients"));
  too_many.after_recipients = 2;
  rows.push_back({"after_recipients below", {too_many}, rcpt, "RCPT TO:<c@example.test>\r\n", "250"});
  std::vector<std::string> two = rcpt;
  two.push_back("RCPT TO:<c@example.test>\r\n");
  rows.push_back({"after_recipients reached", {too_many}, two, "RCPT TO:<d@example.test>\r\n",
                  "452 4.5.3 Too many recipients\r\n"});
  Rule big = MakeRule("MAIL", RuleAction::kReject, Reply(552, "5.3.4", "Message too big"));
  big.size_over = 1000;
  rows.push_back({"MAIL SIZE over", {big}, {"EHLO client.test\r\n"},
                  "MAIL FROM:<a@client.test> SIZE=1001\r\n", "552 5.3.4 Message too big\r\n"});
  rows.push_back({"MAIL SIZE not over", {big}, {"EHLO client.test\r\n"},
                  "MAIL FROM:<a@client.test> SIZE=1000\r\n", "250"});
  rows.push_back({"MAIL without SIZE", {big}, {"EHLO client.test\r\n"},
                  "MAIL FROM:<a@client.test>\r\n", "250"});
  Rule big_message = MakeRule("message", RuleAction::kReject, Reply(552, "5.3.4", "Too big"));
  big_message.size_over = 10;
  std::vector<std::string> data = rcpt;
  data.push_back("DATA\r\n");
  rows.push_back({"message size over", {big_message}, data, "0123456789abc\r\n.\r\n",
                  "552 5.3.4 Too big\r\n"});
  rows.push_back({"message size not over", {big_message}, data, "short\r\n.\r\n", "250"});
  rows.push_back({"no-reply stalls", {MakeRule("NOOP", RuleAction::kNoReply)}, {}, "NOOP\r\n", "",
                  false, false, true});
  rows.push_back({"raw reply", {MakeRule("NOOP", RuleAction::kReply, Raw(std::string("\0\xff\r\n", 4)))},
                  {}, "NOOP\r\n", std::string("\0\xff\r\n", 4)});
  rows.push_back({"unknown hides a verb", {MakeRule("VRFY", RuleAction::kUnknown)}, {},
                  "VRFY bob\r\n", "500 "});
  Rule after_tls = MakeRule("NOOP", RuleAction::kReject, Reply(554, "5.7.0", "Not after TLS"));
  after_tls.tls = true;
  rows.push_back({"tls: true does not match before TLS", {after_tls}, {}, "NOOP\r\n", "250"});
  Rule second = MakeRule("NOOP", RuleAction::kReply, Reply(250, "", "second"));
  second.nth = 2;
  rows.push_back({"nth 2 skips the first", {second}, {}, "NOOP\r\n", "250 2.0.0 OK\r\n"});
  rows.push_back({"nth 2 takes the second", {second}, {"NOOP\r\n"}, "NOOP\r\n", "250 2.0.0 second\r\n"});
  rows.push_back({"disconnect", {MakeRule("MAIL", RuleAction::kDisconnect)}, {"EHLO client.test\r\n"},
                  "MAIL FROM:<a@client.test>\r\n", "421 4.3.2", true});
  rows.push_back({"drop", {MakeRule("RCPT", RuleAction::kDrop)}, mail, "RCPT TO:<b@example.test>\r\n",
                  "", true});
  rows.push_back({"reset", {MakeRule("DATA", RuleAction::kReset)}, rcpt, "DATA\r\n", "", true, true});
  rows.push_back({"accept with text", {MakeRule("MAIL", RuleAction::kAccept, Reply(250, "", "Fine"))},
                  {"EHLO client.test\r\n"}, "MAIL FROM:<a@client.test>\r\n", "250 2.1.0 Fine\r\n"});
  rows.push_back({"any", {MakeRule("any", RuleAction::kReject, Reply(554, "5.7.1", "Go away"))}, {},
                  "HELP\r\n", "554 5.7.1 Go away\r\n"});
  Rule helo = MakeRule("EHLO", RuleAction::kReject, Reply(550, "5.7.1", "Not you"));
  helo.match = "*.bad";
  rows.push_back({"EHLO domain glob", {helo}, {}, "EHLO host.bad\r\n", "550 5.7.1 Not you\r\n"});
  Rule first_wins = MakeRule("NOOP", RuleAction::kReply, Reply(250, "", "first"));
  Rule second_rule = MakeRule("NOOP", RuleAction::kReply, Reply(250, "", "second"));
  rows.push_back({"first match wins", {first_wins, second_rule}, {}, "NOOP\r\n", "250 2.0.0 first\r\n"});
  return rows;
}

TEST(ScenarioRules, EachConditionAndActionAnswersAsItSays) {
  for (const RuleRow& row : RuleRows()) {
    SCOPED_TRACE(row.name);
    Receiver r = BaseReceiver();
    r.rules = row.rules;
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    for (const std::string& s : row.setup) c.Send(s);
    const std::string out = c.Send(row.command);
    if (row.expected.empty()) {
      EXPECT_EQ(out, "");
    } else {
      EXPECT_THAT(out, StartsWith(row.expected));
    }
    EXPECT_EQ(c.closed, row.closed);
    EXPECT_EQ(c.reset, row.reset);
    EXPECT_EQ(c.stalled, row.stalled);
  }
}

TEST(ScenarioRules, NotesNameTheRuleThatDecided) {
  Receiver r = BaseReceiver();
  Rule rule = MakeRule("RCPT", RuleAction::kReject, Reply(550, "5.1.1", "No such user here"));
  rule.name = "rules[2]";
  r.rules = {MakeRule("NOOP", RuleAction::kAccept), MakeRule("NOOP", RuleAction::kAccept), rule};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n");
  c.Notes();
  c.Send("RCPT TO:<b@example.test>\r\n");
  EXPECT_THAT(c.Notes(), ElementsAre("rules[2] (at RCPT) reject 550"));
}

TEST(ScenarioRules, AReplyAtMailStartsNoTransaction) {
  Receiver r = BaseReceiver();
  r.rules = {MakeRule("MAIL", RuleAction::kReply, Reply(250, "", "Sure"))};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\n");
  EXPECT_EQ(c.Send("MAIL FROM:<a@client.test>\r\n"), "250 2.0.0 Sure\r\n");
  EXPECT_THAT(c.Send("RCPT TO:<b@example.test>\r\n"), StartsWith("503"));
}

TEST(ScenarioRules, RulesComeBeforeAuthRequiredAndGreylisting) {
  Receiver r = BaseReceiver();
  r.auth.mechanisms = {"PLAIN"};
  r.auth.credentials = {{"test", "test"}};
  r.auth.required = true;
  r.greylist = GreylistSpec{};
  Rule blocked = MakeRule("MAIL", RuleAction::kReject, Reply(550, "5.7.1", "Sender blocked"));
  blocked.match = "spammer@*";
  Rule vip = MakeRule("RCPT", RuleAction::kAccept, Reply(250, "", "Welcome, VIP"));
  vip.match = "vip@*";
  r.rules = {blocked, vip};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\n");
  EXPECT_EQ(c.Send("MAIL FROM:<spammer@client.test>\r\n"), "550 5.7.1 Sender blocked\r\n");
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test>\r\n"), StartsWith("530 5.7.0"));
  c.Send("AUTH PLAIN " + base::EncodeBase64(std::string("\0test\0test", 10)) + "\r\n");
  c.Send("MAIL FROM:<a@client.test>\r\n");
  c.Notes();
  EXPECT_EQ(c.Send("RCPT TO:<vip@example.test>\r\n"), "250 2.1.5 Welcome, VIP\r\n");
  EXPECT_THAT(c.Notes(), ElementsAre("rules[0] (at RCPT) accept"));
  EXPECT_THAT(c.Send("RCPT TO:<other@example.test>\r\n"), StartsWith("451 4.7.1"));
  EXPECT_EQ(state.greylist_size(), 1u);
}

TEST(ScenarioRules, RuleDelayHoldsTheReply) {
  Receiver r = BaseReceiver();
  Rule rule = MakeRule("RCPT", RuleAction::kReject, Reply(450, "4.2.0", "Later"));
  rule.delay = milliseconds(3000);
  r.rules = {rule};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n");
  EXPECT_THAT(c.delays, IsEmpty());
  EXPECT_THAT(c.Send("RCPT TO:<b@example.test>\r\n"), StartsWith("450 4.2.0 Later"));
  EXPECT_THAT(c.delays, ElementsAre(milliseconds(3000)));
}

// ---- Greylisting ---------------------------------------------------------------

std::string TryRcpt(const Receiver& r, ReceiverState* state, std::string client, std::string from,
                    std::string to, std::vector<std::string>* notes = nullptr) {
  Connection c(r, state, std::move(client));
  c.Start();
  c.Send("EHLO client.test\r\n");
  c.Send("MAIL FROM:<" + from + ">\r\n");
  c.Notes();
  std::string out = c.Send("RCPT TO:<" + to + ">\r\n");
  if (notes) *notes = c.Notes();
  return out;
}

TEST(ScenarioGreylist, FirstAttemptAndEarlyRetryGet451LaterRetryPasses) {
  Receiver r = BaseReceiver();
  r.greylist = GreylistSpec{};
  r.greylist->delay = milliseconds(2000);
  FakeClock clock;
  ReceiverState state(clock.AsClock());
  std::vector<std::string> notes;

  // Each attempt on a new connection: the state is the receiver's.
  EXPECT_EQ(TryRcpt(r, &state, "192.0.2.1", "a@client.test", "b@example.test", &notes),
            "451 4.7.1 Greylisted, try again later\r\n");
  EXPECT_THAT(notes, ElementsAre("greylist: first attempt"));
  clock.now += milliseconds(1999);
  EXPECT_THAT(TryRcpt(r, &state, "192.0.2.1", "a@client.test", "b@example.test", &notes),
              StartsWith("451 4.7.1"));
  EXPECT_THAT(notes, ElementsAre("greylist: retry too early"));
  clock.now += milliseconds(1);
  EXPECT_THAT(TryRcpt(r, &state, "192.0.2.1", "a@client.test", "b@example.test"), StartsWith("250"));
  // And from then on.
  clock.now += std::chrono::hours(5);
  EXPECT_THAT(TryRcpt(r, &state, "192.0.2.1", "A@Client.Test", "b@example.test"), StartsWith("250"));

  // Any part of the triplet different: starts over.
  EXPECT_THAT(TryRcpt(r, &state, "192.0.2.2", "a@client.test", "b@example.test"), StartsWith("451"));
  EXPECT_THAT(TryRcpt(r, &state, "192.0.2.1", "x@client.test", "b@example.test"), StartsWith("451"));
  EXPECT_THAT(TryRcpt(r, &state, "192.0.2.1", "a@client.test", "y@example.test"), StartsWith("451"));
}

TEST(ScenarioGreylist, CustomReplyAndRulesComeFirst) {
  Receiver r = BaseReceiver();
  r.greylist = GreylistSpec{};
  r.greylist->reply = Reply(450, "4.2.0", "Come back later");
  Rule rule = MakeRule("RCPT", RuleAction::kReject, Reply(550, "5.1.1", "No such user"));
  rule.match = "unknown*";
  r.rules = {rule};
  FakeClock clock;
  ReceiverState state(clock.AsClock());
  EXPECT_EQ(TryRcpt(r, &state, "192.0.2.1", "a@c.test", "b@example.test"),
            "450 4.2.0 Come back later\r\n");
  EXPECT_THAT(TryRcpt(r, &state, "192.0.2.1", "a@c.test", "unknown@example.test"),
              StartsWith("550 5.1.1"));
  EXPECT_EQ(state.greylist_size(), 1u);
}

TEST(ReceiverState, GreylistForgetsTheOldestBeyondMaxEntries) {
  FakeClock clock;
  ReceiverState state(clock.AsClock());
  const milliseconds delay(10);
  using V = ReceiverState::GreylistVerdict;
  EXPECT_EQ(state.CheckGreylist("c", "s", "r1", delay, 2), V::kFirstAttempt);
  EXPECT_EQ(state.CheckGreylist("c", "s", "r2", delay, 2), V::kFirstAttempt);
  EXPECT_EQ(state.CheckGreylist("c", "s", "r3", delay, 2), V::kFirstAttempt);
  EXPECT_EQ(state.greylist_size(), 2u);
  clock.now += delay;
  EXPECT_EQ(state.CheckGreylist("c", "s", "r3", delay, 2), V::kPasses);
  EXPECT_EQ(state.CheckGreylist("c", "s", "r2", delay, 2), V::kPasses);
  // r1 was forgotten: it starts over (and pushes out r2).
  EXPECT_EQ(state.CheckGreylist("c", "s", "r1", delay, 2), V::kFirstAttempt);
  EXPECT_FALSE(state.GreylistPasses("c", "s", "r2", delay, 2));
  EXPECT_EQ(state.greylist_size(), 2u);
}

TEST(ReceiverState, OrdinalsCount) {
  ReceiverState state;
  EXPECT_EQ(state.NextOrdinal(), 0u);
  EXPECT_EQ(state.NextOrdinal(), 1u);
  EXPECT_EQ(state.NextOrdinal(), 2u);
}

TEST(ScenarioBehaviourFactory, NumbersConnectionsFromTheSharedState) {
  auto receiver = std::make_shared<Receiver>(BaseReceiver());
  receiver->greylist = GreylistSpec{};
  auto state = std::make_shared<ReceiverState>();
  BehaviourFactory factory = ScenarioBehaviourFactory(receiver, state);
  ConnectionInfo info;
  info.client_address = "192.0.2.9";
  ASSERT_NE(factory(info), nullptr);
  ASSERT_NE(factory(info), nullptr);
  EXPECT_EQ(state->NextOrdinal(), 2u);
}

// ---- Tarpit, disconnects, limits -----------------------------------------------

TEST(ScenarioTarpit, EveryReplyIsDelayedOnce) {
  Receiver r = BaseReceiver();
  r.tarpit.per_reply = milliseconds(1000);
  r.tarpit.per_byte = milliseconds(7);
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  for (std::string_view line : {"EHLO client.test\r\n", "NOOP\r\n", "RSET\r\n",
                                "MAIL FROM:<a@client.test>\r\n", "RCPT TO:<b@example.test>\r\n",
                                "DATA\r\n", "hi\r\n.\r\n", "BOGUS\r\n", "QUIT\r\n"}) {
    EXPECT_THAT(c.Send(line), Not(IsEmpty())) << line;
  }
  // The greeting and nine replies.
  EXPECT_EQ(c.delays, std::vector<milliseconds>(10, milliseconds(1000)));
  EXPECT_EQ(c.behaviour().per_byte_delay(), milliseconds(7));
}

TEST(ScenarioDisconnect, AfterDataReadsTheMessageAndClosesWithoutReply) {
  for (bool reset : {false, true}) {
    SCOPED_TRACE(reset ? "reset" : "close");
    Receiver r = BaseReceiver();
    r.disconnect.after_data = true;
    r.disconnect.reset = reset;
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\n");
    EXPECT_THAT(c.Send("DATA\r\n"), StartsWith("354"));
    EXPECT_EQ(c.Send("Subject: x\r\n\r\nbody\r\n.\r\n"), "");
    EXPECT_TRUE(c.closed);
    EXPECT_EQ(c.reset, reset);
    EXPECT_EQ(c.messages_accepted, 0);
    EXPECT_EQ(c.behaviour().disconnect_resets(), reset);
  }
}

TEST(ScenarioDisconnect, MidDataAndIdleTimeoutAreTheDriversToCarryOut) {
  Receiver r = BaseReceiver();
  r.disconnect.mid_data_after_bytes = 512;
  r.idle_timeout = std::chrono::seconds(7);
  ReceiverState state;
  Connection c(r, &state);
  EXPECT_EQ(c.behaviour().drop_after_data_bytes(), std::optional<uint64_t>(512));
  EXPECT_EQ(c.behaviour().idle_timeout(), std::optional<std::chrono::seconds>(7));
  Receiver plain = BaseReceiver();
  Connection d(plain, &state);
  EXPECT_EQ(d.behaviour().drop_after_data_bytes(), std::nullopt);
  EXPECT_EQ(d.behaviour().idle_timeout(), std::nullopt);
}

TEST(ReceiverSessionConfig, CarriesTheReceiversSettings) {
  Receiver r = BaseReceiver();
  r.hostname = "mx1.example.test";
  r.limits.max_message_size = 65536;
  r.limits.max_recipients = 3;
  r.leniencies.allow_space_before_path = true;
  r.data_bare_line_endings = smtp::BareLineEndingPolicy::kAcceptBareLfAsLineEnd;
  r.data_nul = smtp::NulPolicy::kPassThrough;
  r.max_protocol_errors = 3;
  r.auth.mechanisms = {"PLAIN"};
  r.auth.required = true;
  smtp::ServerSessionConfig base;
  base.command_events = true;
  smtp::ServerSessionConfig c = ReceiverSessionConfig(r, base, /*tls_available=*/true);
  EXPECT_EQ(c.hostname, "mx1.example.test");
  EXPECT_EQ(c.limits, r.limits);
  EXPECT_EQ(c.command_leniencies, r.leniencies);
  EXPECT_EQ(c.data_bare_line_endings, smtp::BareLineEndingPolicy::kAcceptBareLfAsLineEnd);
  EXPECT_EQ(c.data_nul, smtp::NulPolicy::kPassThrough);
  EXPECT_EQ(c.max_protocol_errors, 3);
  EXPECT_TRUE(c.command_events);
  EXPECT_TRUE(c.extensions.starttls);
  EXPECT_TRUE(c.extensions.auth_required);
  EXPECT_THAT(c.extensions.auth_mechanisms, ElementsAre("PLAIN"));
  EXPECT_FALSE(ReceiverSessionConfig(r, base, /*tls_available=*/false).extensions.starttls);
  Receiver unnamed = BaseReceiver();
  unnamed.hostname.clear();
  EXPECT_EQ(ReceiverSessionConfig(unnamed, base, true).hostname, "mx.example.test");
}

TEST(ScenarioLimits, SizeLimitRefusesMailSizeAndMessage) {
  Receiver r = BaseReceiver();
  r.limits.max_message_size = 65536;
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), HasSubstr("SIZE 65536"));
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test> SIZE=65537\r\n"), StartsWith("552"));
}

// ---- AUTH -----------------------------------------------------------------------

Receiver AuthReceiver() {
  Receiver r = BaseReceiver();
  r.auth.mechanisms = {"PLAIN", "LOGIN", "CRAM-MD5"};
  r.auth.credentials = {{"test", "test"}, {"alice", "s3cret"}};
  r.auth.required = true;
  return r;
}

std::string B64(std::string_view s) { return base::EncodeBase64(s); }

TEST(ScenarioAuth, PlainGoodAndBad) {
  struct Row {
    std::string name;
    std::string message;
    std::string expected;
  };
  const Row rows[] = {
      {"good", std::string("\0test\0test", 10), "235"},
      {"good with authzid = authcid", std::string("alice\0alice\0s3cret", 18), "235"},
      {"bad password", std::string("\0test\0nope", 10), "535 5.7.8"},
      {"unknown user", std::string("\0bob\0test", 9), "535 5.7.8"},
      {"other authzid", std::string("alice\0test\0test", 15), "535 5.7.8"},
      {"malformed", "testtest", "501"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    ReceiverState state;
    Receiver r = AuthReceiver();
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\n");
    EXPECT_THAT(c.Send("AUTH PLAIN " + B64(row.message) + "\r\n"), StartsWith(row.expected));
  }
  // Without an initial response: an empty challenge first.
  ReceiverState state;
  Receiver r = AuthReceiver();
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\n");
  EXPECT_EQ(c.Send("AUTH PLAIN\r\n"), "334 \r\n");
  EXPECT_THAT(c.Send(B64(std::string("\0test\0test", 10)) + "\r\n"), StartsWith("235"));
  EXPECT_THAT(c.Notes(), ElementsAre("auth: PLAIN accepted \"test\""));
}

TEST(ScenarioAuth, LoginGoodAndBad) {
  for (bool good : {true, false}) {
    SCOPED_TRACE(good ? "good" : "bad");
    ReceiverState state;
    Receiver r = AuthReceiver();
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\n");
    EXPECT_EQ(c.Send("AUTH LOGIN\r\n"), "334 VXNlcm5hbWU6\r\n");  // "Username:"
    EXPECT_EQ(c.Send(B64("alice") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");  // "Password:"
    EXPECT_THAT(c.Send(B64(good ? "s3cret" : "secret") + "\r\n"),
                StartsWith(good ? "235" : "535 5.7.8"));
  }
  // The user name as the initial response.
  ReceiverState state;
  Receiver r = AuthReceiver();
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\n");
  EXPECT_EQ(c.Send("AUTH LOGIN " + B64("test") + "\r\n"), "334 UGFzc3dvcmQ6\r\n");
  EXPECT_THAT(c.Send(B64("test") + "\r\n"), StartsWith("235"));
}

// What a CRAM-MD5 client answers to the 334 line `challenge_line`.
std::string CramResponse(std::string_view challenge_line, std::string_view user,
                         std::string_view password, bool upper_hex = false) {
  EXPECT_THAT(std::string(challenge_line), StartsWith("334 "));
  std::string_view b64 = challenge_line.substr(4);
  b64 = b64.substr(0, b64.find('\r'));
  base::Base64Result challenge = base::DecodeBase64(b64);
  EXPECT_TRUE(challenge.ok());
  uint8_t mac[EVP_MAX_MD_SIZE];
  unsigned mac_len = 0;
  HMAC(EVP_md5(), password.data(), password.size(),
       reinterpret_cast<const uint8_t*>(challenge.bytes.data()), challenge.bytes.size(), mac,
       &mac_len);
  std::string hex =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
  if (upper_hex) absl::AsciiStrToUpper(&hex);
  return B64(std::string(user) + " " + hex);
}

TEST(ScenarioAuth, CramMd5GoodAndBad) {
  for (bool good : {true, false}) {
    SCOPED_TRACE(good ? "good" : "bad");
    ReceiverState state;
    Receiver r = AuthReceiver();
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\n");
    const std::string challenge = c.Send("AUTH CRAM-MD5\r\n");
    base::Base64Result decoded = base::DecodeBase64(challenge.substr(4, challenge.size() - 6));
    ASSERT_TRUE(decoded.ok());
    // RFC 2195 §2: <digits.timestamp@hostname>.
    EXPECT_THAT(decoded.bytes, StartsWith("<"));
    EXPECT_THAT(decoded.bytes, HasSubstr("@mx.example.test>"));
    EXPECT_THAT(c.Send(CramResponse(challenge, "alice", good ? "s3cret" : "wrong") + "\r\n"),
                StartsWith(good ? "235" : "535 5.7.8"));
  }
  ReceiverState state;
  Receiver r = AuthReceiver();
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\n");
  EXPECT_THAT(c.Send("AUTH CRAM-MD5 " + B64("alice 00") + "\r\n"), StartsWith("501"));
}

TEST(ScenarioAuth, RequiredRefusesMailUntilAuthenticated) {
  ReceiverState state;
  Receiver r = AuthReceiver();
  Connection c(r, &state);
  c.Start();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), HasSubstr("AUTH PLAIN LOGIN CRAM-MD5"));
  c.Notes();
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test>\r\n"), StartsWith("530 5.7.0"));
  EXPECT_THAT(c.Notes(), ElementsAre("auth: required"));
  EXPECT_THAT(c.Send("AUTH PLAIN " + B64(std::string("\0test\0test", 10)) + "\r\n"),
              StartsWith("235"));
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test>\r\n"), StartsWith("250"));
}

TEST(ScenarioAuth, RequiredAndTlsOnlyRefusesMailBeforeStarttls) {
  ReceiverState state;
  Receiver r = AuthReceiver();
  r.auth.tls_only = true;
  Connection c(r, &state);
  c.Start();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), Not(HasSubstr("AUTH")));
  c.Notes();
  EXPECT_EQ(c.Send("MAIL FROM:<a@client.test>\r\n"),
            "530 5.7.0 Must issue a STARTTLS command first\r\n");
  EXPECT_THAT(c.Notes(), ElementsAre("auth: required, STARTTLS first"));
  c.Send("STARTTLS\r\n");
  c.Handshake();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), HasSubstr("AUTH PLAIN LOGIN CRAM-MD5"));
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test>\r\n"), StartsWith("530 5.7.0"));
  EXPECT_THAT(c.Send("AUTH PLAIN " + B64(std::string("\0test\0test", 10)) + "\r\n"),
              StartsWith("235"));
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test>\r\n"), StartsWith("250"));
}

// ---- The catalogue, as a client sees it (s9-catalogue.md) ----------------------

Receiver CatalogueReceiver(std::string_view name) {
  absl::StatusOr<Scenario> scenario = CatalogueScenario(name);
  EXPECT_TRUE(scenario.ok()) << name;
  if (!scenario.ok() || scenario->receivers.size() != 1) return BaseReceiver();
  return scenario->receivers.front();
}

TEST(ScenarioCatalogue, GoodAcceptsMailAndOffersStarttls) {
  Receiver r = CatalogueReceiver("good");
  ReceiverState state;
  Connection c(r, &state);
  EXPECT_EQ(c.Start(), "220 mx.example.test ESMTP mxkit\r\n");
  const std::string ehlo = c.Send("EHLO client.test\r\n");
  EXPECT_THAT(ehlo, HasSubstr("STARTTLS"));
  EXPECT_THAT(ehlo, Not(HasSubstr("AUTH")));
  c.Send("MAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  EXPECT_THAT(c.Send("hi\r\n.\r\n"), StartsWith("250"));
  EXPECT_EQ(c.messages_accepted, 1);
}

TEST(ScenarioCatalogue, StarttlsEntries) {
  struct Row {
    std::string_view name;
    bool advertised;
    std::string reply;  // start of the answer to STARTTLS
    bool handshake;
    tls::StartTlsBehaviour after_220;
  };
  const Row rows[] = {
      {"no-starttls", false, "502 5.5.1", false, tls::StartTlsBehaviour::kHide},
      {"starttls-refused", true, "454 4.7.0 TLS not available due to temporary reason\r\n", false,
       tls::StartTlsBehaviour::kRefuse454},
      {"starttls-advertised-then-502", true, "502 5.5.1 Command not implemented\r\n", false,
       tls::StartTlsBehaviour::kRefuse502},
      {"handshake-abort", true, "220 2.0.0 Ready to start TLS\r\n", true,
       tls::StartTlsBehaviour::kAbortAfter220},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Receiver r = CatalogueReceiver(row.name);
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    EXPECT_EQ(c.Send("EHLO client.test\r\n").find("STARTTLS") != std::string::npos, row.advertised);
    EXPECT_EQ(c.behaviour().advertises_starttls(), row.advertised);
    EXPECT_THAT(c.Send("STARTTLS\r\n"), StartsWith(row.reply));
    EXPECT_EQ(c.tls_requested, row.handshake);
    EXPECT_EQ(c.behaviour().after_starttls_220(), row.after_220);
  }
}

TEST(ScenarioCatalogue, NonEsmtpAnswersEhloUnknownAndTakesMailAfterHelo) {
  Receiver r = CatalogueReceiver("non-esmtp");
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), StartsWith("500 "));
  EXPECT_THAT(c.Send("HELO client.test\r\n"), StartsWith("250 "));
  c.Send("MAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  EXPECT_THAT(c.Send("hi\r\n.\r\n"), StartsWith("250"));
}

TEST(ScenarioCatalogue, AuthRequired) {
  Receiver r = CatalogueReceiver("auth-required");
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), HasSubstr("AUTH PLAIN LOGIN CRAM-MD5"));
  EXPECT_EQ(c.Send("MAIL FROM:<a@client.test>\r\n"), "530 5.7.0 Authentication required\r\n");
  EXPECT_THAT(c.Send("AUTH PLAIN " + base::EncodeBase64(std::string("\0test\0bad", 9)) + "\r\n"),
              StartsWith("535 5.7.8"));
  EXPECT_THAT(c.Send("AUTH PLAIN " + base::EncodeBase64(std::string("\0test\0test", 10)) + "\r\n"),
              StartsWith("235"));
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test>\r\n"), StartsWith("250"));
}

TEST(ScenarioCatalogue, GreylistTwoSeconds) {
  Receiver r = CatalogueReceiver("greylist");
  FakeClock clock;
  ReceiverState state(clock.AsClock());
  EXPECT_EQ(TryRcpt(r, &state, "127.0.0.1", "a@client.test", "b@example.test"),
            "451 4.7.1 Greylisted, try again later\r\n");
  clock.now += milliseconds(1999);
  EXPECT_THAT(TryRcpt(r, &state, "127.0.0.1", "a@client.test", "b@example.test"), StartsWith("451"));
  clock.now += milliseconds(1);
  EXPECT_THAT(TryRcpt(r, &state, "127.0.0.1", "a@client.test", "b@example.test"), StartsWith("250"));
  EXPECT_THAT(TryRcpt(r, &state, "127.0.0.1", "a@client.test", "c@example.test"), StartsWith("451"));
}

TEST(ScenarioCatalogue, TarpitDelaysEveryReplyOneSecond) {
  Receiver r = CatalogueReceiver("tarpit");
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\n");
  c.Send("QUIT\r\n");
  EXPECT_EQ(c.delays, std::vector<milliseconds>(3, milliseconds(1000)));
}

TEST(ScenarioCatalogue, RejectRcpt) {
  Receiver r = CatalogueReceiver("reject-rcpt");
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n");
  EXPECT_EQ(c.Send("RCPT TO:<unknown.user@example.test>\r\n"), "550 5.1.1 No such user here\r\n");
  EXPECT_THAT(c.Send("RCPT TO:<b@example.test>\r\n"), StartsWith("250"));
  EXPECT_THAT(c.Send("RCPT TO:<c@example.test>\r\n"), StartsWith("250"));
  EXPECT_EQ(c.Send("RCPT TO:<d@example.test>\r\n"), "452 4.5.3 Too many recipients\r\n");
}

TEST(ScenarioCatalogue, DisconnectAfterData) {
  Receiver r = CatalogueReceiver("disconnect-after-data");
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  EXPECT_EQ(c.Send("hi\r\n.\r\n"), "");
  EXPECT_TRUE(c.closed);
  EXPECT_FALSE(c.reset);
  EXPECT_EQ(c.messages_accepted, 0);
}

TEST(ScenarioCatalogue, Busy421) {
  Receiver r = CatalogueReceiver("busy-421");
  ReceiverState state;
  Connection c(r, &state);
  EXPECT_EQ(c.Start(), "421 4.3.2 mx.example.test Too busy, try again later\r\n");
  EXPECT_TRUE(c.closed);
}

TEST(ScenarioCatalogue, SizeLimit) {
  Receiver r = CatalogueReceiver("size-limit");
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  EXPECT_THAT(c.Send("EHLO client.test\r\n"), HasSubstr("250-SIZE 65536\r\n"));
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test> SIZE=65537\r\n"), StartsWith("552 5.3.4"));
  c.Send("MAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\nDATA\r\n");
  std::string big;
  for (int i = 0; i < 700; ++i) big += std::string(98, 'x') + "\r\n";
  EXPECT_THAT(c.Send(big + ".\r\n"), StartsWith("552 5.3.4"));
}

TEST(ScenarioCatalogue, SmugglingVulnerableAcceptsBareLf) {
  Receiver r = CatalogueReceiver("smuggling-vulnerable");
  EXPECT_EQ(ReceiverSessionConfig(r, {}, true).data_bare_line_endings,
            smtp::BareLineEndingPolicy::kAcceptBareLfAsLineEnd);
}

TEST(ScenarioCatalogue, GarbageReplies) {
  Receiver r = CatalogueReceiver("garbage-replies");
  ReceiverState state;
  Connection c(r, &state);
  EXPECT_THAT(c.Start(), StartsWith("220 "));
  EXPECT_EQ(c.Send("EHLO client.test\r\n"),
            "250-mx.example.test\r\n250-PIPELINING\r\n251 broken continuation\r\n");
  EXPECT_EQ(c.Send("HELO client.test\r\n"), "hello there\r\n");
  EXPECT_EQ(c.Send("MAIL FROM:<a@client.test>\r\n"), "25\r\n");
  EXPECT_EQ(c.Send("RCPT TO:<b@example.test>\r\n"), "250 Ok\n");
  EXPECT_EQ(c.Send("DATA\r\n"), "999 what\r\n");
  EXPECT_EQ(c.Send("NOOP\r\n"), std::string("\0\xff\r\n", 4));
  EXPECT_THAT(c.Send("RSET\r\n"), StartsWith("250"));
  EXPECT_THAT(c.Send("QUIT\r\n"), StartsWith("221"));
}

// The same bytes cut differently (pipelined in one read, one byte at a
// time, at every split point) get the same replies: decisions depend on the
// traffic, not on how it arrives.
TEST(ScenarioBehaviour, RepliesDoNotDependOnHowTheInputIsCut) {
  Receiver r = BaseReceiver();
  r.chaos = ChaosSpec{};
  r.chaos->seed = 7;
  r.chaos->stages = {{"NOOP", 0.5}, {"RCPT", 0.3}, {"any", 0.1}};
  Rule unknown_user = MakeRule("RCPT", RuleAction::kReject, Reply(550, "5.1.1", "No such user"));
  unknown_user.match = "unknown*@*";
  r.rules = {unknown_user};
  r.tarpit.per_reply = milliseconds(3);
  const std::string traffic =
      "EHLO client.test\r\nNOOP\r\nNOOP\r\nMAIL FROM:<a@client.test>\r\n"
      "RCPT TO:<unknown@example.test>\r\nRCPT TO:<b@example.test>\r\nRCPT TO:<c@example.test>\r\n"
      "NOOP\r\nRSET\r\nNOOP\r\nQUIT\r\n";
  auto run = [&](size_t cut, size_t step) {
    ReceiverState state;
    Connection c(r, &state);
    std::string out = c.Start();
    out += c.Send(traffic.substr(0, cut));
    for (size_t i = cut; i < traffic.size(); i += step) out += c.Send(traffic.substr(i, step));
    return out;
  };
  const std::string whole = run(traffic.size(), 1);
  EXPECT_THAT(whole, HasSubstr("550 5.1.1 No such user"));
  EXPECT_EQ(run(0, 1), whole);
  for (size_t cut = 0; cut <= traffic.size(); ++cut) {
    EXPECT_EQ(run(cut, traffic.size()), whole) << "cut at " << cut;
  }
}

// ---- Chaos ----------------------------------------------------------------------

// The replies one connection gets for a fixed traffic under chaos.
std::string ChaosRun(uint64_t seed, ReceiverState* state) {
  Receiver r = BaseReceiver();
  r.chaos = ChaosSpec{};
  r.chaos->seed = seed;
  r.chaos->stages = {{"MAIL", 0.5}, {"RCPT", 0.5}, {"NOOP", 0.5}};
  Connection c(r, state);
  std::string out = c.Start();
  out += c.Send("EHLO client.test\r\n");
  for (int i = 0; i < 12 && !c.closed; ++i) {
    out += c.Send("NOOP\r\n");
    out += c.Send("MAIL FROM:<a@client.test>\r\n");
    out += c.Send("RCPT TO:<b@example.test>\r\n");
    out += c.Send("RSET\r\n");
  }
  return out;
}

TEST(ScenarioChaos, SameSeedSameTrafficSameReplies) {
  ReceiverState a, b;
  const std::string first = ChaosRun(42, &a);
  EXPECT_EQ(first, ChaosRun(42, &b));
  // Faults happened at all (p = 0.5 over dozens of draws).
  EXPECT_THAT(first, ::testing::ContainsRegex("\r\n(421|451|452|550|554) "));
}

TEST(ScenarioChaos, DifferentSeedOrConnectionDiffers) {
  ReceiverState a, b;
  EXPECT_NE(ChaosRun(42, &a), ChaosRun(43, &b));
  // The second connection of a receiver draws its own stream.
  ReceiverState c;
  const std::string first = ChaosRun(42, &c);
  EXPECT_NE(first, ChaosRun(42, &c));
}

TEST(ScenarioChaos, NotesTheFaultAndUsesTheScenariosReplies) {
  Receiver r = BaseReceiver();
  r.chaos = ChaosSpec{};
  r.chaos->stages = {{"NOOP", 1.0}};
  r.chaos->replies = {Reply(452, "4.3.1", "Insufficient system storage")};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  EXPECT_EQ(c.Send("NOOP\r\n"), "452 4.3.1 Insufficient system storage\r\n");
  EXPECT_THAT(c.Notes(), ElementsAre("chaos: 452 at NOOP"));
  EXPECT_THAT(c.Send("RSET\r\n"), StartsWith("250"));
}

// A message or a recipient is taken exactly when the client was told so:
// at a stage that goes ahead or is refused, raw bytes decide by the code of
// their first reply, and bytes that are no reply refuse.
struct RawAtHookRow {
  std::string name;
  std::string raw;
  bool accepts;
};
const RawAtHookRow kRawAtHookRows[] = {
    {"451", "451 later\r\n", false},
    {"550 multi-line", "550-no\r\n550 really\r\n", false},
    {"250", "250 fine\r\n", true},
    {"garbage", "garbage\r\n", false},
    {"no CRLF", "250", false},
};

TEST(ScenarioRules, ARawReplyAtMessageAcceptsOnlyWhenItsCodeIs2xx) {
  for (const RawAtHookRow& row : kRawAtHookRows) {
    SCOPED_TRACE(row.name);
    Receiver r = BaseReceiver();
    r.rules = {MakeRule("message", RuleAction::kReply, Raw(row.raw))};
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\nRCPT TO:<b@example.test>\r\n");
    EXPECT_THAT(c.Send("DATA\r\n"), StartsWith("354"));
    EXPECT_EQ(c.Send("Subject: x\r\n\r\nbody\r\n.\r\n"), row.raw);
    EXPECT_EQ(c.messages_accepted, row.accepts ? 1 : 0);
    EXPECT_FALSE(c.closed);
  }
}

TEST(ScenarioChaos, ARawReplyAtRcptAddsTheRecipientOnlyWhenItsCodeIs2xx) {
  for (const RawAtHookRow& row : kRawAtHookRows) {
    SCOPED_TRACE(row.name);
    Receiver r = BaseReceiver();
    r.chaos = ChaosSpec{};
    r.chaos->stages = {{"RCPT", 1.0}};
    r.chaos->replies = {Raw(row.raw)};
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n");
    EXPECT_EQ(c.Send("RCPT TO:<b@example.test>\r\n"), row.raw);
    // RFC 5321 §3.3: DATA without a recipient is refused.
    EXPECT_THAT(c.Send("DATA\r\n"), StartsWith(row.accepts ? "354" : "5"));
  }
}

TEST(ScenarioRules, AnAcceptRuleWithARawRefusalAtRcptAddsNoRecipient) {
  Receiver r = BaseReceiver();
  r.rules = {MakeRule("RCPT", RuleAction::kAccept, Raw("550 not here\r\n"))};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n");
  EXPECT_EQ(c.Send("RCPT TO:<b@example.test>\r\n"), "550 not here\r\n");
  EXPECT_THAT(c.Send("DATA\r\n"), StartsWith("5"));
}

// RFC 2195 §2: the digest is lowercase hex; the right digest in uppercase is
// not what the RFC says a client sends.
TEST(ScenarioAuth, CramMd5RefusesAnUppercaseDigest) {
  ReceiverState state;
  Receiver r = AuthReceiver();
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\n");
  const std::string challenge = c.Send("AUTH CRAM-MD5\r\n");
  EXPECT_THAT(c.Send(CramResponse(challenge, "alice", "s3cret", /*upper_hex=*/true) + "\r\n"),
              StartsWith("535 5.7.8"));
}

// Rules at MAIL and RCPT see the path as smtp::ParseCommand reads it (also
// from a line the receiver then refuses for a space or missing brackets),
// and MAIL's declared SIZE; a line no parser reads is matched as its raw
// argument.
TEST(ScenarioRules, MailAndRcptRulesMatchTheParsedPath) {
  struct Row {
    std::string name;
    std::string match;
    std::string line;
    std::string expected;  // prefix of the reply
  };
  const Row rows[] = {
      {"strict", "x@*", "MAIL FROM:<x@client.test> SIZE=10", "550"},
      {"space before path", "x@*", "MAIL FROM: <x@client.test>", "550"},
      {"no brackets", "x@*", "MAIL FROM:x@client.test", "550"},
      {"null path", "", "MAIL FROM:<>", "550"},
      {"quoted local part", "\"a b\"@*", "MAIL FROM:<\"a b\"@client.test>", "550"},
      {"source route dropped", "x@client.test", "MAIL FROM:<@relay.test:x@client.test>", "550"},
      {"other sender", "x@*", "MAIL FROM:<y@client.test>", "250"},
      {"unreadable: raw argument", "FROM:<x@*", "MAIL FROM:<x@client.test", "550"},
      {"unreadable: not the path", "x@*", "MAIL FROM:<x@client.test", "5"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Receiver r = BaseReceiver();
    Rule rule = MakeRule("MAIL", RuleAction::kReject, Reply(550, "5.7.1", "Matched"));
    rule.match = row.match;
    r.rules = {rule};
    ReceiverState state;
    Connection c(r, &state);
    c.Start();
    c.Send("EHLO client.test\r\n");
    const std::string reply = c.Send(row.line + "\r\n");
    EXPECT_THAT(reply, StartsWith(row.expected));
    if (row.name == "unreadable: not the path") {
      EXPECT_THAT(reply, Not(HasSubstr("Matched")));
    }
  }
  Receiver r = BaseReceiver();
  Rule big = MakeRule("MAIL", RuleAction::kReject, Reply(552, "5.3.4", "Too big"));
  big.size_over = 1000;
  r.rules = {big};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  c.Send("EHLO client.test\r\n");
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test> SIZE=1001\r\n"), StartsWith("552"));
  EXPECT_THAT(c.Send("MAIL FROM:<a@client.test> SIZE=1000\r\n"), StartsWith("250"));
  c.Send("RSET\r\n");
  Rule rcpt = MakeRule("RCPT", RuleAction::kReject, Reply(550, "5.1.1", "No such user"));
  rcpt.match = "unknown*@*";
  Receiver r2 = BaseReceiver();
  r2.rules = {rcpt};
  ReceiverState state2;
  Connection c2(r2, &state2);
  c2.Start();
  c2.Send("EHLO client.test\r\nMAIL FROM:<a@client.test>\r\n");
  EXPECT_THAT(c2.Send("RCPT TO:<unknown1@example.test> NOTIFY=NEVER\r\n"), StartsWith("550"));
  EXPECT_THAT(c2.Send("RCPT TO:<Postmaster>\r\n"), StartsWith("250"));
}

// A visit an earlier rule answered is not counted for a later rule's `nth`.
TEST(ScenarioRules, NthCountsOnlyVisitsThatReachTheRule) {
  Receiver r = BaseReceiver();
  Rule first = MakeRule("NOOP", RuleAction::kReply, Reply(250, "", "first"));
  first.nth = 1;
  Rule second = MakeRule("NOOP", RuleAction::kReply, Reply(250, "", "second"));
  second.nth = 2;
  first.name = "first";
  second.name = "second";
  r.rules = {first, second};
  ReceiverState state;
  Connection c(r, &state);
  c.Start();
  EXPECT_EQ(c.Send("NOOP\r\n"), "250 2.0.0 first\r\n");
  // The first NOOP never reached `second`: this is its first visit.
  EXPECT_THAT(c.Send("NOOP\r\n"), StartsWith("250 2.0.0 O"));
  EXPECT_EQ(c.Send("NOOP\r\n"), "250 2.0.0 second\r\n");
}

}  // namespace
}  // namespace mxkit::fakemx
