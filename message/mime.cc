#include "message/mime.h"

#include <string>

#include "base/ascii.h"
#include "base/base64.h"
#include "base/utf8.h"
#include "message/header_block.h"
#include "message/mailbox_list.h"

namespace mxkit::message {
namespace {

using base::AsciiLower;
using base::EqualsIgnoreCase;
using base::HexDigitValue;

bool IsWsp(char c) { return c == ' ' || c == '\t'; }
bool IsSpaceOrLineEnd(char c) { return IsWsp(c) || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpaceOrLineEnd(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrLineEnd(s.back())) s.remove_suffix(1);
  return s;
}

void AppendCodePoint(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// RFC 2047 §4.2 "Q" encoding: "_" is a space, "=XX" a byte.
std::string DecodeQ(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '_') {
      out += ' ';
    } else if (c == '=' && i + 2 < text.size() && HexDigitValue(text[i + 1]) >= 0 &&
               HexDigitValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexDigitValue(text[i + 1]) * 16 + HexDigitValue(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// Lenient base64 for bodies and encoded words: whitespace and anything
// outside the alphabet are skipped (RFC 2045 §6.8: "Any characters outside
// of the base64 alphabet are to be ignored"), a cut-short last group is
// dropped. nullopt only when nothing decodable remains of non-empty input.
std::optional<std::string> DecodeBase64Lenient(std::string_view text) {
  std::string clean;
  clean.reserve(text.size());
  for (char c : text) {
    if (base::IsAlnum(c) || c == '+' || c == '/') clean += c;
    if (c == '=') break;  // padding ends the data (§6.8)
  }
  const size_t rem = clean.size() % 4;
  if (rem == 1) clean.pop_back();
  if (clean.size() % 4 == 2) clean += "==";
  if (clean.size() % 4 == 3) clean += "=";
  base::Base64DecodeOptions options;
  options.allow_nonzero_pad_bits = true;
  base::Base64Result r = base::DecodeBase64(clean, options);
  if (!r.ok()) return std::nullopt;
  return std::move(r.bytes);
}

// One RFC 2047 §2 encoded word at the start of `s`: its decoded UTF-8 text
// and length, or nullopt when `s` does not start with one.
std::optional<std::pair<std::string, size_t>> EncodedWordAt(std::string_view s) {
  if (s.size() < 8 || s[0] != '=' || s[1] != '?') return std::nullopt;
  s = s.substr(0, kMaxEncodedWordBytes);
  const size_t q1 = s.find('?', 2);
  if (q1 == std::string_view::npos || q1 + 2 >= s.size() || s[q1 + 2] != '?') {
    return std::nullopt;
  }
  const size_t end = s.find("?=", q1 + 3);
  if (end == std::string_view::npos) return std::nullopt;
  std::string_view charset = s.substr(2, q1 - 2);
  // RFC 2231 §5: "charset*language".
  if (size_t star = charset.find('*'); star != std::string_view::npos) {
    charset = charset.substr(0, star);
  }
  const char encoding = base::ToUpperAscii(s[q1 + 1]);
  const std::string_view text = s.substr(q1 + 3, end - (q1 + 3));
  for (char c : text) {
    if (IsSpaceOrLineEnd(c)) return std::nullopt;  // §5: no white space inside
  }
  std::string bytes;
  if (encoding == 'Q') {
    bytes = DecodeQ(text);
  } else if (encoding == 'B') {
    std::optional<std::string> decoded = DecodeBase64Lenient(text);
    if (!decoded) return std::nullopt;
    bytes = std::move(*decoded);
  } else {
    return std::nullopt;
  }
  return std::make_pair(ToUtf8(bytes, charset), end + 2);
}

// RFC 2231 §4 extended value: charset'language'percent-encoded.
std::string DecodeExtendedValue(std::string_view v) {
  const size_t q1 = v.find('\'');
  const size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return ToUtf8(v, "utf-8");
  std::string bytes;
  const std::string_view text = v.substr(q2 + 1);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && HexDigitValue(text[i + 1]) >= 0 &&
        HexDigitValue(text[i + 2]) >= 0) {
      bytes += static_cast<char>(HexDigitValue(text[i + 1]) * 16 + HexDigitValue(text[i + 2]));
      i += 2;
    } else {
      bytes += text[i];
    }
  }
  return ToUtf8(bytes, v.substr(0, q1));
}

std::string HeaderText(const HeaderBlock& block, std::string_view name) {
  const HeaderField* f = block.FindFirst(name);
  return f == nullptr ? std::string() : UnfoldHeaderValue(f->raw_value);
}

class Reader {
 public:
  explicit Reader(MimeContent& out) : out_(out) {}

  void Warn(std::string text) {
    if (out_.warnings.size() < kMaxMimeWarnings) out_.warnings.push_back(std::move(text));
  }

  // `entity` is a whole MIME entity (header, blank line, body); `part_id`
  // is "" for the message itself.
  void ReadEntity(std::string_view entity, const std::string& part_id, size_t depth,
                  bool digest_default) {
    if (++parts_ > kMaxMimeParts) {
      if (parts_ == kMaxMimeParts + 1) {
        Warn("more than " + std::to_string(kMaxMimeParts) + " MIME parts; the rest not read");
      }
      return;
    }
    HeaderBlockOptions options;
    options.allow_bare_lf = true;
    options.allow_wsp_before_colon = true;
    options.allow_unterminated_last_field = true;
    HeaderBlockResult split = SplitHeaderBlock(entity, options);
    HeaderBlock block;
    std::string_view body = entity;
    const std::string where = part_id.empty() ? "message" : "part " + part_id;
    if (split.ok()) {
      block = std::move(split.block);
      body = block.body;
    } else {
      // A part whose header does not split is shown as text, whole.
      Warn(where + ": header " + split.message + "; read as text without a header");
    }

    MimeHeaderValue type;
    if (const HeaderField* f = block.FindFirst("Content-Type")) {
      type = ParseMimeHeaderValue(UnfoldHeaderValue(f->raw_value));
    }
    // RFC 2045 §5.2 default, and RFC 2046 §5.1.5 for a digest's parts.
    if (type.value.find('/') == std::string::npos) {
      type.value = digest_default ? "message/rfc822" : "text/plain";
    }
    MimeHeaderValue disposition;
    if (const HeaderField* f = block.FindFirst("Content-Disposition")) {
      disposition = ParseMimeHeaderValue(UnfoldHeaderValue(f->raw_value));
    }

    if (type.value.rfind("multipart/", 0) == 0) {
      std::optional<std::string_view> boundary = type.Param("boundary");
      if (!boundary || boundary->empty() || boundary->size() > kMaxBoundaryLength) {
        Warn(where + ": " + type.value + " without a usable boundary parameter (RFC 2046 §5.1.1: 1 to 70 characters); shown as one part");
      } else if (depth >= kMaxMimeDepth) {
        Warn(where + ": multipart nested deeper than " + std::to_string(kMaxMimeDepth) +
             "; not read further");
        return;
      } else {
        ReadMultipart(body, std::string(*boundary), part_id, depth,
                      type.value == "multipart/digest");
        return;
      }
    }

    const std::string encoding =
        AsciiLower(Trim(HeaderText(block, "Content-Transfer-Encoding")));
    std::string decoded;
    if (encoding == "base64") {
      std::optional<std::string> d = DecodeBase64Lenient(body);
      if (d) {
        decoded = std::move(*d);
      } else {
        Warn(where + ": invalid base64; shown undecoded");
        decoded = std::string(body);
      }
    } else if (encoding == "quoted-printable") {
      decoded = DecodeQuotedPrintable(body);
    } else {
      decoded = std::string(body);
    }

    std::string file_name;
    if (auto n = disposition.Param("filename")) {
      file_name = DecodeHeaderText(*n);
    } else if (auto m = type.Param("name")) {
      file_name = DecodeHeaderText(*m);
    }
    std::string content_id = std::string(Trim(HeaderText(block, "Content-ID")));
    if (content_id.size() >= 2 && content_id.front() == '<' && content_id.back() == '>') {
      content_id = content_id.substr(1, content_id.size() - 2);
    }
    const bool is_text = type.value == "text/plain" || type.value == "text/html";
    const bool is_attachment = disposition.value == "attachment";
    const bool is_inline_disposition = disposition.value == "inline";

    if (is_text && !is_attachment && file_name.empty()) {
      std::string& target = type.value == "text/plain" ? out_.text : out_.html;
      bool* seen = type.value == "text/plain" ? &text_seen_ : &html_seen_;
      if (!*seen) {
        *seen = true;
        bool known = true;
        const std::string charset(type.Param("charset").value_or("us-ascii"));
        target = ToUtf8(decoded, charset, &known);
        if (!known) Warn(where + ": charset \"" + charset + "\" not converted");
        return;
      }
      // A second text body of the same kind is shown as an attachment, as
      // Mailpit does, so nothing the sender put in is hidden.
    }

    MimeAttachment a;
    a.part_id = part_id.empty() ? "1" : part_id;
    a.content_type = type.value;
    a.file_name = std::move(file_name);
    a.content_id = std::move(content_id);
    a.content = std::move(decoded);
    const bool is_inline =
        !is_attachment && (is_inline_disposition || !a.content_id.empty()) && !is_text;
    (is_inline ? out_.inlines : out_.attachments).push_back(std::move(a));
  }

 private:
  // RFC 2046 §5.1.1: a delimiter line is "--" boundary, then optionally "--"
  // (the close delimiter), then transport padding (LWSP), then the line end;
  // the line end before it belongs to the delimiter.
  void ReadMultipart(std::string_view body, const std::string& boundary,
                     const std::string& part_id, size_t depth, bool digest) {
    size_t part_start = std::string_view::npos;  // npos: in the preamble
    size_t number = 0;
    size_t pos = 0;
    bool closed = false;
    while (pos <= body.size()) {
      size_t eol = body.find('\n', pos);
      const size_t line_end = eol == std::string_view::npos ? body.size() : eol;
      std::string_view line = body.substr(pos, line_end - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.size() >= 2 + boundary.size() && line.substr(0, 2) == "--" &&
          line.substr(2, boundary.size()) == boundary) {
        std::string_view rest = line.substr(2 + boundary.size());
        const bool is_close = rest.substr(0, 2) == "--";
        if (is_close) rest.remove_prefix(2);
        if (Trim(rest).empty()) {
          if (part_start != std::string_view::npos) {
            // The part ends before the line end preceding this delimiter.
            size_t end = pos;
            if (end > part_start && body[end - 1] == '\n') --end;
            if (end > part_start && body[end - 1] == '\r') --end;
            EmitPart(body.substr(part_start, end - part_start), part_id, ++number, depth,
                     digest);
          }
          if (is_close) {
            closed = true;
            break;
          }
          part_start = eol == std::string_view::npos ? body.size() : eol + 1;
        }
      }
      if (eol == std::string_view::npos) break;
      pos = eol + 1;
    }
    if (!closed) {
      const std::string where = part_id.empty() ? "message" : "part " + part_id;
      if (part_start == std::string_view::npos) {
        Warn(where + ": no boundary delimiter found in the multipart body");
      } else {
        Warn(where + ": multipart body ends without its close delimiter");
        EmitPart(body.substr(part_start), part_id, ++number, depth, digest);
      }
    }
  }

  void EmitPart(std::string_view entity, const std::string& parent, size_t number, size_t depth,
                bool digest) {
    const std::string id =
        parent.empty() ? std::to_string(number) : parent + "." + std::to_string(number);
    ReadEntity(entity, id, depth + 1, digest);
  }

  MimeContent& out_;
  size_t parts_ = 0;
  bool text_seen_ = false;
  bool html_seen_ = false;
};

}  // namespace

std::optional<std::string_view> MimeHeaderValue::Param(std::string_view name) const {
  for (const auto& [n, v] : params) {
    if (n == name) return std::string_view(v);
  }
  return std::nullopt;
}

MimeHeaderValue ParseMimeHeaderValue(std::string_view raw) {
  MimeHeaderValue out;
  size_t i = 0;
  const size_t semi = raw.find(';');
  out.value = AsciiLower(Trim(raw.substr(0, semi)));
  // Drop a comment after the value (RFC 2045 §5.1 allows CFWS there).
  if (size_t paren = out.value.find('('); paren != std::string::npos) {
    out.value = std::string(Trim(std::string_view(out.value).substr(0, paren)));
  }
  if (semi == std::string_view::npos) return out;
  i = semi + 1;
  while (i < raw.size() && out.params.size() < 64) {
    while (i < raw.size() && (IsSpaceOrLineEnd(raw[i]) || raw[i] == ';')) ++i;
    const size_t name_start = i;
    while (i < raw.size() && raw[i] != '=' && raw[i] != ';') ++i;
    std::string name = AsciiLower(Trim(raw.substr(name_start, i - name_start)));
    if (i >= raw.size() || raw[i] == ';') continue;  // a parameter without a value
    ++i;  // '='
    while (i < raw.size() && IsWsp(raw[i])) ++i;
    std::string value;
    if (i < raw.size() && raw[i] == '"') {
      ++i;
      while (i < raw.size() && raw[i] != '"') {
        if (raw[i] == '\\' && i + 1 < raw.size()) ++i;  // quoted-pair
        value += raw[i++];
      }
      if (i < raw.size()) ++i;  // closing quote
    } else {
      const size_t start = i;
      while (i < raw.size() && raw[i] != ';') ++i;
      value = std::string(Trim(raw.substr(start, i - start)));
    }
    if (!name.empty() && name.back() == '*') {
      name.pop_back();
      // "*=" alone names no parameter.
      if (name.empty()) continue;
      value = DecodeExtendedValue(value);
      // An extended value takes precedence over a plain one (RFC 2231 §4).
      bool replaced = false;
      for (auto& [n, v] : out.params) {
        if (n == name) {
          v = value;
          replaced = true;
        }
      }
      if (replaced) continue;
    }
    if (name.empty()) continue;
    out.params.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

std::string ToUtf8(std::string_view bytes, std::string_view charset, bool* known) {
  const std::string cs = AsciiLower(Trim(charset));
  std::string out;
  out.reserve(bytes.size());
  const bool latin1 = cs == "iso-8859-1" || cs == "iso8859-1" || cs == "latin1" ||
                      cs == "l1" || cs == "iso_8859-1" || cs == "cp819" || cs == "ibm819";
  if (latin1) {
    for (char c : bytes) AppendCodePoint(out, static_cast<unsigned char>(c));
    if (known) *known = true;
    return out;
  }
  const bool utf8 = cs.empty() || cs == "utf-8" || cs == "utf8" || cs == "us-ascii" ||
                    cs == "ascii" || cs == "ansi_x3.4-1968";
  if (known) *known = utf8;
  base::AppendUtf8Replacing(out, bytes);
  return out;
}

std::string DecodeQuotedPrintable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    // Find the line; §6.7 (3): trailing white space on a line is padding.
    size_t eol = text.find('\n', i);
    const bool has_eol = eol != std::string_view::npos;
    size_t content_end = has_eol ? eol : text.size();
    if (has_eol && content_end > i && text[content_end - 1] == '\r') --content_end;
    std::string_view line = text.substr(i, content_end - i);
    while (!line.empty() && IsWsp(line.back())) line.remove_suffix(1);
    bool soft_break = false;
    for (size_t j = 0; j < line.size(); ++j) {
      const char c = line[j];
      if (c != '=') {
        out += c;
        continue;
      }
      if (j + 1 == line.size()) {  // "=" at the end: soft line break (§6.7 (5))
        soft_break = true;
        break;
      }
      if (j + 2 < line.size() && HexDigitValue(line[j + 1]) >= 0 &&
          HexDigitValue(line[j + 2]) >= 0) {
        out += static_cast<char>(HexDigitValue(line[j + 1]) * 16 + HexDigitValue(line[j + 2]));
        j += 2;
      } else {
        out += c;
      }
    }
    if (!has_eol) break;
    if (!soft_break) out += "\r\n";
    i = eol + 1;
  }
  return out;
}

std::string DecodeHeaderText(std::string_view raw_value) {
  const std::string unfolded = UnfoldHeaderValue(raw_value);
  std::string_view s = unfolded;
  std::string out;
  std::string pending_space;  // white space after an encoded word, dropped if another follows
  bool after_word = false;
  size_t i = 0;
  while (i < s.size()) {
    if (s[i] == '=' && i + 1 < s.size() && s[i + 1] == '?') {
      if (auto word = EncodedWordAt(s.substr(i))) {
        if (!after_word) out += pending_space;
        pending_space.clear();
        base::AppendUtf8Replacing(out, word->first);
        i += word->second;
        after_word = true;
        continue;
      }
    }
    if (IsWsp(s[i])) {
      size_t j = i;
      while (j < s.size() && IsWsp(s[j])) ++j;
      if (after_word) {
        pending_space.assign(s.substr(i, j - i));
      } else {
        out.append(s.substr(i, j - i));
      }
      i = j;
      continue;
    }
    // Ordinary text ends any run of encoded words (§6.2 drops only the
    // white space *between* two encoded words).
    out += pending_space;
    pending_space.clear();
    after_word = false;
    const size_t start = i;
    while (i < s.size() && !IsWsp(s[i]) && !(s[i] == '=' && i + 1 < s.size() && s[i + 1] == '?' && i != start)) {
      ++i;
    }
    if (i == start) ++i;
    std::string_view chunk = s.substr(start, i - start);
    base::AppendUtf8Replacing(out, chunk);
  }
  out += pending_space;
  return out;
}

std::vector<DisplayAddress> ReadAddressList(std::string_view raw_value) {
  std::vector<DisplayAddress> out;
  const std::string value = UnfoldHeaderValue(raw_value);
  MailboxListOptions options;
  options.lenient = true;
  options.max_mailboxes = kMaxAddressesPerField;
  for (const Mailbox& m : ParseMailboxList(value, options).mailboxes) {
    DisplayAddress a;
    // The display name, or for an addr-spec the old "a@b (Name)" comment.
    a.name = DecodeHeaderText(m.angle ? m.display_name : m.comment);
    // Collapse white space in the name as a client shows it.
    std::string name;
    for (char c : a.name) {
      if (IsSpaceOrLineEnd(c)) {
        if (!name.empty() && name.back() != ' ') name += ' ';
      } else {
        name += c;
      }
    }
    while (!name.empty() && name.back() == ' ') name.pop_back();
    a.name = std::move(name);
    base::AppendUtf8Replacing(a.address, m.Address());
    if (a.address.empty() && a.name.empty()) continue;
    out.push_back(std::move(a));
  }
  return out;
}

MimeContent ReadMimeContent(std::string_view message) {
  MimeContent out;
  Reader reader(out);
  reader.ReadEntity(message, "", 0, false);
  return out;
}

std::optional<int64_t> ParseRfc5322Date(std::string_view raw_value) {
  // Tokens: words and numbers, separated by white space, ',' and ':';
  // comments dropped (the "(UTC)" some senders append).
  std::vector<std::string> tokens;
  std::string cur;
  int depth = 0;
  auto flush = [&] {
    if (!cur.empty()) tokens.push_back(std::move(cur));
    cur.clear();
  };
  for (char c : raw_value) {
    if (c == '(') {
      flush();
      ++depth;
      continue;
    }
    if (depth > 0) {
      if (c == ')') --depth;
      continue;
    }
    if (IsSpaceOrLineEnd(c) || c == ',') {
      flush();
    } else if (c == ':') {
      flush();
      tokens.push_back(":");
    } else {
      cur += c;
    }
    if (tokens.size() > 16) return std::nullopt;
  }
  flush();
  size_t t = 0;
  auto number = [](const std::string& s, size_t min_digits, size_t max_digits) -> std::optional<int> {
    if (s.size() < min_digits || s.size() > max_digits) return std::nullopt;
    int v = 0;
    for (char c : s) {
      if (!base::IsDigit(c)) return std::nullopt;
      v = v * 10 + (c - '0');
    }
    return v;
  };
  static constexpr const char* kDays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
  static constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
  if (t < tokens.size()) {
    for (const char* d : kDays) {
      if (EqualsIgnoreCase(tokens[t], d)) {
        ++t;
        break;
      }
    }
  }
  if (t + 3 > tokens.size()) return std::nullopt;
  const std::optional<int> day = number(tokens[t++], 1, 2);
  int month = 0;
  for (int m = 0; m < 12; ++m) {
    if (EqualsIgnoreCase(tokens[t], kMonths[m])) month = m + 1;
  }
  ++t;
  std::optional<int> year = number(tokens[t++], 2, 4);
  if (!day || month == 0 || !year) return std::nullopt;
  // RFC 5322 §4.3: a two-digit year below 50 is 20xx, else 19xx; three
  // digits add 1900.
  if (tokens[t - 1].size() == 2) *year += *year < 50 ? 2000 : 1900;
  else if (tokens[t - 1].size() == 3) *year += 1900;
  if (t + 3 > tokens.size() || tokens[t + 1] != ":") return std::nullopt;
  const std::optional<int> hour = number(tokens[t], 1, 2);
  const std::optional<int> minute = number(tokens[t + 2], 1, 2);
  t += 3;
  std::optional<int> second = 0;
  if (t + 1 < tokens.size() && tokens[t] == ":") {
    second = number(tokens[t + 1], 1, 2);
    t += 2;
  }
  if (!hour || !minute || !second || *hour > 23 || *minute > 59 || *second > 60) {
    return std::nullopt;
  }
  int offset_minutes = 0;
  if (t < tokens.size()) {
    const std::string& z = tokens[t];
    if ((z[0] == '+' || z[0] == '-') && z.size() == 5) {
      const std::optional<int> hhmm = number(z.substr(1), 4, 4);
      if (!hhmm || *hhmm % 100 > 59) return std::nullopt;
      offset_minutes = (*hhmm / 100) * 60 + *hhmm % 100;
      if (z[0] == '-') offset_minutes = -offset_minutes;
    } else {
      // RFC 5322 §4.3 obs-zone names; military zones are treated as +0000,
      // as §4.3 says they "SHOULD all be considered equivalent to "-0000"".
      static constexpr std::pair<const char*, int> kZones[] = {
          {"ut", 0},        {"gmt", 0},       {"utc", 0},       {"est", -5 * 60},
          {"edt", -4 * 60}, {"cst", -6 * 60}, {"cdt", -5 * 60}, {"mst", -7 * 60},
          {"mdt", -6 * 60}, {"pst", -8 * 60}, {"pdt", -7 * 60}};
      for (const auto& [name, off] : kZones) {
        if (EqualsIgnoreCase(z, name)) offset_minutes = off;
      }
    }
  }
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (*year % 4 == 0 && *year % 100 != 0) || *year % 400 == 0;
  const int mdays = kDaysInMonth[month - 1] + (month == 2 && leap ? 1 : 0);
  if (*day < 1 || *day > mdays) return std::nullopt;
  // Days since 1970-01-01 (Howard Hinnant's days_from_civil).
  const int y = *year - (month <= 2 ? 1 : 0);
  const int era = (y >= 0 ? y : y - 399) / 400;
  const int yoe = y - era * 400;
  const int mp = (month + 9) % 12;
  const int doy = (153 * mp + 2) / 5 + *day - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const int64_t days = int64_t{era} * 146097 + doe - 719468;
  return days * 86400 + *hour * 3600 + *minute * 60 + *second - int64_t{offset_minutes} * 60;
}

}  // namespace mxkit::message
