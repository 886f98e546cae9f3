// Fuzzes ServerSession with arbitrary client bytes and, in "hooks" mode,
// arbitrary policy decisions.
//
// Input: 4 configuration bytes, then the client's byte stream.
//   byte 0: extension bits (pipelining, chunking, binarymime, starttls,
//           smtputf8, dsn, enhanced status codes, AUTH PLAIN)
//   byte 1: DATA bare line ending policy (bits 0-2, mod 5), small limits
//           (bit 3), NUL pass-through (bit 4), the command leniencies: space
//           before path and missing angle brackets (bit 5), HELO address
//           literal (bit 6), long AUTH line (bit 7)
//   byte 2: feed chunk size - 1 (the stream is fed in chunks of this size)
//   byte 3: policy script: which hook calls defer (bits 0-3), and how
//           deferred decisions are answered (bits 4-7: accept, reject 4xx/5xx
//           with hostile text, disconnect). With bits 6 and 7 both set, the
//           "hooks" mode of issue 9: OnCommand, every hook and every deferred
//           answer draw from all actions (kReply with any code, lines, raw
//           bytes, kUnknown, kStall, kReset, delays, ...), Extensions()
//           differs before and after TLS (extra keywords, auth_required),
//           command events are on, delayed decisions are released at once
//           (before or after the next chunk is fed). The draws come from a
//           generator stirred with each command line, so the client's bytes
//           steer them. Seeds from before hooks mode keep their meaning
//           unless both bits were set (they then answered every deferral
//           with Accept).
//
// Properties checked (__builtin_trap on violation):
//   - every byte the session writes parses as well-formed replies (strict
//     ReplyParser), including policy texts with CR/LF/8-bit bytes in them,
//     except a raw reply, which must appear byte for byte as the policy gave
//     it (the policy frames raw bytes with \x02, a tag byte, and \x03, which
//     the session never writes otherwise, so they can be cut out before
//     parsing);
//   - between StartTlsRequestedEvent and OnTlsEstablished() the session writes
//     nothing and reports nothing but PlaintextInjectionEvent (CVE-2011-0411);
//   - a DATA message completes only after a go-ahead was sent for it, a BDAT
//     one only when CHUNKING is offered. A go-ahead is what the session
//     sends when the kDataStart hook accepts DATA: its 354 (default text,
//     the decision's text or lines) or the decision's raw bytes, which
//     replace the 354 and still take the step (ServerSession test
//     OnlyAnAcceptedDataStartStartsAMessageWhateverItsReplySays). Other
//     354s are not go-aheads: a kReply 354 from OnCommand (for DATA too:
//     the command has no other effect) or OnConnect, and the raw "354 go
//     ahead" of any other decision. The count is exact (policy decisions
//     carry a go-ahead mark, kGoAheadMark and kRawGoAhead), so a session
//     that entered DATA after one of those fails the check;
//   - accepted envelopes respect max_recipients, accepted messages
//     max_message_size;
//   - once closed, the session writes nothing more; once stalled, it writes
//     nothing and reports nothing, whatever it is fed;
//   - while a delayed decision is held, feeding writes nothing;
//   - CloseRequestedEvent::reset only after the policy said kReset;
//   - pending decisions always end: answering and releasing them drains the
//     input in a bounded number of steps.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/property_check.h"
#include "smtp/reply.h"
#include "smtp/server_session.h"

namespace {

using namespace mxkit::smtp;
using std::chrono::milliseconds;

// Raw replies are framed by these so the checker can find them; the session
// writes neither byte itself (reply text is sanitized to printable ASCII).
// The byte after kRawBegin says whether the raw reply is a DATA go-ahead
// (kRawGoAhead) or anything else (kRawOther).
constexpr char kRawBegin = '\x02';
constexpr char kRawEnd = '\x03';
constexpr char kRawGoAhead = 'G';
constexpr char kRawOther = '-';

// Appended to the text and the last line of every decision the kDataStart
// hook gives, so a formatted 354 that is a go-ahead can be told from one a
// policy sent as a kReply (which never carries it). Printable ASCII: the
// session's sanitizing leaves it as it is.
constexpr std::string_view kGoAheadMark = " [go-ahead]";
// The session's own 354 text (smtp/server_session.cc ApplyDataStart).
constexpr std::string_view kDefaultGoAheadText = "End data with <CR><LF>.<CR><LF>";

// Garbage a misbehaving server sends (the catalogue's garbage-replies and
// worse); none holds kRawBegin or kRawEnd.
const std::vector<std::string>& RawPayloads() {
  static const std::vector<std::string> payloads = {
      "250-mx.example.test\r\n250-PIPELINING\r\n251 broken continuation\r\n",
      "hello there\r\n",
      "25\r\n",
      "250 Ok\n",
      "999 what\r\n",
      std::string("\0\xff\r\n", 4),
      "354 go ahead\r\n",
      "220-unterminated",
      "\r\n",
  };
  return payloads;
}

class ScriptedPolicy : public ServerPolicy {
 public:
  explicit ScriptedPolicy(uint8_t script, uint32_t seed)
      : script_(script), hooks_((script & 0xc0) == 0xc0), state_(seed | 1) {}

