#include "dns/tcp_framer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::dns {
namespace {

std::string Framed(const std::string& message) {
  std::string out;
  out.push_back(static_cast<char>(message.size() >> 8));
  out.push_back(static_cast<char>(message.size() & 0xff));
  return out + message;
}

// What a reader sees after feeding `stream` in order: the messages, and
// whether the stream ended in a malformed frame (after which it stops).
struct Outcome {
  std::vector<std::string> messages;
  bool malformed = false;
  size_t announced_length = 0;
  size_t left_over = 0;  // bytes of an incomplete frame at the end
  bool operator==(const Outcome& o) const {
    return messages == o.messages && malformed == o.malformed &&
           announced_length == o.announced_length && left_over == o.left_over;
  }
};

// Reads `stream` as a listener does: bytes arrive in chunks cut at `cuts`,
// each chunk is appended to the buffer, and every complete frame is taken.
Outcome Read(const std::string& stream, const std::vector<size_t>& cuts) {
  Outcome outcome;
  std::string buffer;
  size_t from = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(stream.size());
  for (size_t end : ends) {
    buffer.append(stream, from, end - from);
    from = end;
    for (;;) {
      TcpFrame frame = NextTcpFrame(buffer);
      if (frame.status == TcpFrameStatus::kNeedMore) break;
      if (frame.status == TcpFrameStatus::kMalformed) {
        outcome.malformed = true;
        outcome.announced_length = frame.announced_length;
        return outcome;
      }
      EXPECT_EQ(frame.consumed, frame.message.size() + kDnsTcpLengthSize);
      outcome.messages.emplace_back(frame.message);
      buffer.erase(0, frame.consumed);
    }
  }
  outcome.left_over = buffer.size();
  return outcome;
}

const std::string kQueryA = std::string(12, 'a') + "question-a";
const std::string kQueryB = std::string(12, 'b');  // header only: the shortest allowed
const std::string kLong = std::string(300, 'c');   // length's high octet non-zero

struct Case {
  const char* name;
  std::string stream;
  Outcome expected;
};

std::vector<Case> Cases() {
  return {
      {"Empty", "", {}},
      {"OneMessage", Framed(kQueryA), {{kQueryA}}},
      {"TwoMessagesBackToBack", Framed(kQueryA) + Framed(kQueryB), {{kQueryA, kQueryB}}},
      {"LengthAbove255", Framed(kLong) + Framed(kQueryB), {{kLong, kQueryB}}},
      {"HalfLengthLeftOver", Framed(kQueryA) + std::string(1, '\0'), {{kQueryA}, false, 0, 1}},
      {"HalfMessageLeftOver",
       Framed(kQueryA) + Framed(kQueryB).substr(0, 7),
       {{kQueryA}, false, 0, 7}},
      {"ZeroLengthIsMalformed", std::string(2, '\0') + Framed(kQueryA), {{}, true, 0}},
      {"ElevenOctetsIsMalformed", Framed(std::string(11, 'x')), {{}, true, 11}},
      {"MalformedAfterAGoodMessage",
       Framed(kQueryA) + Framed("short") + Framed(kQueryB),
       {{kQueryA}, true, 5}},
      {"MaximumLength",
       Framed(std::string(kMaxDnsMessageSize, 'm')),
       {{std::string(kMaxDnsMessageSize, 'm')}}},
  };
}

TEST(TcpFramer, WholeStreamGivesExpectedFrames) {
  for (const Case& c : Cases()) {
    EXPECT_EQ(Read(c.stream, {}), c.expected) << c.name;
  }
}

// Beast's parsegrind: every cut point gives the same frames as no cut.
TEST(TcpFramer, SameFramesAtEverySplitPoint) {
  for (const Case& c : Cases()) {
    if (c.stream.size() > 1000) continue;  // the 64 KiB case is covered below
    for (size_t cut = 0; cut <= c.stream.size(); ++cut) {
      EXPECT_EQ(Read(c.stream, {cut}), c.expected) << c.name << " cut at " << cut;
    }
  }
}

TEST(TcpFramer, SameFramesOneOctetAtATime) {
  for (const Case& c : Cases()) {
    std::vector<size_t> cuts;
    for (size_t i = 1; i < c.stream.size(); ++i) cuts.push_back(i);
    EXPECT_EQ(Read(c.stream, cuts), c.expected) << c.name;
  }
}

TEST(TcpFramer, MalformedIsDecidedFromTheLengthAlone) {
  TcpFrame frame = NextTcpFrame(std::string("\x00\x05", 2));
  EXPECT_EQ(frame.status, TcpFrameStatus::kMalformed);
  EXPECT_EQ(frame.announced_length, 5u);
  EXPECT_EQ(frame.consumed, 0u);
}

TEST(TcpFramer, MessageIsAViewIntoTheBuffer) {
  const std::string stream = Framed(kQueryA) + "trailing";
  TcpFrame frame = NextTcpFrame(stream);
  ASSERT_EQ(frame.status, TcpFrameStatus::kMessage);
  EXPECT_EQ(frame.message.data(), stream.data() + kDnsTcpLengthSize);
  EXPECT_EQ(frame.consumed, kDnsTcpLengthSize + kQueryA.size());
}

}  // namespace
}  // namespace mxkit::dns
