#include "smtp/server_session.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "smtp/reply.h"

namespace mxkit::smtp {
namespace {

// One line per event, so whole dialogues compare with ==.
std::string Describe(const ServerEvent& event) {
  struct V {
    std::string operator()(const GreetingSentEvent& e) { return "greeting " + std::to_string(e.code); }
    std::string operator()(const HelloEvent& e) {
      return std::string(e.hello.extended ? "ehlo " : "helo ") + e.hello.domain;
    }
    std::string operator()(const MailFromEvent& e) {
      std::string s = "mail <" + e.envelope.reverse_path + ">";
      for (const auto& [k, v] : e.envelope.mail_params) s += " " + k + "=" + v;
      return s;
    }
    std::string operator()(const RecipientAcceptedEvent& e) {
      std::string s = "rcpt <" + e.recipient.forward_path + ">";
      for (const auto& [k, v] : e.recipient.params) s += " " + k + "=" + v;
      return s;
    }
    std::string operator()(const MessageCompleteEvent& e) {
      std::string s = std::string("message ") + (e.accepted ? "accepted" : "rejected") +
                      (e.via_bdat ? " bdat" : " data") + " from <" + e.envelope.reverse_path + ">";
      for (const auto& r : e.envelope.recipients) s += " to <" + r.forward_path + ">";
      return s + " [" + e.message + "]";
    }
    std::string operator()(const ResetEvent&) { return "rset"; }
    std::string operator()(const StartTlsRequestedEvent&) { return "starttls"; }
    std::string operator()(const PlaintextInjectionEvent& e) {
      return "injection " + std::to_string(e.bytes);
    }
    std::string operator()(const AuthenticatedEvent& e) { return "auth " + e.mechanism; }
    std::string operator()(const EarlyTalkerEvent& e) { return "early " + std::to_string(e.bytes); }
    std::string operator()(const CloseRequestedEvent& e) {
      return "close " + std::to_string(static_cast<int>(e.reason)) + (e.reset ? " reset" : "");
    }
    std::string operator()(const ProtocolErrorEvent& e) {
      return "error " + std::to_string(e.code) + " " + e.command_line;
    }
    std::string operator()(const CommandReceivedEvent& e) { return "command " + e.line; }
    std::string operator()(const DecisionDelayedEvent& e) {
      return "delayed " + std::to_string(e.delay.count()) + "ms";
    }
    std::string operator()(const StalledEvent&) { return "stalled"; }
  };
  return std::visit(V{}, event);
}

struct Session {
  std::string output;
  std::vector<std::string> events;
};

void Drain(ServerSession& s, Session& run) {
  run.output += s.TakeOutput();
  while (auto e = s.NextEvent()) run.events.push_back(Describe(*e));
}

// Starts a session and feeds `chunks` in order, collecting everything.
Session Dialogue(const std::vector<std::string_view>& chunks, ServerSessionConfig config = {},
             ServerPolicy* policy = nullptr) {
  ServerSession s(std::move(config), policy);
  Session run;
  s.Start();
  Drain(s, run);
  for (std::string_view c : chunks) {
    s.Feed(c);
    Drain(s, run);
  }
  return run;
}

std::vector<std::string> Lines(const std::string& output) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < output.size()) {
    size_t e = output.find("\r\n", pos);
    if (e == std::string::npos) {
      lines.push_back(output.substr(pos));
      break;
    }
    lines.push_back(output.substr(pos, e - pos));
    pos = e + 2;
  }
  return lines;
}

// The replies, code and first line only, skipping EHLO continuation lines.
std::vector<std::string> Replies(const std::string& output) {
  std::vector<std::string> replies;
  for (const std::string& l : Lines(output)) {
    if (l.size() >= 4 && l[3] == '-') continue;
    replies.push_back(l);
  }
  return replies;
}

bool AllRepliesWellFormed(const std::string& output) {
  RepliesParseResult r = ParseReplies(output);
  return !r.error.has_value();
}

constexpr char kEhlo[] = "EHLO client.example\r\n";

TEST(ServerSession, GreetsAndQuits) {
  Session r = Dialogue({"QUIT\r\n"});
  EXPECT_EQ(r.output,
            "220 localhost ESMTP mxkit\r\n"
            "221 2.0.0 localhost Service closing transmission channel\r\n");
  EXPECT_EQ(r.events, (std::vector<std::string>{"greeting 220", "close 0"}));
}

// RFC 5321 Appendix D.1, with one recipient refused by the policy.
class RefuseGreen : public ServerPolicy {
 public:
  Decision OnRcptTo(const Envelope&, const Recipient& r) override {
    if (r.forward_path == "Green@foo.com") return Decision::Reject(550, "5.1.1", "No such user here");
    return Decision::Accept();
  }
};

TEST(ServerSession, Rfc5321AppendixD1TypicalTransaction) {
  RefuseGreen policy;
  ServerSessionConfig config;
  config.hostname = "foo.com";
  config.greeting = "Simple Mail Transfer Service Ready";
  Session r = Dialogue({"EHLO bar.com\r\n", "MAIL FROM:<Smith@bar.com>\r\n", "RCPT TO:<Jones@foo.com>\r\n",
                    "RCPT TO:<Green@foo.com>\r\n", "RCPT TO:<Brown@foo.com>\r\n", "DATA\r\n",
                    "Blah blah blah...\r\n...etc. etc. etc.\r\n.\r\n", "QUIT\r\n"},
                   config, &policy);
  EXPECT_TRUE(AllRepliesWellFormed(r.output));
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 9u) << r.output;
  EXPECT_EQ(replies[0], "220 foo.com Simple Mail Transfer Service Ready");
  EXPECT_EQ(replies[1].substr(0, 4), "250 ");  // last EHLO line
  EXPECT_EQ(std::vector<std::string>(replies.begin() + 2, replies.end()),
            (std::vector<std::string>{
                "250 2.1.0 Sender OK", "250 2.1.5 Recipient OK", "550 5.1.1 No such user here",
                "250 2.1.5 Recipient OK", "354 End data with <CR><LF>.<CR><LF>",
                "250 2.0.0 OK: message accepted",
                "221 2.0.0 foo.com Service closing transmission channel"}));
  EXPECT_NE(r.output.find("250-foo.com greets bar.com\r\n"), std::string::npos);
  EXPECT_NE(r.output.find("PIPELINING\r\n"), std::string::npos);
  EXPECT_NE(r.output.find("SIZE 10485760\r\n"), std::string::npos);
  EXPECT_EQ(r.events, (std::vector<std::string>{
                          "greeting 220", "ehlo bar.com", "mail <Smith@bar.com>",
                          "rcpt <Jones@foo.com>", "rcpt <Brown@foo.com>",
                          "message accepted data from <Smith@bar.com> to <Jones@foo.com> to "
                          "<Brown@foo.com> [Blah blah blah...\r\n..etc. etc. etc.\r\n]",
                          "close 0"}));
}

TEST(ServerSession, Rfc5321AppendixD2AbortedTransaction) {
  RefuseGreen policy;
  Session r = Dialogue({"EHLO bar.com\r\n", "MAIL FROM:<Smith@bar.com>\r\n", "RCPT TO:<Jones@foo.com>\r\n",
                    "RCPT TO:<Green@foo.com>\r\n", "RSET\r\n", "QUIT\r\n"},
                   {}, &policy);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 7u);
  EXPECT_EQ(replies[4], "550 5.1.1 No such user here");
  EXPECT_EQ(replies[5], "250 2.0.0 OK");
  EXPECT_EQ(r.events[4], "rset");
}

TEST(ServerSession, Rfc5321AppendixD3RelayedMailKeepsMessageBytes) {
  const std::string message =
      "Received: from bar.com by foo.com ; Thu, 21 May 1998\r\n"
      "    05:33:29 -0700\r\n"
      "Date: Thu, 21 May 1998 05:33:22 -0700\r\n"
      "From: John Q. Public <JQP@bar.com>\r\n"
      "Subject: The Next Meeting of the Board\r\n"
      "To: Jones@xyz.com\r\n"
      "\r\n"
      "Bill:\r\n"
      "..leading dot is unstuffed\r\n";
  ServerSession s({}, nullptr);
  s.Start();
  s.Feed("EHLO foo.com\r\nMAIL FROM:<JQP@bar.com>\r\nRCPT TO:<Jones@XYZ.COM>\r\nDATA\r\n");
  s.Feed(message + ".\r\nQUIT\r\n");
  Session r;
  Drain(s, r);
  ASSERT_EQ(r.events.size(), 6u);
  std::string unstuffed = message;
  unstuffed.replace(unstuffed.find("..leading"), 2, ".");
  EXPECT_EQ(r.events[4], "message accepted data from <JQP@bar.com> to <Jones@XYZ.COM> [" +
                             unstuffed + "]");
}

// RFC 2920 §3.1 example: the whole transaction in two writes.
const char kPipelined[] =
    "EHLO dbc.mtview.ca.us\r\n"
    "MAIL FROM:<mrose@dbc.mtview.ca.us>\r\n"
    "RCPT TO:<ned@innosoft.com>\r\n"
    "RCPT TO:<dan@innosoft.com>\r\n"
    "RCPT TO:<kvc@innosoft.com>\r\n"
    "DATA\r\n"
    "Subject: hi\r\n\r\nbody\r\n.\r\n"
    "MAIL FROM:<>\r\n"
    "RCPT TO:<x@y.example> NOTIFY=NEVER\r\n"
    "BDAT 9\r\nabc\r\nQUITBDAT 0 LAST\r\n"
    "RSET\r\n"
    "QUIT\r\n";