  bool hooks() const { return hooks_; }
  bool reset_given() const { return reset_given_; }

  // A coin the driver loop uses in hooks mode.
  bool Coin() { return Draw() & 1; }

  // `data_start`: the decision answers kDataStart (see kGoAheadMark).
  Decision Next(bool data_start = false) {
    ++calls_;
    // Defer one call in (script & 3) + 1 when bit 2 is set.
    if ((script_ & 4) && calls_ % ((script_ & 3) + 1) == 0) return Decision::Defer();
    if (hooks_) return Any(/*may_defer=*/true, data_start);
    if ((script_ & 8) && calls_ % 5 == 0) return Decision::Reject(450, "4.7.1", "greylisted\r\n250 x\xff");
    return Decision::Accept();
  }
  // How a deferred decision is finally answered (never kDefer: the driver's
  // loop relies on Decide() making progress).
  Decision Answer(bool data_start) {
    if (hooks_) return Any(/*may_defer=*/false, data_start);
    switch ((script_ >> 4) + answers_++ % 4) {
      case 0: return Decision::Accept(data_start ? "tarpit over" + std::string(kGoAheadMark)
                                                 : "tarpit over");
      case 1: return Decision::Reject(550, "5.7.1", "refused\n");
      case 2: return Decision::Reject(299, "9.9.9", "bogus code");  // clamped by the session
      case 3: return Decision::Disconnect();
      case 4: return Decision::Drop();
      default: return Decision::Accept();
    }
  }

  Decision OnConnect() override { return Next(); }
  Decision OnHello(const HelloRequest&) override { return Next(); }
  Decision OnMailFrom(const Envelope&) override { return Next(); }
  Decision OnRcptTo(const Envelope&, const Recipient&) override { return Next(); }
  Decision OnDataStart(const Envelope&) override { return Next(/*data_start=*/true); }
  Decision OnMessage(const Envelope&, std::string_view) override { return Next(); }
  Decision OnAuth(const AuthRequest& a) override {
    if (a.responses.empty()) {
      Decision challenge = Decision::Reject(334, "", "");
      if (hooks_ && Draw() % 4 == 0) challenge.raw = Raw(/*go_ahead=*/false);
      return challenge;
    }
    return Next();
  }
  Decision OnStartTls() override { return hooks_ ? Next() : Decision::Accept(); }
  Decision OnCommand(const CommandRequest& r) override {
    if (!hooks_) return {};
    // The command's bytes steer what comes next.
    for (char c : r.line) state_ = (state_ ^ static_cast<uint8_t>(c)) * 16777619u;
    if (Draw() % 3 != 0) return {};
    return Any(/*may_defer=*/true, /*data_start=*/false);
  }
  std::optional<ServerExtensions> Extensions(bool tls_active) override {
    if (!hooks_) return std::nullopt;
    uint32_t r = Draw();
    if (r % 4 == 0) return std::nullopt;
    ServerExtensions x;
    x.pipelining = r & 2;
    x.size = r & 4;
    x.eight_bit_mime = r & 8;
    x.smtputf8 = r & 16;
    x.starttls = !tls_active && (r & 32);
    x.chunking = r & 64;
    x.binarymime = r & 128;  // without chunking the session drops it
    x.dsn = r & 256;
    x.enhanced_status_codes = r & 512;
    if (r & 1024) x.auth_mechanisms = {"PLAIN"};
    x.auth_required = r & 2048;
    if (r & 4096) x.extra_keywords = {"X-EXPS GSSAPI", "BAD\r\n250 INJECTED", "8BIT\xff", ""};
    return x;
  }

 private:
  uint32_t Draw() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 17;
    state_ ^= state_ << 5;
    return state_;
  }

  std::string Raw(bool go_ahead) {
    const auto& p = RawPayloads();
    return std::string{kRawBegin, go_ahead ? kRawGoAhead : kRawOther} + p[Draw() % p.size()] +
           kRawEnd;
  }

