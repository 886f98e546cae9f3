#include "smtp/client_session.h"

#include <algorithm>
#include <utility>

#include "smtp/data.h"

namespace mxkit::smtp {
namespace {

enum class Step { kGreeting, kEhlo, kHelo, kStartTls, kMail, kRcpt, kData, kDataEnd, kBdat, kRset, kQuit };

struct Sent {
  Step step;
  std::string line;     // command line without CRLF, or a label
  size_t index = 0;     // recipient index for kRcpt
  bool last = false;    // BDAT LAST
};

// A result line for something never sent to the server (code 0 is outside
// every RFC 5321 class, so it is never mistaken for a server's answer).
Reply LocalReply(std::string text) { return Reply{0, {std::move(text)}}; }

TransactionStatus StatusForCode(int code) {
  return code / 100 == 4 ? TransactionStatus::kTemporaryFailure
                         : TransactionStatus::kPermanentFailure;
}

std::string WithoutCrlf(std::string s) {
  if (s.size() >= 2 && s.compare(s.size() - 2, 2, "\r\n") == 0) s.resize(s.size() - 2);
  return s;
}

}  // namespace

std::string_view SessionOutcomeName(SessionOutcome outcome) {
  switch (outcome) {
    case SessionOutcome::kInProgress: return "in-progress";
    case SessionOutcome::kCompleted: return "completed";
    case SessionOutcome::kGreetingRefused: return "greeting-refused";
    case SessionOutcome::kHelloRefused: return "hello-refused";
    case SessionOutcome::kTlsUnavailable: return "tls-unavailable";
    case SessionOutcome::kServiceClosing: return "service-closing";
    case SessionOutcome::kProtocolError: return "protocol-error";
    case SessionOutcome::kConnectionClosed: return "connection-closed";
  }
  return "unknown";
}

struct ClientSession::Impl {
  ClientSessionConfig config;
  ReplyParser parser;
  std::string out;
  std::deque<ClientEvent> events;

  std::deque<OutgoingMessage> queue;
  size_t next_index = 0;
  bool quit_requested = false;

  std::deque<Sent> expected;  // commands whose replies are outstanding, in order
  bool greeted = false;
  bool extended = false;
  bool tls_active = false;
  bool awaiting_tls = false;
  bool quit_sent = false;
  bool done = false;
  SessionOutcome outcome = SessionOutcome::kInProgress;
  std::string outcome_detail;
  EhloCapabilities caps;
  std::vector<TransactionResult> results;

  // The transaction in progress.
  bool in_transaction = false;
  OutgoingMessage cur;
  TransactionResult res;
  std::vector<std::string> rcpt_lines;  // formatted RCPT lines ("" = refused locally)
  size_t next_rcpt = 0;                 // next RCPT to send (unpipelined)
  size_t rcpt_replies = 0;
  bool mail_ok = false;
  bool use_bdat = false;
  bool pipelined = false;
  bool data_done = false;       // the final reply arrived or the transaction failed
  std::string payload;          // dot-stuffed DATA payload, or raw BDAT content
  size_t bdat_offset = 0;
  bool bdat_failed = false;

  explicit Impl(ClientSessionConfig c)
      : config(std::move(c)), parser(config.reply_options) {
    config.bdat_chunk_size = std::clamp<size_t>(config.bdat_chunk_size, 1, kMaxBdatChunkSize);
    expected.push_back({Step::kGreeting, "GREETING"});
  }

  void Send(Step step, std::string line, size_t index = 0, bool last = false) {
    out += line;
    out += "\r\n";
    expected.push_back({step, std::move(line), index, last});
  }

  void SendEhlo() {
    caps = EhloCapabilities{};
    extended = false;
    Send(Step::kEhlo, "EHLO " + config.helo_domain);
  }

  void SendQuit() {
    if (quit_sent) return;
    quit_sent = true;
    Send(Step::kQuit, "QUIT");
  }

  void Finish(SessionOutcome o, std::string detail) {
    if (outcome == SessionOutcome::kInProgress) {
      outcome = o;
      outcome_detail = std::move(detail);
    }
  }

