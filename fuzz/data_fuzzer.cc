// Fuzz target for //smtp:data (DataDecoder, DataEncoder).
//
// Input: byte 0 selects the decoder options, the rest is the DATA stream.
// Properties checked (a violation traps):
//  1. Chunking does not matter: decoding in pieces whose sizes are derived
//     from the input gives the same consumed count, status, output and error
//     as decoding in one Put.
//  2. Framing: the decoder never consumes more than it was given; when it
//     finishes under the strict or pass-through policy, the consumed bytes end
//     in "\r\n.\r\n" (or are exactly ".\r\n") and contain no earlier one; the
//     output is never longer than what was consumed; a message accepted under
//     the strict policy has no bare CR/LF (nor NUL when rejected) and ends in
//     CRLF.
//  3. Round trip: for the input with every bare CR/LF turned into CRLF and a
//     final CRLF added, decode(encode(x)) == x, and the normalising encoder
//     applied to the raw input produces that same wire form.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/data.h"

namespace {

using mxkit::smtp::BareLineEndingPolicy;
using mxkit::smtp::DataDecoder;
using mxkit::smtp::DataDecoderOptions;
using mxkit::smtp::DataEncoderBareLineEndingPolicy;
using mxkit::smtp::DataEncoderOptions;
using mxkit::smtp::DataError;
using mxkit::smtp::DataStatus;
using mxkit::smtp::EncodeData;
using mxkit::smtp::NulPolicy;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Outcome {
  std::size_t consumed = 0;
  DataStatus status = DataStatus::kNeedMore;
  std::string output;
  DataError error = DataError::kOk;
  std::uint64_t error_offset = 0;
  bool operator==(const Outcome&) const = default;
};

// Feeds `input` in pieces; `piece(i)` gives the size of the i-th piece (0 for
// "everything at once").
template <typename PieceSize>
Outcome Decode(std::string_view input, const DataDecoderOptions& options, PieceSize piece) {
  DataDecoder decoder(options);
  Outcome o;
  std::size_t pos = 0;
  for (std::size_t i = 0;; ++i) {
    std::size_t n = piece(i);
    if (n == 0 || n > input.size() - pos) n = input.size() - pos;
    const auto r = decoder.Put(input.substr(pos, n), &o.output);
    Check(r.consumed <= n);
    pos += r.consumed;
    o.status = r.status;
    if (r.status != DataStatus::kNeedMore) break;
    Check(r.consumed == n);
    if (pos == input.size()) break;
  }
  o.consumed = pos;
  o.error = decoder.error();
  o.error_offset = decoder.error_offset();
  Check(decoder.bytes_consumed() == pos);
  if (o.status == DataStatus::kError) Check(o.error != DataError::kOk);
  // After an error the partial output is unspecified (how much of the chunk
  // holding the bad byte was appended depends on chunking) and is discarded.
  if (o.error != DataError::kOk) o.output.clear();
  if (o.status == DataStatus::kDone) Check(o.error == DataError::kOk);
  return o;
}

std::string NormalizeToCrlf(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c == '\r') {
      out += "\r\n";
      if (i + 1 < in.size() && in[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out += "\r\n";
    } else {
      out.push_back(c);
    }
  }
  if (!out.empty() && !(out.size() >= 2 && out.ends_with("\r\n"))) out += "\r\n";
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  DataDecoderOptions options;
  options.bare_line_ending = static_cast<BareLineEndingPolicy>(selector % 5);
  options.nul = (selector & 8) ? NulPolicy::kPassThrough : NulPolicy::kReject;
  if (selector & 16) options.max_line_length = 1 + (selector >> 5) * 7;
  if (selector & 32) options.max_message_size = (selector >> 6) * 13;

  // 1. Chunking does not matter.
  const Outcome whole = Decode(input, options, [](std::size_t) { return std::size_t{0}; });
  const Outcome bytewise = Decode(input, options, [](std::size_t) { return std::size_t{1}; });
  const Outcome pieces = Decode(input, options, [&](std::size_t i) {
    const std::uint8_t b = input.empty() ? 0 : static_cast<std::uint8_t>(input[i % input.size()]);
    return std::size_t{1} + ((b * 31u + i * 7u) % 23u);
  });
  Check(whole == bytewise);
  Check(whole == pieces);

  // 2. Framing.
  Check(whole.consumed <= input.size());
  Check(whole.output.size() <= whole.consumed);
  if (whole.status == DataStatus::kNeedMore) Check(whole.consumed == input.size());
  const bool strict_framing = options.bare_line_ending == BareLineEndingPolicy::kReject ||
                              options.bare_line_ending == BareLineEndingPolicy::kPassThrough;
  if (whole.status != DataStatus::kNeedMore && strict_framing) {
    const std::string_view framed = input.substr(0, whole.consumed);
    Check(framed == ".\r\n" || framed.ends_with("\r\n.\r\n"));
    // And nothing shorter ends it: "\r\n.\r\n" first occurs at the end.
    const std::size_t first = framed.find("\r\n.\r\n");
    Check(framed == ".\r\n" || first + 5 == framed.size());
  }

  // A strict decoder never hands on a bare CR or LF (or a NUL it rejects):
  // the property that closes SMTP smuggling for the next hop.
  if (whole.status == DataStatus::kDone &&
      options.bare_line_ending == BareLineEndingPolicy::kReject) {
    const std::string& m = whole.output;
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (m[i] == '\r') Check(i + 1 < m.size() && m[i + 1] == '\n');
      if (m[i] == '\n') Check(i > 0 && m[i - 1] == '\r');
      if (options.nul == NulPolicy::kReject) Check(m[i] != '\0');
    }
    Check(m.empty() || m.ends_with("\r\n"));
  }

  // 3. Round trip on the CRLF-normalised input.
  const std::string message = NormalizeToCrlf(input);
  std::string wire;
  Check(EncodeData(message, &wire).ok());
  DataDecoderOptions lenient_nul;
  lenient_nul.nul = NulPolicy::kPassThrough;
  lenient_nul.max_line_length = SIZE_MAX;
  lenient_nul.max_message_size = UINT64_MAX;
  const std::string trailer = "QUIT\r\n";
  const Outcome back = Decode(wire + trailer, lenient_nul, [](std::size_t) { return std::size_t{0}; });
  Check(back.status == DataStatus::kDone);
  Check(back.consumed == wire.size());
  Check(back.output == message);

  DataEncoderOptions normalize;
  normalize.bare_line_ending = DataEncoderBareLineEndingPolicy::kNormalizeToCrlf;
  std::string wire2;
  Check(EncodeData(input, &wire2, normalize).ok());
  Check(wire2 == wire);
  return 0;
}