  // Any decision at all, hostile texts included. `data_start`: it answers
  // kDataStart, where an accepting one is a go-ahead.
  Decision Any(bool may_defer, bool data_start) {
    static const char* const kEnhanced[] = {"", "2.1.0", "4.7.1", "5.9.9", "9.9.9", "x"};
    static const int kCodes[] = {0, 199, 200, 220, 221, 250, 251, 299, 334, 354, 421,
                                 450, 452, 500, 530, 550, 554, 599, 600, 999};
    uint32_t r = Draw();
    Decision d;
    d.code = kCodes[(r >> 8) % (sizeof kCodes / sizeof kCodes[0])];
    d.enhanced = kEnhanced[(r >> 16) % 6];
    switch (r % 16) {
      case 0: d.action = Decision::Action::kReply; break;
      case 1: d.action = Decision::Action::kReject; break;
      case 2: d.action = Decision::Action::kUnknown; break;
      case 3: d.action = Decision::Action::kDisconnect; break;
      case 4: d.action = Decision::Action::kReply; d.raw = Raw(/*go_ahead=*/false); break;
      case 5:
        d.action = Decision::Action::kAccept;
        // Replaces the 354 and still starts the message (kAccept's contract).
        d.raw = Raw(/*go_ahead=*/data_start);
        break;
      case 6: d.action = may_defer ? Decision::Action::kDefer : Decision::Action::kAccept; break;
      case 7: d.action = Decision::Action::kStall; break;
      case 8: d.action = Decision::Action::kReset; break;
      case 9: d.action = Decision::Action::kDrop; break;
      default: d.action = Decision::Action::kAccept; break;
    }
    if (d.action == Decision::Action::kReset) reset_given_ = true;
    if (r & (1u << 24)) d.text = "hostile\r\n250 injected\xff \xc2\xa7";
    if (r & (1u << 25)) d.lines = {"first", "second\r\n250 x", "", "\xc2\xa7 last"};
    if (data_start) {
      if (!d.text.empty()) d.text += kGoAheadMark;
      if (!d.lines.empty()) d.lines.back() += kGoAheadMark;
    }
    if (r & (1u << 26)) d.delay = milliseconds((r & (1u << 27)) ? 1000 : -5);
    return d;
  }

  uint8_t script_;
  bool hooks_;
  uint32_t state_;
  unsigned calls_ = 0;
  unsigned answers_ = 0;
  bool reset_given_ = false;
};

// Splits `out` into the session's own bytes (appended to `own`) and the raw
// replies in it, each of which must be exactly one of RawPayloads(); returns
// how many of those were DATA go-aheads.
size_t SeparateRaw(std::string_view out, std::string* own) {
  size_t go_aheads = 0;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t begin = out.find(kRawBegin, pos);
    if (begin == std::string_view::npos) begin = out.size();
    own->append(out.substr(pos, begin - pos));
    MXKIT_FUZZ_CHECK(out.substr(pos, begin - pos).find(kRawEnd) == std::string_view::npos);
    if (begin == out.size()) break;
    size_t end = out.find(kRawEnd, begin + 1);
    MXKIT_FUZZ_CHECK(end != std::string_view::npos);
    MXKIT_FUZZ_CHECK(end >= begin + 2);
    const char tag = out[begin + 1];
    MXKIT_FUZZ_CHECK(tag == kRawGoAhead || tag == kRawOther);
    if (tag == kRawGoAhead) ++go_aheads;
    std::string_view payload = out.substr(begin + 2, end - begin - 2);
    bool known = false;
    for (const std::string& p : RawPayloads()) known = known || payload == p;
    MXKIT_FUZZ_CHECK(known);
    pos = end + 1;
  }
  return go_aheads;
}

