// DKIM canonicalization (RFC 6376 §3.4): "simple" and "relaxed" for header
// fields and for the body.
//
// Pitfalls other implementations have hit and this one is tested against:
// - relaxed body: a WSP run before a bare CR or bare LF is inside the line and
//   becomes one SP; only WSP immediately before CRLF is removed (§3.4.4 a);
// - relaxed body: lines that are empty after removing trailing WSP still
//   count as empty lines at the end of the body (§3.4.4 b);
// - empty body: simple gives CRLF (§3.4.3), relaxed gives nothing (§3.4.4
//   adds a CRLF only to a NON-empty body; RFC 4871 was ambiguous here);
// - relaxed header: only the field NAME is lowercased; unfolding removes the
//   CRLF and keeps the WSP that followed it, which then collapses (§3.4.2).

#ifndef MXKIT_AUTH_DKIM_CANONICALIZE_H_
#define MXKIT_AUTH_DKIM_CANONICALIZE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mxkit::auth::dkim {

enum class Canonicalization { kSimple, kRelaxed };

// "simple" or "relaxed".
std::string_view CanonicalizationName(Canonicalization c);

// Appends the canonical form of one header field, followed by CRLF, to `out`.
// `raw_field` is the field exactly as it appeared in the message: its name
// through the end of its last continuation line, WITHOUT the CRLF that ends
// the field (continuation CRLFs inside it are kept).
void AppendCanonicalHeader(Canonicalization c, std::string_view raw_field, std::string* out);
std::string CanonicalizeHeader(Canonicalization c, std::string_view raw_field);

// Receives canonical body bytes in order.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void Write(std::string_view bytes) = 0;
};

class StringBodySink final : public BodySink {
 public:
  void Write(std::string_view bytes) override { data.append(bytes); }
  std::string data;
};

// Incremental body canonicalizer: feed the body (everything after the blank
// line that ends the header) in chunks of any size, then call Finish(). The
// canonical body goes to `sink`, cut after `length_limit` bytes when set
// (the l= tag counts canonical bytes, §3.5). The same bytes reach the sink
// whatever the chunking: empty lines, WSP and CR are held back across chunk
// boundaries until what follows decides them.
class BodyCanonicalizer {
 public:
  BodyCanonicalizer(Canonicalization c, BodySink* sink,
                    std::optional<uint64_t> length_limit = std::nullopt);

  // Consumes all of `chunk`. Ignored after Finish().
  void Update(std::string_view chunk);
  // Ends the body: applies the end-of-body rules. Idempotent.
  void Finish();

  // Length of the whole canonical body produced so far (complete after
  // Finish), including bytes past the limit that were not written.
  uint64_t canonical_length() const { return canonical_length_ + buffered_; }
  // Bytes written to the sink (min(canonical_length, limit)).
  uint64_t written_length() const { return written_length_; }

 private:
  // Canonical bytes are staged in buffer_ and reach the sink in pieces of at
  // most this many (and at the end of every Update), so a hashing sink sees
  // few large writes rather than one per run of text, and memory stays
  // bounded however many held empty lines a body releases at once.
  static constexpr std::size_t kBufferBytes = 2048;

  void UpdateSimple(std::string_view chunk);
  void UpdateRelaxed(std::string_view chunk);
  // Relaxed: copies the run starting at in[i] (a byte that is not WSP or CR)
  // that needs no rewriting, and returns where it ends.
  std::size_t CopyPlainRun(std::string_view in, std::size_t i);
  void FlushEmptyLines();
  void Emit(std::string_view bytes);
  void Put(char c) {
    if (buffered_ == kBufferBytes) Flush();
    buffer_[buffered_++] = c;
  }
  // Counts `bytes` as canonical output and writes what the limit allows.
  void Deliver(std::string_view bytes);
  void Flush();

  Canonicalization canonicalization_;
  BodySink* sink_;
  std::optional<uint64_t> limit_;
  bool finished_ = false;
  bool pending_cr_ = false;   // a CR whose successor is not seen yet
  bool pending_wsp_ = false;  // relaxed: a WSP run not yet known to be trailing
  bool at_line_start_ = true;  // no content on the current line yet
  uint64_t pending_empty_lines_ = 0;  // empty lines not yet known to be trailing
  uint64_t canonical_length_ = 0;  // delivered so far (buffered_ bytes are not)
  uint64_t written_length_ = 0;
  std::size_t buffered_ = 0;
  char buffer_[kBufferBytes];  // canonical bytes awaiting Flush()
};

// One-shot form of BodyCanonicalizer (no limit).
std::string CanonicalizeBody(Canonicalization c, std::string_view body);

}  // namespace mxkit::auth::dkim

#endif  // MXKIT_AUTH_DKIM_CANONICALIZE_H_