TEST(ServerSession, PipelinedCommandsGetBatchedRepliesInOrder) {
  ServerSessionConfig config;
  config.extensions.chunking = true;
  config.extensions.dsn = true;
  Session r = Dialogue({kPipelined}, config);
  EXPECT_TRUE(AllRepliesWellFormed(r.output));
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 14u) << r.output;
  EXPECT_EQ(replies[5], "250 2.1.5 Recipient OK");
  EXPECT_EQ(replies[6], "354 End data with <CR><LF>.<CR><LF>");
  EXPECT_EQ(replies[7], "250 2.0.0 OK: message accepted");
  EXPECT_EQ(replies[10], "250 2.0.0 Chunk received, 9 octets so far");
  EXPECT_EQ(replies[11], "250 2.0.0 OK: message accepted");
  EXPECT_EQ(replies[12], "250 2.0.0 OK");
  EXPECT_EQ(r.events[8], "rcpt <x@y.example> NOTIFY=NEVER");
  // "QUIT" inside the chunk is content, not a command.
  EXPECT_EQ(r.events[9], "message accepted bdat from <> to <x@y.example> [abc\r\nQUIT]");
}

TEST(ServerSession, EverySplitPointGivesIdenticalRepliesAndEvents) {
  ServerSessionConfig config;
  config.extensions.chunking = true;
  config.extensions.dsn = true;
  const std::string input = kPipelined;
  Session whole = Dialogue({input}, config);
  for (size_t i = 0; i <= input.size(); ++i) {
    std::string_view v(input);
    Session split = Dialogue({v.substr(0, i), v.substr(i)}, config);
    ASSERT_EQ(split.output, whole.output) << "split at " << i;
    ASSERT_EQ(split.events, whole.events) << "split at " << i;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < input.size(); ++i) bytes.push_back(std::string_view(input).substr(i, 1));
  Session bytewise = Dialogue(bytes, config);
  EXPECT_EQ(bytewise.output, whole.output);
  EXPECT_EQ(bytewise.events, whole.events);
}

TEST(ServerSession, DiscardsPlaintextPipelinedAfterStarttls) {
  ServerSessionConfig config;
  config.extensions.starttls = true;
  ServerSession s(config);
  s.Start();
  s.Feed(kEhlo);
  Session r;
  Drain(s, r);
  EXPECT_NE(r.output.find("250-STARTTLS\r\n"), std::string::npos);
  // CVE-2011-0411: the injected MAIL must never be executed.
  s.Feed("STARTTLS\r\nMAIL FROM:<attacker@evil.example>\r\n");
  s.Feed("RCPT TO:<x@y.example>\r\n");
  Session tls;
  Drain(s, tls);
  EXPECT_EQ(tls.output, "220 2.0.0 Ready to start TLS\r\n");
  EXPECT_EQ(tls.events, (std::vector<std::string>{"starttls", "injection 35", "injection 23"}));
  EXPECT_EQ(s.state(), ServerState::kAwaitingTls);
  EXPECT_FALSE(s.wants_input());

  s.OnTlsEstablished();
  EXPECT_TRUE(s.tls_active());
  // RFC 3207 §4.2: EHLO must be sent again; no transaction carried over.
  s.Feed("MAIL FROM:<a@b.example>\r\n");
  s.Feed(kEhlo);
  Session after;
  Drain(s, after);
  EXPECT_EQ(Replies(after.output)[0], "503 5.5.1 Send HELO/EHLO first");
  EXPECT_EQ(after.output.find("STARTTLS"), std::string::npos);
  s.Feed("STARTTLS\r\n");
  Session again;
  Drain(s, again);
  EXPECT_EQ(again.output, "503 5.5.1 TLS already active\r\n");
}

// Answers STARTTLS with a fixed decision: a receiver that advertises
// STARTTLS and then refuses it (tls/receiver_profile.h refuse-454/-502).
class StartTlsAnswer : public ServerPolicy {
 public:
  explicit StartTlsAnswer(Decision d) : d_(std::move(d)) {}
  Decision OnStartTls() override {
    ++calls;
    return d_;
  }
  int calls = 0;

 private:
  Decision d_;
};

TEST(ServerSession, StarttlsRefusedByPolicyKeepsThePlaintextSessionGoing) {
  struct Row {
    Decision decision;
    std::string reply;
  };
  const std::vector<Row> rows = {
      {Decision::Reject(454, "4.7.0", "TLS not available due to temporary reason"),
       "454 4.7.0 TLS not available due to temporary reason"},
      {Decision::Reject(502, "5.5.1", "Command not implemented"),
       "502 5.5.1 Command not implemented"},
  };
  for (const Row& row : rows) {
    ServerSessionConfig config;
    config.extensions.starttls = true;
    StartTlsAnswer policy(row.decision);
    Session r = Dialogue({kEhlo, "STARTTLS\r\nMAIL FROM:<a@b.example>\r\n"}, config, &policy);
    EXPECT_NE(r.output.find("250-STARTTLS\r\n"), std::string::npos) << row.reply;
    const std::vector<std::string> replies = Replies(r.output);
    ASSERT_EQ(replies.size(), 4u) << r.output;
    EXPECT_EQ(replies[2], row.reply);
    // Refused, so the pipelined MAIL is an ordinary plaintext command.
    EXPECT_EQ(replies[3], "250 2.1.0 Sender OK");
    EXPECT_EQ(policy.calls, 1);
    EXPECT_EQ(std::count(r.events.begin(), r.events.end(), "starttls"), 0);
  }
}

TEST(ServerSession, StarttlsPolicyIsNotAskedWhenTheSessionWouldRefuseAnyway) {
  ServerSessionConfig config;
  config.extensions.starttls = true;
  StartTlsAnswer policy(Decision::Accept());
  Session r = Dialogue({"STARTTLS\r\n", kEhlo, "MAIL FROM:<a@b.example>\r\n", "STARTTLS\r\n"},
                       config, &policy);
  const std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 5u) << r.output;
  EXPECT_EQ(replies[1], "503 5.5.1 Send EHLO first");
  EXPECT_EQ(replies[4], "503 5.5.1 STARTTLS inside a mail transaction");
  EXPECT_EQ(policy.calls, 0);
}

TEST(ServerSession, DeferredStarttlsDiscardsWhatWasPipelinedWhileItWaited) {
  ServerSessionConfig config;
  config.extensions.starttls = true;
  StartTlsAnswer policy(Decision::Defer());
  ServerSession s(config, &policy);
  Session r;
  s.Start();
  s.Feed(kEhlo);
  s.Feed("STARTTLS\r\nRSET\r\n");
  Drain(s, r);
  EXPECT_EQ(s.decision_point(), DecisionPoint::kStartTls);
  s.Feed("NOOP\r\n");
  s.Decide(Decision::Accept());
  Session after;
  Drain(s, after);
  EXPECT_EQ(after.output, "220 2.0.0 Ready to start TLS\r\n");
  // RSET and NOOP were sent before the handshake: neither is answered.
  EXPECT_EQ(after.events, (std::vector<std::string>{"starttls", "injection 12"}));
  EXPECT_EQ(s.state(), ServerState::kAwaitingTls);
}

TEST(ServerSession, ImplicitTlsIsActiveFromTheStartAndOffersNoStarttls) {
  ServerSessionConfig config;
  config.extensions.starttls = true;
  config.implicit_tls = true;
  StartTlsAnswer policy(Decision::Accept());
  ServerSession s(config, &policy);
  EXPECT_TRUE(s.tls_active());
  Session r;
  s.Start();
  s.Feed(kEhlo);
  s.Feed("STARTTLS\r\n");
  Drain(s, r);
  EXPECT_EQ(r.output.find("STARTTLS"), std::string::npos) << r.output;
  EXPECT_EQ(Replies(r.output).back(), "503 5.5.1 TLS already active");
  EXPECT_EQ(policy.calls, 0);
  EXPECT_TRUE(s.tls_active());
}

TEST(ServerSession, StarttlsNotOfferedIsNotImplemented) {
  Session r = Dialogue({kEhlo, "STARTTLS\r\n"});
  EXPECT_EQ(Replies(r.output).back().substr(0, 4), "502 ");
}

TEST(ServerSession, SequencingErrorsGetTheRfc5321Codes) {
  Session r = Dialogue({"MAIL FROM:<a@b.example>\r\n", kEhlo, "RCPT TO:<c@d.example>\r\n",
                    "DATA\r\n", "MAIL FROM:<a@b.example>\r\n", "MAIL FROM:<a@b.example>\r\n",
                    "DATA\r\n", "FOO\r\n", "MAIL FROM:a@b.example\r\n"});
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 10u) << r.output;
  EXPECT_EQ(replies[1], "503 5.5.1 Send HELO/EHLO first");
  EXPECT_EQ(replies[3], "503 5.5.1 Need MAIL before RCPT");
  EXPECT_EQ(replies[4], "503 5.5.1 Need MAIL command");
  EXPECT_EQ(replies[5], "250 2.1.0 Sender OK");
  EXPECT_EQ(replies[6], "503 5.5.1 Nested MAIL command");
  EXPECT_EQ(replies[7], "554 5.5.1 No valid recipients");
  EXPECT_EQ(replies[8].substr(0, 4), "500 ");
  EXPECT_EQ(replies[9].substr(0, 4), "501 ");
}

TEST(ServerSession, NoopVrfyExpnHelpRset) {
  Session r = Dialogue({"NOOP\r\nVRFY postmaster\r\nEXPN staff\r\nHELP\r\nRSET\r\n"});
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 6u);
  EXPECT_EQ(replies[1], "250 2.0.0 OK");
  EXPECT_EQ(replies[2].substr(0, 10), "252 2.5.0 ");
  EXPECT_EQ(replies[3], "502 5.5.1 EXPN not supported");
  EXPECT_EQ(replies[4].substr(0, 10), "214 2.0.0 ");
  EXPECT_EQ(replies[5], "250 2.0.0 OK");
}

TEST(ServerSession, WithoutEnhancedStatusCodesRepliesCarryNone) {
  ServerSessionConfig config;
  config.extensions.enhanced_status_codes = false;
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"}, config);
  std::vector<std::string> replies = Replies(r.output);
  EXPECT_EQ(replies[2], "250 Sender OK");
  EXPECT_EQ(replies[3], "250 Recipient OK");
  EXPECT_EQ(r.output.find("ENHANCEDSTATUSCODES"), std::string::npos);
}

