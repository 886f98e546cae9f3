#include "smtp/server_session.h"

#include <algorithm>
#include <string>
#include <utility>

#include "base/ascii.h"
#include "base/base64.h"
#include "smtp/address.h"
#include "smtp/ehlo.h"
#include "smtp/reply.h"

namespace mxkit::smtp {
namespace {

// Reply text the session writes is kept well inside the 512-octet reply line
// (RFC 5321 §4.5.3.1.5): code, SP, an enhanced code and CRLF need < 20.
constexpr size_t kMaxReplyText = 400;

// A pipelined AUTH response line may be as long as RFC 4954 §4 allows; any
// other command line, at most the command line limit plus the MAIL FROM
// allowances of limits.h (the parser applies the per-verb limit).
constexpr size_t kCommandFramingAllowance =
    kMailLineSizeAllowance + kMailLineDsnAllowance + kMailLineAuthAllowance;

// RFC 3461 §4 NOTIFY values.
std::string FormatNotify(const DsnNotify& n) {
  if (n.never) return "NEVER";
  std::string s;
  auto add = [&s](const char* v) {
    if (!s.empty()) s += ',';
    s += v;
  };
  if (n.success) add("SUCCESS");
  if (n.failure) add("FAILURE");
  if (n.delay) add("DELAY");
  return s;
}

std::string Xtext(std::string_view s) {
  std::string out;
  AppendXtext(s, &out);
  return out;
}

// "<a@b>" -> "a@b"; the null path -> "". The brackets are cut in place,
// not by a substr's second string: this runs for every MAIL and RCPT.
std::string PathText(const MailPath& path) {
  if (path.is_null) return "";
  std::string s;
  AppendPath(path, &s);
  if (s.size() >= 2 && s.front() == '<' && s.back() == '>') {
    s.pop_back();
    s.erase(0, 1);
  }
  return s;
}

// Reply text must be a textstring (RFC 5321 §4.2: HT, SP..~). Text from a
// policy or an error message is made one by replacing anything else, so a
// configured reply can never inject a line. The parsers' error messages cite
// RFC sections with U+00A7 SECTION SIGN, which is spelled "section " so that a
// client reads "RFC 5321 section 4.1.2" rather than "RFC 5321 ??4.1.2".
//
// Appends to `out`, which it may already hold other replies: every reply is
// formatted straight into the session's output, since a copy per step
// (text, line, prefix, reply) cost more than the rest of a small message's
// SMTP work. Runs of textstring octets are copied whole.
void AppendSanitizedText(std::string& out, std::string_view text) {
  static constexpr std::string_view kSectionSign = "\xC2\xA7";
  const auto in_textstring = [](char c) {
    const unsigned char u = static_cast<unsigned char>(c);
    return (u >= 0x20 || u == '\t') && u <= 0x7e;
  };
  const size_t start = out.size();
  size_t i = 0;
  while (i < text.size() && out.size() - start < kMaxReplyText) {
    const size_t limit = std::min(text.size(), i + (kMaxReplyText - (out.size() - start)));
    size_t j = i;
    while (j < limit && in_textstring(text[j])) ++j;
    out.append(text.data() + i, j - i);
    i = j;
    if (i == limit) continue;
    if (text.substr(i, kSectionSign.size()) == kSectionSign) {
      out += "section ";
      i += kSectionSign.size();
    } else {
      out += '?';
      ++i;
    }
  }
  if (out.size() - start > kMaxReplyText) out.resize(start + kMaxReplyText);
}

std::string SanitizeText(std::string_view text) {
  std::string s;
  AppendSanitizedText(s, text);
  return s;
}

// The three digits of a reply code (RFC 5321 §4.2), as FormatReply writes
// them.
void AppendReplyCode(std::string& out, int code) {
  if (code < 0 || code > 999) {
    out += std::to_string(code);
    return;
  }
  out.push_back(static_cast<char>('0' + code / 100));
  out.push_back(static_cast<char>('0' + code / 10 % 10));
  out.push_back(static_cast<char>('0' + code % 10));
}

// A 4yz or 5yz RFC 5321 §4.2 Reply-code: what a refusal may send.
bool IsFailureCode(int code) { return code >= 400 && IsReplyCode(code); }

std::string_view EnhancedForCode(int code) {
  switch (code / 100) {
    case 2: return "2.0.0";
    case 4: return "4.0.0";
    default: return "5.0.0";
  }
}

// An EHLO keyword line a policy asks to advertise verbatim: printable ASCII
// (SP included, RFC 5321 §4.1.1.1 ehlo-line), bounded like our reply text.
bool IsAdvertisableKeywordLine(std::string_view line) {
  if (line.empty() || line.size() > kMaxReplyText) return false;
  return base::IsPrintableAscii(line);
}

// What the session offers and accepts, made consistent: BINARYMIME needs
// CHUNKING (RFC 3030 §3), and extra keyword lines that could inject a reply
// line or an 8-bit byte are dropped.
void NormalizeExtensions(ServerExtensions& x) {
  if (!x.chunking) x.binarymime = false;
  std::erase_if(x.extra_keywords, [](const std::string& k) { return !IsAdvertisableKeywordLine(k); });
}

// HELO and EHLO replies carry no enhanced code (RFC 2034 §4), also when a
// policy answers them itself.
bool IsHelloVerb(std::string_view verb) { return verb == "EHLO" || verb == "HELO"; }

// The first word of a command line, up to the first SP.
std::string_view FirstWord(std::string_view line) { return line.substr(0, line.find(' ')); }

enum class Phase { kNotStarted, kCommand, kData, kBdat, kTls, kStalled, kClosed };

}  // namespace

struct ServerSession::Impl {
  ServerSessionConfig config;
  ServerPolicy* policy;
  ServerPolicy accept_all;

  // Input not processed yet and kept across Feed() calls: a partial command
  // line, or what arrived while a decision was pending. Everything else
  // (DATA and BDAT content above all) is processed straight from the
  // caller's bytes and never copied here.
  std::string buffered;
  uint64_t buffered_total = 0;  // bytes ever appended to `buffered`
  // The unprocessed rest of what Process() works on: a view into `buffered`
  // or into the bytes given to Feed(). Consumed bytes are dropped from
  // `buffered` once per Process() call, not per line: erasing per line made a
  // large pipelined read quadratic.
  std::string_view input;
  std::string out;
  // A queue: NextEvent takes events[next_event]; once all are taken the
  // vector is cleared and keeps its memory. A deque of events this large
  // (an Envelope each) allocated a block every second push.
  std::vector<ServerEvent> events;
  size_t next_event = 0;

