// Fuzzes ClientSession with arbitrary server reply bytes.
//
// Input: 2 configuration bytes, then the server's byte stream.
//   byte 0: bit 0-1 STARTTLS mode (never/opportunistic/required), bit 2
//           pipelining, bit 3 chunking, bit 4 complete TLS handshakes,
//           bit 5 Quit() up front, bits 6-7 BDAT chunk size class
//   byte 1: feed chunk size - 1
//
// Properties checked (__builtin_trap on violation):
//   - while awaiting the TLS handshake the client writes nothing and reports
//     nothing but ResponseInjectionEvent (reply-side CVE-2011-0411);
//   - nothing is written after QUIT;
//   - once done, every queued transaction has exactly one result, reported
//     by exactly one TransactionCompleteEvent, and exactly one
//     SessionCompleteEvent was emitted;
//   - kDelivered means a 2xx final reply and every recipient accepted;
//     kPartiallyDelivered a 2xx final reply and at least one accepted.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz/property_check.h"
#include "smtp/client_session.h"

namespace {

using namespace mxkit::smtp;

OutgoingMessage Message(std::string rcpt1, std::string rcpt2, BodyType body) {
  OutgoingMessage m;
  m.reverse_path = "sender@example.com";
  m.recipients.push_back({std::move(rcpt1), {}});
  if (!rcpt2.empty()) m.recipients.push_back({std::move(rcpt2), {{"NOTIFY", "NEVER"}}});
  m.body = body;
  m.content = "Subject: fuzz\r\n\r\n.dot\r\nline\r\n";
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t flags = data[0], chunk = data[1];
  std::string_view input(reinterpret_cast<const char*>(data) + 2, size - 2);

  ClientSessionConfig config;
  config.helo_domain = "client.example.org";
  config.starttls = static_cast<StartTlsMode>((flags & 3) % 3);
  config.use_pipelining = flags & 4;
  config.use_chunking = flags & 8;
  config.bdat_chunk_size = size_t{1} << (2 * (flags >> 6));
  ClientSession client(config);
  client.AddTransaction(Message("a@example.net", "b@example.net", BodyType::k7Bit));
  client.AddTransaction(Message("c@example.net", "", BodyType::k8BitMime));
  client.AddTransaction(Message("d@example.net", "", BodyType::kBinaryMime));
  const size_t transactions = 3;
  if (flags & 32) client.Quit();

  bool awaiting_tls = false, quit_written = false;
  size_t transaction_events = 0, complete_events = 0;
  auto drain = [&] {
    std::string out = client.TakeOutput();
    if (awaiting_tls || quit_written) MXKIT_FUZZ_CHECK(out.empty());
    if (out.size() >= 6 && out.compare(out.size() - 6, 6, "QUIT\r\n") == 0) quit_written = true;
    while (auto e = client.NextEvent()) {
      if (awaiting_tls) MXKIT_FUZZ_CHECK(std::holds_alternative<ResponseInjectionEvent>(*e));
      if (std::holds_alternative<StartTlsEvent>(*e)) awaiting_tls = true;
      if (std::holds_alternative<SessionCompleteEvent>(*e)) ++complete_events;
      if (auto* t = std::get_if<TransactionCompleteEvent>(&*e)) {
        ++transaction_events;
        const TransactionResult& r = t->result;
        size_t accepted = 0;
        for (const auto& rr : r.recipients) accepted += rr.accepted();
        if (r.status == TransactionStatus::kDelivered) {
          MXKIT_FUZZ_CHECK(r.final_reply && r.final_reply->is_positive_completion());
          MXKIT_FUZZ_CHECK(accepted == r.recipients.size() && accepted > 0);
        }
        if (r.status == TransactionStatus::kPartiallyDelivered) {
          MXKIT_FUZZ_CHECK(r.final_reply && r.final_reply->is_positive_completion());
          MXKIT_FUZZ_CHECK(accepted > 0 && accepted < r.recipients.size());
        }
      }
    }
  };

  drain();
  const size_t step = static_cast<size_t>(chunk) + 1;
  for (size_t off = 0; off < input.size() && !client.done(); off += step) {
    if (awaiting_tls && (flags & 16)) {
      client.OnTlsEstablished();
      awaiting_tls = false;
    }
    client.Feed(input.substr(off, step));
    drain();
    if (off == 0 && !(flags & 32)) {
      client.Quit();
      drain();
    }
  }
  client.OnConnectionClosed();
  awaiting_tls = false;
  drain();

  MXKIT_FUZZ_CHECK(client.done());
  MXKIT_FUZZ_CHECK(complete_events == 1);
  MXKIT_FUZZ_CHECK(client.results().size() == transactions);
  MXKIT_FUZZ_CHECK(transaction_events == transactions);
  return 0;
}