// The formatted DATA go-aheads in `own`, the session's own replies (whole
// replies: the session writes each at once): 354 replies whose last line is
// the session's text or carries kGoAheadMark. A reply that does not parse
// counts nothing; the final whole-output check reports it.
size_t CountGoAheadReplies(std::string_view own) {
  size_t n = 0;
  for (const Reply& r : ParseReplies(own).replies) {
    if (r.code != 354 || r.lines.empty()) continue;
    std::string_view last = r.lines.back();
    if (last == kDefaultGoAheadText || last.ends_with(kGoAheadMark)) ++n;
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const uint8_t ext = data[0], lim = data[1], chunk = data[2], script = data[3];
  std::string_view input(reinterpret_cast<const char*>(data) + 4, size - 4);

  ServerSessionConfig config;
  config.hostname = "mx.example.net";
  config.extensions.pipelining = ext & 1;
  config.extensions.chunking = ext & 2;
  config.extensions.binarymime = ext & 4;
  config.extensions.starttls = ext & 8;
  config.extensions.smtputf8 = ext & 16;
  config.extensions.dsn = ext & 32;
  config.extensions.enhanced_status_codes = ext & 64;
  if (ext & 128) config.extensions.auth_mechanisms = {"PLAIN"};
  config.data_bare_line_endings = static_cast<BareLineEndingPolicy>((lim & 7) % 5);
  if (lim & 16) config.data_nul = NulPolicy::kPassThrough;
  config.command_leniencies.allow_space_before_path = lim & 32;
  config.command_leniencies.allow_missing_angle_brackets = lim & 32;
  config.command_leniencies.allow_helo_address_literal = lim & 64;
  config.command_leniencies.allow_long_auth_line = lim & 128;
  if (lim & 8) {
    config.limits.max_recipients = 3;
    config.limits.max_message_size = 64;
    config.max_protocol_errors = 4;
  }
  ScriptedPolicy policy(script, (uint32_t{ext} << 24) | (uint32_t{lim} << 16) |
                                    (uint32_t{chunk} << 8) | script);
  config.command_events = policy.hooks();
  const size_t max_recipients = config.limits.max_recipients;
  const uint64_t max_message = config.limits.max_message_size;

  ServerSession session(config, &policy);
  std::string output;
  bool awaiting_tls = false;
  bool closed = false;
  bool stalled = false;
  bool chunking_ever = config.extensions.chunking;
  size_t go_aheads = 0, data_messages = 0;

  auto drain = [&] {
    std::string raw_out = session.TakeOutput();
    if (closed || awaiting_tls || stalled) MXKIT_FUZZ_CHECK(raw_out.empty());
    std::string out;
    go_aheads += SeparateRaw(raw_out, &out);
    go_aheads += CountGoAheadReplies(out);
    output += out;
    while (auto e = session.NextEvent()) {
      MXKIT_FUZZ_CHECK(!stalled && !closed);
      if (awaiting_tls) MXKIT_FUZZ_CHECK(std::holds_alternative<PlaintextInjectionEvent>(*e));
      if (std::holds_alternative<StartTlsRequestedEvent>(*e)) awaiting_tls = true;
      if (std::holds_alternative<StalledEvent>(*e)) stalled = true;
      if (auto* c = std::get_if<CloseRequestedEvent>(&*e)) {
        closed = true;
        if (c->reset) MXKIT_FUZZ_CHECK(policy.reset_given());
      }
      if (auto* m = std::get_if<MessageCompleteEvent>(&*e)) {
        if (m->via_bdat) {
          MXKIT_FUZZ_CHECK(chunking_ever);
        } else {
          ++data_messages;
          MXKIT_FUZZ_CHECK(data_messages <= go_aheads);
        }
        if (m->accepted) MXKIT_FUZZ_CHECK(m->message.size() <= max_message);
        MXKIT_FUZZ_CHECK(m->envelope.recipients.size() <= max_recipients);
      }
    }
    if (stalled) {
      MXKIT_FUZZ_CHECK(session.state() == ServerState::kStalled && !session.wants_input());
    }
    MXKIT_FUZZ_CHECK(session.envelope().recipients.size() <= max_recipients);
  };

  // Ends a pending decision: a delayed one is released, a deferred one
  // answered.
  auto settle = [&] {
    if (session.decision_delayed()) {
      session.ReleaseDelayedDecision();
    } else {
      session.Decide(policy.Answer(session.decision_point() == DecisionPoint::kDataStart));
    }
    drain();
  };

  // In hooks mode Extensions() may offer CHUNKING although the config does
  // not; a BDAT message is then legitimate.
  if (policy.hooks()) chunking_ever = true;

  session.Start();
  drain();
  const size_t step = static_cast<size_t>(chunk) + 1;
  for (size_t off = 0; off < input.size(); off += step) {
    bool feed_first = policy.hooks() && policy.Coin();
    if (!feed_first && session.decision_point()) settle();
    if (awaiting_tls && (script & 1)) {
      session.OnTlsEstablished();
      awaiting_tls = false;
    }
    const bool held = session.decision_delayed();
    const bool was_closed = closed;
    session.Feed(input.substr(off, step));
    if (held && !was_closed) MXKIT_FUZZ_CHECK(!session.has_output());
    drain();
    if (feed_first && session.decision_point()) settle();
  }
  // Every pending decision ends, and the buffered input with it: each step
  // applies a decision, which consumes a command or a message.
  for (size_t steps = 0; session.decision_point(); ++steps) {
    MXKIT_FUZZ_CHECK(steps <= input.size() + 16);
    settle();
  }

  RepliesParseResult replies = ParseReplies(output);
  if (replies.error) {
    // What the crash report needs to be read without a debugger.
    std::fprintf(stderr, "reply parse error: %s\nsession output (raw replies cut out):\n%s\n",
                 replies.error->message.c_str(), output.c_str());
  }
  MXKIT_FUZZ_CHECK(!replies.error.has_value());
  for (const Reply& r : replies.replies) MXKIT_FUZZ_CHECK(r.code >= 200 && r.code <= 599);
  return 0;
}