  Phase phase = Phase::kNotStarted;
  bool greeting_refused = false;  // 554 greeting: only QUIT is served (RFC 5321 §3.1)
  enum class Hello { kNone, kHelo, kEhlo } hello = Hello::kNone;
  bool in_transaction = false;
  Envelope envelope;
  bool tls_active = false;
  bool authenticated = false;
  int errors = 0;
  bool skipping_line = false;  // discarding an over-long line up to its CRLF
  std::string skipped_prefix;  // start of that line, for the error event

  // What EHLO offers and the parser accepts: the policy's answer to
  // Extensions() when it gave one, else config.extensions.
  std::optional<ServerExtensions> policy_extensions;

  // A deferred decision and what applying it needs.
  std::optional<DecisionPoint> pending;
  // A decision with a delay, held until ReleaseDelayedDecision(); `pending`
  // says which hook it answers.
  std::optional<Decision> held;
  // The command line OnCommand deferred or delayed, interpreted on kAccept.
  std::string pending_command;
  // Scratch for CommandRequest::verb, so upper-casing it does not allocate
  // per command: every RFC verb fits `verb_buffer`; a longer first word
  // (garbage, mostly) goes to `long_verb`, whose capacity is reused.
  char verb_buffer[16];
  std::string long_verb;
  HelloRequest pending_hello;
  Envelope pending_mail;
  Recipient pending_rcpt;
  bool pending_bdat_last = false;
  uint64_t pending_bdat_size = 0;

  // DATA.
  DataDecoder decoder;
  std::string message;
  bool data_started = false;  // 354 sent or a BDAT chunk accepted
  bool via_bdat = false;

  // BDAT (RFC 3030).
  uint64_t bdat_remaining = 0;
  bool bdat_last = false;
  // How the bytes of the current chunk are used and then answered.
  enum class ChunkUse { kAppend, kDiscardSequence, kDiscardFailed, kDiscardTooBig, kDiscardRejected };
  ChunkUse chunk_use = ChunkUse::kAppend;
  Decision chunk_rejection;
  bool bdat_failed = false;  // RFC 3030 §3: discard later chunks of a failed transaction

  // AUTH (RFC 4954).
  std::optional<AuthRequest> auth;

  Impl(ServerSessionConfig c, ServerPolicy* p)
      : config(std::move(c)), policy(p ? p : &accept_all), tls_active(config.implicit_tls) {
    config.max_protocol_errors =
        std::clamp(config.max_protocol_errors, 1, kMaxProtocolErrorsCeiling);
    NormalizeExtensions(config.extensions);
  }

  const ServerExtensions& ext() const {
    return policy_extensions ? *policy_extensions : config.extensions;
  }

  // ServerPolicy::Extensions for the current TLS state; the config's when
  // the policy has no opinion.
  void AskExtensions() {
    policy_extensions = policy->Extensions(tls_active);
    if (policy_extensions) NormalizeExtensions(*policy_extensions);
  }

  bool enhanced() const { return ext().enhanced_status_codes; }

  // ---- Output -------------------------------------------------------------

  // Writes one reply. With ENHANCEDSTATUSCODES offered, RFC 2034 §4 puts an
  // enhanced code on every reply except the greeting and the HELO/EHLO
  // replies (`plain`); RFC 3463 has no class for 3xx intermediate replies.
  //
  // Formats into `out` exactly what FormatReply(WithEnhancedStatusCode(
  // MakeReply(code, SanitizeText(text)), e)) would, without the copies (the
  // session's test pins the bytes).
  void Send(int code, std::string_view enh, std::string_view text, bool plain = false) {
    AppendReplyCode(out, code);
    int klass = code / 100;
    if (enhanced() && !plain && (klass == 2 || klass == 4 || klass == 5)) {
      std::optional<EnhancedStatusCode> e;
      if (!enh.empty()) e = ParseEnhancedStatusCode(enh);
      if (!e || !EnhancedCodeMatches(*e, code)) e = ParseEnhancedStatusCode(EnhancedForCode(code));
      out += ' ';
      AppendEnhanced(*e);
      const size_t before = out.size();
      out += ' ';
      AppendSanitizedText(out, text);
      if (out.size() == before + 1) out.resize(before);  // no text: no SP after the code
    } else {
      const size_t before = out.size();
      out += ' ';
      AppendSanitizedText(out, text);
      if (out.size() == before + 1) out.resize(before);  // FormatReply: "250\r\n"
    }
    out += "\r\n";
  }

  void AppendEnhanced(const EnhancedStatusCode& e) { AppendEnhancedStatusCode(e, &out); }

  // Writes the reply a decision carries: its `raw` bytes verbatim (not
  // sanitized, no CRLF added: a test of the client's parser), else its
  // `lines` as one multi-line reply, else `text` (the caller's choice
  // between the decision's text and the session's default).
  void SendFor(int code, std::string_view enh, const Decision& d, std::string_view text,
               bool plain = false) {
    if (!d.raw.empty()) {
      out += d.raw;
      return;
    }
    if (d.lines.empty()) {
      Send(code, enh, text, plain);
      return;
    }
    // A reply the client's parser can take whole (garbage is what `raw` is for).
    size_t count = std::min(d.lines.size(), kMaxReplyLines);
    std::vector<std::string> lines;
    lines.reserve(count);
    for (size_t i = 0; i < count; ++i) lines.push_back(SanitizeText(d.lines[i]));
    Reply reply = MakeMultilineReply(code, std::move(lines));
    int klass = code / 100;
    // RFC 2034 §4: every line of a multi-line reply carries the enhanced code.
    if (enhanced() && !plain && (klass == 2 || klass == 4 || klass == 5)) {
      std::optional<EnhancedStatusCode> e;
      if (!enh.empty()) e = ParseEnhancedStatusCode(enh);
      if (!e || !EnhancedCodeMatches(*e, code)) e = ParseEnhancedStatusCode(EnhancedForCode(code));
      reply = WithEnhancedStatusCode(std::move(reply), *e);
    }
    out += FormatReply(reply);
  }

