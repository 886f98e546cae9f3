#include "smtp/client_session.h"

#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "smtp/server_session.h"

namespace mxkit::smtp {
namespace {

std::string Describe(const ClientEvent& event) {
  struct V {
    std::string operator()(const ReplyEvent& e) {
      std::string s = e.command + " -> " + std::to_string(e.reply.code);
      if (!e.reply.lines.empty()) s += " " + e.reply.lines.back();
      return s;
    }
    std::string operator()(const CapabilitiesEvent& e) {
      return std::string(e.extended ? "caps ehlo" : "caps helo") +
             (e.capabilities.pipelining ? " pipelining" : "") +
             (e.capabilities.starttls ? " starttls" : "") + (e.capabilities.chunking ? " chunking" : "");
    }
    std::string operator()(const StartTlsEvent&) { return "starttls"; }
    std::string operator()(const ResponseInjectionEvent& e) {
      return "injection " + std::to_string(e.bytes);
    }
    std::string operator()(const TransactionCompleteEvent& e) {
      std::string s = "transaction " + std::to_string(e.result.index) + " status " +
                      std::to_string(static_cast<int>(e.result.status));
      for (const auto& r : e.result.recipients) s += " " + r.forward_path + "=" + std::to_string(r.reply.code);
      return s + " (" + e.result.detail + ")";
    }
    std::string operator()(const SessionCompleteEvent& e) {
      return "complete " + std::to_string(static_cast<int>(e.outcome)) + " " + e.detail;
    }
  };
  return std::visit(V{}, event);
}

OutgoingMessage Message(std::vector<std::string> rcpts, std::string content = "Subject: t\r\n\r\nhello\r\n") {
  OutgoingMessage m;
  m.reverse_path = "sender@example.com";
  for (auto& r : rcpts) m.recipients.push_back({r, {}});
  m.content = std::move(content);
  return m;
}

struct Conversation {
  std::vector<std::string> client_events;
  std::vector<std::string> server_events;
  std::vector<std::string> messages;  // accepted message contents on the server
  int client_writes = 0;              // round trips the client needed
};

class RefuseUnknown : public ServerPolicy {
 public:
  Decision OnRcptTo(const Envelope&, const Recipient& r) override {
    if (r.forward_path.rfind("unknown", 0) == 0) return Decision::Reject(550, "5.1.1", "No such user");
    if (r.forward_path.rfind("later", 0) == 0) return Decision::Reject(450, "4.2.1", "Try later");
    return Decision::Accept();
  }
};

// Runs a ClientSession against a ServerSession in memory; both sides'
// STARTTLS requests are completed together (the handshake itself is the
// caller's business and not simulated).
Conversation Converse(ClientSession& c, ServerSession& s) {
  Conversation conv;
  s.Start();
  for (int round = 0; round < 1000 && !c.done(); ++round) {
    std::string to_client = s.TakeOutput();
    bool server_tls = false;
    while (auto e = s.NextEvent()) {
      if (std::holds_alternative<StartTlsRequestedEvent>(*e)) server_tls = true;
      if (auto* m = std::get_if<MessageCompleteEvent>(&*e); m && m->accepted) {
        conv.messages.push_back(m->message);
      }
      conv.server_events.push_back(std::to_string(e->index()));
    }
    c.Feed(to_client);
    bool client_tls = false;
    while (auto e = c.NextEvent()) {
      if (std::holds_alternative<StartTlsEvent>(*e)) client_tls = true;
      conv.client_events.push_back(Describe(*e));
    }
    if (server_tls && client_tls) {
      s.OnTlsEstablished();
      c.OnTlsEstablished();
    }
    std::string to_server = c.TakeOutput();
    if (!to_server.empty()) ++conv.client_writes;
    s.Feed(to_server);
    if (s.state() == ServerState::kClosed && !s.has_output()) {
      c.OnConnectionClosed();
      while (auto e = c.NextEvent()) conv.client_events.push_back(Describe(*e));
    }
  }
  return conv;
}

ServerSessionConfig FullServer() {
  ServerSessionConfig config;
  config.hostname = "mx.example.net";
  config.extensions.chunking = true;
  config.extensions.dsn = true;
  config.extensions.smtputf8 = true;
  return config;
}

TEST(ClientSession, DeliversToServerSessionWithAndWithoutPipelining) {
  for (bool pipelining : {true, false}) {
    SCOPED_TRACE(pipelining ? "pipelining" : "no pipelining");
    RefuseUnknown policy;
    ServerSession s(FullServer(), &policy);
    ClientSessionConfig cc;
    cc.use_pipelining = pipelining;
    ClientSession c(cc);
    c.AddTransaction(Message({"a@example.net", "unknown@example.net", "b@example.net"},
                             "Subject: x\r\n\r\n.leading dot\r\n"));
    c.AddTransaction(Message({"c@example.net"}));
    c.Quit();
    Conversation conv = Converse(c, s);
    ASSERT_TRUE(c.done());
    EXPECT_EQ(c.outcome(), SessionOutcome::kCompleted);
    ASSERT_EQ(c.results().size(), 2u);
    EXPECT_EQ(c.results()[0].status, TransactionStatus::kPartiallyDelivered);
    EXPECT_EQ(c.results()[0].recipients[1].reply.code, 550);
    EXPECT_EQ(c.results()[1].status, TransactionStatus::kDelivered);
    EXPECT_EQ(conv.messages, (std::vector<std::string>{"Subject: x\r\n\r\n.leading dot\r\n",
                                                       "Subject: t\r\n\r\nhello\r\n"}));
    // EHLO, then per transaction one group (MAIL..DATA) and the content, QUIT.
    if (pipelining) {
      EXPECT_EQ(conv.client_writes, 6);
    } else {
      EXPECT_EQ(conv.client_writes, 1 + 6 + 4 + 1);
    }
  }
}

TEST(ClientSession, UsesBdatWhenAskedAndOffered) {
  ServerSession s(FullServer());
  ClientSessionConfig cc;
  cc.use_chunking = true;
  cc.bdat_chunk_size = 7;
  ClientSession c(cc);
  std::string content = "Subject: chunks\r\n\r\n.no stuffing in BDAT\r\n";
  c.AddTransaction(Message({"a@example.net"}, content));
  c.Quit();
  Conversation conv = Converse(c, s);
  EXPECT_EQ(c.outcome(), SessionOutcome::kCompleted);
  ASSERT_EQ(c.results().size(), 1u);
  EXPECT_EQ(c.results()[0].status, TransactionStatus::kDelivered);
  EXPECT_EQ(conv.messages, std::vector<std::string>{content});
  bool saw_last = false;
  for (const auto& e : conv.client_events) saw_last |= e.find("LAST -> 250") != std::string::npos;
  EXPECT_TRUE(saw_last);
}

TEST(ClientSession, StartsTlsWhenOfferedAndEhlosAgain) {
  ServerSessionConfig sc = FullServer();
  sc.extensions.starttls = true;
  ServerSession s(sc);
  ClientSessionConfig cc;
  cc.starttls = StartTlsMode::kRequired;
  ClientSession c(cc);
  c.AddTransaction(Message({"a@example.net"}));
  c.Quit();
  Conversation conv = Converse(c, s);
  EXPECT_EQ(c.outcome(), SessionOutcome::kCompleted);
  EXPECT_TRUE(c.tls_active());
  EXPECT_TRUE(s.tls_active());
  EXPECT_EQ(c.results()[0].status, TransactionStatus::kDelivered);
  std::vector<std::string> caps;
  for (const auto& e : conv.client_events) {
    if (e.rfind("caps", 0) == 0 || e == "starttls") caps.push_back(e);
  }
  EXPECT_EQ(caps, (std::vector<std::string>{"caps ehlo pipelining starttls chunking", "starttls",
                                            "caps ehlo pipelining chunking"}));
}

TEST(ClientSession, RequiredTlsNotOfferedGivesUpBeforeMail) {
  ServerSession s(FullServer());
  ClientSessionConfig cc;
  cc.starttls = StartTlsMode::kRequired;
  ClientSession c(cc);
  c.AddTransaction(Message({"a@example.net"}));
  Conversation conv = Converse(c, s);
  EXPECT_EQ(c.outcome(), SessionOutcome::kTlsUnavailable);
  ASSERT_EQ(c.results().size(), 1u);
  EXPECT_EQ(c.results()[0].status, TransactionStatus::kTemporaryFailure);
  EXPECT_TRUE(conv.messages.empty());
}

TEST(ClientSession, AllRecipientsRefusedSkipsDataAndResets) {
  for (bool pipelining : {true, false}) {
    RefuseUnknown policy;
    ServerSession s(FullServer(), &policy);
    ClientSessionConfig cc;
    cc.use_pipelining = pipelining;
    ClientSession c(cc);
    c.AddTransaction(Message({"later1@example.net", "later2@example.net"}));
    c.AddTransaction(Message({"unknown@example.net", "later@example.net"}));
    c.AddTransaction(Message({"a@example.net"}));
    c.Quit();
    Conversation conv = Converse(c, s);
    EXPECT_EQ(c.outcome(), SessionOutcome::kCompleted);
    ASSERT_EQ(c.results().size(), 3u);
    EXPECT_EQ(c.results()[0].status, TransactionStatus::kTemporaryFailure);
    EXPECT_EQ(c.results()[1].status, TransactionStatus::kPermanentFailure);
    EXPECT_EQ(c.results()[2].status, TransactionStatus::kDelivered);
    EXPECT_EQ(conv.messages.size(), 1u);
  }
}

// Scripted server bytes, for what a ServerSession would never send.
std::vector<std::string> Script(ClientSession& c, const std::vector<std::string_view>& chunks,
                                std::string* sent = nullptr) {
  std::vector<std::string> events;
  for (std::string_view chunk : chunks) {
    c.Feed(chunk);
    if (sent) *sent += c.TakeOutput();
    while (auto e = c.NextEvent()) events.push_back(Describe(*e));
  }
  return events;
}

TEST(ClientSession, FallsBackToHeloWhenEhloIsRefused) {
  ClientSession c({});
  c.AddTransaction(Message({"a@example.net"}));
  c.Quit();
  std::string sent;
  Script(c, {"220 old.example\r\n", "502 what\r\n", "250 old.example\r\n", "250 ok\r\n"}, &sent);
  // After HELO there is no PIPELINING, SIZE or enhanced anything.
  EXPECT_EQ(sent,
            "EHLO localhost\r\nHELO localhost\r\nMAIL FROM:<sender@example.com>\r\n"
            "RCPT TO:<a@example.net>\r\n");
}

TEST(ClientSession, RefusedGreetingSendsQuit) {
  ClientSession c({});
  c.AddTransaction(Message({"a@example.net"}));
  std::string sent;
  std::vector<std::string> events = Script(c, {"554 no service\r\n", "221 bye\r\n"}, &sent);
  EXPECT_EQ(sent, "QUIT\r\n");
  EXPECT_EQ(c.outcome(), SessionOutcome::kGreetingRefused);
  EXPECT_EQ(c.results().size(), 1u);
  EXPECT_TRUE(c.done());
}

TEST(ClientSession, DiscardsRepliesInjectedAfterStarttls220) {
  ClientSession c({});
  c.AddTransaction(Message({"a@example.net"}));
  std::string sent;
  std::vector<std::string> events = Script(
      c, {"220 mx\r\n", "250-mx\r\n250 STARTTLS\r\n",
          // An attacker appends a fake EHLO reply without STARTTLS... in plaintext.
          "220 go ahead\r\n250-mx\r\n250 AUTH PLAIN\r\n", "250 more\r\n"},
      &sent);
  EXPECT_EQ(sent, "EHLO localhost\r\nSTARTTLS\r\n");
  EXPECT_EQ(c.state(), ClientState::kAwaitingTls);
  std::vector<std::string> tail(events.end() - 3, events.end());
  EXPECT_EQ(tail, (std::vector<std::string>{"starttls", "injection 24", "injection 10"}));
  c.OnTlsEstablished();
  EXPECT_EQ(c.TakeOutput(), "EHLO localhost\r\n");
  events = Script(c, {"250-mx\r\n250 PIPELINING\r\n"}, &sent);
  EXPECT_EQ(events.front(), "EHLO localhost -> 250 PIPELINING");
  EXPECT_TRUE(c.tls_active());
}

TEST(ClientSession, ServiceClosingMidTransactionFailsTemporarily) {
  ClientSession c({});
  c.AddTransaction(Message({"a@example.net"}));
  c.AddTransaction(Message({"b@example.net"}));
  Script(c, {"220 mx\r\n", "250-mx\r\n250 PIPELINING\r\n", "250 ok\r\n421 shutting down\r\n"});
  EXPECT_EQ(c.outcome(), SessionOutcome::kServiceClosing);
  ASSERT_EQ(c.results().size(), 2u);
  EXPECT_EQ(c.results()[0].status, TransactionStatus::kTemporaryFailure);
  EXPECT_EQ(c.results()[1].status, TransactionStatus::kTemporaryFailure);
}

TEST(ClientSession, MalformedReplyIsAProtocolError) {
  ClientSession c({});
  Script(c, {"220 mx\r\n", "25O oops\r\n"});
  EXPECT_EQ(c.outcome(), SessionOutcome::kProtocolError);
  EXPECT_TRUE(c.done());
}

TEST(ClientSession, UnsolicitedReplyIsAProtocolError) {
  ClientSession c({});
  Script(c, {"220 mx\r\n250 mx\r\n250 extra\r\n"});
  EXPECT_EQ(c.outcome(), SessionOutcome::kProtocolError);
}

TEST(ClientSession, EverySplitOfTheServerBytesGivesTheSameEvents) {
  const std::string server =
      "220 mx ESMTP\r\n"
      "250-mx\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"
      "250 2.1.0 ok\r\n250 2.1.5 ok\r\n550 5.1.1 no\r\n354 go\r\n"
      "250 2.0.0 queued\r\n221 bye\r\n";
  auto run = [&](std::vector<std::string_view> chunks) {
    ClientSession c({});
    c.AddTransaction(Message({"a@example.net", "b@example.net"}));
    c.Quit();
    std::string sent;
    std::vector<std::string> events = Script(c, chunks, &sent);
    events.push_back(sent);
    return events;
  };
  std::vector<std::string> whole = run({server});
  ASSERT_EQ(whole[whole.size() - 2].substr(0, 11), "complete 1 ");
  for (size_t i = 0; i <= server.size(); ++i) {
    std::string_view v(server);
    ASSERT_EQ(run({v.substr(0, i), v.substr(i)}), whole) << "split at " << i;
  }
}

TEST(ClientSession, RefusesLocallyWhatTheServerDidNotOffer) {
  ServerSessionConfig sc;
  sc.extensions.eight_bit_mime = false;
  sc.limits.max_message_size = 100;
  ServerSession s(sc);
  ClientSession c({});
  OutgoingMessage eight = Message({"a@example.net"});
  eight.body = BodyType::k8BitMime;
  c.AddTransaction(eight);
  c.AddTransaction(Message({"a@example.net"}, std::string(200, 'x') + "\r\n"));
  OutgoingMessage bad = Message({"a b@example.net"});
  c.AddTransaction(bad);
  OutgoingMessage bare = Message({"a@example.net"}, "bare\nlf\r\n");
  c.AddTransaction(bare);
  c.Quit();
  Conversation conv = Converse(c, s);
  ASSERT_EQ(c.results().size(), 4u);
  for (const auto& r : c.results()) EXPECT_EQ(r.status, TransactionStatus::kPermanentFailure) << r.detail;
  EXPECT_FALSE(c.results()[2].mail_reply.has_value());
  EXPECT_TRUE(conv.messages.empty());
}

TEST(ClientSession, BdatOneChunkAtATimeWithoutPipelining) {
  ServerSessionConfig sc = FullServer();
  sc.extensions.pipelining = false;
  sc.extensions.binarymime = true;
  ServerSession s(sc);
  ClientSessionConfig cc;
  cc.bdat_chunk_size = 5;
  ClientSession c(cc);
  // BINARYMIME goes by BDAT even without use_chunking (RFC 3030 §3).
  OutgoingMessage m = Message({"a@example.net"}, std::string("\0\x01", 2) + "bare\nlf\rcr");
  m.body = BodyType::kBinaryMime;
  c.AddTransaction(m);
  c.Quit();
  Conversation conv = Converse(c, s);
  EXPECT_EQ(c.outcome(), SessionOutcome::kCompleted);
  ASSERT_EQ(c.results().size(), 1u);
  EXPECT_EQ(c.results()[0].status, TransactionStatus::kDelivered);
  EXPECT_EQ(conv.messages, std::vector<std::string>{m.content});
  // EHLO, MAIL, RCPT, three chunks one by one, QUIT.
  EXPECT_EQ(conv.client_writes, 7);
}

TEST(ClientSession, RefusedBdatChunkFailsTheTransactionAndResets) {
  ServerSessionConfig sc = FullServer();
  sc.limits.max_message_size = 8;
  sc.extensions.size = false;  // so the client cannot refuse it locally
  ServerSession s(sc);
  ClientSessionConfig cc;
  cc.use_chunking = true;
  cc.bdat_chunk_size = 5;
  ClientSession c(cc);
  c.AddTransaction(Message({"a@example.net"}, "0123456789abcdef\r\n"));
  c.AddTransaction(Message({"b@example.net"}, "ok\r\n"));
  c.Quit();
  Conversation conv = Converse(c, s);
  EXPECT_EQ(c.outcome(), SessionOutcome::kCompleted);
  ASSERT_EQ(c.results().size(), 2u);
  EXPECT_EQ(c.results()[0].status, TransactionStatus::kPermanentFailure);
  EXPECT_EQ(c.results()[0].final_reply->code, 552);
  EXPECT_EQ(c.results()[1].status, TransactionStatus::kDelivered);
  EXPECT_EQ(conv.messages, std::vector<std::string>{"ok\r\n"});
}

TEST(SessionOutcomeName, EachOutcomeHasItsOwnKebabCaseName) {
  const std::pair<SessionOutcome, const char*> rows[] = {
      {SessionOutcome::kInProgress, "in-progress"},
      {SessionOutcome::kCompleted, "completed"},
      {SessionOutcome::kGreetingRefused, "greeting-refused"},
      {SessionOutcome::kHelloRefused, "hello-refused"},
      {SessionOutcome::kTlsUnavailable, "tls-unavailable"},
      {SessionOutcome::kServiceClosing, "service-closing"},
      {SessionOutcome::kProtocolError, "protocol-error"},
      {SessionOutcome::kConnectionClosed, "connection-closed"},
  };
  for (const auto& [outcome, name] : rows) EXPECT_EQ(SessionOutcomeName(outcome), name);
}

}  // namespace
}  // namespace mxkit::smtp