TEST(ServerSession, RefusesRecipientsBeyondTheLimitWith452) {
  ServerSessionConfig config;
  config.limits.max_recipients = 100;
  std::string in = std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\n";
  for (int i = 0; i < 101; ++i) in += "RCPT TO:<r" + std::to_string(i) + "@d.example>\r\n";
  Session r = Dialogue({in}, config);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 104u);
  EXPECT_EQ(replies[102], "250 2.1.5 Recipient OK");
  // RFC 5321 §4.5.3.1.10.
  EXPECT_EQ(replies[103], "452 4.5.3 Too many recipients");
}

TEST(ServerSession, RefusesOversizedMessages) {
  ServerSessionConfig config;
  config.limits.max_message_size = 10;
  config.extensions.chunking = true;
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example> SIZE=11\r\n",
                    "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n",
                    "0123456789abc\r\n.\r\n",
                    "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 11 LAST\r\n0123456789a",
                    "NOOP\r\n"},
                   config);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 11u) << r.output;
  EXPECT_EQ(replies[2], "552 5.3.4 Message size exceeds fixed maximum message size");
  EXPECT_EQ(replies[6].substr(0, 10), "552 5.3.4 ");
  EXPECT_EQ(replies[9], "552 5.3.4 Message size exceeds fixed maximum message size");
  EXPECT_EQ(replies[10], "250 2.0.0 OK");
}

TEST(ServerSession, LineTooLongIs500AndTheSessionResynchronises) {
  std::string longline = "NOOP " + std::string(2000, 'x') + "\r\n";
  Session r = Dialogue({longline.substr(0, 1000), longline.substr(1000), "NOOP\r\n"});
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[1], "500 5.5.2 Line too long");
  EXPECT_EQ(replies[2], "250 2.0.0 OK");
}

TEST(ServerSession, ClosesWith421AfterTooManyErrors) {
  ServerSessionConfig config;
  config.max_protocol_errors = 3;
  Session r = Dialogue({"FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n"}, config);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 5u);
  EXPECT_EQ(replies[4].substr(0, 10), "421 4.7.0 ");
  EXPECT_EQ(r.events.back(), "close 1");
}

TEST(ServerSession, BareLfInsideACommandLineIsRefused) {
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\nRCPT TO:<c@d.example>\r\n"});
  EXPECT_EQ(Replies(r.output).back().substr(0, 1), "5");
  EXPECT_EQ(r.events.back().substr(0, 6), "error ");
}

TEST(ServerSession, StrictDataRejectsBareLfSmuggling) {
  const std::string smuggle =
      "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
      "legit\r\n\n.\nMAIL FROM:<admin@b.example>\r\n.\r\n";
  Session strict = Dialogue({kEhlo, smuggle});
  EXPECT_EQ(Replies(strict.output).back().substr(0, 4), "550 ");
  for (const auto& e : strict.events) EXPECT_EQ(e.find("admin"), std::string::npos);

  ServerSessionConfig lenient;
  lenient.data_bare_line_endings = BareLineEndingPolicy::kAcceptBareLfAsLineEnd;
  Session vulnerable = Dialogue({kEhlo, smuggle}, lenient);
  // The emulated vulnerable server ends the data early and runs the
  // smuggled MAIL FROM as a command: exactly what fakemx must be able to show.
  bool saw_admin = false;
  for (const auto& e : vulnerable.events) saw_admin |= e == "mail <admin@b.example>";
  EXPECT_TRUE(saw_admin);
}

TEST(ServerSession, BinaryMimeRequiresBdat) {
  ServerSessionConfig config;
  config.extensions.chunking = true;
  config.extensions.binarymime = true;
  const std::string binary("\0\xff\r", 3);
  Session r = Dialogue({kEhlo,
                        "MAIL FROM:<a@b.example> BODY=BINARYMIME\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
                        "BDAT 3 LAST\r\n",
                        binary},
                       config);
  std::vector<std::string> replies = Replies(r.output);
  EXPECT_EQ(replies[4], "503 5.5.1 BINARYMIME requires BDAT");
  EXPECT_EQ(replies[5], "250 2.0.0 OK: message accepted");
  EXPECT_EQ(r.events.back(), "message accepted bdat from <a@b.example> to <c@d.example> [" + binary + "]");
}

TEST(ServerSession, BdatWithoutChunkingIsNotImplemented) {
  Session r = Dialogue({kEhlo, "BDAT 3 LAST\r\n"});
  EXPECT_EQ(Replies(r.output).back().substr(0, 4), "502 ");
}

TEST(ServerSession, BdatAfterRefusedMailIsConsumedAndRefused) {
  ServerSessionConfig config;
  config.extensions.chunking = true;
  Session r = Dialogue({kEhlo, "BDAT 6\r\nQUIT\r\nBDAT 0 LAST\r\nNOOP\r\n"}, config);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 5u) << r.output;
  EXPECT_EQ(replies[2], "503 5.5.1 Need MAIL command");
  EXPECT_EQ(replies[3], "503 5.5.1 Need MAIL command");
  EXPECT_EQ(replies[4], "250 2.0.0 OK");
}

// A policy that defers every RCPT, as fakemx does for a tarpit or an async check.
class DeferRcpt : public ServerPolicy {
 public:
  Decision OnRcptTo(const Envelope&, const Recipient&) override { return Decision::Defer(); }
};

TEST(ServerSession, DeferredDecisionHoldsLaterPipelinedCommands) {
  DeferRcpt policy;
  ServerSession s({}, &policy);
  s.Start();
  s.Feed(std::string(kEhlo) +
         "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nRCPT TO:<e@f.example>\r\nDATA\r\n");
  Session r;
  Drain(s, r);
  EXPECT_EQ(Replies(r.output).back(), "250 2.1.0 Sender OK");
  EXPECT_EQ(s.state(), ServerState::kAwaitingDecision);
  EXPECT_EQ(s.decision_point(), DecisionPoint::kRcptTo);
  EXPECT_FALSE(s.wants_input());
  s.Decide(Decision::Reject(450, "4.7.1", "Greylisted, try again later"));
  EXPECT_EQ(s.TakeOutput(), "450 4.7.1 Greylisted, try again later\r\n");
  EXPECT_EQ(s.decision_point(), DecisionPoint::kRcptTo);
  s.Decide(Decision::Accept());
  EXPECT_EQ(s.TakeOutput(),
            "250 2.1.5 Recipient OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  EXPECT_EQ(s.state(), ServerState::kDataContent);
}

class DisconnectOnMail : public ServerPolicy {
 public:
  Decision OnMailFrom(const Envelope&) override { return Decision::Disconnect(); }
};

TEST(ServerSession, DisconnectDecisionSends421AndCloses) {
  DisconnectOnMail policy;
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\nNOOP\r\n"}, {}, &policy);
  EXPECT_EQ(Replies(r.output).back(), "421 4.3.2 Service not available, closing channel");
  EXPECT_EQ(r.events.back(), "close 2");
}

class RefuseService : public ServerPolicy {
 public:
  Decision OnConnect() override { return Decision::Reject(554, "", "No SMTP service here"); }
};

TEST(ServerSession, RefusedGreetingServesOnlyQuit) {
  RefuseService policy;
  Session r = Dialogue({kEhlo, "QUIT\r\n"}, {}, &policy);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0], "554 localhost No SMTP service here");
  EXPECT_EQ(replies[1].substr(0, 4), "503 ");
  EXPECT_EQ(replies[2].substr(0, 4), "221 ");
}

class DeferGreeting : public ServerPolicy {
 public:
  Decision OnConnect() override { return Decision::Defer(); }
};

TEST(ServerSession, EarlyTalkerIsReportedAndServedAfterTheGreeting) {
  DeferGreeting policy;
  ServerSession s({}, &policy);
  s.Start();
  s.Feed("NOOP\r\n");
  EXPECT_EQ(s.TakeOutput(), "");
  s.Decide(Decision::Accept());
  EXPECT_EQ(s.TakeOutput(), "220 localhost ESMTP mxkit\r\n250 2.0.0 OK\r\n");
  Session r;
  Drain(s, r);
  EXPECT_EQ(r.events, (std::vector<std::string>{"early 6", "greeting 220"}));
}

class PlainAuth : public ServerPolicy {
 public:
  Decision OnAuth(const AuthRequest& a) override {
    if (a.responses.empty()) return Decision::Reject(334, "", "");
    if (a.responses.back() == std::string("\0user\0pass", 10)) return Decision::Accept();
    return Decision::Reject(535, "5.7.8", "Authentication credentials invalid");
  }
};

TEST(ServerSession, AuthPlainWithAndWithoutInitialResponse) {
  PlainAuth policy;
  ServerSessionConfig config;
  config.extensions.auth_mechanisms = {"PLAIN"};
  Session r = Dialogue({kEhlo, "AUTH LOGIN\r\n", "AUTH PLAIN\r\n", "AHVzZXIAd3Jvbmc=\r\n",
                    "AUTH PLAIN AHVzZXIAcGFzcw==\r\n", "AUTH PLAIN\r\n"},
                   config, &policy);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 7u) << r.output;
  EXPECT_EQ(replies[2], "504 5.5.4 Unrecognized authentication type");
  EXPECT_EQ(replies[3], "334 ");
  EXPECT_EQ(replies[4], "535 5.7.8 Authentication credentials invalid");
  EXPECT_EQ(replies[5], "235 2.7.0 Authentication successful");
  EXPECT_EQ(replies[6], "503 5.5.1 Already authenticated");
}

TEST(ServerSession, AuthRefusedByDefaultPolicy) {
  ServerSessionConfig config;
  config.extensions.auth_mechanisms = {"PLAIN"};
  Session r = Dialogue({kEhlo, "AUTH PLAIN AHVzZXIAcGFzcw==\r\n"}, config);
  EXPECT_EQ(Replies(r.output).back(), "535 5.7.8 Authentication credentials invalid");
}