  void Close(CloseRequestedEvent::Reason reason, bool reset = false) {
    phase = Phase::kClosed;
    pending.reset();
    held.reset();
    input = {};
    buffered.clear();
    events.push_back(CloseRequestedEvent{reason, reset});
  }

  // kStall: no reply now or ever; what was buffered and what comes later is
  // discarded unread.
  void Stall() {
    phase = Phase::kStalled;
    pending.reset();
    held.reset();
    input = {};
    buffered.clear();
    auth.reset();
    events.push_back(StalledEvent{});
  }

  // A command refused for syntax or sequence: counted towards the 421.
  void Error(int code, std::string_view enh, std::string_view text, std::string_view line,
             std::string_view detail) {
    Send(code, enh, text);
    events.push_back(ProtocolErrorEvent{
        code, std::string(line.substr(0, config.limits.max_command_line)), std::string(detail)});
    if (++errors >= config.max_protocol_errors) {
      Send(421, "4.7.0", config.hostname + " Error: too many errors, closing connection");
      Close(CloseRequestedEvent::Reason::kTooManyErrors);
    }
  }

  void SequenceError(std::string_view line, std::string_view text) {
    Error(503, "5.5.1", text, line, text);
  }

  // Applies every decision but kAccept (and kDefer, which never gets here)
  // the same way at every hook; returns false for kAccept, which each hook
  // applies itself. kReply and kUnknown mean something only to OnCommand
  // (and kReply to OnConnect), which handle them first; reaching here they
  // are outside the contract and degrade to kReject (with their code when it
  // is 4xx/5xx, else 451), so a policy's mistake is a visible refusal.
  bool Refuse(const Decision& d) {
    switch (d.action) {
      case Decision::Action::kReject:
      case Decision::Action::kReply:
      case Decision::Action::kUnknown: {
        int code = IsFailureCode(d.code) ? d.code : 451;
        SendFor(code, d.enhanced, d, d.text.empty() ? "Requested action not taken" : d.text);
        return true;
      }
      case Decision::Action::kDisconnect: {
        int code = IsFailureCode(d.code) ? d.code : 421;
        SendFor(code, d.enhanced, d,
                d.text.empty() ? config.hostname + " closing connection" : d.text);
        Close(CloseRequestedEvent::Reason::kPolicy);
        return true;
      }
      case Decision::Action::kDrop:
        Close(CloseRequestedEvent::Reason::kPolicy);
        return true;
      case Decision::Action::kReset:
        Close(CloseRequestedEvent::Reason::kPolicy, /*reset=*/true);
        return true;
      case Decision::Action::kStall:
        Stall();
        return true;
      case Decision::Action::kAccept:
      case Decision::Action::kDefer:
        return false;
    }
    return false;
  }

  std::string TextOr(const Decision& d, std::string fallback) {
    return d.text.empty() ? std::move(fallback) : d.text;
  }

  // ---- Transaction state --------------------------------------------------

  void ResetTransaction() {
    in_transaction = false;
    envelope = Envelope{};
    message.clear();
    data_started = false;
    via_bdat = false;
    bdat_failed = false;
    decoder.Reset();
  }

  // RFC 3207 §4.2 and the state right after the greeting.
  void ForgetSession() {
    ResetTransaction();
    hello = Hello::kNone;
    authenticated = false;
    auth.reset();
  }

  CommandParseOptions ParseOptions() const {
    CommandParseOptions o;
    static_cast<CommandLeniencies&>(o) = config.command_leniencies;
    const ServerExtensions& x = ext();
    // Service extensions exist only after EHLO (RFC 5321 §2.2.1); after HELO
    // or before any greeting their verbs and parameters are refused.
    bool esmtp = hello != Hello::kHelo;
    o.extensions.size = esmtp && x.size;
    o.extensions.eightbitmime = esmtp && x.eight_bit_mime;
    o.extensions.binarymime = esmtp && x.binarymime;
    o.extensions.chunking = esmtp && x.chunking;
    o.extensions.smtputf8 = esmtp && x.smtputf8;
    o.extensions.dsn = esmtp && x.dsn;
    o.extensions.auth = esmtp && !x.auth_mechanisms.empty();
    // Still parsed under TLS, so a second STARTTLS gets 503, not 502.
    o.extensions.starttls = esmtp && x.starttls;
    o.max_command_line = config.limits.max_command_line;
    o.allow_utf8 = in_transaction && envelope.smtputf8;
    return o;
  }

  DataDecoderOptions DataOptions() const {
    DataDecoderOptions o;
    o.bare_line_ending = config.data_bare_line_endings;
    o.nul = config.data_nul;
    o.max_line_length = config.limits.max_text_line;
    o.max_message_size = static_cast<size_t>(
        std::min<uint64_t>(config.limits.max_message_size, SIZE_MAX));
    return o;
  }

  // ---- Decisions ------------------------------------------------------------

  // Runs a hook; returns false when its decision is pending (processing must
  // stop).
  template <typename F>
  bool Ask(DecisionPoint point, F&& hook) {
    return Resolve(point, hook());
  }

  // Applies a decision for `point` now, or holds it: a kDefer until
  // Decide(), one with a delay until ReleaseDelayedDecision(). Returns false
  // when it is pending.
  bool Resolve(DecisionPoint point, Decision d) {
    if (d.action == Decision::Action::kDefer) {
      pending = point;
      return false;
    }
    if (d.delay.count() > 0) {
      pending = point;
      std::chrono::milliseconds delay = std::exchange(d.delay, std::chrono::milliseconds{0});
      held = std::move(d);
      events.push_back(DecisionDelayedEvent{delay});
      return false;
    }
    Apply(point, d);
    return true;
  }

  void Apply(DecisionPoint point, const Decision& d) {
    switch (point) {
      case DecisionPoint::kConnect: ApplyConnect(d); break;
      case DecisionPoint::kHello: ApplyHello(d); break;
      case DecisionPoint::kMailFrom: ApplyMail(d); break;
      case DecisionPoint::kRcptTo: ApplyRcpt(d); break;
      case DecisionPoint::kDataStart: ApplyDataStart(d); break;
      case DecisionPoint::kMessage: ApplyMessage(d); break;
      case DecisionPoint::kAuth: ApplyAuth(d); break;
      case DecisionPoint::kStartTls: ApplyStartTls(d); break;
      case DecisionPoint::kCommand: ApplyCommand(d); break;
    }
  }

