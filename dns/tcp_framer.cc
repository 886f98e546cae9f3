#include "dns/tcp_framer.h"

#include <cstdint>

namespace mxkit::dns {

TcpFrame NextTcpFrame(std::string_view buffered) {
  TcpFrame frame;
  if (buffered.size() < kDnsTcpLengthSize) return frame;
  const size_t length =
      static_cast<size_t>(static_cast<uint8_t>(buffered[0])) << 8 | static_cast<uint8_t>(buffered[1]);
  if (length < kDnsHeaderSize) {
    frame.status = TcpFrameStatus::kMalformed;
    frame.announced_length = length;
    return frame;
  }
  if (buffered.size() - kDnsTcpLengthSize < length) return frame;
  frame.status = TcpFrameStatus::kMessage;
  frame.message = buffered.substr(kDnsTcpLengthSize, length);
  frame.consumed = kDnsTcpLengthSize + length;
  return frame;
}

}  // namespace mxkit::dns