TEST(ServerSession, PolicyTextCannotInjectReplyLines) {
  class Evil : public ServerPolicy {
   public:
    Decision OnMailFrom(const Envelope&) override {
      return Decision::Reject(550, "5.7.1", "no\r\n250 fake");
    }
  } policy;
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\n"}, {}, &policy);
  EXPECT_EQ(Replies(r.output).back(), "550 5.7.1 no??250 fake");
}

TEST(ServerSession, ReplyTextSpellsTheSectionSignAndReplacesOtherNonAscii) {
  class Cites : public ServerPolicy {
   public:
    Decision OnMailFrom(const Envelope&) override {
      return Decision::Reject(550, "5.7.1", "see RFC 5321 \xC2\xA7" "4.1.2, caf\xC3\xA9 \xC2");
    }
  } policy;
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\n"}, {}, &policy);
  EXPECT_EQ(Replies(r.output).back(), "550 5.7.1 see RFC 5321 section 4.1.2, caf?? ?");
}

// Reply text is cut at 400 octets (kMaxReplyText, well inside RFC 5321
// §4.5.3.1.5's 512-octet reply line), counted after sanitizing (a section
// sign's spelling is cut too). Rows: policy text, the reply line sent.
TEST(ServerSession, ReplyTextIsBoundedAfterSanitizing) {
  struct Row {
    std::string text;
    std::string want;
  };
  const std::vector<Row> rows = {
      {std::string(1000, 'x'), "550 5.7.1 " + std::string(400, 'x')},
      {std::string(399, 'x') + "\xC2\xA7" + "tail", "550 5.7.1 " + std::string(399, 'x') + "s"},
      {std::string(398, 'x') + "\x01\x02\x03", "550 5.7.1 " + std::string(398, 'x') + "??"},
      {"\t tab", "550 5.7.1 \t tab"},
  };
  for (const Row& row : rows) {
    class Refuses : public ServerPolicy {
     public:
      explicit Refuses(std::string text) : text_(std::move(text)) {}
      Decision OnMailFrom(const Envelope&) override {
        return Decision::Reject(550, "5.7.1", text_);
      }
      std::string text_;
    } policy(row.text);
    Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\n"}, {}, &policy);
    EXPECT_EQ(Replies(r.output).back(), row.want) << row.text.size();
  }
  // Without ENHANCEDSTATUSCODES (RFC 2034 §4) no enhanced code is written.
  ServerSessionConfig plain;
  plain.extensions.enhanced_status_codes = false;
  class Refuses : public ServerPolicy {
   public:
    Decision OnMailFrom(const Envelope&) override { return Decision::Reject(550, "", "no"); }
  } policy;
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\n"}, plain, &policy);
  EXPECT_EQ(Replies(r.output).back(), "550 no");
}

TEST(ServerSession, ParserErrorRepliesCiteSectionsInAscii) {
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>XFOO\r\n"});
  const std::string last = Replies(r.output).back();
  EXPECT_NE(last.find("(RFC 5321 section 4.1.2)"), std::string::npos) << last;
  EXPECT_EQ(last.find('?'), std::string::npos) << last;
}

TEST(ServerSession, UnknownOrUnofferedParametersGet555) {
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example> XFOO=1\r\n",
                        "MAIL FROM:<a@b.example> SMTPUTF8\r\n"});
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[2].substr(0, 4), "555 ");
  EXPECT_EQ(replies[3].substr(0, 4), "555 ");  // SMTPUTF8 not offered by default
}

TEST(ServerSession, HeloDisablesServiceExtensions) {
  Session r = Dialogue({"HELO client.example\r\n", "MAIL FROM:<a@b.example> SIZE=10\r\n",
                        "MAIL FROM:<a@b.example>\r\n"});
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[1], "250 localhost greets client.example");
  EXPECT_EQ(replies[2].substr(0, 4), "555 ");
  EXPECT_EQ(replies[3], "250 2.1.0 Sender OK");
}

TEST(ServerSession, ReportsWhetherATransactionIsOpen) {
  ServerSession s({});
  s.Start();
  s.Feed(kEhlo);
  EXPECT_FALSE(s.in_transaction());
  s.Feed("MAIL FROM:<>\r\n");
  EXPECT_TRUE(s.in_transaction());
  s.Feed("RSET\r\n");
  EXPECT_FALSE(s.in_transaction());
}

TEST(ServerSession, AbortSendsTheFinalReplyAndCloses) {
  ServerSession s({});
  s.Start();
  s.Feed(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\n");
  s.TakeOutput();
  s.Abort();
  EXPECT_EQ(s.TakeOutput(), "421 4.4.2 localhost Error: timeout exceeded\r\n");
  EXPECT_EQ(s.state(), ServerState::kClosed);
  s.Feed("QUIT\r\n");
  EXPECT_EQ(s.TakeOutput(), "");
}

class RecordBdat : public ServerPolicy {
 public:
  Decision OnMessage(const Envelope& e, std::string_view) override {
    via_bdat.push_back(e.via_bdat);
    return Decision::Accept();
  }
  std::vector<bool> via_bdat;
};

TEST(ServerSession, PolicySeesWhichVerbCarriedTheMessage) {
  RecordBdat policy;
  ServerSessionConfig config;
  config.extensions.chunking = true;
  Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 1 LAST\r\nx",
            "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nx\r\n.\r\n"},
           config, &policy);
  EXPECT_EQ(policy.via_bdat, (std::vector<bool>{true, false}));
}

// Each switch of CommandLeniencies, set in ServerSessionConfig, changes the
// reply to the line it relaxes; off, the line is refused as RFC 5321 says.
TEST(ServerSession, CommandLeniencySwitchesReachTheParser) {
  const std::string long_auth = "AUTH PLAIN " + std::string(2000, 'A') + "\r\n";
  struct Row {
    const char* name;
    bool CommandLeniencies::*leniency;
    std::string prefix;  // sent before `line`
    std::string line;
    std::string strict_reply;
    std::string lenient_reply;
  };
  const Row rows[] = {
      {"space before path", &CommandLeniencies::allow_space_before_path, kEhlo,
       "MAIL FROM: <a@b.example>\r\n", "501", "250 2.1.0 Sender OK"},
      {"missing angle brackets", &CommandLeniencies::allow_missing_angle_brackets, kEhlo,
       "MAIL FROM:a@b.example\r\n", "501", "250 2.1.0 Sender OK"},
      {"HELO address literal", &CommandLeniencies::allow_helo_address_literal, "",
       "HELO [192.0.2.1]\r\n", "501", "250 localhost greets [192.0.2.1]"},
      // Framed and parsed in full, so the (default) policy judges it.
      {"long AUTH line", &CommandLeniencies::allow_long_auth_line, kEhlo, long_auth,
       "500 5.5.2 Line too long", "535 5.7.8 Authentication credentials invalid"},
  };
  for (const Row& row : rows) {
    ServerSessionConfig config;
    config.extensions.auth_mechanisms = {"PLAIN"};
    Session strict = Dialogue({row.prefix, row.line}, config);
    EXPECT_EQ(Replies(strict.output).back().substr(0, row.strict_reply.size()), row.strict_reply)
        << row.name;
    config.command_leniencies.*row.leniency = true;
    Session lenient = Dialogue({row.prefix, row.line}, config);
    EXPECT_EQ(Replies(lenient.output).back(), row.lenient_reply) << row.name;
  }
}

TEST(ServerSession, NulPolicyReachesTheDataDecoder) {
  using namespace std::string_literals;
  const std::string mail = std::string(kEhlo) +
                           "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n" +
                           "a\0b\r\n.\r\n"s;
  Session strict = Dialogue({mail});
  EXPECT_EQ(Replies(strict.output).back().substr(0, 10), "550 5.5.2 ");
  ServerSessionConfig config;
  config.data_nul = NulPolicy::kPassThrough;
  Session lenient = Dialogue({mail}, config);
  EXPECT_EQ(lenient.events.back(),
            "message accepted data from <a@b.example> to <c@d.example> [a\0b\r\n]"s);
}

// A relay's message whose text holds an ending the relay did not see as the
// end of data, followed by a smuggled transaction. What the session makes of
// it under each policy of smtp/data.h: how many messages it accepts and
// whether the smuggled MAIL FROM ran as a command.
TEST(ServerSession, EachBareLineEndingPolicyReproducesItsServer) {
  using P = BareLineEndingPolicy;
  const std::string smuggled =
      "MAIL FROM:<admin@bank.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
      "Subject: smuggled\r\n\r\nspoofed\r\n.\r\n";
  struct Row {
    std::string ending;
    P policy;
    int accepted;  // 0: the whole data refused (550), 1: one message, 2: smuggled too
  };
  const Row rows[] = {
      {"\n.\n", P::kReject, 0},           {"\n.\n", P::kPassThrough, 1},
      {"\n.\n", P::kAcceptBareLfAsLineEnd, 2}, {"\n.\n", P::kAcceptBareCrAsLineEnd, 1},
      {"\n.\n", P::kAcceptBareCrOrLfAsLineEnd, 2},
      {"\r\n.\n", P::kReject, 0},         {"\r\n.\n", P::kPassThrough, 1},
      {"\r\n.\n", P::kAcceptBareLfAsLineEnd, 2}, {"\r\n.\n", P::kAcceptBareCrAsLineEnd, 1},
      {"\r\n.\n", P::kAcceptBareCrOrLfAsLineEnd, 2},
      {"\r.\r\n", P::kReject, 0},         {"\r.\r\n", P::kPassThrough, 1},
      {"\r.\r\n", P::kAcceptBareLfAsLineEnd, 1}, {"\r.\r\n", P::kAcceptBareCrAsLineEnd, 2},
      {"\r.\r\n", P::kAcceptBareCrOrLfAsLineEnd, 2},
  };
  for (const Row& row : rows) {
    ServerSessionConfig config;
    config.data_bare_line_endings = row.policy;
    const std::string input = std::string(kEhlo) +
                              "MAIL FROM:<relay@a.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
                              "Subject: legit\r\n\r\nlegit" +
                              row.ending + smuggled;
    Session r = Dialogue({input}, config);
    int accepted = 0;
    bool smuggled_ran = false;
    for (const std::string& e : r.events) {
      accepted += e.rfind("message accepted", 0) == 0;
      smuggled_ran |= e == "mail <admin@bank.example>";
    }
    const std::string where = "policy " + std::to_string(static_cast<int>(row.policy)) +
                              " ending " + std::to_string(&row - rows);
    EXPECT_EQ(accepted, row.accepted) << where << "\n" << r.output;
    EXPECT_EQ(smuggled_ran, row.accepted == 2) << where;
    if (row.accepted == 0) {
      EXPECT_EQ(Replies(r.output).back().substr(0, 4), "550 ") << where;
    }
  }
}