  void ApplyConnect(const Decision& d) {
    if (d.action == Decision::Action::kAccept) {
      std::string text = config.hostname;
      std::string g = TextOr(d, config.greeting);
      if (!g.empty()) text += " " + g;
      SendFor(220, "", d, text, /*plain=*/true);
      phase = Phase::kCommand;
      events.push_back(GreetingSentEvent{220});
      return;
    }
    if (d.action == Decision::Action::kReply && (!d.raw.empty() || IsReplyCode(d.code))) {
      // Any greeting (multi-line, not 220, raw bytes); commands are then
      // served as after a 220, whatever it said.
      SendFor(d.code, "", d, config.hostname + (d.text.empty() ? "" : " " + d.text),
              /*plain=*/true);
      phase = Phase::kCommand;
      events.push_back(GreetingSentEvent{d.code});
      return;
    }
    if (d.action == Decision::Action::kReject || d.action == Decision::Action::kReply ||
        d.action == Decision::Action::kUnknown) {
      // RFC 5321 §3.1: a 554 greeting; the server then waits for QUIT and
      // answers every other command 503. (kReply without a valid code and
      // kUnknown are outside OnConnect's contract and degrade to this.)
      int code = IsFailureCode(d.code) ? d.code : 554;
      std::string text = config.hostname + " " + (d.text.empty() ? "No SMTP service here" : d.text);
      SendFor(code, "", d, text, /*plain=*/true);
      events.push_back(GreetingSentEvent{code});
      if (code == 421) {
        Close(CloseRequestedEvent::Reason::kServiceUnavailable);
      } else {
        greeting_refused = true;
        phase = Phase::kCommand;
      }
      return;
    }
    if (d.action == Decision::Action::kDisconnect) {
      events.push_back(GreetingSentEvent{IsFailureCode(d.code) ? d.code : 421});
    }
    Refuse(d);
  }

  void ApplyHello(const Decision& d) {
    if (Refuse(d)) return;
    const HelloRequest& h = pending_hello;
    // RFC 5321 §4.1.4: HELO/EHLO after a transaction started is like RSET.
    ResetTransaction();
    if (h.extended) {
      hello = Hello::kEhlo;
      // What this EHLO offers is what the session accepts until the next
      // one: a receiver may offer more (or less) after TLS than before.
      AskExtensions();
      if (!d.raw.empty() || !d.lines.empty()) {
        SendFor(250, "", d, "", /*plain=*/true);
      } else {
        Reply r = FormatEhloReply(config.hostname, SanitizeText(TextOr(d, "greets " + h.domain)),
                                  Capabilities());
        for (const std::string& k : ext().extra_keywords) r.lines.push_back(k);
        out += FormatReply(r);
      }
    } else {
      hello = Hello::kHelo;
      SendFor(250, "", d, config.hostname + " " + TextOr(d, "greets " + h.domain),
              /*plain=*/true);
    }
    events.push_back(HelloEvent{h});
  }

  EhloCapabilities Capabilities() const {
    const ServerExtensions& x = ext();
    EhloCapabilities c;
    c.pipelining = x.pipelining;
    if (x.size) c.size = SizeExtension{config.limits.max_message_size};
    c.eightbitmime = x.eight_bit_mime;
    c.smtputf8 = x.smtputf8;
    c.starttls = x.starttls && !tls_active;
    c.chunking = x.chunking;
    c.binarymime = x.binarymime;
    c.dsn = x.dsn;
    c.enhanced_status_codes = x.enhanced_status_codes;
    // RFC 4954 §4: AUTH is not offered again once authenticated.
    if (!authenticated) c.auth_mechanisms = x.auth_mechanisms;
    return c;
  }

  void ApplyMail(const Decision& d) {
    if (Refuse(d)) return;
    in_transaction = true;
    envelope = pending_mail;
    SendFor(250, "2.1.0", d, TextOr(d, "Sender OK"));
    events.push_back(MailFromEvent{envelope});
  }

  void ApplyRcpt(const Decision& d) {
    if (Refuse(d)) return;
    envelope.recipients.push_back(pending_rcpt);
    SendFor(250, "2.1.5", d, TextOr(d, "Recipient OK"));
    events.push_back(RecipientAcceptedEvent{pending_rcpt});
  }

  void ApplyDataStart(const Decision& d) {
    if (via_bdat) {
      // The first BDAT chunk: its bytes follow the command whatever we say,
      // so the decision only chooses what happens to them.
      if (d.action == Decision::Action::kAccept) {
        data_started = true;
        StartChunk(pending_bdat_size, pending_bdat_last, ChunkUse::kAppend);
      } else if (d.action == Decision::Action::kReject || d.action == Decision::Action::kReply ||
                 d.action == Decision::Action::kUnknown) {
        chunk_rejection = d;
        StartChunk(pending_bdat_size, pending_bdat_last, ChunkUse::kDiscardRejected);
      } else {
        Refuse(d);
      }
      return;
    }
    if (Refuse(d)) return;
    data_started = true;
    message.clear();
    decoder = DataDecoder(DataOptions());
    SendFor(354, "", d, TextOr(d, "End data with <CR><LF>.<CR><LF>"));
    phase = Phase::kData;
  }

  void ApplyMessage(const Decision& d) {
    // Reported before a refusal's CloseRequestedEvent or StalledEvent, so
    // that no event ever follows those.
    const bool accepted = d.action == Decision::Action::kAccept;
    // The transaction ends here (ResetTransaction below): its envelope is
    // moved, not copied.
    events.push_back(
        MessageCompleteEvent{std::move(envelope), std::move(message), via_bdat, accepted});
    if (accepted) {
      SendFor(250, "2.0.0", d, TextOr(d, "OK: message accepted"));
    } else {
      Refuse(d);
    }
    ResetTransaction();
  }

  void ApplyAuth(const Decision& d) {
    if (d.action == Decision::Action::kAccept) {
      authenticated = true;
      SendFor(235, "2.7.0", d, TextOr(d, "Authentication successful"));
      events.push_back(AuthenticatedEvent{auth->mechanism});
      auth.reset();
      return;
    }
    if (d.action == Decision::Action::kReject && d.code == 334) {
      // RFC 4954 §4: continue-req = "334" SP [base64] CRLF.
      if (!d.raw.empty()) {
        out += d.raw;
      } else {
        out += "334 " + SanitizeText(d.text) + "\r\n";
      }
      return;  // the next line is the client's response
    }
    auth.reset();
    Refuse(d);
  }

