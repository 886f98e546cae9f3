// Fuzzes ServerSession with arbitrary client bytes.
//
// Input: 4 configuration bytes, then the client's byte stream.
//   byte 0: extension bits (pipelining, chunking, binarymime, starttls,
//           smtputf8, dsn, enhanced status codes, AUTH PLAIN)
//   byte 1: DATA bare line ending policy (bits 0-2, mod 5), small limits
//           (bit 3), NUL pass-through (bit 4), the command leniencies: space
//           before path and missing angle brackets (bit 5), HELO address
//           literal (bit 6), long AUTH line (bit 7)
//   byte 2: feed chunk size - 1 (the stream is fed in chunks of this size)
//   byte 3: policy script: which hook calls defer, and how deferred decisions
//           are answered (accept, reject 4xx/5xx with hostile text, disconnect)
//
// Properties checked (__builtin_trap on violation):
//   - every byte the session writes parses as well-formed replies (strict
//     ReplyParser), including policy texts with CR/LF/8-bit bytes in them;
//   - between StartTlsRequestedEvent and OnTlsEstablished() the session writes
//     nothing and reports nothing but PlaintextInjectionEvent (CVE-2011-0411);
//   - a DATA message completes only after a 354 was sent for it, a BDAT one
//     only when CHUNKING is offered;
//   - accepted envelopes respect max_recipients, accepted messages
//     max_message_size;
//   - once closed, the session writes nothing more.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz/property_check.h"
#include "smtp/reply.h"
#include "smtp/server_session.h"

namespace {

using namespace mxkit::smtp;

class ScriptedPolicy : public ServerPolicy {
 public:
  explicit ScriptedPolicy(uint8_t script) : script_(script) {}

  Decision Next() {
    ++calls_;
    // Defer one call in (script & 3) + 1 when bit 2 is set.
    if ((script_ & 4) && calls_ % ((script_ & 3) + 1) == 0) return Decision::Defer();
    if ((script_ & 8) && calls_ % 5 == 0) return Decision::Reject(450, "4.7.1", "greylisted\r\n250 x\xff");
    return Decision::Accept();
  }
  // How a deferred decision is finally answered.
  Decision Answer() {
    switch ((script_ >> 4) + answers_++ % 4) {
      case 0: return Decision::Accept("tarpit over");
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
  Decision OnDataStart(const Envelope&) override { return Next(); }
  Decision OnMessage(const Envelope&, std::string_view) override { return Next(); }
  Decision OnAuth(const AuthRequest& a) override {
    if (a.responses.empty()) return Decision::Reject(334, "", "");
    return Next();
  }

 private:
  uint8_t script_;
  unsigned calls_ = 0;
  unsigned answers_ = 0;
};

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
  const bool chunking = config.extensions.chunking;
  const size_t max_recipients = config.limits.max_recipients;
  const uint64_t max_message = config.limits.max_message_size;

  ScriptedPolicy policy(script);
  ServerSession session(config, &policy);
  std::string output;
  bool awaiting_tls = false;
  bool closed = false;
  size_t data_354 = 0, data_messages = 0;

  auto drain = [&] {
    std::string out = session.TakeOutput();
    if (closed || awaiting_tls) MXKIT_FUZZ_CHECK(out.empty());
    output += out;
    size_t pos = 0;
    while ((pos = out.find("354 ", pos)) != std::string::npos) {
      if (pos == 0 || out[pos - 1] == '\n') ++data_354;
      ++pos;
    }
    while (auto e = session.NextEvent()) {
      if (awaiting_tls) MXKIT_FUZZ_CHECK(std::holds_alternative<PlaintextInjectionEvent>(*e));
      if (std::holds_alternative<StartTlsRequestedEvent>(*e)) awaiting_tls = true;
      if (std::holds_alternative<CloseRequestedEvent>(*e)) closed = true;
      if (auto* m = std::get_if<MessageCompleteEvent>(&*e)) {
        if (m->via_bdat) {
          MXKIT_FUZZ_CHECK(chunking);
        } else {
          ++data_messages;
          MXKIT_FUZZ_CHECK(data_messages <= data_354);
        }
        if (m->accepted) MXKIT_FUZZ_CHECK(m->message.size() <= max_message);
        MXKIT_FUZZ_CHECK(m->envelope.recipients.size() <= max_recipients);
      }
    }
    MXKIT_FUZZ_CHECK(session.envelope().recipients.size() <= max_recipients);
  };

  session.Start();
  drain();
  const size_t step = static_cast<size_t>(chunk) + 1;
  for (size_t off = 0; off < input.size(); off += step) {
    if (session.decision_point()) {
      session.Decide(policy.Answer());
      drain();
    }
    if (awaiting_tls && (script & 1)) {
      session.OnTlsEstablished();
      awaiting_tls = false;
    }
    session.Feed(input.substr(off, step));
    drain();
  }
  while (session.decision_point()) {
    session.Decide(policy.Answer());
    drain();
  }

  RepliesParseResult replies = ParseReplies(output);
  MXKIT_FUZZ_CHECK(!replies.error.has_value());
  for (const Reply& r : replies.replies) MXKIT_FUZZ_CHECK(r.code >= 200 && r.code <= 599);
  return 0;
}