  // Gives every transaction not yet reported a result, then ends.
  void End(SessionOutcome o, std::string detail) {
    Finish(o, detail);
    if (in_transaction) {
      if (!res.final_reply) {
        res.status = o == SessionOutcome::kServiceClosing ? TransactionStatus::kTemporaryFailure
                                                          : TransactionStatus::kPermanentFailure;
        res.detail = "session ended: " + outcome_detail;
      }
      CompleteTransaction();
    }
    FailQueued(o == SessionOutcome::kServiceClosing || o == SessionOutcome::kConnectionClosed ||
                       o == SessionOutcome::kTlsUnavailable
                   ? TransactionStatus::kTemporaryFailure
                   : TransactionStatus::kPermanentFailure,
               "not attempted: " + outcome_detail);
    if (!done) {
      done = true;
      expected.clear();
      events.push_back(SessionCompleteEvent{outcome, outcome_detail});
    }
  }

  void FailQueued(TransactionStatus status, const std::string& detail) {
    while (!queue.empty()) {
      TransactionResult r;
      r.index = next_index++;
      r.status = status;
      r.detail = detail;
      queue.pop_front();
      results.push_back(r);
      events.push_back(TransactionCompleteEvent{std::move(r)});
    }
  }

  // ---- Replies --------------------------------------------------------------

  void OnReply(Reply reply) {
    if (expected.empty()) {
      events.push_back(ReplyEvent{"(none)", reply});
      End(SessionOutcome::kProtocolError, "reply received when none was due");
      return;
    }
    Sent sent = std::move(expected.front());
    expected.pop_front();
    events.push_back(ReplyEvent{sent.line, reply});
    if (reply.code == 421 && sent.step != Step::kQuit) {
      // RFC 5321 §3.8: 421 means the server is closing the channel.
      if (in_transaction && !res.final_reply) {
        res.final_reply = reply;
        res.status = TransactionStatus::kTemporaryFailure;
        res.detail = "server closing the channel (421)";
      }
      End(SessionOutcome::kServiceClosing, "server sent 421");
      return;
    }
    switch (sent.step) {
      case Step::kGreeting:
        greeted = true;
        if (reply.code == 220) {
          SendEhlo();
        } else {
          // RFC 5321 §3.1: after a 554 greeting the client sends QUIT.
          Finish(SessionOutcome::kGreetingRefused, "greeting " + std::to_string(reply.code));
          SendQuit();
        }
        break;
      case Step::kEhlo:
        if (reply.code == 250) {
          extended = true;
          caps = ParseEhloReply(reply).capabilities;
          events.push_back(CapabilitiesEvent{true, caps});
          AfterHello();
        } else if (reply.is_permanent_failure()) {
          // RFC 5321 §4.1.4 / §3.2: a server without EHLO answers 500/502;
          // fall back to HELO.
          Send(Step::kHelo, "HELO " + config.helo_domain);
        } else {
          Finish(SessionOutcome::kHelloRefused, "EHLO refused with " + std::to_string(reply.code));
          SendQuit();
        }
        break;
      case Step::kHelo:
        if (reply.code == 250) {
          events.push_back(CapabilitiesEvent{false, caps});
          AfterHello();
        } else {
          Finish(SessionOutcome::kHelloRefused, "HELO refused with " + std::to_string(reply.code));
          SendQuit();
        }
        break;
      case Step::kStartTls:
        if (reply.code == 220) {
          awaiting_tls = true;
          events.push_back(StartTlsEvent{});
        } else if (config.starttls == StartTlsMode::kRequired) {
          Finish(SessionOutcome::kTlsUnavailable, "STARTTLS refused with " + std::to_string(reply.code));
          SendQuit();
        } else {
          NextTransaction();
        }
        break;
      case Step::kMail: OnMailReply(reply); break;
      case Step::kRcpt: OnRcptReply(sent.index, reply); break;
      case Step::kData: OnDataReply(reply); break;
      case Step::kDataEnd: OnFinalReply(reply); break;
      case Step::kBdat: OnBdatReply(sent.last, reply); break;
      case Step::kRset: NextTransaction(); break;
      case Step::kQuit:
        Finish(SessionOutcome::kCompleted, "");
        End(outcome, outcome_detail);
        break;
    }
  }