  // ---- Input ----------------------------------------------------------------

  std::string_view avail() const { return input; }
  void consume(size_t n) { input.remove_prefix(n); }

  void Buffer(std::string_view bytes) {
    buffered.append(bytes);
    buffered_total += bytes.size();
  }

  // Processes what is buffered.
  void Process() {
    input = buffered;
    ProcessBuffered();
    buffered.erase(0, buffered.size() - input.size());
    input = {};
  }

  // Processes `bytes` without copying them; keeps only the rest that cannot
  // be processed yet. Requires an empty buffer (input order).
  void ProcessDirect(std::string_view bytes) {
    input = bytes;
    ProcessBuffered();
    Buffer(input);
    input = {};
  }

  // Blocked: the input waits (bounded by the caller's check) for Decide().
  bool blocked() const { return pending.has_value() || phase == Phase::kNotStarted; }

  void ProcessBuffered() {
    while (!pending && phase != Phase::kClosed && phase != Phase::kTls &&
           phase != Phase::kNotStarted && phase != Phase::kStalled) {
      if (phase == Phase::kData) {
        if (avail().empty()) return;
        ProcessData();
      } else if (phase == Phase::kBdat) {
        if (avail().empty() && bdat_remaining > 0) return;
        ProcessBdat();
      } else if (!ProcessLine()) {
        return;
      }
    }
    if (phase == Phase::kTls && !avail().empty()) DiscardInjection();
  }

  void DiscardInjection() {
    // CVE-2011-0411: bytes behind STARTTLS were sent in plaintext before the
    // handshake; executing them after it would let a man in the middle
    // inject commands into the protected session.
    events.push_back(PlaintextInjectionEvent{avail().size()});
    consume(avail().size());
  }

  // Handles one command line; false when no complete line is buffered.
  bool ProcessLine() {
    size_t cap = auth || config.command_leniencies.allow_long_auth_line
                     ? std::max(kMaxAuthResponseLine,
                                config.limits.max_command_line + kCommandFramingAllowance)
                     : config.limits.max_command_line + kCommandFramingAllowance;
    std::string_view a = avail();
    size_t crlf = a.find("\r\n");
    if (skipping_line) {
      if (crlf == std::string::npos) {
        // Keep a trailing CR: it may be the first half of the CRLF.
        size_t keep = (!a.empty() && a.back() == '\r') ? 1 : 0;
        consume(a.size() - keep);
        return false;
      }
      consume(crlf + 2);
      skipping_line = false;
      auth.reset();
      if (config.command_events) events.push_back(CommandReceivedEvent{skipped_prefix});
      // RFC 5321 §4.5.3.1.10 / §4.2.2: "500 Line too long".
      Error(500, "5.5.2", "Line too long", skipped_prefix, "command line exceeds the limit");
      return true;
    }
    if (crlf == std::string::npos) {
      if (a.size() > cap) {
        skipped_prefix = std::string(a.substr(0, config.limits.max_command_line));
        skipping_line = true;
        return true;
      }
      return false;
    }
    if (crlf + 2 > cap) {
      std::string prefix(a.substr(0, config.limits.max_command_line));
      consume(crlf + 2);
      auth.reset();
      if (config.command_events) events.push_back(CommandReceivedEvent{prefix});
      Error(500, "5.5.2", "Line too long", prefix, "command line exceeds the limit");
      return true;
    }
    std::string line(a.substr(0, crlf));
    consume(crlf + 2);
    if (auth) {
      // A SASL response is a secret (PLAIN carries the password): the
      // transcript notes its size, never its bytes.
      if (config.command_events) {
        events.push_back(
            CommandReceivedEvent{"(AUTH response, " + std::to_string(line.size()) + " octets)"});
      }
      HandleAuthResponse(line);
    } else {
      HandleCommand(line);
    }
    return true;
  }

  // CommandRequest::verb: the first word, upper-cased.
  std::string_view UpperVerb(std::string_view line) {
    std::string_view word = FirstWord(line);
    char* to = verb_buffer;
    if (word.size() > sizeof verb_buffer) {
      long_verb.resize(word.size());
      to = long_verb.data();
    }
    for (size_t i = 0; i < word.size(); ++i) to[i] = base::ToUpperAscii(word[i]);
    return std::string_view(to, word.size());
  }

  // The line as the transcript shows it: as sent, except that an AUTH
  // initial response (RFC 4954 §4), a secret like any SASL response, is
  // replaced by its size.
  static std::string TranscriptLine(std::string_view line, std::string_view verb) {
    if (verb != "AUTH") return std::string(line);
    size_t mech_end = line.find(' ', verb.size() + 1);
    if (verb.size() >= line.size() || mech_end == std::string_view::npos) return std::string(line);
    size_t response = line.size() - mech_end - 1;
    return std::string(line.substr(0, mech_end)) + " (initial response, " +
           std::to_string(response) + " octets)";
  }

  // Every command line passes OnCommand before the session interprets it.
  void HandleCommand(const std::string& line) {
    std::string_view v = UpperVerb(line);
    if (config.command_events) events.push_back(CommandReceivedEvent{TranscriptLine(line, v)});
    Decision d = policy->OnCommand(CommandRequest{v, line, tls_active, in_transaction, authenticated});
    // The hot path: the default answer is neither copied nor stored.
    if (d.action == Decision::Action::kAccept && d.delay.count() <= 0) [[likely]] {
      InterpretCommand(line);
      return;
    }
    pending_command = line;
    Resolve(DecisionPoint::kCommand, std::move(d));
  }

  void ApplyCommand(const Decision& d) {
    std::string line = std::exchange(pending_command, {});
    switch (d.action) {
      case Decision::Action::kAccept:
        InterpretCommand(line);
        return;
      case Decision::Action::kReply:
        if (!d.raw.empty() || IsReplyCode(d.code)) {
          SendFor(d.code, d.enhanced, d, d.text, IsHelloVerb(UpperVerb(line)));
          return;
        }
        break;  // no code to send: Refuse degrades it to a 451
      case Decision::Action::kUnknown: {
        const CommandError& e = UnknownVerbError();
        Error(e.reply_code, e.enhanced_status, e.message, line, e.message);
        return;
      }
      default:
        break;
    }
    Refuse(d);
  }