TEST(ServerSession, LenientDialogueIsTheSameAtEverySplitPoint) {
  ServerSessionConfig config;
  config.command_leniencies.allow_space_before_path = true;
  config.command_leniencies.allow_missing_angle_brackets = true;
  config.data_bare_line_endings = BareLineEndingPolicy::kAcceptBareCrOrLfAsLineEnd;
  const std::string input = std::string(kEhlo) +
                            "MAIL FROM: <a@b.example>\r\nRCPT TO:c@d.example\r\nDATA\r\n"
                            "x\r\n.\nMAIL FROM:<admin@b.example>\r\nRCPT TO:<c@d.example>\r\n"
                            "DATA\r\ny\r.\r\nQUIT\r\n";
  Session whole = Dialogue({input}, config);
  ASSERT_EQ(std::count(whole.events.begin(), whole.events.end(), "mail <admin@b.example>"), 1);
  for (size_t i = 0; i <= input.size(); ++i) {
    for (size_t j = i; j <= input.size(); j += 7) {
      std::string_view v(input);
      Session split = Dialogue({v.substr(0, i), v.substr(i, j - i), v.substr(j)}, config);
      ASSERT_EQ(split.output, whole.output) << "split at " << i << ", " << j;
      ASSERT_EQ(split.events, whole.events) << "split at " << i << ", " << j;
    }
  }
}

// DATA content is decoded from the bytes given to Feed(): only the partial
// command lines at read boundaries are copied, never the megabyte of content
// that follows them.
TEST(ServerSession, LargeDataIsNotBufferedOnItsWay) {
  const std::string line(998, 'x');
  std::string content;
  while (content.size() < (1u << 20)) content += line + "\r\n";
  ServerSession s({});
  s.Start();
  Session r;
  // Reads that end inside "DATA" and inside "QUIT".
  s.Feed(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDA");
  Drain(s, r);
  const std::string middle = "TA\r\n" + content + ".\r\nQU";
  constexpr size_t kRead = 64 * 1024;
  for (size_t off = 0; off < middle.size(); off += kRead) {
    s.Feed(std::string_view(middle).substr(off, kRead));
    Drain(s, r);
  }
  s.Feed("IT\r\n");
  Drain(s, r);
  // "DA", then "TA\r\n" to complete the line; "QU", then "IT\r\n".
  EXPECT_EQ(s.input_bytes_buffered(), 12u);
  EXPECT_EQ(r.events.back(), "close 0");
  ASSERT_GE(r.events.size(), 2u);
  EXPECT_TRUE(r.events[r.events.size() - 2] ==
              "message accepted data from <a@b.example> to <c@d.example> [" + content + "]");
  EXPECT_EQ(Replies(r.output).back(), "221 2.0.0 localhost Service closing transmission channel");

  // The counter does count: input behind a deferred decision must be kept.
  DeferRcpt policy;
  ServerSession blocked({}, &policy);
  blocked.Start();
  blocked.Feed(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
  blocked.Feed(content.substr(0, 4096));
  EXPECT_GE(blocked.input_bytes_buffered(), 4096u);
}

// RFC 3030 §2: a chunk is its declared octets. Neither DATA policy applies:
// under the strict defaults a bare LF, a "\n.\n" and a NUL are kept as sent
// and end nothing.
TEST(ServerSession, BdatContentIsNotSubjectToTheDataPolicies) {
  using namespace std::string_literals;
  ServerSessionConfig config;
  config.extensions.chunking = true;
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"
                               "BDAT 7 LAST\r\na\n.\n\0b\r"s + "NOOP\r\n"},
                       config);
  EXPECT_EQ(r.events.back(),
            "message accepted bdat from <a@b.example> to <c@d.example> [a\n.\n\0b\r]"s);
  EXPECT_EQ(Replies(r.output).back(), "250 2.0.0 OK");
}


// ---- Issue 9: OnCommand, replies of any shape, delays, stall, reset -------

using std::chrono::milliseconds;

// Answers each command by its verb from a table and records what OnCommand
// saw; the other hooks answer from their own fields.
class Scripted : public ServerPolicy {
 public:
  Decision OnConnect() override { return connect; }
  Decision OnCommand(const CommandRequest& r) override {
    std::string seen_line = std::string(r.verb);
    if (r.tls_active) seen_line += " tls";
    if (r.in_transaction) seen_line += " txn";
    if (r.authenticated) seen_line += " auth";
    seen.push_back(seen_line);
    lines.emplace_back(r.line);
    auto it = by_verb.find(std::string(r.verb));
    return it == by_verb.end() ? Decision::Accept() : it->second;
  }
  Decision OnMailFrom(const Envelope&) override { return mail; }
  Decision OnRcptTo(const Envelope&, const Recipient&) override { return rcpt; }
  Decision OnDataStart(const Envelope&) override { return data; }
  Decision OnAuth(const AuthRequest& a) override {
    if (a.responses.empty()) return Decision::Reject(334, "", "");
    if (a.responses.back() == std::string("\0test\0test", 10)) return Decision::Accept();
    return Decision::Reject(535, "5.7.8", "Authentication credentials invalid");
  }
  std::optional<ServerExtensions> Extensions(bool tls_active) override {
    return tls_active ? after_tls : before_tls;
  }

  Decision connect = Decision::Accept();
  Decision mail = Decision::Accept();
  Decision rcpt = Decision::Accept();
  Decision data = Decision::Accept();
  std::map<std::string, Decision> by_verb;
  std::optional<ServerExtensions> before_tls, after_tls;
  std::vector<std::string> seen;
  std::vector<std::string> lines;
};

Decision WithLines(Decision d, std::vector<std::string> lines) {
  d.lines = std::move(lines);
  return d;
}

Decision WithDelay(Decision d, milliseconds delay) {
  d.delay = delay;
  return d;
}

// The bytes a session writes after its greeting for `input`.
std::string AfterGreeting(const Session& r) {
  size_t e = r.output.find("\r\n");
  return e == std::string::npos ? "" : r.output.substr(e + 2);
}

TEST(ServerSession, MultiLineRepliesCarryTheEnhancedCodeOnEveryLine) {
  struct Row {
    const char* name;
    std::string verb;
    Decision decision;
    bool enhanced_status_codes;
    std::string want;
  };
  const std::vector<Row> rows = {
      {"reply picks 2.0.0", "NOOP", WithLines(Decision::Reply(250, "", ""), {"a", "b", "c"}), true,
       "250-2.0.0 a\r\n250-2.0.0 b\r\n250 2.0.0 c\r\n"},
      {"reply keeps a matching code", "VRFY",
       WithLines(Decision::Reply(252, "2.1.5", ""), {"first", "last"}), true,
       "252-2.1.5 first\r\n252 2.1.5 last\r\n"},
      {"a code of another class is replaced", "RSET",
       WithLines(Decision::Reply(451, "2.1.5", ""), {"x", "y"}), true,
       "451-4.0.0 x\r\n451 4.0.0 y\r\n"},
      {"no enhanced codes when not offered", "NOOP",
       WithLines(Decision::Reply(250, "2.0.0", ""), {"a", "b"}), false, "250-a\r\n250 b\r\n"},
      {"none on a reply to EHLO (RFC 2034 section 4)", "EHLO",
       WithLines(Decision::Reply(250, "", ""), {"mx.example greets you", "PIPELINING"}), true,
       "250-mx.example greets you\r\n250 PIPELINING\r\n"},
      {"none on 3xx", "DATA", WithLines(Decision::Reply(354, "", ""), {"go", "on"}), true,
       "354-go\r\n354 on\r\n"},
      {"lines cannot inject a reply", "NOOP",
       WithLines(Decision::Reply(250, "", ""), {"a\r\n250 fake", "b\xff"}), true,
       "250-2.0.0 a??250 fake\r\n250 2.0.0 b?\r\n"},
      {"kReject with lines", "HELP", WithLines(Decision::Reject(550, "5.7.1", ""), {"no", "never"}),
       true, "550-5.7.1 no\r\n550 5.7.1 never\r\n"},
  };
  for (const Row& row : rows) {
    Scripted policy;
    policy.by_verb[row.verb] = row.decision;
    ServerSessionConfig config;
    config.extensions.enhanced_status_codes = row.enhanced_status_codes;
    Session r = Dialogue({row.verb + " x.example\r\n"}, config, &policy);
    EXPECT_EQ(AfterGreeting(r), row.want) << row.name;
    EXPECT_TRUE(AllRepliesWellFormed(r.output)) << row.name;
  }
}

TEST(ServerSession, LinesOfAnAcceptedStepReplaceItsText) {
  Scripted policy;
  policy.mail = WithLines(Decision::Accept(), {"sender", "looks fine"});
  policy.rcpt = WithLines(Decision::Reject(550, "5.1.1", ""), {"no such", "user"});
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"}, {},
                       &policy);
  EXPECT_NE(r.output.find("250-2.1.0 sender\r\n250 2.1.0 looks fine\r\n"
                          "550-5.1.1 no such\r\n550 5.1.1 user\r\n"),
            std::string::npos)
      << r.output;
}