  void AfterHello() {
    bool want_tls = config.starttls != StartTlsMode::kNever && !tls_active;
    if (want_tls && extended && caps.starttls) {
      Send(Step::kStartTls, "STARTTLS");
      return;
    }
    if (config.starttls == StartTlsMode::kRequired && !tls_active) {
      Finish(SessionOutcome::kTlsUnavailable, "STARTTLS not offered");
      SendQuit();
      return;
    }
    NextTransaction();
  }

  // ---- Transactions -----------------------------------------------------------

  CommandParseOptions ParseOptions(bool utf8) const {
    CommandParseOptions o;
    o.extensions.size = extended && caps.size.has_value();
    o.extensions.eightbitmime = extended && caps.eightbitmime;
    o.extensions.binarymime = extended && caps.binarymime && caps.chunking;
    o.extensions.chunking = extended && caps.chunking;
    o.extensions.smtputf8 = extended && caps.smtputf8;
    o.extensions.dsn = extended && caps.dsn;
    o.extensions.auth = extended && !caps.auth_mechanisms.empty();
    o.extensions.starttls = false;
    o.allow_utf8 = utf8;
    return o;
  }

  static void AppendParams(const std::vector<std::pair<std::string, std::string>>& params,
                           std::string* line) {
    for (const auto& [k, v] : params) {
      *line += ' ';
      *line += k;
      if (!v.empty()) *line += '=' + v;
    }
  }

  // Checks a composed line with the server-side parser and returns its
  // canonical form, or an error message.
  std::optional<std::string> Canonical(const std::string& line, bool utf8, std::string* error) {
    CommandResult r = ParseCommand(line, ParseOptions(utf8));
    if (!r.ok()) {
      *error = r.error.message;
      return std::nullopt;
    }
    return WithoutCrlf(FormatCommand(r.command));
  }

  void NextTransaction() {
    if (done || quit_sent) return;
    if (outcome != SessionOutcome::kInProgress) {
      SendQuit();
      return;
    }
    while (!queue.empty()) {
      if (StartTransaction()) return;
    }
    if (quit_requested) SendQuit();
  }