  // How the parser answers a verb it does not know, taken from the parser
  // itself so that kUnknown cannot drift from it. XYZZY is in no RFC.
  static const CommandError& UnknownVerbError() {
    static const CommandError error = ParseCommand("XYZZY", CommandParseOptions{}).error;
    return error;
  }

  void InterpretCommand(const std::string& line) {
    CommandResult r = ParseCommand(line, ParseOptions());
    if (greeting_refused) {
      if (r.ok() && r.command.verb() == CommandVerb::kQuit) {
        HandleQuit();
      } else {
        SequenceError(line, "Bad sequence of commands: no service, send QUIT");
      }
      return;
    }
    if (!r.ok()) {
      int code = r.error.reply_code ? r.error.reply_code : 500;
      Error(code, r.error.enhanced_status, r.error.message, line, r.error.message);
      return;
    }
    Command& c = r.command;
    switch (c.verb()) {
      case CommandVerb::kHelo: {
        auto* h = c.get_if<HeloCommand>();
        pending_hello = HelloRequest{false, h->domain};
        Ask(DecisionPoint::kHello, [&] { return policy->OnHello(pending_hello); });
        break;
      }
      case CommandVerb::kEhlo: {
        auto* h = c.get_if<EhloCommand>();
        pending_hello = HelloRequest{true, h->domain};
        Ask(DecisionPoint::kHello, [&] { return policy->OnHello(pending_hello); });
        break;
      }
      case CommandVerb::kMail: HandleMail(line, *c.get_if<MailCommand>()); break;
      case CommandVerb::kRcpt: HandleRcpt(line, *c.get_if<RcptCommand>()); break;
      case CommandVerb::kData: HandleData(line); break;
      case CommandVerb::kBdat: HandleBdat(line, *c.get_if<BdatCommand>()); break;
      case CommandVerb::kRset:
        ResetTransaction();
        Send(250, "2.0.0", "OK");
        events.push_back(ResetEvent{});
        break;
      case CommandVerb::kNoop: Send(250, "2.0.0", "OK"); break;
      case CommandVerb::kQuit: HandleQuit(); break;
      case CommandVerb::kVrfy:
        // RFC 5321 §3.5.3: 252 when the server will not verify but accepts mail.
        Send(252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
        break;
      case CommandVerb::kExpn:
        // RFC 5321 §3.5.2 lets a server refuse to expand lists; we have none.
        Send(502, "5.5.1", "EXPN not supported");
        break;
      case CommandVerb::kHelp:
        Send(214, "2.0.0",
             "Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS AUTH");
        break;
      case CommandVerb::kStarttls: HandleStarttls(line); break;
      case CommandVerb::kAuth: HandleAuth(line, *c.get_if<AuthCommand>()); break;
    }
  }

  void HandleQuit() {
    Send(221, "2.0.0", config.hostname + " Service closing transmission channel");
    Close(CloseRequestedEvent::Reason::kQuit);
  }

  void HandleMail(const std::string& line, const MailCommand& m) {
    if (hello == Hello::kNone) return SequenceError(line, "Send HELO/EHLO first");
    if (in_transaction) return SequenceError(line, "Nested MAIL command");
    if (ext().auth_required && !ext().auth_mechanisms.empty() && !authenticated) {
      // RFC 4954 §6: a server requiring AUTH refuses MAIL until it succeeded.
      Send(530, "5.7.0", "Authentication required");
      return;
    }
    // RFC 1870 §6.1: a declared size above the fixed maximum gets 552.
    if (m.size && ext().size && *m.size > config.limits.max_message_size) {
      Send(552, "5.3.4", "Message size exceeds fixed maximum message size");
      return;
    }
    Envelope e;
    e.reverse_path = PathText(m.reverse_path);
    if (m.size) {
      e.declared_size = *m.size;
      e.mail_params.emplace_back("SIZE", std::to_string(*m.size));
    }
    if (m.body) {
      e.body = *m.body;
      e.mail_params.emplace_back("BODY", *m.body == BodyType::k7Bit      ? "7BIT"
                                         : *m.body == BodyType::k8BitMime ? "8BITMIME"
                                                                           : "BINARYMIME");
    }
    if (m.smtputf8) {
      e.smtputf8 = true;
      e.mail_params.emplace_back("SMTPUTF8", "");
    }
    if (m.ret) e.mail_params.emplace_back("RET", *m.ret == DsnRet::kFull ? "FULL" : "HDRS");
    if (m.envid) e.mail_params.emplace_back("ENVID", Xtext(*m.envid));
    if (m.auth) {
      e.mail_params.emplace_back("AUTH",
                                 m.auth->is_null ? "<>" : Xtext(FormatMailbox(m.auth->mailbox)));
    }
    pending_mail = std::move(e);
    Ask(DecisionPoint::kMailFrom, [&] { return policy->OnMailFrom(pending_mail); });
  }

  void HandleRcpt(const std::string& line, const RcptCommand& rc) {
    if (!in_transaction) return SequenceError(line, "Need MAIL before RCPT");
    if (data_started) return SequenceError(line, "RCPT after message data started");
    if (envelope.recipients.size() >= config.limits.max_recipients) {
      // RFC 5321 §4.5.3.1.10: "452 Too many recipients"; a client must treat
      // the older 552 the same way.
      Send(452, "4.5.3", "Too many recipients");
      return;
    }
    Recipient r;
    r.forward_path = PathText(rc.forward_path);
    if (rc.notify) r.params.emplace_back("NOTIFY", FormatNotify(*rc.notify));
    if (rc.orcpt) r.params.emplace_back("ORCPT", rc.orcpt->addr_type + ";" + Xtext(rc.orcpt->address));
    pending_rcpt = std::move(r);
    Ask(DecisionPoint::kRcptTo, [&] { return policy->OnRcptTo(envelope, pending_rcpt); });
  }

  void HandleData(const std::string& line) {
    if (!in_transaction) return SequenceError(line, "Need MAIL command");
    if (via_bdat || data_started) return SequenceError(line, "DATA after BDAT");
    // RFC 3030 §3: BODY=BINARYMIME content can only be sent with BDAT.
    if (envelope.body == BodyType::kBinaryMime) {
      return SequenceError(line, "BINARYMIME requires BDAT");
    }
    if (envelope.recipients.empty()) {
      // RFC 5321 §3.3: no valid recipients -> 554 (or 503).
      Send(554, "5.5.1", "No valid recipients");
      events.push_back(ProtocolErrorEvent{554, line, "DATA without accepted recipients"});
      return;
    }
    Ask(DecisionPoint::kDataStart, [&] { return policy->OnDataStart(envelope); });
  }

  void HandleBdat(const std::string& line, const BdatCommand& b) {
    // The chunk's bytes follow the command in every case (RFC 3030 §2), so
    // even a refused BDAT consumes them to stay in step.
    if (!in_transaction || (!data_started && envelope.recipients.empty() && !bdat_failed)) {
      return StartChunk(b.chunk_size, b.last, ChunkUse::kDiscardSequence);
    }
    if (bdat_failed) return StartChunk(b.chunk_size, b.last, ChunkUse::kDiscardFailed);
    if (data_started && !via_bdat) return StartChunk(b.chunk_size, b.last, ChunkUse::kDiscardSequence);
    if (b.chunk_size > config.limits.max_message_size ||
        message.size() + b.chunk_size > config.limits.max_message_size) {
      via_bdat = true;
      envelope.via_bdat = true;
      return StartChunk(b.chunk_size, b.last, ChunkUse::kDiscardTooBig);
    }
    via_bdat = true;
    envelope.via_bdat = true;
    if (data_started) return StartChunk(b.chunk_size, b.last, ChunkUse::kAppend);
    pending_bdat_size = b.chunk_size;
    pending_bdat_last = b.last;
    Ask(DecisionPoint::kDataStart, [&] { return policy->OnDataStart(envelope); });
  }

  void StartChunk(uint64_t size, bool last, ChunkUse use) {
    bdat_remaining = size;
    bdat_last = last;
    chunk_use = use;
    phase = Phase::kBdat;
  }

  void ProcessBdat() {
    std::string_view a = avail();
    size_t n = static_cast<size_t>(std::min<uint64_t>(bdat_remaining, a.size()));
    if (chunk_use == ChunkUse::kAppend) message.append(a.data(), n);
    consume(n);
    bdat_remaining -= n;
    if (bdat_remaining > 0) return;
    phase = Phase::kCommand;
    switch (chunk_use) {
      case ChunkUse::kAppend:
        if (bdat_last) {
          Ask(DecisionPoint::kMessage, [&] { return policy->OnMessage(envelope, message); });
        } else {
          Send(250, "2.0.0", "Chunk received, " + std::to_string(message.size()) + " octets so far");
        }
        break;
      case ChunkUse::kDiscardSequence: {
        // Not counted towards the error limit: RFC 3030 §3 lets a client
        // pipeline chunks behind a MAIL or RCPT that then failed.
        std::string text = in_transaction ? "No valid recipients" : "Need MAIL command";
        Send(503, "5.5.1", text);
        events.push_back(ProtocolErrorEvent{503, "BDAT", text});
        break;
      }
      case ChunkUse::kDiscardFailed:
        // RFC 3030 §3: chunks pipelined behind a failed one are discarded.
        Send(503, "5.5.1", "Transaction failed earlier, chunk discarded");
        if (bdat_last) ResetTransaction();
        break;
      case ChunkUse::kDiscardTooBig:
        Send(552, "5.3.4", "Message size exceeds fixed maximum message size");
        FailBdatTransaction();
        break;
      case ChunkUse::kDiscardRejected:
        Refuse(chunk_rejection);
        FailBdatTransaction();
        break;
    }
  }

  void FailBdatTransaction() {
    if (bdat_last) {
      ResetTransaction();
    } else {
      bdat_failed = true;
      message.clear();
    }
  }

  void ProcessData() {
    DataPutResult r = decoder.Put(avail(), &message);
    consume(r.consumed);
    if (r.status == DataStatus::kNeedMore) return;
    phase = Phase::kCommand;
    if (r.status == DataStatus::kDone) {
      Ask(DecisionPoint::kMessage, [&] { return policy->OnMessage(envelope, message); });
      return;
    }
    DataError err = decoder.error();
    std::string detail = decoder.error_message();
    ParseResultSend(DataErrorReply(err));
    events.push_back(ProtocolErrorEvent{DataErrorReplyCode(err), "DATA", detail});
    ResetTransaction();
  }

  // Sends a reply given as wire bytes, without its enhanced code when the
  // extension is off.
  void ParseResultSend(std::string_view wire) {
    ReplyParseResult p = ParseReply(wire);
    if (!p.reply || p.reply->lines.empty()) {
      Send(554, "5.0.0", "Transaction failed");
      return;
    }
    EnhancedText t = SplitEnhancedStatusCode(p.reply->lines[0]);
    Send(p.reply->code, t.code ? FormatEnhancedStatusCode(*t.code) : "", t.text);
  }

  void HandleStarttls(const std::string& line) {
    if (tls_active) return SequenceError(line, "TLS already active");
    if (hello != Hello::kEhlo) return SequenceError(line, "Send EHLO first");
    if (in_transaction) return SequenceError(line, "STARTTLS inside a mail transaction");
    Ask(DecisionPoint::kStartTls, [&] { return policy->OnStartTls(); });
  }

  void ApplyStartTls(const Decision& d) {
    if (Refuse(d)) return;
    SendFor(220, "2.0.0", d, TextOr(d, "Ready to start TLS"));
    phase = Phase::kTls;
    events.push_back(StartTlsRequestedEvent{});
  }

  void HandleAuth(const std::string& line, const AuthCommand& a) {
    if (hello != Hello::kEhlo) return SequenceError(line, "Send EHLO first");
    if (authenticated) return SequenceError(line, "Already authenticated");
    if (in_transaction) return SequenceError(line, "AUTH inside a mail transaction");
    const auto& mechs = ext().auth_mechanisms;
    if (std::find(mechs.begin(), mechs.end(), a.mechanism) == mechs.end()) {
      // RFC 4954 §4: 504 for a mechanism the server does not support.
      Send(504, "5.5.4", "Unrecognized authentication type");
      return;
    }
    auth = AuthRequest{a.mechanism, {}};
    if (a.initial_response) auth->responses.push_back(*a.initial_response);
    Ask(DecisionPoint::kAuth, [&] { return policy->OnAuth(*auth); });
  }

  void HandleAuthResponse(const std::string& line) {
    if (line == "*") {
      // RFC 4954 §4: the client cancelled the exchange.
      auth.reset();
      Send(501, "5.0.0", "Authentication cancelled");
      return;
    }
    // Decoded as strictly as the initial response (RFC 4954 §4, RFC 4648 §3.5).
    base::Base64Result decoded = base::DecodeBase64(line);
    if (!decoded.ok()) {
      auth.reset();
      Error(501, "5.5.2", "Invalid base64 in SASL response", line, "SASL response is not base64");
      return;
    }
    auth->responses.push_back(std::move(decoded.bytes));
    Ask(DecisionPoint::kAuth, [&] { return policy->OnAuth(*auth); });
  }
};

ServerSession::ServerSession(ServerSessionConfig config, ServerPolicy* policy)
    : impl_(std::make_unique<Impl>(std::move(config), policy)) {}

ServerSession::~ServerSession() = default;

void ServerSession::Start() {
  Impl& s = *impl_;
  if (s.phase != Phase::kNotStarted || s.pending) return;
  s.AskExtensions();
  if (s.Ask(DecisionPoint::kConnect, [&] { return s.policy->OnConnect(); })) s.Process();
}

void ServerSession::Feed(std::string_view bytes) {
  Impl& s = *impl_;
  // A stalled session reads nothing: a hung server (kStall).
  if (bytes.empty() || s.phase == Phase::kClosed || s.phase == Phase::kStalled) return;
  if (s.phase == Phase::kTls) {
    s.events.push_back(PlaintextInjectionEvent{bytes.size()});
    return;
  }
  if (s.phase == Phase::kNotStarted || (s.pending == DecisionPoint::kConnect)) {
    // RFC 5321 §4.3.1: the client waits for the greeting.
    s.events.push_back(EarlyTalkerEvent{bytes.size()});
  }
  if (s.blocked()) {
    if (s.buffered.size() + bytes.size() > kMaxBufferedInputWhileBlocked) {
      s.Send(421, "4.7.0", s.config.hostname + " Too much input while a decision is pending");
      s.Close(CloseRequestedEvent::Reason::kBufferOverflow);
      return;
    }
    s.Buffer(bytes);
    return;
  }
  // Only a partial command line is ever buffered here (DATA and BDAT content
  // is consumed whole). Complete that line, copying no more than up to its
  // CRLF, then process the rest from the caller's bytes.
  while (!s.buffered.empty() && !bytes.empty()) {
    size_t n;
    if (s.buffered.back() == '\r' && bytes.front() == '\n') {
      n = 1;
    } else {
      n = bytes.find("\r\n");
      n = n == std::string_view::npos ? bytes.size() : n + 2;
    }
    s.Buffer(bytes.substr(0, n));
    bytes.remove_prefix(n);
    s.Process();
    if (s.phase == Phase::kClosed || s.phase == Phase::kStalled) return;
    if (s.blocked()) {
      s.Buffer(bytes);
      return;
    }
  }
  if (!bytes.empty()) s.ProcessDirect(bytes);
}

void ServerSession::Decide(Decision decision) {
  Impl& s = *impl_;
  if (!s.pending || s.held) return;
  if (decision.action == Decision::Action::kDefer) return;
  DecisionPoint point = *s.pending;
  s.pending.reset();
  s.Resolve(point, std::move(decision));
  s.Process();
}

void ServerSession::ReleaseDelayedDecision() {
  Impl& s = *impl_;
  if (!s.held) return;
  Decision decision = std::move(*s.held);
  s.held.reset();
  DecisionPoint point = *s.pending;
  s.pending.reset();
  s.Apply(point, decision);
  s.Process();
}

void ServerSession::OnTlsEstablished() {
  Impl& s = *impl_;
  if (s.phase != Phase::kTls) return;
  s.tls_active = true;
  s.ForgetSession();
  s.phase = Phase::kCommand;
  s.AskExtensions();
}

std::string ServerSession::TakeOutput() { return std::exchange(impl_->out, {}); }
bool ServerSession::has_output() const { return !impl_->out.empty(); }

std::optional<ServerEvent> ServerSession::NextEvent() {
  Impl& s = *impl_;
  if (s.next_event == s.events.size()) return std::nullopt;
  std::optional<ServerEvent> e(std::move(s.events[s.next_event]));
  if (++s.next_event == s.events.size()) {
    s.events.clear();
    s.next_event = 0;
  }
  return e;
}

ServerState ServerSession::state() const {
  const Impl& s = *impl_;
  if (s.pending) return ServerState::kAwaitingDecision;
  switch (s.phase) {
    case Phase::kNotStarted: return ServerState::kNotStarted;
    case Phase::kCommand: return ServerState::kCommand;
    case Phase::kData: return ServerState::kDataContent;
    case Phase::kBdat: return ServerState::kBdatContent;
    case Phase::kTls: return ServerState::kAwaitingTls;
    case Phase::kStalled: return ServerState::kStalled;
    case Phase::kClosed: return ServerState::kClosed;
  }
  return ServerState::kClosed;
}

bool ServerSession::wants_input() const {
  ServerState st = state();
  return st == ServerState::kCommand || st == ServerState::kDataContent ||
         st == ServerState::kBdatContent;
}

std::optional<DecisionPoint> ServerSession::decision_point() const { return impl_->pending; }
bool ServerSession::decision_delayed() const { return impl_->held.has_value(); }
bool ServerSession::tls_active() const { return impl_->tls_active; }
const Envelope& ServerSession::envelope() const { return impl_->envelope; }
int ServerSession::protocol_errors() const { return impl_->errors; }
uint64_t ServerSession::input_bytes_buffered() const { return impl_->buffered_total; }
bool ServerSession::in_transaction() const { return impl_->in_transaction; }

void ServerSession::Abort(int code, std::string_view enhanced, std::string_view text) {
  Impl& s = *impl_;
  if (s.phase == Phase::kClosed) return;
  if (s.phase == Phase::kStalled) {
    // A hung server sends nothing, not even the 421.
    s.Close(CloseRequestedEvent::Reason::kPolicy);
    return;
  }
  if (!IsFailureCode(code)) code = 421;
  s.Send(code, enhanced, s.config.hostname + " " + std::string(text));
  s.Close(CloseRequestedEvent::Reason::kPolicy);
}

}  // namespace mxkit::smtp
