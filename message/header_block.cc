#include "message/header_block.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "base/line_scan.h"

namespace mxkit::message {
namespace {

constexpr bool IsWsp(char c) { return c == ' ' || c == '\t'; }

// RFC 5322 §3.6.8: ftext = %d33-57 / %d59-126 (printable US-ASCII except ':').
constexpr bool IsFtext(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && u != ':';
}

class Splitter {
 public:
  Splitter(std::string_view message, const HeaderBlockOptions& options)
      : m_(message), options_(options) {}

  HeaderBlockResult Run();

 private:
  bool Fail(HeaderBlockError error, std::size_t offset, std::string why) {
    result_.error = error;
    result_.offset = offset;
    result_.message = std::string(HeaderBlockErrorName(error)) + " at byte " +
                      std::to_string(offset) + ": " + why;
    return false;
  }
  // Sets `end` to the offset after the line ending of the line that `pos`
  // is in, and `eol` to where the ending starts; false on error. Returns true
  // with eol == end == size when the message ends without a line ending.
  bool FindLineEnd(std::size_t pos, std::size_t field_start, std::size_t* eol, std::size_t* end);
  bool SplitField(std::size_t start);

  std::string_view m_;
  const HeaderBlockOptions& options_;
  HeaderBlockResult result_;
  std::size_t pos_ = 0;
  bool finished_ = false;
};

bool Splitter::FindLineEnd(std::size_t pos, std::size_t field_start, std::size_t* eol,
                           std::size_t* end) {
  const std::size_t n = m_.size();
  // Never scan further than the field may reach, so a huge unterminated line
  // costs no more than the bound.
  const std::size_t limit =
      options_.max_field_bytes < n - field_start ? field_start + options_.max_field_bytes + 1 : n;
  // To the first CR, LF or NUL, 16 bytes at a time: header lines run to tens
  // of bytes (a DKIM-Signature's to hundreds) and this scan is the splitter's
  // whole cost.
  const std::size_t i =
      static_cast<std::size_t>(base::FindCrLfOrNul(m_.data() + pos, m_.data() + limit) - m_.data());
  if (i == limit && limit < n) {
    return Fail(HeaderBlockError::kFieldTooLong, field_start + options_.max_field_bytes,
                "header field longer than " + std::to_string(options_.max_field_bytes) +
                    " bytes (name through final CRLF)");
  }
  if (i == n) {
    *eol = *end = n;
    // An unterminated last field is bounded like any other.
    if (n - field_start > options_.max_field_bytes) {
      return Fail(HeaderBlockError::kFieldTooLong, field_start + options_.max_field_bytes,
                  "header field longer than " + std::to_string(options_.max_field_bytes) +
                      " bytes (name through final CRLF)");
    }
    return true;
  }
  const char c = m_[i];
  if (c == '\0') {
    return Fail(HeaderBlockError::kNul, i, "NUL byte in the header block (RFC 5322 section 2.2)");
  }
  if (c == '\r') {
    if (i + 1 < n && m_[i + 1] == '\n') {
      *eol = i;
      *end = i + 2;
    } else {
      return Fail(HeaderBlockError::kBareCr, i,
                  "CR not followed by LF; header lines end in CRLF (RFC 5322 section 2.2)");
    }
  } else if (options_.allow_bare_lf) {
    *eol = i;
    *end = i + 1;
  } else {
    return Fail(HeaderBlockError::kBareLf, i,
                "LF not preceded by CR; header lines end in CRLF (RFC 5322 section 2.2)");
  }
  if (*end - field_start > options_.max_field_bytes) {
    return Fail(HeaderBlockError::kFieldTooLong, field_start + options_.max_field_bytes,
                "header field longer than " + std::to_string(options_.max_field_bytes) +
                    " bytes (name through final CRLF)");
  }
  return true;
}

bool Splitter::SplitField(std::size_t start) {
  const std::size_t n = m_.size();
  if (result_.block.fields.size() >= options_.max_fields) {
    return Fail(HeaderBlockError::kTooManyFields, start,
                "more than " + std::to_string(options_.max_fields) + " header fields");
  }
  // field-name = 1*ftext, then ":" (RFC 5322 §3.6.8); obs-optional allows
  // WSP before the colon (§4.5.3).
  std::size_t i = start;
  while (i < n && IsFtext(m_[i])) ++i;
  const std::size_t name_end = i;
  if (options_.allow_wsp_before_colon && name_end > start) {
    while (i < n && IsWsp(m_[i])) ++i;
  }
  if (i >= n || m_[i] != ':') {
    if (i < n && m_[i] == '\0') {
      return Fail(HeaderBlockError::kNul, i, "NUL byte in a header field name");
    }
    // Tell a line with no colon at all (e.g. an mbox "From " line or a body
    // without the empty line before it) from a bad byte in a name.
    std::size_t j = i;
    while (j < n && m_[j] != '\r' && m_[j] != '\n' && m_[j] != ':') ++j;
    if (j >= n || m_[j] != ':') {
      return Fail(HeaderBlockError::kMissingColon, start,
                  "header line has no ':' (RFC 5322 section 2.2: a field is name \":\" body)");
    }
    return Fail(HeaderBlockError::kInvalidFieldName, i,
                "byte " + base::DescribeOctet(m_[i]) +
                    " in a field name; names are printable US-ASCII except ':' (RFC 5322 "
                    "section 3.6.8)");
  }
  if (name_end == start) {
    return Fail(HeaderBlockError::kEmptyFieldName, start,
                "line starts with ':'; a field name has at least one character (RFC 5322 "
                "section 3.6.8)");
  }
  const std::size_t value_start = i + 1;
  std::size_t line = value_start;
  std::size_t eol = 0;
  std::size_t end = 0;
  for (;;) {
    if (!FindLineEnd(line, start, &eol, &end)) return false;
    if (end == n && eol == n) {
      if (!options_.allow_unterminated_last_field) {
        return Fail(HeaderBlockError::kUnterminatedField, n,
                    "message ends inside a header field without its CRLF (RFC 5322 section 2.2)");
      }
      finished_ = true;
      break;
    }
    // RFC 5322 §2.2.3: a line starting with WSP continues the field.
    if (end < n && IsWsp(m_[end])) {
      line = end;
      continue;
    }
    break;
  }
  HeaderField field;
  field.name = m_.substr(start, name_end - start);
  field.raw_value = m_.substr(value_start, eol - value_start);
  field.raw = m_.substr(start, end - start);
  field.offset = start;
  result_.block.fields.push_back(field);
  pos_ = end;
  return true;
}

HeaderBlockResult Splitter::Run() {
  const std::size_t n = m_.size();
  // One allocation for the usual dozen or so fields, not a vector growing
  // through 1, 2, 4, ... (bounded by max_fields). Kept under glibc's 1 KiB
  // large-bin threshold, where every allocation first consolidates the
  // fast bins (perf showed malloc_consolidate in DKIM verification).
  result_.block.fields.reserve(std::min<std::size_t>(options_.max_fields, 16));
  while (pos_ < n && !finished_) {
    const char c = m_[pos_];
    if (c == '\r' || c == '\n') {
      std::size_t sep_len = 0;
      if (c == '\r' && pos_ + 1 < n && m_[pos_ + 1] == '\n') {
        sep_len = 2;
      } else if (c == '\n' && options_.allow_bare_lf) {
        sep_len = 1;
      } else if (c == '\r') {
        Fail(HeaderBlockError::kBareCr, pos_,
             "CR not followed by LF; header lines end in CRLF (RFC 5322 section 2.2)");
        return std::move(result_);
      } else {
        Fail(HeaderBlockError::kBareLf, pos_,
             "LF not preceded by CR; header lines end in CRLF (RFC 5322 section 2.2)");
        return std::move(result_);
      }
      HeaderBlock& b = result_.block;
      b.separator = m_.substr(pos_, sep_len);
      b.separator_offset = pos_;
      b.body_offset = pos_ + sep_len;
      b.body = m_.substr(b.body_offset);
      return std::move(result_);
    }
    if (IsWsp(c)) {
      // Only reachable for the first line: later continuation lines are taken
      // by SplitField.
      Fail(HeaderBlockError::kLeadingContinuation, pos_,
           "first header line starts with whitespace: a continuation of nothing "
           "(RFC 5322 section 2.2.3)");
      return std::move(result_);
    }
    if (!SplitField(pos_)) return std::move(result_);
  }
  HeaderBlock& b = result_.block;
  b.separator = m_.substr(n, 0);
  b.separator_offset = n;
  b.body_offset = n;
  b.body = m_.substr(n, 0);
  return std::move(result_);
}

}  // namespace

std::string_view HeaderBlockErrorName(HeaderBlockError error) {
  switch (error) {
    case HeaderBlockError::kOk:
      return "Ok";
    case HeaderBlockError::kMissingColon:
      return "MissingColon";
    case HeaderBlockError::kEmptyFieldName:
      return "EmptyFieldName";
    case HeaderBlockError::kInvalidFieldName:
      return "InvalidFieldName";
    case HeaderBlockError::kLeadingContinuation:
      return "LeadingContinuation";
    case HeaderBlockError::kBareCr:
      return "BareCr";
    case HeaderBlockError::kBareLf:
      return "BareLf";
    case HeaderBlockError::kNul:
      return "Nul";
    case HeaderBlockError::kTooManyFields:
      return "TooManyFields";
    case HeaderBlockError::kFieldTooLong:
      return "FieldTooLong";
    case HeaderBlockError::kUnterminatedField:
      return "UnterminatedField";
  }
  return "Unknown";
}

HeaderBlockResult SplitHeaderBlock(std::string_view message, const HeaderBlockOptions& options) {
  return Splitter(message, options).Run();
}

// RFC 5322 §1.2.2: field names are case-insensitive (ASCII only, as ftext is).
bool HeaderNameEquals(std::string_view a, std::string_view b) { return base::EqualsIgnoreCase(a, b); }

std::vector<const HeaderField*> HeaderBlock::FindAll(std::string_view name) const {
  std::vector<const HeaderField*> found;
  for (const HeaderField& f : fields) {
    if (HeaderNameEquals(f.name, name)) found.push_back(&f);
  }
  return found;
}

const HeaderField* HeaderBlock::FindFirst(std::string_view name) const {
  for (const HeaderField& f : fields) {
    if (HeaderNameEquals(f.name, name)) return &f;
  }
  return nullptr;
}

std::string UnfoldHeaderValue(std::string_view raw_value) {
  std::string out;
  out.reserve(raw_value.size());
  const std::size_t n = raw_value.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = raw_value[i];
    if (c == '\r' && i + 2 < n && raw_value[i + 1] == '\n' && IsWsp(raw_value[i + 2])) {
      ++i;  // drop CR and LF; the WSP is kept (RFC 5322 §2.2.3)
      continue;
    }
    if (c == '\n' && i + 1 < n && IsWsp(raw_value[i + 1])) continue;
    out.push_back(c);
  }
  std::size_t b = 0;
  while (b < out.size() && IsWsp(out[b])) ++b;
  std::size_t e = out.size();
  while (e > b && IsWsp(out[e - 1])) --e;
  return out.substr(b, e - b);
}

}  // namespace mxkit::message