// The garbage-replies scenario of the catalogue: each reply byte for byte.
TEST(ServerSession, RawRepliesAreSentByteForByte) {
  using namespace std::string_literals;
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"EHLO", "250-mx.example.test\r\n250-PIPELINING\r\n251 broken continuation\r\n"},
      {"HELO", "hello there\r\n"},
      {"MAIL", "25\r\n"},
      {"RCPT", "250 Ok\n"},
      {"DATA", "999 what\r\n"},
      {"NOOP", "\x00\xff\r\n"s},
      {"QUIT", "221 no newline at all"},
  };
  for (const auto& [verb, raw] : rows) {
    Scripted policy;
    policy.by_verb[verb] = Decision::Raw(raw);
    Session r = Dialogue({verb + " x\r\n"}, {}, &policy);
    EXPECT_EQ(AfterGreeting(r), raw) << verb;
    EXPECT_EQ(r.events, (std::vector<std::string>{"greeting 220"})) << verb;
  }
}

TEST(ServerSession, RawOnAnAcceptedStepStillTakesTheStep) {
  Scripted policy;
  policy.mail = Decision::Accept();
  policy.mail.raw = "250 raw\n";
  ServerSession s({}, &policy);
  s.Start();
  s.Feed(std::string(kEhlo));
  s.TakeOutput();
  s.Feed("MAIL FROM:<a@b.example>\r\n");
  EXPECT_EQ(s.TakeOutput(), "250 raw\n");
  EXPECT_TRUE(s.in_transaction());
}

// What the reply to DATA is and whether the session then reads a message:
// only an accepting OnDataStart starts one, whatever bytes stand in for its
// 354; a 354 from anywhere else is only words. The server_session_fuzzer's
// go-ahead count relies on exactly this. The fuzz input
// fuzz/regressions/server_session_fuzzer/raw_reply_in_place_of_354 is the
// second row: its policy accepted DATA with the raw bytes "250 Ok\n", and the
// fuzzer, counting only "354 " lines, took the message it then read for one
// completed without a go-ahead.
TEST(ServerSession, OnlyAnAcceptedDataStartStartsAMessageWhateverItsReplySays) {
  struct Row {
    const char* name;
    Decision data;                      // OnDataStart
    std::optional<Decision> on_command;  // OnCommand for DATA
    std::string reply;                   // what DATA gets
    bool reads_message;
  };
  Decision raw_accept = Decision::Accept();
  raw_accept.raw = "250 Ok\n";
  Decision raw_reject = Decision::Reject(554, "", "");
  raw_reject.raw = "354 go ahead\r\n";
  const std::vector<Row> rows = {
      {"the session's 354", Decision::Accept(), std::nullopt,
       "354 End data with <CR><LF>.<CR><LF>\r\n", true},
      {"raw bytes in place of the 354", raw_accept, std::nullopt, "250 Ok\n", true},
      {"lines in place of its text", WithLines(Decision::Accept(), {"go", "on"}), std::nullopt,
       "354-go\r\n354 on\r\n", true},
      {"raw bytes after a delay", WithDelay(raw_accept, milliseconds(5)), std::nullopt,
       "250 Ok\n", true},
      {"a kReply 354 from OnCommand", Decision::Accept(), Decision::Reply(354, "", "go ahead"),
       "354 go ahead\r\n", false},
      {"raw 354 from OnCommand", Decision::Accept(), Decision::Raw("354 go ahead\r\n"),
       "354 go ahead\r\n", false},
      {"a refusal whose raw bytes say 354", raw_reject, std::nullopt, "354 go ahead\r\n", false},
  };
  for (const Row& row : rows) {
    Scripted policy;
    policy.data = row.data;
    if (row.on_command) policy.by_verb["DATA"] = *row.on_command;
    ServerSession s({}, &policy);
    s.Start();
    s.Feed(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n");
    Session before;
    Drain(s, before);
    s.Feed("DATA\r\n");
    if (s.decision_delayed()) s.ReleaseDelayedDecision();
    EXPECT_EQ(s.TakeOutput(), row.reply) << row.name;
    s.Feed("Subject: x\r\n\r\nbody\r\n.\r\n");
    Session after;
    Drain(s, after);
    const std::string message = "message accepted data from <a@b.example> to <c@d.example> "
                                "[Subject: x\r\n\r\nbody\r\n]";
    EXPECT_EQ(std::count(after.events.begin(), after.events.end(), message),
              row.reads_message ? 1 : 0)
        << row.name;
    if (row.reads_message) {
      EXPECT_EQ(after.output, "250 2.0.0 OK: message accepted\r\n") << row.name;
    } else {
      // The content was read as commands: four lines, four refusals.
      EXPECT_EQ(Replies(after.output).size(), 4u) << row.name << "\n" << after.output;
      EXPECT_TRUE(s.in_transaction()) << row.name;
    }
  }
}

// The first line each ReleaseDelayedDecision() writes, and the events it causes.
struct Releases {
  std::vector<std::string> first_lines;
  std::vector<std::string> events;
};

Releases ReleaseAll(ServerSession& s) {
  Releases out;
  for (int i = 0; i < 20 && s.decision_delayed(); ++i) {
    s.ReleaseDelayedDecision();
    Session step;
    Drain(s, step);
    std::vector<std::string> lines = Lines(step.output);
    out.first_lines.push_back(lines.empty() ? "" : lines.front());
    out.events.insert(out.events.end(), step.events.begin(), step.events.end());
  }
  return out;
}

TEST(ServerSession, DelayedDecisionsHoldEverythingUntilReleased) {
  // A tarpit: the greeting and every command wait; what the client
  // pipelines meanwhile is neither answered nor lost.
  class Tarpit : public ServerPolicy {
   public:
    Decision OnConnect() override { return WithDelay(Decision::Accept(), milliseconds(1000)); }
    Decision OnCommand(const CommandRequest&) override {
      return WithDelay(Decision::Accept(), milliseconds(250));
    }
  } policy;
  ServerSession s({}, &policy);
  Session r;
  s.Start();
  Drain(s, r);
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(r.events, (std::vector<std::string>{"delayed 1000ms"}));
  EXPECT_EQ(s.state(), ServerState::kAwaitingDecision);
  EXPECT_EQ(s.decision_point(), DecisionPoint::kConnect);
  EXPECT_TRUE(s.decision_delayed());
  EXPECT_FALSE(s.wants_input());
  s.Feed("EHLO a.example\r\nNOOP\r\nQUIT\r\n");
  s.Decide(Decision::Reject(554, "", "Decide does not end a delay"));
  Drain(s, r);
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(s.decision_point(), DecisionPoint::kConnect);

  Releases rel = ReleaseAll(s);
  EXPECT_EQ(rel.first_lines,
            (std::vector<std::string>{"220 localhost ESMTP mxkit", "250-localhost greets a.example",
                                      "250 2.0.0 OK",
                                      "221 2.0.0 localhost Service closing transmission channel"}));
  EXPECT_EQ(rel.events, (std::vector<std::string>{"greeting 220", "delayed 250ms", "ehlo a.example",
                                                  "delayed 250ms", "delayed 250ms", "close 0"}));
  EXPECT_EQ(s.state(), ServerState::kClosed);
}

TEST(ServerSession, DelayWorksAtEveryHookAndThroughDecide) {
  // A greylisting tarpit: RCPT waits 2 s, then gets its 450; a deferred MAIL
  // is answered with a delayed acceptance.
  class Slow : public ServerPolicy {
   public:
    Decision OnMailFrom(const Envelope&) override { return Decision::Defer(); }
    Decision OnRcptTo(const Envelope&, const Recipient&) override {
      return WithDelay(Decision::Reject(450, "4.7.1", "Greylisted"), milliseconds(2000));
    }
  } policy;
  ServerSession s({}, &policy);
  s.Start();
  s.Feed(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nNOOP\r\n");
  Session before;
  Drain(s, before);
  EXPECT_EQ(s.decision_point(), DecisionPoint::kMailFrom);
  EXPECT_FALSE(s.decision_delayed());
  s.ReleaseDelayedDecision();  // nothing is delayed: ignored
  EXPECT_EQ(s.TakeOutput(), "");
  s.Decide(WithDelay(Decision::Accept(), milliseconds(500)));
  EXPECT_EQ(s.TakeOutput(), "");
  EXPECT_TRUE(s.decision_delayed());
  Releases rel = ReleaseAll(s);
  EXPECT_EQ(rel.first_lines,
            (std::vector<std::string>{"250 2.1.0 Sender OK", "450 4.7.1 Greylisted"}));
  EXPECT_EQ(rel.events, (std::vector<std::string>{"delayed 500ms", "mail <a@b.example>",
                                                  "delayed 2000ms"}));
  // The NOOP pipelined behind the RCPT ran once the RCPT was answered.
  EXPECT_EQ(s.state(), ServerState::kCommand);
}

TEST(ServerSession, DeferredCommandResumesThroughDecide) {
  Scripted policy;
  policy.by_verb["MAIL"] = Decision::Defer();
  ServerSession s({}, &policy);
  s.Start();
  s.Feed(std::string(kEhlo) + "MAIL FROM:<a@b.example>\r\nNOOP\r\n");
  s.TakeOutput();
  EXPECT_EQ(s.decision_point(), DecisionPoint::kCommand);
  policy.by_verb.clear();
  s.Decide(Decision::Accept());
  // Accepted, the MAIL goes through the session as usual (OnMailFrom too).
  EXPECT_EQ(s.TakeOutput(), "250 2.1.0 Sender OK\r\n250 2.0.0 OK\r\n");
  EXPECT_TRUE(s.in_transaction());

  policy.by_verb["RCPT"] = Decision::Defer();
  s.Feed("RCPT TO:<c@d.example>\r\n");
  s.Decide(Decision::Reply(250, "", "pretend"));
  EXPECT_EQ(s.TakeOutput(), "250 2.0.0 pretend\r\n");
  EXPECT_TRUE(s.envelope().recipients.empty());
}

TEST(ServerSession, ReplyFromOnCommandForMailLeavesNoTransaction) {
  Scripted policy;
  policy.by_verb["MAIL"] = Decision::Reply(250, "2.1.0", "fake ok");
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\n", "RCPT TO:<c@d.example>\r\n"}, {},
                       &policy);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 4u) << r.output;
  EXPECT_EQ(replies[2], "250 2.1.0 fake ok");
  EXPECT_EQ(replies[3], "503 5.5.1 Need MAIL before RCPT");
  EXPECT_EQ(r.events, (std::vector<std::string>{"greeting 220", "ehlo client.example",
                                                "error 503 RCPT TO:<c@d.example>"}));
}