  // Begins the next queued transaction; false when it failed locally.
  bool StartTransaction() {
    cur = std::move(queue.front());
    queue.pop_front();
    in_transaction = true;
    res = TransactionResult{};
    res.index = next_index++;
    rcpt_lines.clear();
    next_rcpt = 0;
    rcpt_replies = 0;
    mail_ok = false;
    data_done = false;
    payload.clear();
    bdat_offset = 0;
    bdat_failed = false;

    use_bdat = cur.body == BodyType::kBinaryMime ||
               (config.use_chunking && extended && caps.chunking);
    pipelined = config.use_pipelining && extended && caps.pipelining;

    // Local checks: never send what the server did not offer (RFC 6152 §3,
    // RFC 3030 §3, RFC 6531 §3.4) or what it said it cannot take (RFC 1870).
    auto fail = [this](std::string why) {
      res.status = TransactionStatus::kPermanentFailure;
      res.detail = std::move(why);
      CompleteTransaction();
      return false;
    };
    if (cur.recipients.empty()) return fail("no recipients");
    if (cur.body == BodyType::k8BitMime && !(extended && caps.eightbitmime)) {
      return fail("server does not offer 8BITMIME");
    }
    if (cur.body == BodyType::kBinaryMime && !(extended && caps.binarymime && caps.chunking)) {
      return fail("server does not offer BINARYMIME with CHUNKING");
    }
    if (cur.smtputf8 && !(extended && caps.smtputf8)) return fail("server does not offer SMTPUTF8");
    std::optional<uint64_t> max = caps.max_message_size();
    if (extended && max && cur.content.size() > *max) {
      return fail("message of " + std::to_string(cur.content.size()) +
                  " octets exceeds the server's SIZE " + std::to_string(*max));
    }
    if (use_bdat) {
      payload = cur.content;
    } else {
      DataEncodeResult e = EncodeData(cur.content, &payload);
      if (!e.ok()) {
        return fail("message has a bare CR or LF at offset " + std::to_string(e.offset) +
                    " (RFC 5321 §2.3.8)");
      }
    }

    std::string mail = "MAIL FROM:<" + cur.reverse_path + ">";
    if (extended && caps.size && config.declare_size) {
      mail += " SIZE=" + std::to_string(cur.content.size());
    }
    if (cur.body == BodyType::k8BitMime) mail += " BODY=8BITMIME";
    if (cur.body == BodyType::kBinaryMime) mail += " BODY=BINARYMIME";
    if (cur.smtputf8) mail += " SMTPUTF8";
    AppendParams(cur.mail_params, &mail);
    std::string error;
    std::optional<std::string> mail_line = Canonical(mail, cur.smtputf8, &error);
    if (!mail_line) return fail("MAIL FROM not sent: " + error);

    for (const OutgoingRecipient& r : cur.recipients) {
      std::string rcpt = "RCPT TO:<" + r.forward_path + ">";
      AppendParams(r.params, &rcpt);
      std::optional<std::string> line = Canonical(rcpt, cur.smtputf8, &error);
      rcpt_lines.push_back(line ? *line : "");
      if (!line) {
        res.recipients.push_back({r.forward_path, LocalReply("not sent: " + error)});
      } else {
        res.recipients.push_back({r.forward_path, Reply{}});
      }
    }
    bool any_sendable = std::any_of(rcpt_lines.begin(), rcpt_lines.end(),
                                    [](const std::string& l) { return !l.empty(); });
    if (!any_sendable) return fail("no recipient could be sent");

    Send(Step::kMail, *mail_line);
    if (pipelined) {
      // RFC 2920 §3.1: MAIL, every RCPT and DATA go in one group; DATA is last.
      for (size_t i = 0; i < rcpt_lines.size(); ++i) {
        if (!rcpt_lines[i].empty()) Send(Step::kRcpt, rcpt_lines[i], i);
      }
      if (!use_bdat) Send(Step::kData, "DATA");
    }
    return true;
  }

  size_t SendableRecipients() const {
    return std::count_if(rcpt_lines.begin(), rcpt_lines.end(),
                         [](const std::string& l) { return !l.empty(); });
  }

  bool AnyRecipientAccepted() const {
    return std::any_of(res.recipients.begin(), res.recipients.end(),
                       [](const RecipientResult& r) { return r.accepted(); });
  }

  void SendNextRcpt() {
    while (next_rcpt < rcpt_lines.size() && rcpt_lines[next_rcpt].empty()) ++next_rcpt;
    if (next_rcpt < rcpt_lines.size()) {
      Send(Step::kRcpt, rcpt_lines[next_rcpt], next_rcpt);
      ++next_rcpt;
    }
  }

  void OnMailReply(const Reply& reply) {
    res.mail_reply = reply;
    mail_ok = reply.is_positive_completion();
    if (mail_ok) {
      if (!pipelined) SendNextRcpt();
      return;
    }
    if (!pipelined) {
      FailTransaction(reply, "MAIL FROM refused");
    }
    // Pipelined: the RCPT and DATA replies are still to come.
  }

  void OnRcptReply(size_t index, const Reply& reply) {
    if (index < res.recipients.size()) res.recipients[index].reply = reply;
    ++rcpt_replies;
    if (!pipelined) {
      if (rcpt_replies < SendableRecipients()) {
        SendNextRcpt();
        return;
      }
      AfterRecipients();
      return;
    }
    if (rcpt_replies == SendableRecipients() && use_bdat) AfterRecipients();
  }

