#include "smtp/data.h"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::smtp {
namespace {

using namespace std::string_view_literals;
using P = BareLineEndingPolicy;

struct Decoded {
  std::size_t consumed = 0;
  DataStatus status = DataStatus::kNeedMore;
  std::string output;
  DataError error = DataError::kOk;
  std::uint64_t error_offset = 0;

  bool operator==(const Decoded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
  return os << "{consumed=" << d.consumed << " status=" << static_cast<int>(d.status)
            << " error=" << DataErrorName(d.error) << "@" << d.error_offset << " output=\""
            << testing::PrintToString(d.output) << "\"}";
}

// Feeds `input` cut into the pieces given by `cuts` (ascending offsets), the
// way a socket would deliver it: each Put gets the bytes not yet consumed up
// to the next cut; once the decoder is finished the rest stays unconsumed.
Decoded DecodePieces(std::string_view input, const std::vector<std::size_t>& cuts,
                     const DataDecoderOptions& options) {
  DataDecoder decoder(options);
  Decoded d;
  std::size_t pos = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    if (end < pos) continue;
    const DataPutResult r = decoder.Put(input.substr(pos, end - pos), &d.output);
    d.status = r.status;
    pos += r.consumed;
    if (r.status != DataStatus::kNeedMore) break;
    EXPECT_EQ(pos, end) << "a decoder that needs more must consume everything";
  }
  d.consumed = pos;
  d.error = decoder.error();
  d.error_offset = decoder.error_offset();
  // After an error the partial output depends on chunking; callers discard it.
  if (d.error != DataError::kOk) d.output.clear();
  return d;
}

Decoded DecodeOnce(std::string_view input, const DataDecoderOptions& options = {}) {
  return DecodePieces(input, {}, options);
}

// Asserts that every two-piece split and the byte-at-a-time feed give the
// same result as one Put, and returns that result.
Decoded DecodeAtEverySplit(std::string_view input, const DataDecoderOptions& options = {}) {
  const Decoded whole = DecodeOnce(input, options);
  for (std::size_t cut = 0; cut <= input.size(); ++cut) {
    EXPECT_EQ(DecodePieces(input, {cut}, options), whole) << "split at " << cut;
  }
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  EXPECT_EQ(DecodePieces(input, every, options), whole) << "byte at a time";
  return whole;
}

DataDecoderOptions WithPolicy(P policy, NulPolicy nul = NulPolicy::kReject) {
  DataDecoderOptions o;
  o.bare_line_ending = policy;
  o.nul = nul;
  return o;
}

// ---------------------------------------------------------------------------
// SMTP smuggling endings (SEC Consult, Dec 2023; CVE-2023-51764/51765/51766).
// Each ending is placed inside a message, followed by a smuggled second
// transaction, the real <CRLF>.<CRLF> and a pipelined QUIT. For every policy
// the row says where the data ends: inside the ending (a vulnerable policy
// saw an end of data there) or at the real end.

constexpr int kRealEnd = -1;

struct Expect {
  int end;                // bytes of the ending consumed, or kRealEnd
  DataError error;        // kOk: the message is accepted
  int error_at;           // offset of the error inside the ending
  std::string_view part;  // what the ending contributes to the message (if ok)
};

struct SmugglingRow {
  const char* name;
  std::string_view ending;
  Expect reject, pass, lf, cr, any;
};

constexpr std::string_view kPrefix = "Subject: hi\r\n\r\nbody";
constexpr std::string_view kSmuggled =
    "MAIL FROM:<ceo@example.com>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n"
    "From: ceo@example.com\r\n\r\nsmuggled";
constexpr std::string_view kRealEndBytes = "\r\n.\r\n";
constexpr std::string_view kPipelined = "QUIT\r\n";

constexpr Expect Ok(int end, std::string_view part) { return {end, DataError::kOk, 0, part}; }
constexpr Expect Err(int end, DataError e, int at) { return {end, e, at, ""}; }
constexpr DataError kCr = DataError::kBareCr;
constexpr DataError kLf = DataError::kBareLf;
constexpr DataError kNul = DataError::kNul;

const SmugglingRow kSmugglingRows[] = {
    // name, ending, kReject, kPassThrough, kAcceptBareLf, kAcceptBareCr, kAcceptBareCrOrLf
    {"LfDotLf", "\n.\n"sv, Err(kRealEnd, kLf, 0), Ok(kRealEnd, "\n.\n"), Ok(3, "\n"),
     Ok(kRealEnd, "\n.\n"), Ok(3, "\n")},
    {"LfDotCrLf", "\n.\r\n"sv, Err(kRealEnd, kLf, 0), Ok(kRealEnd, "\n.\r\n"), Ok(4, "\n"),
     Ok(kRealEnd, "\n.\r\n"), Ok(4, "\n")},
    {"CrDotCrLf", "\r.\r\n"sv, Err(kRealEnd, kCr, 0), Ok(kRealEnd, "\r.\r\n"),
     Ok(kRealEnd, "\r.\r\n"), Ok(4, "\r"), Ok(4, "\r")},
    {"CrLfDotCr", "\r\n.\r"sv, Err(kRealEnd, kCr, 3), Ok(kRealEnd, "\r\n\r"),
     Ok(kRealEnd, "\r\n\r"), Ok(4, "\r\n"), Ok(4, "\r\n")},
    {"CrLfDotLf", "\r\n.\n"sv, Err(kRealEnd, kLf, 3), Ok(kRealEnd, "\r\n\n"), Ok(4, "\r\n"),
     Ok(kRealEnd, "\r\n\n"), Ok(4, "\r\n")},
    {"LfDotCr", "\n.\r"sv, Err(kRealEnd, kLf, 0), Ok(kRealEnd, "\n.\r"), Ok(kRealEnd, "\n\r"),
     Ok(kRealEnd, "\n.\r"), Ok(3, "\n")},
    {"CrDotLf", "\r.\n"sv, Err(kRealEnd, kCr, 0), Ok(kRealEnd, "\r.\n"), Ok(kRealEnd, "\r.\n"),
     Ok(kRealEnd, "\r\n"), Ok(3, "\r")},
    {"CrLfDotCrCrLf", "\r\n.\r\r\n"sv, Err(kRealEnd, kCr, 3), Ok(kRealEnd, "\r\n\r\r\n"),
     Ok(kRealEnd, "\r\n\r\r\n"), Ok(4, "\r\n"), Ok(4, "\r\n")},
    {"LfDotDotLf", "\n..\n"sv, Err(kRealEnd, kLf, 0), Ok(kRealEnd, "\n..\n"),
     Ok(kRealEnd, "\n.\n"), Ok(kRealEnd, "\n..\n"), Ok(kRealEnd, "\n.\n")},
    // NUL does not end a line in any policy (and is rejected by default).
    {"CrLfNulDotCrLf", "\r\n\0.\r\n"sv, Err(kRealEnd, kNul, 2), Err(kRealEnd, kNul, 2),
     Err(kRealEnd, kNul, 2), Err(kRealEnd, kNul, 2), Err(kRealEnd, kNul, 2)},
    {"CrLfDotNulCrLf", "\r\n.\0\r\n"sv, Err(kRealEnd, kNul, 3), Err(kRealEnd, kNul, 3),
     Err(kRealEnd, kNul, 3), Err(kRealEnd, kNul, 3), Err(kRealEnd, kNul, 3)},
    // A real <CRLF>.<CRLF> after an error still ends the data in every policy.
    {"BareCrThenRealEnd", "\r\r\n.\r\n"sv, Err(6, kCr, 0), Ok(6, "\r\r\n"), Ok(6, "\r\r\n"),
     Ok(6, "\r\r\n"), Ok(6, "\r\r\n")},
    {"BareLfThenRealEnd", "\n\r\n.\r\n"sv, Err(6, kLf, 0), Ok(6, "\n\r\n"), Ok(6, "\n\r\n"),
     Ok(6, "\n\r\n"), Ok(6, "\n\r\n")},
    {"NulThenRealEnd", "\0\r\n.\r\n"sv, Err(6, kNul, 0), Err(6, kNul, 0), Err(6, kNul, 0),
     Err(6, kNul, 0), Err(6, kNul, 0)},
    {"RealEnd", "\r\n.\r\n"sv, Ok(5, "\r\n"), Ok(5, "\r\n"), Ok(5, "\r\n"), Ok(5, "\r\n"),
     Ok(5, "\r\n")},
    // Stuffed dots are not ends.
    {"CrLfDotDotCrLf", "\r\n..\r\n"sv, Ok(kRealEnd, "\r\n.\r\n"), Ok(kRealEnd, "\r\n.\r\n"),
     Ok(kRealEnd, "\r\n.\r\n"), Ok(kRealEnd, "\r\n.\r\n"), Ok(kRealEnd, "\r\n.\r\n")},
    {"CrLfDotSpCrLf", "\r\n. \r\n"sv, Ok(kRealEnd, "\r\n \r\n"), Ok(kRealEnd, "\r\n \r\n"),
     Ok(kRealEnd, "\r\n \r\n"), Ok(kRealEnd, "\r\n \r\n"), Ok(kRealEnd, "\r\n \r\n")},
};

void CheckSmuggling(const SmugglingRow& row, P policy, const Expect& e) {
  const std::string input = std::string(kPrefix) + std::string(row.ending) +
                            std::string(kSmuggled) + std::string(kRealEndBytes) +
                            std::string(kPipelined);
  SCOPED_TRACE(std::string(row.name) + " policy " + std::to_string(static_cast<int>(policy)));
  const Decoded d = DecodeAtEverySplit(input, WithPolicy(policy));
  const std::size_t real_end = input.size() - kPipelined.size();
  const std::size_t expected_end =
      e.end == kRealEnd ? real_end : kPrefix.size() + static_cast<std::size_t>(e.end);
  EXPECT_EQ(d.consumed, expected_end);
  EXPECT_EQ(d.error, e.error) << DataErrorName(d.error);
  if (e.error == DataError::kOk) {
    EXPECT_EQ(d.status, DataStatus::kDone);
    std::string message = std::string(kPrefix) + std::string(e.part);
    if (e.end == kRealEnd) message += std::string(kSmuggled) + "\r\n";
    EXPECT_EQ(d.output, message);
  } else {
    EXPECT_EQ(d.status, DataStatus::kError);
    EXPECT_EQ(d.error_offset, kPrefix.size() + static_cast<std::size_t>(e.error_at));
  }
}

TEST(DataDecoderSmuggling, EveryEndingInEveryPolicyAtEverySplit) {
  for (const SmugglingRow& row : kSmugglingRows) {
    CheckSmuggling(row, P::kReject, row.reject);
    CheckSmuggling(row, P::kPassThrough, row.pass);
    CheckSmuggling(row, P::kAcceptBareLfAsLineEnd, row.lf);
    CheckSmuggling(row, P::kAcceptBareCrAsLineEnd, row.cr);
    CheckSmuggling(row, P::kAcceptBareCrOrLfAsLineEnd, row.any);
  }
}

TEST(DataDecoderSmuggling, NulPassThroughKeepsNulAndNeverEndsData) {
  struct Row {
    std::string_view ending;
    std::string_view part;
  };
  const Row rows[] = {
      {"\r\n\0.\r\n"sv, "\r\n\0.\r\n"sv},
      {"\r\n.\0\r\n"sv, "\r\n\0\r\n"sv},
  };
  for (const Row& row : rows) {
    for (P policy : {P::kReject, P::kPassThrough, P::kAcceptBareLfAsLineEnd,
                     P::kAcceptBareCrAsLineEnd, P::kAcceptBareCrOrLfAsLineEnd}) {
      const std::string input = std::string(kPrefix) + std::string(row.ending) +
                                std::string(kSmuggled) + "\r\n.\r\nQUIT\r\n";
      const Decoded d = DecodeAtEverySplit(input, WithPolicy(policy, NulPolicy::kPassThrough));
      EXPECT_EQ(d.status, DataStatus::kDone);
      EXPECT_EQ(d.consumed, input.size() - 6);
      EXPECT_EQ(d.output, std::string(kPrefix) + std::string(row.part) +
                              std::string(kSmuggled) + "\r\n");
    }
  }
}

TEST(DataDecoderSmuggling, LenientCrPolicyWaitsForTheByteAfterDotCr) {
  // "\r\n.\r" could still become "\r\n.\r\n": the decoder must not decide early.
  DataDecoder decoder(WithPolicy(P::kAcceptBareCrAsLineEnd));
  std::string out;
  DataPutResult r = decoder.Put("x\r\n.\r", &out);
  EXPECT_EQ(r.status, DataStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 5u);
  r = decoder.Put("\nQUIT\r\n", &out);
  EXPECT_EQ(r.status, DataStatus::kDone);
  EXPECT_EQ(r.consumed, 1u);
  EXPECT_EQ(out, "x\r\n");
}

// ---------------------------------------------------------------------------
// Ordinary decoding.

struct DecodeRow {
  const char* name;
  std::string_view input;
  std::size_t consumed;
  std::string_view output;
};

TEST(DataDecoder, DecodesValidDataAtEverySplit) {
  const DecodeRow rows[] = {
      {"EmptyMessage", ".\r\n", 3, ""},
      {"OneLine", "hello\r\n.\r\n", 10, "hello\r\n"},
      {"PipelinedCommandStaysWithCaller", "hi\r\n.\r\nQUIT\r\n", 7, "hi\r\n"},
      {"StuffedDotRemoved", "..\r\n.\r\n", 7, ".\r\n"},
      {"AnyLeadingDotRemoved", ".x\r\n.\r\n", 7, "x\r\n"},
      {"DotInsideLineKept", "a.b\r\n.\r\n", 8, "a.b\r\n"},
      {"EmptyLines", "\r\n\r\n.\r\n", 7, "\r\n\r\n"},
      {"DotLineFollowedByText", "a\r\n.a\r\n..\r\n.\r\n", 14, "a\r\na\r\n.\r\n"},
      {"EightBitBytes", "caf\xc3\xa9\r\n.\r\n", 10, "caf\xc3\xa9\r\n"},
      {"TwoEndsOnlyFirstCounts", "a\r\n.\r\n.\r\n", 6, "a\r\n"},
  };
  for (const DecodeRow& row : rows) {
    SCOPED_TRACE(row.name);
    const Decoded d = DecodeAtEverySplit(row.input);
    EXPECT_EQ(d.status, DataStatus::kDone);
    EXPECT_EQ(d.error, DataError::kOk);
    EXPECT_EQ(d.consumed, row.consumed);
    EXPECT_EQ(d.output, row.output);
  }
}

TEST(DataDecoder, NeedsMoreUntilTheEnd) {
  for (std::string_view partial : {"", "abc", "abc\r", "abc\r\n", "abc\r\n.", "abc\r\n.\r",
                                   ".", ".\r", "abc\r\n..\r\n"}) {
    const Decoded d = DecodeAtEverySplit(partial);
    EXPECT_EQ(d.status, DataStatus::kNeedMore) << partial;
    EXPECT_EQ(d.consumed, partial.size());
  }
}

TEST(DataDecoder, FinishedDecoderConsumesNothingUntilReset) {
  DataDecoder decoder;
  std::string out;
  DataPutResult r = decoder.Put("a\r\n.\r\n", &out);
  ASSERT_EQ(r.status, DataStatus::kDone);
  EXPECT_TRUE(decoder.finished());
  r = decoder.Put("b\r\n.\r\n", &out);
  EXPECT_EQ(r.consumed, 0u);
  EXPECT_EQ(r.status, DataStatus::kDone);
  EXPECT_EQ(out, "a\r\n");
  decoder.Reset();
  out.clear();
  r = decoder.Put("b\r\n.\r\n", &out);
  EXPECT_EQ(r.status, DataStatus::kDone);
  EXPECT_EQ(out, "b\r\n");
  EXPECT_EQ(decoder.bytes_consumed(), 6u);
  EXPECT_EQ(decoder.message_size(), 3u);
}

TEST(DataDecoder, ErrorIsStickyAndReportedOnlyAtTheEnd) {
  DataDecoder decoder;
  std::string out;
  DataPutResult r = decoder.Put("a\nb\r\n", &out);
  EXPECT_EQ(r.status, DataStatus::kNeedMore);
  EXPECT_EQ(decoder.error(), DataError::kBareLf);
  EXPECT_EQ(decoder.error_offset(), 1u);
  EXPECT_NE(decoder.error_message().find("bare LF"), std::string::npos);
  r = decoder.Put(".\r\nRSET\r\n", &out);
  EXPECT_EQ(r.status, DataStatus::kError);
  EXPECT_EQ(r.consumed, 3u);
  r = decoder.Put("x", &out);
  EXPECT_EQ(r.status, DataStatus::kError);
  EXPECT_EQ(r.consumed, 0u);
}

// data_fuzzer crash-8632fa1f: a NUL after a stuffed dot under
// kAcceptBareCrAsLineEnd, input not yet complete. The error and its offset
// must not depend on chunking (the partial output may, and is discarded).
TEST(DataDecoder, ErrorBeforeTheEndDoesNotDependOnChunking) {
  const std::string_view input =
      "Subject: hi\r\n\r\nbody\r.\nMAIL FROM:<a@example.com>\r\n\r\n.\x0f\0\0\0"sv;
  const Decoded d = DecodeAtEverySplit(input, WithPolicy(P::kAcceptBareCrAsLineEnd));
  EXPECT_EQ(d.status, DataStatus::kNeedMore);
  EXPECT_EQ(d.consumed, input.size());
  EXPECT_EQ(d.error, DataError::kNul);
  EXPECT_EQ(d.error_offset, input.size() - 3);
}

// data_fuzzer crash-a254f953: with max_message_size 0 a NUL later in the
// data was reported when the input came in one piece but the size error when
// it came byte by byte. The first error by offset must win in every chunking.
TEST(DataDecoder, FirstErrorByOffsetWinsWhateverTheChunking) {
  DataDecoderOptions o;
  o.max_message_size = 3;
  Decoded d = DecodeAtEverySplit("abcdef\0\r\n.\r\n"sv, o);
  EXPECT_EQ(d.error, DataError::kMessageTooLarge);
  EXPECT_EQ(d.error_offset, 3u);
  d = DecodeAtEverySplit("ab\0def\r\n.\r\n"sv, o);
  EXPECT_EQ(d.error, DataError::kNul);
  EXPECT_EQ(d.error_offset, 2u);
  o.max_message_size = 2;  // the NUL is the first byte past the limit: NUL wins
  d = DecodeAtEverySplit("ab\0def\r\n.\r\n"sv, o);
  EXPECT_EQ(d.error, DataError::kNul);
  // Line length against NUL and bare CR/LF, and against the size limit.
  o = {};
  o.max_line_length = 4;
  d = DecodeAtEverySplit("abcdef\0\r\n.\r\n"sv, o);
  EXPECT_EQ(d.error, DataError::kLineTooLong);
  EXPECT_EQ(d.error_offset, 4u);
  d = DecodeAtEverySplit("abcd\rx\r\n.\r\n"sv, o);
  EXPECT_EQ(d.error, DataError::kLineTooLong);
  EXPECT_EQ(d.error_offset, 4u);
  d = DecodeAtEverySplit("abc\nxx\r\n.\r\n"sv, o);
  EXPECT_EQ(d.error, DataError::kBareLf);
  o.max_message_size = 5;
  d = DecodeAtEverySplit("ab\r\nabcdefg\r\n.\r\n"sv, o);
  EXPECT_EQ(d.error, DataError::kMessageTooLarge);
  EXPECT_EQ(d.error_offset, 5u);
}

TEST(DataDecoder, ReportsOnlyTheFirstError) {
  const Decoded d = DecodeAtEverySplit("a\rb\nc\0\r\n.\r\n"sv);
  EXPECT_EQ(d.status, DataStatus::kError);
  EXPECT_EQ(d.error, DataError::kBareCr);
  EXPECT_EQ(d.error_offset, 1u);
}

TEST(DataDecoder, LineLengthLimitCountsCrlfButNotTheStuffedDot) {
  const std::string ok_line = std::string(998, 'a') + "\r\n";  // exactly 1000
  const std::string long_line = std::string(999, 'a') + "\r\n";
  const std::string dotted = "." + std::string(998, 'a') + "\r\n";  // 1001 on the wire

  Decoded d = DecodeOnce(ok_line + ".\r\n");
  EXPECT_EQ(d.status, DataStatus::kDone);
  d = DecodeOnce(dotted + ".\r\n");
  EXPECT_EQ(d.status, DataStatus::kDone);
  EXPECT_EQ(d.output, std::string(998, 'a') + "\r\n");

  d = DecodeOnce("x\r\n" + long_line + "y\r\n.\r\nQUIT\r\n");
  EXPECT_EQ(d.status, DataStatus::kError);
  EXPECT_EQ(d.error, DataError::kLineTooLong);
  EXPECT_EQ(d.error_offset, 3u + 1000u);  // the first octet past the limit
  EXPECT_EQ(d.consumed, 3 + long_line.size() + 3 + 3);
  EXPECT_EQ(DataErrorReplyCode(d.error), 500);
}

TEST(DataDecoder, LineLengthLimitHoldsAtEverySplitWithSmallLimit) {
  DataDecoderOptions o;
  o.max_line_length = 6;
  EXPECT_EQ(DecodeAtEverySplit("abcd\r\n.\r\n", o).status, DataStatus::kDone);
  EXPECT_EQ(DecodeAtEverySplit(".abcd\r\n.\r\n", o).status, DataStatus::kDone);
  const Decoded d = DecodeAtEverySplit("ab\r\nabcde\r\n.\r\n", o);
  EXPECT_EQ(d.error, DataError::kLineTooLong);
  EXPECT_EQ(d.error_offset, 4u + 6u);
  // A line that never ends is flagged while it streams in.
  DataDecoder decoder(o);
  std::string out;
  for (int i = 0; i < 4; ++i) decoder.Put("abc", &out);
  EXPECT_EQ(decoder.error(), DataError::kLineTooLong);
  EXPECT_EQ(decoder.error_offset(), 6u);
  EXPECT_LE(out.size(), 6u);
}

TEST(DataDecoder, LenientLineEndingsAlsoEndLinesForTheLengthLimit) {
  DataDecoderOptions o = WithPolicy(P::kAcceptBareLfAsLineEnd);
  o.max_line_length = 4;
  EXPECT_EQ(DecodeAtEverySplit("abc\nabc\n.\n", o).status, DataStatus::kDone);
  EXPECT_EQ(DecodeAtEverySplit("abcd\n.\n", o).error, DataError::kLineTooLong);
}

TEST(DataDecoder, MessageSizeLimitStopsBufferingAndReports552) {
  DataDecoderOptions o;
  o.max_message_size = 10;
  Decoded d = DecodeAtEverySplit("12345678\r\n.\r\n", o);  // exactly 10
  EXPECT_EQ(d.status, DataStatus::kDone);
  EXPECT_EQ(d.output, "12345678\r\n");

  d = DecodeAtEverySplit("123456789\r\n.\r\nQUIT\r\n", o);
  EXPECT_EQ(d.status, DataStatus::kError);
  EXPECT_EQ(d.error, DataError::kMessageTooLarge);
  EXPECT_EQ(d.error_offset, 10u);
  EXPECT_EQ(d.consumed, 14u);
  EXPECT_EQ(DataErrorReplyCode(d.error), 552);

  // Stuffed dots do not count towards the size and shift the offset.
  d = DecodeAtEverySplit("..234567\r\n.\r\n", o);
  EXPECT_EQ(d.status, DataStatus::kDone);
  d = DecodeAtEverySplit("..23456789\r\n.\r\n", o);
  EXPECT_EQ(d.error, DataError::kMessageTooLarge);
  EXPECT_EQ(d.error_offset, 11u);

  DataDecoder decoder(o);
  std::string out;
  for (int i = 0; i < 100; ++i) decoder.Put("0123456789", &out);
  EXPECT_LE(out.size(), 10u);
  EXPECT_EQ(decoder.message_size(), 1000u);
}

TEST(DataDecoder, ErrorRepliesAreCompleteReplyLines) {
  for (DataError e : {DataError::kOk, DataError::kBareCr, DataError::kBareLf, DataError::kNul,
                      DataError::kLineTooLong, DataError::kMessageTooLarge}) {
    const std::string_view reply = DataErrorReply(e);
    ASSERT_GE(reply.size(), 6u);
    EXPECT_EQ(reply.substr(reply.size() - 2), "\r\n");
    EXPECT_EQ(reply[3], ' ');
    EXPECT_EQ(reply.find('\r'), reply.size() - 2);
  }
  EXPECT_EQ(DataErrorReplyCode(DataError::kBareLf), 550);
  EXPECT_EQ(DataErrorReplyCode(DataError::kOk), 250);
  EXPECT_EQ(DataErrorName(DataError::kMessageTooLarge), "MessageTooLarge");
}

// ---------------------------------------------------------------------------
// Encoding.

struct EncodeRow {
  const char* name;
  std::string_view message;
  DataEncoderBareLineEndingPolicy policy;
  std::string_view wire;  // expected on success
  DataError error;
  std::size_t error_offset;
};

constexpr auto kEncReject = DataEncoderBareLineEndingPolicy::kReject;
constexpr auto kEncNormalize = DataEncoderBareLineEndingPolicy::kNormalizeToCrlf;
constexpr auto kEncPass = DataEncoderBareLineEndingPolicy::kPassThrough;

const EncodeRow kEncodeRows[] = {
    {"Empty", "", kEncReject, ".\r\n", DataError::kOk, 0},
    {"NoFinalCrlf", "a", kEncReject, "a\r\n.\r\n", DataError::kOk, 0},
    {"FinalCrlf", "a\r\n", kEncReject, "a\r\n.\r\n", DataError::kOk, 0},
    {"LeadingDot", ".a\r\n", kEncReject, "..a\r\n.\r\n", DataError::kOk, 0},
    {"DotLine", "a\r\n.\r\nb\r\n", kEncReject, "a\r\n..\r\nb\r\n.\r\n", DataError::kOk, 0},
    {"DotsInsideLines", "a.b\r\n", kEncReject, "a.b\r\n.\r\n", DataError::kOk, 0},
    {"LastLineIsDot", "x\r\n.", kEncReject, "x\r\n..\r\n.\r\n", DataError::kOk, 0},
    {"BareLfRejected", "ab\ncd", kEncReject, "", DataError::kBareLf, 2},
    {"BareCrRejected", "ab\rcd", kEncReject, "", DataError::kBareCr, 2},
    {"FinalBareCrRejected", "ab\r", kEncReject, "", DataError::kBareCr, 2},
    {"NormalizeBareLf", "a\nb", kEncNormalize, "a\r\nb\r\n.\r\n", DataError::kOk, 0},
    {"NormalizeBareCr", "a\rb", kEncNormalize, "a\r\nb\r\n.\r\n", DataError::kOk, 0},
    {"NormalizeStuffsAfterBareLf", "a\n.\r\n", kEncNormalize, "a\r\n..\r\n.\r\n",
     DataError::kOk, 0},
    {"NormalizeStuffsAfterBareCr", "a\r.\r\n", kEncNormalize, "a\r\n..\r\n.\r\n",
     DataError::kOk, 0},
    {"NormalizeFinalCr", "a\r", kEncNormalize, "a\r\n.\r\n", DataError::kOk, 0},
    {"PassThroughSendsSmugglingPayload", "a\n.\r\nb\r\n", kEncPass, "a\n.\r\nb\r\n.\r\n",
     DataError::kOk, 0},
    {"PassThroughFinalBareLf", "a\n", kEncPass, "a\n\r\n.\r\n", DataError::kOk, 0},
};

TEST(DataEncoder, EncodesTableAtEverySplit) {
  for (const EncodeRow& row : kEncodeRows) {
    SCOPED_TRACE(row.name);
    DataEncoderOptions o;
    o.bare_line_ending = row.policy;
    std::string wire;
    const DataEncodeResult r = EncodeData(row.message, &wire, o);
    EXPECT_EQ(r.error, row.error);
    if (r.ok()) {
      EXPECT_EQ(wire, row.wire);
    } else {
      EXPECT_EQ(r.offset, row.error_offset);
    }
    for (std::size_t cut = 0; cut <= row.message.size(); ++cut) {
      DataEncoder encoder(o);
      std::string pieces;
      DataEncodeResult a = encoder.Put(row.message.substr(0, cut), &pieces);
      if (a.ok()) a = encoder.Put(row.message.substr(cut), &pieces);
      if (a.ok()) a = encoder.Finish(&pieces);
      EXPECT_EQ(a.error, r.error) << "split at " << cut;
      EXPECT_EQ(a.offset, r.offset) << "split at " << cut;
      if (r.ok()) {
        EXPECT_EQ(pieces, wire) << "split at " << cut;
      }
    }
  }
}

TEST(DataEncoder, PassThroughPayloadIsSmuggledOnlyIntoLenientReceivers) {
  DataEncoderOptions o;
  o.bare_line_ending = kEncPass;
  std::string wire;
  ASSERT_TRUE(EncodeData("a\n.\r\nMAIL FROM:<x@y>\r\n", &wire, o).ok());
  EXPECT_EQ(DecodeOnce(wire, WithPolicy(P::kAcceptBareLfAsLineEnd)).consumed, 5u);
  EXPECT_EQ(DecodeOnce(wire, WithPolicy(P::kPassThrough)).consumed, wire.size());
  EXPECT_EQ(DecodeOnce(wire, WithPolicy(P::kReject)).error, DataError::kBareLf);
}

// Property: decode(encode(x)) == x for messages that end in CRLF (or are
// empty) and have no bare CR or LF.
TEST(DataCodec, RoundTripsRandomMessages) {
  std::mt19937 rng(20231218);
  const std::string_view atoms[] = {"a", ".", "\r\n", " ", "..", "\0"sv, "\xff", "x.y"};
  for (int iter = 0; iter < 2000; ++iter) {
    std::string message;
    const int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) message += atoms[rng() % std::size(atoms)];
    if (!message.empty() && !message.ends_with("\r\n")) message += "\r\n";
    std::string wire;
    ASSERT_TRUE(EncodeData(message, &wire).ok());
    DataDecoderOptions o;
    o.nul = NulPolicy::kPassThrough;
    const std::string trailing = "NOOP\r\n";
    const Decoded d = DecodeOnce(wire + trailing, o);
    ASSERT_EQ(d.status, DataStatus::kDone) << testing::PrintToString(message);
    EXPECT_EQ(d.output, message);
    EXPECT_EQ(d.consumed, wire.size());
    // And in random chunkings.
    std::vector<std::size_t> cuts;
    for (std::size_t pos = rng() % 7; pos < wire.size(); pos += 1 + rng() % 9) cuts.push_back(pos);
    EXPECT_EQ(DecodePieces(wire + trailing, cuts, o), d);
  }
}

}  // namespace
}  // namespace mxkit::smtp