TEST(ServerSession, ReplyFromOnCommandHasNoOtherEffectForAnyVerb) {
  // QUIT answered this way does not close; STARTTLS does not start TLS;
  // DATA does not enter data mode; RSET sends no ResetEvent.
  ServerSessionConfig config;
  config.extensions.starttls = true;
  for (const char* verb : {"QUIT", "STARTTLS", "DATA", "RSET", "EHLO", "AUTH", "XYZZY"}) {
    Scripted policy;
    policy.by_verb[verb] = Decision::Reply(250, "", std::string("scripted ") + verb);
    Session r = Dialogue({"HELO client.example\r\n", std::string(verb) + "\r\n", "NOOP\r\n"},
                         config, &policy);
    std::vector<std::string> replies = Replies(r.output);
    ASSERT_EQ(replies.size(), 4u) << verb << "\n" << r.output;
    std::string want = std::string(verb) == "EHLO" ? "250 scripted EHLO"
                                                    : std::string("250 2.0.0 scripted ") + verb;
    EXPECT_EQ(replies[2], want);
    EXPECT_EQ(replies[3], "250 2.0.0 OK") << verb;
    EXPECT_EQ(r.events.back(), "helo client.example") << verb;
  }
}

TEST(ServerSession, UnknownIsTheParsersAnswerAndCountsTowardsThe421) {
  Session plain = Dialogue({"XYZZY\r\n"});
  Scripted policy;
  policy.by_verb["EHLO"] = Decision::Unknown();
  ServerSessionConfig config;
  config.max_protocol_errors = 3;
  Session r = Dialogue({kEhlo, kEhlo, "HELO client.example\r\n", kEhlo}, config, &policy);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 6u) << r.output;
  EXPECT_EQ(replies[1], Replies(plain.output)[1]);
  EXPECT_EQ(replies[1].substr(0, 10), "500 5.5.1 ");
  EXPECT_EQ(replies[2], replies[1]);
  EXPECT_EQ(replies[3], "250 localhost greets client.example");  // non-ESMTP: HELO works
  EXPECT_EQ(replies[4], replies[1]);
  EXPECT_EQ(replies[5], "421 4.7.0 localhost Error: too many errors, closing connection");
  EXPECT_EQ(r.events.back(), "close 1");
}

TEST(ServerSession, StallDiscardsInputAndNeverWrites) {
  Scripted policy;
  policy.by_verb["DATA"] = Decision::Stall();
  ServerSession s({}, &policy);
  s.Start();
  s.Feed(std::string(kEhlo) +
         "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nSubject: x\r\n");
  Session r;
  Drain(s, r);
  EXPECT_EQ(Replies(r.output).back(), "250 2.1.5 Recipient OK");
  EXPECT_EQ(r.events.back(), "stalled");
  EXPECT_EQ(s.state(), ServerState::kStalled);
  EXPECT_FALSE(s.wants_input());
  uint64_t buffered = s.input_bytes_buffered();
  s.Feed(".\r\nQUIT\r\n");
  s.Decide(Decision::Accept());
  s.ReleaseDelayedDecision();
  s.OnTlsEstablished();
  EXPECT_EQ(s.TakeOutput(), "");
  EXPECT_EQ(s.NextEvent(), std::nullopt);
  EXPECT_EQ(s.input_bytes_buffered(), buffered);
  // The caller's idle timeout ends it: a hung server sends no 421.
  s.Abort();
  EXPECT_EQ(s.TakeOutput(), "");
  EXPECT_EQ(s.state(), ServerState::kClosed);
  ASSERT_TRUE(s.NextEvent().has_value());
}

TEST(ServerSession, StallAtTheGreetingSendsNothing) {
  Scripted policy;
  policy.connect = Decision::Stall();
  Session r = Dialogue({"EHLO x\r\n"}, {}, &policy);
  EXPECT_EQ(r.output, "");
  EXPECT_EQ(r.events, (std::vector<std::string>{"stalled"}));
}

TEST(ServerSession, ResetClosesWithTheResetFlagFromEveryHook) {
  struct Row {
    const char* name;
    std::string input;
    void (*set)(Scripted&);
    std::string want_last_event;
  };
  const std::vector<Row> rows = {
      {"OnConnect", "", [](Scripted& p) { p.connect = Decision::Reset(); }, "close 2 reset"},
      {"OnCommand", "NOOP\r\n", [](Scripted& p) { p.by_verb["NOOP"] = Decision::Reset(); },
       "close 2 reset"},
      {"OnRcptTo", "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n",
       [](Scripted& p) { p.rcpt = Decision::Reset(); }, "close 2 reset"},
      {"kDrop is not a reset", "NOOP\r\n",
       [](Scripted& p) { p.by_verb["NOOP"] = Decision::Drop(); }, "close 2"},
  };
  for (const Row& row : rows) {
    Scripted policy;
    row.set(policy);
    ServerSession s({}, &policy);
    s.Start();
    s.Feed(std::string(kEhlo) + row.input + "QUIT\r\n");
    Session r;
    Drain(s, r);
    EXPECT_EQ(r.events.back(), row.want_last_event) << row.name;
    EXPECT_EQ(r.output.find("221"), std::string::npos) << row.name;
    EXPECT_EQ(s.state(), ServerState::kClosed) << row.name;
  }
}

TEST(ServerSession, ActionsOutsideTheirHookDegradeToAReject) {
  struct Row {
    const char* name;
    Decision rcpt;
    std::string want;
  };
  const std::vector<Row> rows = {
      {"kReply 250 from OnRcptTo", Decision::Reply(250, "", "ok?"), "451 4.0.0 ok?"},
      {"kReply 550 keeps its code", Decision::Reply(550, "5.1.1", "gone"), "550 5.1.1 gone"},
      {"kUnknown from OnRcptTo", Decision::Unknown(), "451 4.0.0 Requested action not taken"},
      {"kReject with a 2xx code", Decision::Reject(250, "", "odd"), "451 4.0.0 odd"},
      {"kReject with 599, not an RFC 5321 reply code", Decision::Reject(599, "5.1.1", "x"),
       "451 4.0.0 x"},
      {"kReply with 470, not a reply code either", Decision::Reply(470, "", "y"), "451 4.0.0 y"},
  };
  for (const Row& row : rows) {
    Scripted policy;
    policy.rcpt = row.rcpt;
    Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\n"}, {},
                         &policy);
    EXPECT_EQ(Replies(r.output).back(), row.want) << row.name;
    EXPECT_EQ(r.events.back(), "mail <a@b.example>") << row.name;
  }
}

TEST(ServerSession, OnCommandSeesEveryVerbInEveryState) {
  Scripted policy;
  ServerSessionConfig config;
  config.extensions.starttls = true;
  config.extensions.auth_mechanisms = {"PLAIN"};
  ServerSession s(config, &policy);
  s.Start();
  s.Feed("NOOP\r\nehlo a.example\r\nRSET\r\nVRFY x\r\nEXPN y\r\nHELP\r\nXYZZY 1 2\r\n\r\n"
         "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\nNOOP in content\r\n.\r\n"
         "MAIL FROM:<a@b.example>\r\nRSET\r\nSTARTTLS\r\n");
  s.OnTlsEstablished();
  s.Feed("EHLO a.example\r\nAUTH PLAIN\r\nAHRlc3QAdGVzdA==\r\nHELP\r\nMAIL FROM:<>\r\nQUIT\r\n");
  EXPECT_EQ(policy.seen,
            (std::vector<std::string>{"NOOP", "EHLO", "RSET", "VRFY", "EXPN", "HELP", "XYZZY", "",
                                      "MAIL", "RCPT txn", "DATA txn", "MAIL", "RSET txn",
                                      "STARTTLS", "EHLO tls", "AUTH tls", "HELP tls auth",
                                      "MAIL tls auth", "QUIT tls txn auth"}));
  EXPECT_EQ(policy.lines[1], "ehlo a.example");  // the line as sent
  EXPECT_EQ(policy.lines[6], "XYZZY 1 2");
}

TEST(ServerSession, OnCommandSeesLinesAfterARefusedGreeting) {
  Scripted policy;
  policy.connect = Decision::Reject(554, "", "No SMTP service here");
  policy.by_verb["HELP"] = Decision::Reply(214, "", "ask elsewhere");
  Session r = Dialogue({"HELP\r\n", "NOOP\r\n", "QUIT\r\n"}, {}, &policy);
  EXPECT_EQ(Replies(r.output),
            (std::vector<std::string>{"554 localhost No SMTP service here", "214 2.0.0 ask elsewhere",
                                      "503 5.5.1 Bad sequence of commands: no service, send QUIT",
                                      "221 2.0.0 localhost Service closing transmission channel"}));
  EXPECT_EQ(policy.seen, (std::vector<std::string>{"HELP", "NOOP", "QUIT"}));
}