  // Every RCPT is answered (unpipelined, or BDAT): start the content or give up.
  void AfterRecipients() {
    if (!mail_ok) {
      FailTransaction(*res.mail_reply, "MAIL FROM refused");
      return;
    }
    if (!AnyRecipientAccepted()) {
      FailTransaction(std::nullopt, "no recipient accepted");
      return;
    }
    if (use_bdat) {
      SendChunks();
    } else {
      Send(Step::kData, "DATA");
    }
  }

  void OnDataReply(const Reply& reply) {
    if (reply.code == 354) {
      if (mail_ok && AnyRecipientAccepted()) {
        out += payload;
        expected.push_back({Step::kDataEnd, "DATA-END"});
      } else {
        // RFC 2920 §3.1: DATA accepted although every RCPT failed; end the
        // empty message with a lone dot and count the transaction failed.
        out += ".\r\n";
        expected.push_back({Step::kDataEnd, "DATA-END"});
        data_done = true;
      }
      return;
    }
    if (!mail_ok && res.mail_reply) {
      FailTransaction(*res.mail_reply, "MAIL FROM refused");
    } else if (!AnyRecipientAccepted()) {
      FailTransaction(std::nullopt, "no recipient accepted");
    } else {
      FailTransaction(reply, "DATA refused");
    }
  }

  void OnFinalReply(const Reply& reply) {
    if (data_done) {
      // The lone dot after an unwanted 354.
      FailTransaction(std::nullopt, !mail_ok ? "MAIL FROM refused" : "no recipient accepted");
      return;
    }
    res.final_reply = reply;
    if (reply.is_positive_completion()) {
      bool all = std::all_of(res.recipients.begin(), res.recipients.end(),
                             [](const RecipientResult& r) { return r.accepted(); });
      res.status = all ? TransactionStatus::kDelivered : TransactionStatus::kPartiallyDelivered;
      res.detail = "message accepted";
      CompleteTransaction();
      NextTransaction();
    } else {
      FailTransaction(reply, "message refused at end of data");
    }
  }

  void SendChunks() {
    // Pipelined: every chunk at once (RFC 3030 §4); otherwise one at a time.
    do {
      size_t n = std::min(config.bdat_chunk_size, payload.size() - bdat_offset);
      bool last = bdat_offset + n == payload.size();
      std::string line = "BDAT " + std::to_string(n) + (last ? " LAST" : "");
      out += line + "\r\n";
      out.append(payload, bdat_offset, n);
      expected.push_back({Step::kBdat, line, 0, last});
      bdat_offset += n;
      if (last) break;
    } while (pipelined);
  }

  void OnBdatReply(bool last, const Reply& reply) {
    if (bdat_failed) {
      // RFC 3030 §3: replies to chunks already pipelined behind a failed one.
      if (last) FinishFailedBdat();
      return;
    }
    if (last) {
      OnFinalReply(reply);
      return;
    }
    if (!reply.is_positive_completion()) {
      res.final_reply = reply;
      res.status = StatusForCode(reply.code);
      res.detail = "BDAT chunk refused";
      bdat_failed = true;
      bool more_pending = std::any_of(expected.begin(), expected.end(),
                                      [](const Sent& s) { return s.step == Step::kBdat; });
      if (!more_pending) FinishFailedBdat();
      return;
    }
    if (!pipelined) SendChunks();
  }

  void FinishFailedBdat() {
    bool mail = mail_ok;
    CompleteTransaction();
    if (mail) {
      Send(Step::kRset, "RSET");
    } else {
      NextTransaction();
    }
  }

  // Ends the current transaction unsuccessfully; RSETs when the server may
  // still hold it open.
  void FailTransaction(std::optional<Reply> reply, std::string why) {
    if (reply) {
      res.final_reply = *reply;
      res.status = StatusForCode(reply->code);
    } else {
      // No recipient accepted: temporary only if every refusal was 4xx.
      bool all_temp = !res.recipients.empty() &&
                      std::all_of(res.recipients.begin(), res.recipients.end(),
                                  [](const RecipientResult& r) { return r.reply.code / 100 == 4; });
      res.status = all_temp ? TransactionStatus::kTemporaryFailure
                            : TransactionStatus::kPermanentFailure;
    }
    res.detail = std::move(why);
    bool mail = mail_ok;
    CompleteTransaction();
    if (mail) {
      Send(Step::kRset, "RSET");
    } else {
      NextTransaction();
    }
  }

