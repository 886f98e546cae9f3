// Splits a DNS-over-TCP byte stream into messages: each message behind a
// two-octet length in network order (RFC 1035 §4.2.2, RFC 7766 §8), several
// per connection. Sans-IO: the caller keeps the bytes read so far (in any
// chunking) and asks for the next frame at their start; nothing is copied.
//
// Used by fakemx's DNS listener and by fuzz/dns_responder_fuzzer.cc, so the
// framing the server runs is the framing the fuzzer runs.

#ifndef MXKIT_DNS_TCP_FRAMER_H_
#define MXKIT_DNS_TCP_FRAMER_H_

#include <cstddef>
#include <string_view>

#include "dns/message.h"

namespace mxkit::dns {

// RFC 1035 §4.2.2: the length field is two octets, so a frame is at most
// this long; a reader never needs more buffered than this to make progress.
inline constexpr size_t kDnsTcpLengthSize = 2;
inline constexpr size_t kMaxDnsTcpFrameSize = kDnsTcpLengthSize + kMaxDnsMessageSize;

enum class TcpFrameStatus {
  kMessage,    // a whole message is at the start of the buffer
  kNeedMore,   // the length or the message is not complete yet
  kMalformed,  // the length announces fewer octets than a DNS header (zero included)
};

struct TcpFrame {
  TcpFrameStatus status = TcpFrameStatus::kNeedMore;
  // kMessage: the message, a view into the buffer given.
  std::string_view message;
  // kMessage: octets of the buffer this frame takes (length field included);
  // drop them before asking for the next frame. 0 otherwise.
  size_t consumed = 0;
  // kMalformed: the length the peer announced.
  size_t announced_length = 0;
};

// Looks at the start of `buffered` (the unconsumed bytes of a stream).
// kMalformed is decided as soon as the two length octets are in: a message
// shorter than the 12-octet header (RFC 1035 §4.1.1) cannot be a DNS query,
// and RFC 7766 §6.2.4 lets a server close a connection that sends malformed
// data rather than wait on it. Callers treat kMalformed as final.
TcpFrame NextTcpFrame(std::string_view buffered);

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_TCP_FRAMER_H_
