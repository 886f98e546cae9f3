// Fuzzes the DNS server's query handling (//dns:authoritative) with
// arbitrary bytes, read twice: as one UDP datagram, and as a TCP stream of
// two-octet-length-prefixed messages (RFC 1035 §4.2.2, RFC 7766 §8) split by
// the listener's framer (//dns:tcp_framer) and answered in turn. The zones hold every fault kind, CNAME chains and loops, an
// authenticated zone and an RRset too large for UDP.
//
// Properties: every response parses with ParseMessage, is a response (QR),
// echoes the query's id and opcode, is no larger than the client's UDP limit
// over UDP (512 without EDNS, else at most kAdvertisedUdpPayload) or 65535
// over TCP, and carries at most one question; both Respond overloads agree.
// Framing: every frame is at least a header long and consumes its length
// plus two, and the frames (and where a malformed one stops the stream) are
// the same whether the stream is read whole, an octet at a time or in chunks.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dns/authoritative.h"
#include "dns/message.h"
#include "dns/tcp_framer.h"

namespace {

using namespace mxkit::dns;

ResourceRecord Rr(std::string name, RrType type, RData data) {
  return ResourceRecord{std::move(name), type, 300, std::move(data)};
}

const AuthoritativeResponder& Responder() {
  static const AuthoritativeResponder* responder = [] {
    ServedZone a;
    a.apex = "example.test";
    a.records = {
        Rr("example.test", RrType::kMx, MxData{10, "mx.example.test"}),
        Rr("mx.example.test", RrType::kA, AData{{192, 0, 2, 1}}),
        Rr("mx.example.test", RrType::kAaaa, AaaaData{{0x20, 0x01, 0x0d, 0xb8}}),
        Rr("www.example.test", RrType::kCname, NameData{"mx.example.test"}),
        Rr("l1.example.test", RrType::kCname, NameData{"l2.example.test"}),
        Rr("l2.example.test", RrType::kCname, NameData{"l1.example.test"}),
        Rr("out.example.test", RrType::kCname, NameData{"host.signed.test"}),
        Rr("away.example.test", RrType::kCname, NameData{"elsewhere.invalid"}),
        Rr("a.b.example.test", RrType::kTxt, TxtData{{"v=spf1 -all"}}),
        Rr("_25._tcp.mx.example.test", RrType::kTlsa, TlsaData{3, 1, 1, std::string(32, '\x5a')}),
    };
    for (int i = 0; i < 30; ++i) {
      a.records.push_back(Rr("big.example.test", RrType::kTxt, TxtData{{std::string(120, 'x')}}));
    }
    const char* faulted[] = {"nx", "nodata", "servfail", "refused", "timeout", "truncate"};
    ServeFault faults[] = {ServeFault::kNxDomain, ServeFault::kNoData, ServeFault::kServfail,
                           ServeFault::kRefused, ServeFault::kTimeout, ServeFault::kTruncate};
    for (int i = 0; i < 6; ++i) {
      std::string name = std::string(faulted[i]) + ".example.test";
      a.records.push_back(Rr(name, RrType::kA, AData{{192, 0, 2, 9}}));
      a.faults.push_back({name, std::nullopt, faults[i]});
      std::string typed = std::string(faulted[i]) + "-a.example.test";
      a.records.push_back(Rr(typed, RrType::kTxt, TxtData{{"t"}}));
      a.faults.push_back({typed, RrType::kA, faults[i]});
    }
    ServedZone b;
    b.apex = "signed.test";
    b.authenticated = true;
    b.records = {Rr("host.signed.test", RrType::kA, AData{{192, 0, 2, 2}})};
    auto r = AuthoritativeResponder::Create({a, b});
    if (!r.ok()) __builtin_trap();
    return new AuthoritativeResponder(*std::move(r));
  }();
  return *responder;
}

void Check(std::string_view query, QueryTransport transport) {
  const AuthoritativeResponder& responder = Responder();
  DnsResponse response = responder.Respond(query, transport);
  static std::string reused;
  bool sent = responder.Respond(query, transport, reused);
  if (sent != response.send || reused != response.wire) __builtin_trap();
  if (!response.send) {
    if (!response.wire.empty()) __builtin_trap();
    return;
  }
  if (query.size() < kDnsHeaderSize) __builtin_trap();
  WireResult<Message> parsed = ParseMessage(response.wire);
  if (!parsed.ok()) __builtin_trap();
  const Header& h = parsed->header;
  if (!h.qr) __builtin_trap();
  if (response.wire.compare(0, 2, query.substr(0, 2)) != 0) __builtin_trap();
  if (h.opcode != ((static_cast<uint8_t>(query[2]) >> 3) & 0xf)) __builtin_trap();
  if (parsed->questions.size() > 1) __builtin_trap();
  size_t limit = kMaxDnsMessageSize;
  if (transport == QueryTransport::kUdp) {
    limit = kAdvertisedUdpPayload;
    WireResult<Message> asked = ParseMessage(query);
    bool has_opt = false;
    if (asked.ok()) {
      for (const WireRecord& r : asked->additionals) has_opt |= r.type == 41;
      if (!has_opt) limit = kMaxPlainUdpPayload;
    }
  }
  if (response.wire.size() > limit) __builtin_trap();
  // A question that is answered is the question that was asked, byte for
  // byte (case included).
  if (h.rcode != static_cast<uint8_t>(Rcode::kFormErr) && !parsed->questions.empty()) {
    WireResult<Message> asked = ParseMessage(query);
    if (asked.ok() && !(asked->questions.size() == 1 &&
                        asked->questions[0] == parsed->questions[0])) {
      __builtin_trap();
    }
  }
}

// The messages the listener would take from `stream` arriving in chunks of
// `chunk` octets, appended to a buffer as its reads do; stops at a malformed
// frame, where the listener closes the connection.
std::vector<std::string> FramesInChunks(std::string_view stream, size_t chunk, bool& malformed) {
  std::vector<std::string> frames;
  std::string buffer;
  malformed = false;
  while (!stream.empty() && !malformed) {
    const size_t n = std::min(chunk, stream.size());
    buffer.append(stream.substr(0, n));
    stream.remove_prefix(n);
    for (;;) {
      TcpFrame frame = NextTcpFrame(buffer);
      if (frame.status == TcpFrameStatus::kNeedMore) break;
      if (frame.status == TcpFrameStatus::kMalformed) {
        if (frame.announced_length >= kDnsHeaderSize) __builtin_trap();
        malformed = true;
        break;
      }
      if (frame.consumed != frame.message.size() + kDnsTcpLengthSize ||
          frame.consumed > buffer.size() || frame.message.size() < kDnsHeaderSize) {
        __builtin_trap();
      }
      frames.emplace_back(frame.message);
      buffer.erase(0, frame.consumed);
    }
  }
  return frames;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Check(input, QueryTransport::kUdp);
  // As a TCP stream, framed by the listener's own framer (dns/tcp_framer.h):
  // each message behind its two-octet length, answered in turn; a last
  // incomplete one is what the listener would wait for and time out.
  std::string_view rest = input;
  for (;;) {
    TcpFrame frame = NextTcpFrame(rest);
    if (frame.status != TcpFrameStatus::kMessage) break;
    Check(frame.message, QueryTransport::kTcp);
    rest.remove_prefix(frame.consumed);
  }
  // The framing does not depend on how the stream is cut into reads: whole,
  // one octet at a time, and in chunks of a size the input picks.
  bool whole_malformed = false, bytewise_malformed = false, chunked_malformed = false;
  const size_t chunk = size == 0 ? 1 : 1 + data[size - 1] % 97;
  std::vector<std::string> whole = FramesInChunks(input, input.size() + 1, whole_malformed);
  if (FramesInChunks(input, 1, bytewise_malformed) != whole ||
      FramesInChunks(input, chunk, chunked_malformed) != whole ||
      bytewise_malformed != whole_malformed || chunked_malformed != whole_malformed) {
    __builtin_trap();
  }
  return 0;
}