  void CompleteTransaction() {
    in_transaction = false;
    results.push_back(res);
    events.push_back(TransactionCompleteEvent{res});
  }
};

ClientSession::ClientSession(ClientSessionConfig config)
    : impl_(std::make_unique<Impl>(std::move(config))) {}

ClientSession::~ClientSession() = default;

void ClientSession::AddTransaction(OutgoingMessage message) {
  Impl& s = *impl_;
  if (s.quit_requested || s.done) return;
  s.queue.push_back(std::move(message));
  bool idle = s.greeted && s.expected.empty() && !s.awaiting_tls && !s.in_transaction;
  if (idle) s.NextTransaction();
}

void ClientSession::Quit() {
  Impl& s = *impl_;
  if (s.quit_requested || s.done) return;
  s.quit_requested = true;
  bool idle = s.greeted && s.expected.empty() && !s.awaiting_tls && !s.in_transaction;
  if (idle && s.queue.empty()) s.SendQuit();
}

void ClientSession::Feed(std::string_view bytes) {
  Impl& s = *impl_;
  while (!bytes.empty() && !s.done) {
    if (s.awaiting_tls) {
      // The reply-side twin of CVE-2011-0411: bytes after the STARTTLS 220
      // were sent in plaintext and must not be read as replies after the
      // handshake.
      s.events.push_back(ResponseInjectionEvent{bytes.size()});
      return;
    }
    ReplyParser::Result r = s.parser.Feed(bytes);
    bytes.remove_prefix(r.consumed);
    if (r.error) {
      s.End(SessionOutcome::kProtocolError, "malformed reply: " + r.error->message);
      return;
    }
    if (!r.reply) return;
    s.OnReply(std::move(*r.reply));
  }
}

void ClientSession::OnTlsEstablished() {
  Impl& s = *impl_;
  if (!s.awaiting_tls || s.done) return;
  s.awaiting_tls = false;
  s.tls_active = true;
  s.parser = ReplyParser(s.config.reply_options);
  // RFC 3207 §4.2: forget what the server said before; EHLO again.
  s.SendEhlo();
}

void ClientSession::OnConnectionClosed() {
  Impl& s = *impl_;
  if (s.done) return;
  if (s.quit_sent && s.outcome == SessionOutcome::kInProgress && s.expected.size() == 1 &&
      s.expected.front().step == Step::kQuit) {
    s.End(SessionOutcome::kCompleted, "closed after QUIT");
    return;
  }
  s.End(SessionOutcome::kConnectionClosed, "connection closed by the server");
}

std::string ClientSession::TakeOutput() { return std::exchange(impl_->out, {}); }
bool ClientSession::has_output() const { return !impl_->out.empty(); }

std::optional<ClientEvent> ClientSession::NextEvent() {
  if (impl_->events.empty()) return std::nullopt;
  ClientEvent e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

ClientState ClientSession::state() const {
  const Impl& s = *impl_;
  if (s.done) return ClientState::kDone;
  if (s.awaiting_tls) return ClientState::kAwaitingTls;
  if (!s.greeted) return ClientState::kAwaitingGreeting;
  if (!s.expected.empty()) return ClientState::kAwaitingReply;
  return ClientState::kIdle;
}

bool ClientSession::done() const { return impl_->done; }
SessionOutcome ClientSession::outcome() const { return impl_->outcome; }
bool ClientSession::tls_active() const { return impl_->tls_active; }
const EhloCapabilities& ClientSession::capabilities() const { return impl_->caps; }
const std::vector<TransactionResult>& ClientSession::results() const { return impl_->results; }

}  // namespace mxkit::smtp