TEST(ServerSession, ExtensionsMayDifferBeforeAndAfterTls) {
  Scripted policy;
  ServerExtensions before;
  before.starttls = true;
  ServerExtensions after;
  after.chunking = true;
  after.auth_mechanisms = {"PLAIN"};
  after.extra_keywords = {"X-AFTER-TLS"};
  policy.before_tls = before;
  policy.after_tls = after;
  ServerSession s({}, &policy);  // the config offers neither STARTTLS nor AUTH
  s.Start();
  // Refused at the parser, BDAT consumes no chunk: "x" is not sent.
  s.Feed("EHLO a.example\r\nAUTH PLAIN AHRlc3QAdGVzdA==\r\nBDAT 1 LAST\r\n");
  std::string plaintext = s.TakeOutput();
  EXPECT_NE(plaintext.find("250-STARTTLS\r\n"), std::string::npos) << plaintext;
  EXPECT_EQ(plaintext.find("250-AUTH"), std::string::npos) << plaintext;
  EXPECT_EQ(plaintext.find("CHUNKING\r\n"), std::string::npos) << plaintext;
  std::vector<std::string> replies = Replies(plaintext);
  ASSERT_EQ(replies.size(), 4u) << plaintext;
  EXPECT_EQ(replies[2].substr(0, 4), "502 ");  // AUTH not offered, not accepted
  EXPECT_EQ(replies[3].substr(0, 4), "502 ");  // nor BDAT
  s.Feed("STARTTLS\r\n");
  EXPECT_EQ(s.TakeOutput(), "220 2.0.0 Ready to start TLS\r\n");
  s.OnTlsEstablished();
  s.Feed("EHLO a.example\r\nAUTH PLAIN AHRlc3QAdGVzdA==\r\n"
         "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 1 LAST\r\nx");
  std::string tls = s.TakeOutput();
  EXPECT_EQ(tls.find("STARTTLS"), std::string::npos) << tls;
  EXPECT_NE(tls.find("250-AUTH PLAIN\r\n"), std::string::npos) << tls;
  EXPECT_NE(tls.find("250-CHUNKING\r\n"), std::string::npos) << tls;
  EXPECT_NE(tls.find("250 X-AFTER-TLS\r\n"), std::string::npos) << tls;
  EXPECT_EQ(Replies(tls).back(), "250 2.0.0 OK: message accepted") << tls;
}

TEST(ServerSession, ExtraKeywordsAreAdvertisedVerbatimAndUnsafeOnesDropped) {
  using namespace std::string_literals;
  ServerSessionConfig config;
  config.extensions.extra_keywords = {"X-EXPS GSSAPI", "BAD\r\n250 INJECTED", "8BIT\xff", "",
                                      "TAB\tINSIDE", "DELIVERBY 60"};
  Session r = Dialogue({kEhlo}, config);
  EXPECT_TRUE(AllRepliesWellFormed(r.output));
  EXPECT_NE(r.output.find("250-X-EXPS GSSAPI\r\n250 DELIVERBY 60\r\n"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("INJECTED"), std::string::npos);
  EXPECT_EQ(r.output.find("8BIT\xff"), std::string::npos);
  EXPECT_EQ(r.output.find("TAB"), std::string::npos);
  EXPECT_EQ(r.output.find("250-\r\n"), std::string::npos);
}

TEST(ServerSession, EhloLinesReplaceTheKeywordLinesButNotWhatIsAccepted) {
  class EhloLines : public ServerPolicy {
   public:
    Decision OnHello(const HelloRequest&) override {
      return WithLines(Decision::Accept(), {"mx.example.test hi", "PIPELINING", "X-ONLY"});
    }
  } lines;
  ServerSessionConfig config;
  config.extensions.chunking = true;
  Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nBDAT 1 LAST\r\nx"},
                       config, &lines);
  EXPECT_EQ(Lines(r.output)[1], "250-mx.example.test hi");
  EXPECT_EQ(Lines(r.output)[2], "250-PIPELINING");
  EXPECT_EQ(Lines(r.output)[3], "250 X-ONLY");
  EXPECT_EQ(Replies(r.output).back(), "250 2.0.0 OK: message accepted");
}

TEST(ServerSession, AuthRequiredRefusesMailUntilAuthSucceeds) {
  struct Row {
    const char* name;
    std::vector<std::string> mechanisms;
    std::string want_first_mail;
  };
  const std::vector<Row> rows = {
      {"AUTH offered and required", {"PLAIN"}, "530 5.7.0 Authentication required"},
      {"required without mechanisms means nothing", {}, "250 2.1.0 Sender OK"},
  };
  for (const Row& row : rows) {
    Scripted policy;
    ServerSessionConfig config;
    config.extensions.auth_mechanisms = row.mechanisms;
    config.extensions.auth_required = true;
    Session r = Dialogue({kEhlo, "MAIL FROM:<a@b.example>\r\n"}, config, &policy);
    EXPECT_EQ(Replies(r.output).back(), row.want_first_mail) << row.name;
  }
  Scripted policy;
  ServerSessionConfig config;
  config.extensions.auth_mechanisms = {"PLAIN"};
  config.extensions.auth_required = true;
  Session r = Dialogue({kEhlo, "AUTH PLAIN AHRlc3QAd3Jvbmc=\r\n", "MAIL FROM:<a@b.example>\r\n",
                        "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", "MAIL FROM:<a@b.example>\r\n"},
                       config, &policy);
  std::vector<std::string> replies = Replies(r.output);
  ASSERT_EQ(replies.size(), 6u) << r.output;
  EXPECT_EQ(replies[2], "535 5.7.8 Authentication credentials invalid");
  EXPECT_EQ(replies[3], "530 5.7.0 Authentication required");
  EXPECT_EQ(replies[4], "235 2.7.0 Authentication successful");
  EXPECT_EQ(replies[5], "250 2.1.0 Sender OK");
}

TEST(ServerSession, CommandEventsRecordEveryLineButNoSecret) {
  Scripted policy;
  ServerSessionConfig config;
  config.command_events = true;
  config.extensions.auth_mechanisms = {"PLAIN"};
  config.limits.max_command_line = 64;
  Session r = Dialogue({"EHLO a.example\r\nAUTH PLAIN\r\nAHRlc3QAdGVzdA==\r\n",
                        "MAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example>\r\nDATA\r\n"
                        "NOOP is content\r\n.\r\n",
                        "AUTH PLAIN AHRlc3QAdGVzdA==\r\n", std::string(3000, 'x') + "\r\nQUIT\r\n"},
                       config, &policy);
  std::vector<std::string> commands;
  for (const std::string& e : r.events) {
    if (e.rfind("command ", 0) == 0) commands.push_back(e.substr(8));
  }
  EXPECT_EQ(commands, (std::vector<std::string>{
                          "EHLO a.example", "AUTH PLAIN", "(AUTH response, 16 octets)",
                          "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>", "DATA",
                          "AUTH PLAIN (initial response, 16 octets)", std::string(64, 'x'),
                          "QUIT"}));
  EXPECT_EQ(r.output.find("AHRlc3QAdGVzdA"), std::string::npos);
}

TEST(ServerSession, NoCommandEventsUnlessAsked) {
  Session r = Dialogue({kEhlo, "NOOP\r\n"});
  for (const std::string& e : r.events) EXPECT_NE(e.rfind("command ", 0), 0u) << e;
}

TEST(ServerSession, GreetingFromOnConnectMayBeAnyReply) {
  struct Row {
    const char* name;
    Decision connect;
    std::string want_greeting;
    std::string want_event;
  };
  const std::vector<Row> rows = {
      {"multi-line 220", WithLines(Decision::Reply(220, "", ""), {"mx.example ESMTP", "no spam"}),
       "220-mx.example ESMTP\r\n220 no spam\r\n", "greeting 220"},
      {"not 220", Decision::Reply(250, "", "hello anyway"), "250 localhost hello anyway\r\n",
       "greeting 250"},
      {"421 via kReply still serves", Decision::Reply(421, "", "busy"), "421 localhost busy\r\n",
       "greeting 421"},
      {"raw", Decision::Raw("220 raw greeting\n"), "220 raw greeting\n", "greeting 0"},
      {"multi-line kAccept", WithLines(Decision::Accept(), {"a", "b"}), "220-a\r\n220 b\r\n",
       "greeting 220"},
  };
  for (const Row& row : rows) {
    Scripted policy;
    policy.connect = row.connect;
    Session r = Dialogue({"NOOP\r\n"}, {}, &policy);
    ASSERT_GE(r.output.size(), row.want_greeting.size()) << row.name;
    EXPECT_EQ(r.output.substr(0, row.want_greeting.size()), row.want_greeting) << row.name;
    EXPECT_EQ(r.output.substr(row.want_greeting.size()), "250 2.0.0 OK\r\n") << row.name;
    EXPECT_EQ(r.events.front(), row.want_event) << row.name;
  }
  // A kReply with no code to send is outside the contract: a refused
  // greeting (554, then only QUIT).
  Scripted policy;
  policy.connect = Decision::Reply(0, "", "");
  Session r = Dialogue({"NOOP\r\n"}, {}, &policy);
  EXPECT_EQ(Replies(r.output)[0], "554 localhost No SMTP service here");
  EXPECT_EQ(Replies(r.output)[1].substr(0, 4), "503 ");
}

TEST(ServerSession, ScriptedDialogueIsTheSameAtEverySplitPoint) {
  Scripted policy;
  policy.by_verb["NOOP"] = WithLines(Decision::Reply(250, "", ""), {"a", "b"});
  policy.by_verb["VRFY"] = Decision::Raw("25");
  policy.by_verb["HELP"] = Decision::Unknown();
  ServerSessionConfig config;
  config.command_events = true;
  const std::string input =
      "EHLO a.example\r\nNOOP\r\nVRFY x\r\nHELP\r\nMAIL FROM:<a@b.example>\r\n"
      "RCPT TO:<c@d.example>\r\nDATA\r\nhi\r\n.\r\nQUIT\r\n";
  Session whole = Dialogue({input}, config, &policy);
  EXPECT_EQ(Replies(whole.output).back(),
            "221 2.0.0 localhost Service closing transmission channel");
  for (size_t i = 0; i <= input.size(); ++i) {
    std::string_view v(input);
    Session split = Dialogue({v.substr(0, i), v.substr(i)}, config, &policy);
    ASSERT_EQ(split.output, whole.output) << "split at " << i;
    ASSERT_EQ(split.events, whole.events) << "split at " << i;
  }
}

}  // namespace
}  // namespace mxkit::smtp
