// Fuzzes the DNS wire codec (//dns:message). Property: every message that
// parses builds again (compressed and not), and the built bytes parse back to
// the same message; building is deterministic. Read as a resolver reads an
// answer (InterpretAnswer), a message yields a status, a non-empty answer for
// kAnswer, and its AD bit only when it answers the question asked.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dns/message.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mxkit::dns;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  WireResult<Message> parsed = ParseMessage(input);
  if (!parsed.ok()) {
    // An error must point inside (or just past) the input.
    if (parsed.error().offset > size && size <= kMaxDnsMessageSize) __builtin_trap();
    if (parsed.error().message.empty()) __builtin_trap();
    return 0;
  }
  for (bool compress : {true, false}) {
    WireResult<std::string> built = BuildMessage(*parsed, BuildOptions{compress});
    if (!built.ok()) {
      // Only size can stop a parsed message from being rebuilt: the input
      // may have compressed harder than we do (e.g. into opaque RDATA).
      if (built.error().kind != WireErrorKind::kTooLarge) __builtin_trap();
      continue;
    }
    WireResult<Message> again = ParseMessage(*built);
    if (!again.ok()) __builtin_trap();
    if (!(*again == *parsed)) __builtin_trap();
    WireResult<std::string> rebuilt = BuildMessage(*again, BuildOptions{compress});
    if (!rebuilt.ok() || *rebuilt != *built) __builtin_trap();
  }
  // Reading the answer as a resolver would must not fail in any other way
  // than by returning a status.
  if (!parsed->questions.empty()) {
    const Question& q = parsed->questions[0];
    LookupResult r = InterpretAnswer(q.name, static_cast<RrType>(q.type), input);
    if (r.status == LookupStatus::kAnswer && r.records.empty()) __builtin_trap();
    // The AD bit (RFC 4035 §3.2.3) is reported only from a response to the
    // question asked that is not truncated, and then exactly as set; an
    // answer InterpretAnswer refuses outright is never authenticated.
    const Header& h = parsed->header;
    const bool ad = (h.z & kZAuthenticData) != 0;
    const bool taken = h.qr && !h.tc && parsed->questions.size() == 1 && q.qclass == kClassIn;
    if (r.authenticated != (taken && ad)) __builtin_trap();
  }
  return 0;
}
