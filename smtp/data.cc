#include "smtp/data.h"

#include <cstring>
#include <limits>
#include <string>

#include "base/line_scan.h"

namespace mxkit::smtp {
namespace {

constexpr char kCarriageReturn = '\r';

// First byte in [p, end) that is CR or LF (or NUL when `nul` is true), or end.
// This is the decoder's hot loop: ordinary text is skipped 16 bytes at a time
// (base/line_scan.h) and appended later as one run, instead of going through a
// per-byte state machine.
inline const char* FindSpecial(const char* p, const char* end, bool nul) {
  return nul ? base::FindCrLfOrNul(p, end) : base::FindCrOrLf(p, end);
}

}  // namespace

std::string_view DataErrorName(DataError error) {
  switch (error) {
    case DataError::kOk:
      return "Ok";
    case DataError::kBareCr:
      return "BareCr";
    case DataError::kBareLf:
      return "BareLf";
    case DataError::kNul:
      return "Nul";
    case DataError::kLineTooLong:
      return "LineTooLong";
    case DataError::kMessageTooLarge:
      return "MessageTooLarge";
  }
  return "Unknown";
}

std::string_view DataErrorReply(DataError error) {
  switch (error) {
    case DataError::kOk:
      return "250 2.0.0 OK\r\n";
    case DataError::kBareCr:
      return "550 5.5.2 Bare CR received (RFC 5321 section 2.3.8)\r\n";
    case DataError::kBareLf:
      return "550 5.5.2 Bare LF received (RFC 5321 section 2.3.8)\r\n";
    case DataError::kNul:
      return "550 5.5.2 NUL byte received in message data\r\n";
    case DataError::kLineTooLong:
      return "500 5.5.2 Line too long (RFC 5321 section 4.5.3.1.6)\r\n";
    case DataError::kMessageTooLarge:
      return "552 5.3.4 Too much mail data (RFC 5321 section 4.5.3.1.10)\r\n";
  }
  return "554 5.0.0 Transaction failed\r\n";
}

int DataErrorReplyCode(DataError error) {
  const std::string_view reply = DataErrorReply(error);
  return (reply[0] - '0') * 100 + (reply[1] - '0') * 10 + (reply[2] - '0');
}

DataDecoder::DataDecoder(const DataDecoderOptions& options) : options_(options) {
  using P = BareLineEndingPolicy;
  const P p = options_.bare_line_ending;
  lf_ends_line_ = p == P::kAcceptBareLfAsLineEnd || p == P::kAcceptBareCrOrLfAsLineEnd;
  cr_ends_line_ = p == P::kAcceptBareCrAsLineEnd || p == P::kAcceptBareCrOrLfAsLineEnd;
  reject_bare_ = p == P::kReject;
  reject_nul_ = options_.nul == NulPolicy::kReject;
}

void DataDecoder::Reset() {
  state_ = State::kLineStart;
  error_ = DataError::kOk;
  error_offset_ = 0;
  error_message_.clear();
  consumed_ = 0;
  message_size_ = 0;
  line_length_ = 0;
}

void DataDecoder::Fail(DataError error, std::uint64_t offset) {
  if (error_ != DataError::kOk) return;  // the first error is the one reported
  error_ = error;
  error_offset_ = offset;
  std::string what;
  switch (error) {
    case DataError::kBareCr:
      what = "bare CR (CR not followed by LF) in message data; RFC 5321 section 2.3.8 allows CR only in CRLF";
      break;
    case DataError::kBareLf:
      what = "bare LF (LF not preceded by CR) in message data; RFC 5321 section 2.3.8 allows LF only in CRLF";
      break;
    case DataError::kNul:
      what = "NUL byte in message data";
      break;
    case DataError::kLineTooLong:
      what = "text line longer than " + std::to_string(options_.max_line_length) +
             " octets including CRLF (RFC 5321 section 4.5.3.1.6)";
      break;
    case DataError::kMessageTooLarge:
      what = "message larger than " + std::to_string(options_.max_message_size) + " octets";
      break;
    case DataError::kOk:
      break;
  }
  error_message_ = "DATA byte " + std::to_string(offset) + ": " + what +
                   "; the rest of the message is discarded up to <CRLF>.<CRLF>";
}

void DataDecoder::Emit(const char* begin, const char* end, std::uint64_t offset, std::string* out) {
  const std::uint64_t n = static_cast<std::uint64_t>(end - begin);
  if (n == 0) return;
  if (error_ == DataError::kOk) {
    if (message_size_ + n > options_.max_message_size) {
      // Offset of the first byte past the limit; the bytes of a run are
      // contiguous on the wire, so it is a fixed distance from the run start.
      const std::uint64_t room =
          options_.max_message_size > message_size_ ? options_.max_message_size - message_size_ : 0;
      Fail(DataError::kMessageTooLarge, offset + room);
    } else {
      out->append(begin, static_cast<std::size_t>(n));
    }
  }
  message_size_ += n;
}

DataPutResult DataDecoder::Put(std::string_view input, std::string* out) {
  if (state_ == State::kFinished) {
    return {0, error_ == DataError::kOk ? DataStatus::kDone : DataStatus::kError};
  }
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  const std::uint64_t base = consumed_;
  auto off = [&](const char* q) { return base + static_cast<std::uint64_t>(q - begin); };
  const char* p = begin;
  const char* run = begin;  // start of the message bytes not yet appended
  const bool scan_nul = reject_nul_;

  // The first error *by offset* is the one reported, whatever the chunking.
  // Size errors are found when a run is appended, so before recording an
  // error at `at` the pending run is appended up to `at`: a size limit crossed
  // earlier in it then wins, exactly as it would have had the input been cut
  // just before `at`.
  auto fail_at = [&](DataError error, std::uint64_t at) {
    if (error_ != DataError::kOk) return;
    if (at > off(run)) {
      const char* q = begin + (at - base);
      Emit(run, q, off(run), out);
      run = q;
    }
    Fail(error, at);
  };
  // `offset_after` is the offset just past the last octet counted in
  // line_length_; the error is at the first octet past the limit.
  auto check_line_length = [&](std::uint64_t offset_after) {
    if (line_length_ > options_.max_line_length) {
      fail_at(DataError::kLineTooLong, offset_after - (line_length_ - options_.max_line_length));
    }
  };

  while (p < end) {
    switch (state_) {
      case State::kLineStart:
        line_length_ = 0;
        if (*p == '.') {
          // RFC 5321 §4.5.2: a leading period is removed; ".<CRLF>" ends data.
          Emit(run, p, off(run), out);
          ++p;
          run = p;
          state_ = State::kDot;
          continue;
        }
        state_ = State::kInLine;
        [[fallthrough]];
      case State::kInLine: {
        const char* q = FindSpecial(p, end, scan_nul);
        line_length_ += static_cast<std::uint64_t>(q - p);
        p = q;
        if (p == end) break;
        // A limit crossed before this byte comes before any error at it.
        check_line_length(off(p));
        const char c = *p;
        ++p;
        ++line_length_;
        if (c == '\r') {
          state_ = State::kCr;
        } else if (c == '\n') {
          // Bare LF: a CRLF's LF is consumed in kCr.
          if (reject_bare_) fail_at(DataError::kBareLf, off(p) - 1);
          if (lf_ends_line_) {
            check_line_length(off(p));
            state_ = State::kLineStart;
          }
        } else {
          fail_at(DataError::kNul, off(p) - 1);
        }
        continue;
      }
      case State::kCr:
        if (*p == '\n') {
          ++p;
          ++line_length_;
          check_line_length(off(p));
          state_ = State::kLineStart;
          continue;
        }
        // Bare CR; `p` is not consumed here. The CR itself was counted (and,
        // when it ended the previous chunk, appended), so the length check and
        // the append of the pending run including it come first.
        check_line_length(off(p));
        if (cr_ends_line_) {
          state_ = State::kLineStart;
        } else {
          if (reject_bare_) {
            Emit(run, p, off(run), out);
            run = p;
            fail_at(DataError::kBareCr, off(p) - 1);
          }
          state_ = State::kInLine;
        }
        continue;
      case State::kDot:
        if (*p == '\r') {
          ++p;
          run = p;
          state_ = State::kDotCr;
          continue;
        }
        if (*p == '\n' && lf_ends_line_) {
          ++p;  // ".\n" after a line ending: the smuggling-prone end of data
          state_ = State::kFinished;
          break;
        }
        // A stuffed dot: dropped; the line goes on with this byte.
        run = p;
        state_ = State::kInLine;
        continue;
      case State::kDotCr:
        if (*p == '\n') {
          ++p;
          state_ = State::kFinished;
          break;
        }
        if (cr_ends_line_) {
          // ".\r" then not LF: the CR alone ended the "." line. `p` is not ours.
          state_ = State::kFinished;
          break;
        }
        // A stuffed dot followed by a bare CR that is message text.
        if (reject_bare_) fail_at(DataError::kBareCr, off(p) - 1);
        Emit(&kCarriageReturn, &kCarriageReturn + 1, off(p) - 1, out);
        line_length_ = 1;
        run = p;
        state_ = State::kInLine;
        continue;
      case State::kFinished:
        break;
    }
    if (state_ == State::kFinished) break;
  }

  if (state_ != State::kFinished && state_ != State::kDot && state_ != State::kDotCr) {
    // A line that never ends must not escape the bound just by being split.
    if (state_ == State::kInLine || state_ == State::kCr) check_line_length(off(end));
    Emit(run, end, off(run), out);
  }
  consumed_ += static_cast<std::uint64_t>(p - begin);
  if (state_ != State::kFinished) return {static_cast<std::size_t>(p - begin), DataStatus::kNeedMore};
  return {static_cast<std::size_t>(p - begin),
          error_ == DataError::kOk ? DataStatus::kDone : DataStatus::kError};
}

DataEncoder::DataEncoder(const DataEncoderOptions& options) : options_(options) {}

void DataEncoder::Reset() {
  at_line_start_ = true;
  after_cr_ = false;
  empty_ = true;
  result_ = {};
  offset_ = 0;
}

DataEncodeResult DataEncoder::Put(std::string_view chunk, std::string* out) {
  using P = DataEncoderBareLineEndingPolicy;
  if (!result_.ok()) return result_;
  if (chunk.empty()) return result_;
  empty_ = false;
  const char* p = chunk.data();
  const char* const end = p + chunk.size();
  const char* run = p;
  const std::size_t base = offset_;
  // On error the output holds an incomplete payload; the caller discards it.
  auto fail = [&](DataError e, std::size_t at) {
    result_ = {e, at};
    offset_ = base + chunk.size();
    return result_;
  };

  while (p < end) {
    if (after_cr_) {
      after_cr_ = false;
      if (*p == '\n') {
        ++p;
        at_line_start_ = true;
        continue;
      }
      // The previous CR was bare.
      if (options_.bare_line_ending == P::kReject) {
        return fail(DataError::kBareCr, base + static_cast<std::size_t>(p - chunk.data()) - 1);
      }
      if (options_.bare_line_ending == P::kNormalizeToCrlf) {
        out->append(run, static_cast<std::size_t>(p - run));
        out->push_back('\n');
        run = p;
        at_line_start_ = true;
      }
      continue;
    }
    if (at_line_start_) {
      at_line_start_ = false;
      if (*p == '.') {
        // RFC 5321 §4.5.2: "Before sending a line of mail text, the SMTP
        // client checks the first character of the line. If it is a period,
        // one additional period is inserted at the beginning of the line."
        out->append(run, static_cast<std::size_t>(p - run));
        out->push_back('.');
        run = p;
      }
    }
    const char* q = FindSpecial(p, end, false);
    if (q == end) {
      p = end;
      break;
    }
    if (*q == '\r') {
      p = q + 1;
      after_cr_ = true;
      continue;
    }
    // A bare LF (a CRLF's LF is taken in the after_cr_ branch).
    switch (options_.bare_line_ending) {
      case P::kReject:
        return fail(DataError::kBareLf, base + static_cast<std::size_t>(q - chunk.data()));
      case P::kNormalizeToCrlf:
        out->append(run, static_cast<std::size_t>(q - run));
        out->push_back('\r');
        run = q;
        at_line_start_ = true;
        break;
      case P::kPassThrough:
        break;
    }
    p = q + 1;
  }
  out->append(run, static_cast<std::size_t>(end - run));
  offset_ = base + chunk.size();
  return result_;
}

DataEncodeResult DataEncoder::Finish(std::string* out) {
  using P = DataEncoderBareLineEndingPolicy;
  if (!result_.ok()) return result_;
  if (after_cr_) {
    // The message ends in a CR not followed by LF.
    after_cr_ = false;
    if (options_.bare_line_ending == P::kReject) {
      result_ = {DataError::kBareCr, offset_ - 1};
      return result_;
    }
    out->push_back('\n');
    at_line_start_ = true;
  }
  if (!empty_ && !at_line_start_) out->append("\r\n");
  out->append(".\r\n");
  return result_;
}

DataEncodeResult EncodeData(std::string_view message, std::string* out,
                            const DataEncoderOptions& options) {
  DataEncoder encoder(options);
  DataEncodeResult r = encoder.Put(message, out);
  if (!r.ok()) return r;
  return encoder.Finish(out);
}

}  // namespace mxkit::smtp
