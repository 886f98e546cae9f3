#include "message/mailbox_list.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "message/cfws.h"

namespace mxkit::message {
namespace {

// RFC 5322 §3.2.3 atext, widened by RFC 6532 §3.2 to UTF-8 non-ASCII.
bool IsAtext(char c) { return static_cast<unsigned char>(c) >= 0x80 || base::IsAtext(c); }

bool IsSpaceOrLineEnd(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpaceOrLineEnd(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrLineEnd(s.back())) s.remove_suffix(1);
  return s;
}

struct Token {
  enum Kind { kWord, kDot } kind;
  std::string text;   // as written (a quoted string keeps its quotes)
  std::string value;  // a quoted string's content, quoted-pairs resolved, folds removed
  std::size_t offset;
  bool space_before;  // CFWS came before it
};

class Parser {
 public:
  Parser(std::string_view s, const MailboxListOptions& options) : s_(s), options_(options) {}

  MailboxListResult Run() {
    if (options_.lenient) {
      LenientList();
    } else {
      StrictList();
    }
    MailboxListResult r;
    r.error = error_;
    r.offset = error_offset_;
    r.message = std::move(message_);
    r.saw_group = saw_group_;
    r.truncated = truncated_;
    if (r.ok()) r.mailboxes = std::move(mailboxes_);
    return r;
  }

 private:
  bool failed() const { return error_ != MailboxListError::kNone; }

  void Fail(MailboxListError e, std::size_t offset, std::string message) {
    if (failed()) return;
    error_ = e;
    error_offset_ = offset;
    message_ = std::move(message) + " at offset " + std::to_string(offset);
  }

  // address-list (RFC 5322 §3.4).
  void StrictList() {
    while (true) {
      if (!SkipCfws() || pos_ >= s_.size()) return;
      if (!ParseAddress(/*allow_group=*/true)) return;
      if (!SkipCfws()) return;
      if (pos_ >= s_.size()) return;
      if (s_[pos_] != ',') {
        Fail(MailboxListError::kSyntax, pos_,
             "expected ',' or the end of the field after a mailbox (RFC 5322 §3.4)");
        return;
      }
      ++pos_;
      if (!SkipCfws()) return;
      if (pos_ >= s_.size()) {
        Fail(MailboxListError::kSyntax, pos_, "a ',' must be followed by another mailbox");
        return;
      }
    }
  }

  // obs-addr-list (§4.4) and then some: empty elements and stray ';' skipped,
  // an element that does not parse salvaged.
  void LenientList() {
    while (!stop_) {
      std::size_t p = CfwsEnd(pos_);
      if (p >= s_.size()) return;
      if (s_[p] == ',' || s_[p] == ';') {
        pos_ = p + 1;
        continue;
      }
      LenientMember(/*allow_group=*/true);
    }
  }

  // Where [CFWS] from `p` ends, or `p` when it is malformed (the element
  // parser then salvages it).
  std::size_t CfwsEnd(std::size_t p) const {
    CfwsResult r = message::SkipCfws(s_, p);
    return r.ok() ? r.offset : p;
  }

  void LenientMember(bool allow_group) {
    const std::size_t start = pos_;
    const std::size_t count = mailboxes_.size();
    bool ok = SkipCfws() && pos_ < s_.size() && ParseAddress(allow_group) && SkipCfws() &&
              (pos_ >= s_.size() || s_[pos_] == ',' || s_[pos_] == ';');
    if (ok || stop_) return;
    error_ = MailboxListError::kNone;
    message_.clear();
    mailboxes_.resize(count);
    pos_ = ElementEnd(start);
    Salvage(start, pos_);
  }

  // Calls visit(i, c) for each byte of text[from, to) outside quoted strings,
  // comments and angle brackets (the places where ',', ';' and ':' separate
  // list elements); stops at the first byte visit returns true for and
  // returns its offset, else `to`.
  template <typename Visit>
  static std::size_t FindOutside(std::string_view text, std::size_t from, std::size_t to,
                                 Visit visit) {
    bool in_quote = false, in_angle = false;
    int depth = 0;
    for (std::size_t i = from; i < to; ++i) {
      const char c = text[i];
      if (in_quote || depth > 0) {
        if (c == '\\') {
          ++i;
        } else if (in_quote) {
          in_quote = c != '"';
        } else if (c == '(') {
          ++depth;
        } else if (c == ')') {
          --depth;
        }
        continue;
      }
      if (c == '"') in_quote = true;
      if (c == '(') depth = 1;
      if (c == '<') in_angle = true;
      if (c == '>') in_angle = false;
      if (!in_angle && visit(i, c)) return i;
    }
    return to;
  }

  // The next ',' or ';' that ends a list element.
  std::size_t ElementEnd(std::size_t i) const {
    return FindOutside(s_, i, s_.size(), [](std::size_t, char c) { return c == ',' || c == ';'; });
  }

  // An element that is no mailbox, read as display code always has: the
  // text after a group's ':', "<...>" as the address (an obsolete route
  // dropped), the text before it as the name, else the text as the address.
  void Salvage(std::size_t start, std::size_t end) {
    std::size_t after_colon = start;
    FindOutside(s_, start, end, [&after_colon](std::size_t i, char c) {
      if (c == ':') after_colon = i + 1;
      return false;
    });
    if (after_colon > start) saw_group_ = true;
    start = after_colon;
    std::string_view item = s_.substr(start, end - start);
    Mailbox m;
    m.salvaged = true;
    m.offset = start;
    std::string phrase, angle, bare;
    for (std::size_t i = 0; i < item.size(); ++i) {
      const char c = item[i];
      if (c == '"') {
        for (++i; i < item.size() && item[i] != '"'; ++i) {
          if (item[i] == '\\' && i + 1 < item.size()) ++i;
          phrase += item[i];
        }
        continue;
      }
      if (c == '(') {
        std::size_t close = 0;
        std::string text = CommentText(item, i, &close);
        if (m.comment.empty()) m.comment = std::string(Trim(text));
        phrase += ' ';
        bare += ' ';
        i = close;
        continue;
      }
      if (c == '<' && !m.angle) {
        m.angle = true;
        const std::size_t close = item.find('>', i);
        std::string_view inner =
            item.substr(i + 1, (close == std::string_view::npos ? item.size() : close) - i - 1);
        if (std::size_t colon = inner.rfind(':'); colon != std::string_view::npos) {
          inner.remove_prefix(colon + 1);  // an obsolete route (§4.4)
        }
        for (char a : inner) {
          if (!IsSpaceOrLineEnd(a)) angle += a;
        }
        if (close == std::string_view::npos) break;
        i = close;
        continue;
      }
      phrase += c;
      bare += c;
    }
    if (m.angle) {
      m.local_part = std::move(angle);
      m.display_name = std::string(Trim(phrase));
    } else {
      for (char c : bare) {
        if (!IsSpaceOrLineEnd(c)) m.local_part += c;
      }
    }
    if (m.local_part.empty() && m.display_name.empty() && m.comment.empty()) return;
    AddMailbox(std::move(m));
  }

  // The text of the comment at text[open] ('('), nested parentheses kept,
  // quoted-pairs resolved, folds unfolded; `close` gets the offset of its
  // ')' (or the last byte when unterminated).
  static std::string CommentText(std::string_view text, std::size_t open, std::size_t* close) {
    std::string out;
    int depth = 1;
    std::size_t i = open + 1;
    for (; i < text.size(); ++i) {
      char c = text[i];
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
        continue;
      }
      if (c == '(') ++depth;
      if (c == ')' && --depth == 0) break;
      // A fold's line break goes (RFC 5322 §2.2.3 unfolding); other bytes stay.
      const bool fold = (c == '\r' || c == '\n') && i + 1 < text.size() &&
                        (text[i + 1] == '\n' || text[i + 1] == ' ' || text[i + 1] == '\t');
      if (!fold) out += c;
    }
    *close = i < text.size() ? i : text.size() - 1;
    return out;
  }

  // The first comment in s_[start, end) outside quoted strings, trimmed.
  std::string FirstComment(std::size_t start, std::size_t end) const {
    for (std::size_t i = start; i < end; ++i) {
      if (s_[i] == '"') {
        for (++i; i < end && s_[i] != '"'; ++i) {
          if (s_[i] == '\\') ++i;
        }
        continue;
      }
      if (s_[i] == '(') {
        std::size_t close = 0;
        return std::string(Trim(CommentText(s_.substr(0, end), i, &close)));
      }
    }
    return "";
  }

  // [CFWS] (RFC 5322 §3.2.2), through the one lexer in message/cfws.h.
  bool SkipCfws() { return Take(message::SkipCfws(s_, pos_)); }

  bool Take(const CfwsResult& r) {
    if (!r.ok()) {
      const bool deep = r.error == CfwsError::kCommentTooDeep;
      Fail(deep ? MailboxListError::kCommentTooDeep : MailboxListError::kSyntax, r.offset,
           std::string(CfwsErrorText(r.error)));
    } else {
      pos_ = r.offset;
    }
    return r.ok();
  }

  // quoted-string (§3.2.4) starting at '"'.
  bool ReadQuotedString(Token* t) {
    const std::size_t start = pos_;
    ++pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        t->text.assign(s_.substr(start, pos_ - start));
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        t->value += s_[pos_ + 1];
        pos_ += 2;
        continue;
      }
      if (c == '\r' || c == '\n') {
        if (!Take(message::SkipFold(s_, pos_))) return false;
        continue;
      }
      if (c == '\0') {
        Fail(MailboxListError::kSyntax, pos_, "NUL inside a quoted string");
        return false;
      }
      t->value += c;
      ++pos_;
    }
    Fail(MailboxListError::kSyntax, start, "unterminated quoted string");
    return false;
  }

  // Words (atoms, quoted strings) and dots up to the next other special.
  bool ReadTokens(std::vector<Token>* tokens) {
    while (true) {
      const std::size_t before = pos_;
      if (!SkipCfws()) return false;
      if (pos_ >= s_.size()) return true;
      const bool space = pos_ > before;
      const char c = s_[pos_];
      if (c == '"') {
        Token t{Token::kWord, "", "", pos_, space};
        if (!ReadQuotedString(&t)) return false;
        tokens->push_back(std::move(t));
      } else if (c == '.') {
        tokens->push_back(Token{Token::kDot, ".", ".", pos_, space});
        ++pos_;
      } else if (IsAtext(c)) {
        const std::size_t start = pos_;
        while (pos_ < s_.size() && IsAtext(s_[pos_])) ++pos_;
        std::string word(s_.substr(start, pos_ - start));
        tokens->push_back(Token{Token::kWord, word, word, start, space});
      } else {
        return true;
      }
    }
  }

  // local-part = dot-atom / quoted-string / obs-local-part (§3.4.1, §4.4):
  // word *("." word).
  bool LocalPart(const std::vector<Token>& tokens, std::size_t at, std::string* out) {
    if (tokens.empty()) {
      Fail(MailboxListError::kSyntax, at, "empty local-part before '@'");
      return false;
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const bool want_word = (i % 2 == 0);
      if ((tokens[i].kind == Token::kWord) != want_word || (i + 1 == tokens.size() && !want_word)) {
        Fail(MailboxListError::kSyntax, tokens[i].offset,
             "local-part is not words separated by single dots (RFC 5322 §3.4.1)");
        return false;
      }
      out->append(tokens[i].text);
    }
    return true;
  }

  // display-name = phrase; obs-phrase (§4.1) also allows "." after the first word.
  bool Phrase(const std::vector<Token>& tokens, std::string* out) {
    if (!tokens.empty() && tokens[0].kind != Token::kWord) {
      Fail(MailboxListError::kSyntax, tokens[0].offset, "a display name cannot start with '.'");
      return false;
    }
    for (const Token& t : tokens) {
      if (t.space_before && !out->empty()) *out += ' ';
      *out += t.value;
    }
    return true;
  }

  // domain-literal = [CFWS] "[" *([FWS] dtext) [FWS] "]" [CFWS] (§3.4.1),
  // dtext with obs-dtext (§4.4: obs-NO-WS-CTL and quoted-pair).
  bool DomainLiteral(std::string* out) {
    const std::size_t start = pos_;
    ++pos_;
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == ']') {
        ++pos_;
        out->assign(s_.substr(start, pos_ - start));
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        pos_ += 2;
      } else if (c == '\r' || c == '\n') {
        if (!Take(message::SkipFold(s_, pos_))) return false;
      } else if (c == '[' || c == '\0') {
        Fail(MailboxListError::kSyntax, pos_,
             "a domain-literal cannot hold '[' or NUL (RFC 5322 §3.4.1 dtext)");
        return false;
      } else {
        ++pos_;
      }
    }
    Fail(MailboxListError::kSyntax, start, "unterminated domain-literal");
    return false;
  }

  // domain = dot-atom / domain-literal / obs-domain (§3.4.1, §4.4).
  bool Domain(Mailbox* m, bool in_route) {
    if (!SkipCfws()) return false;
    m->domain_offset = pos_;
    if (pos_ < s_.size() && s_[pos_] == '[') {
      if (!options_.allow_domain_literal && !in_route) {
        Fail(MailboxListError::kDomainLiteral, pos_, "the domain is a domain-literal");
        return false;
      }
      return DomainLiteral(&m->domain) && SkipCfws();
    }
    std::vector<Token> tokens;
    if (!ReadTokens(&tokens)) return false;
    if (tokens.empty()) {
      Fail(MailboxListError::kSyntax, m->domain_offset, "missing domain after '@'");
      return false;
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      const bool want_word = (i % 2 == 0);
      const bool is_word = tokens[i].kind == Token::kWord && tokens[i].text[0] != '"';
      if (is_word != want_word || (i + 1 == tokens.size() && !want_word)) {
        Fail(MailboxListError::kSyntax, tokens[i].offset,
             "domain is not atoms separated by single dots (RFC 5322 §3.4.1)");
        return false;
      }
      m->domain.append(tokens[i].text);
    }
    return true;
  }

  // obs-route = obs-domain-list ":" (§4.4), starting at '@'; the route is
  // read and dropped (RFC 5321 Appendix C: receivers ignore it).
  bool ObsRoute() {
    while (true) {
      if (!SkipCfws()) return false;
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '@') {
        ++pos_;
        Mailbox hop;
        if (!Domain(&hop, /*in_route=*/true)) return false;
        continue;
      }
      break;
    }
    if (pos_ >= s_.size() || s_[pos_] != ':') {
      Fail(MailboxListError::kSyntax, pos_, "expected ':' after the obsolete route (RFC 5322 §4.4)");
      return false;
    }
    ++pos_;
    return true;
  }

  // options.check, as soon as the addr-spec is read (before a closing '>').
  bool Check(const Mailbox& m) {
    if (!options_.check || options_.lenient) return true;
    std::string why = options_.check(m);
    if (!why.empty()) Fail(MailboxListError::kRejected, m.domain_offset, std::move(why));
    return why.empty();
  }

  bool AddMailbox(Mailbox m) {
    if (mailboxes_.size() >= options_.max_mailboxes) {
      if (options_.lenient) {
        truncated_ = true;
        stop_ = true;
      } else {
        Fail(MailboxListError::kTooManyMailboxes, m.offset,
             "more than " + std::to_string(options_.max_mailboxes) + " mailboxes");
      }
      return false;
    }
    m.group = group_;
    mailboxes_.push_back(std::move(m));
    return true;
  }

  // mailbox / group (§3.4), starting at a non-CFWS byte.
  bool ParseAddress(bool allow_group) {
    const std::size_t start = pos_;
    std::vector<Token> tokens;
    if (!ReadTokens(&tokens)) return false;
    if (pos_ >= s_.size()) {
      Fail(MailboxListError::kSyntax, pos_, "expected '<', ':' or '@' before the end of the field");
      return false;
    }
    const char c = s_[pos_];
    Mailbox m;
    m.offset = start;
    if (c == '@') {
      if (!LocalPart(tokens, start, &m.local_part)) return false;
      ++pos_;
      if (!Domain(&m, /*in_route=*/false) || !Check(m)) return false;
      m.comment = FirstComment(start, pos_);
      return AddMailbox(std::move(m));
    }
    if (c == '<') {
      if (!Phrase(tokens, &m.display_name)) return false;
      m.angle = true;
      ++pos_;
      if (!SkipCfws()) return false;
      if (pos_ < s_.size() && s_[pos_] == '@' && !ObsRoute()) return false;
      if (!SkipCfws()) return false;
      const std::size_t local_start = pos_;
      std::vector<Token> local_tokens;
      if (!ReadTokens(&local_tokens)) return false;
      if (pos_ >= s_.size() || s_[pos_] != '@') {
        Fail(MailboxListError::kSyntax, pos_,
             local_start == pos_ && pos_ < s_.size() && s_[pos_] == '>'
                 ? "empty angle-addr \"<>\" names no mailbox"
                 : "expected '@' in the angle-addr (RFC 5322 §3.4)");
        return false;
      }
      if (!LocalPart(local_tokens, local_start, &m.local_part)) return false;
      ++pos_;
      if (!Domain(&m, /*in_route=*/false) || !Check(m)) return false;
      if (!SkipCfws()) return false;
      if (pos_ >= s_.size() || s_[pos_] != '>') {
        Fail(MailboxListError::kSyntax, pos_, "expected '>' to close the angle-addr");
        return false;
      }
      ++pos_;
      if (!SkipCfws()) return false;  // angle-addr's trailing [CFWS]
      m.comment = FirstComment(start, pos_);
      return AddMailbox(std::move(m));
    }
    if (c == ':' && allow_group) {
      if (tokens.empty()) {
        Fail(MailboxListError::kSyntax, pos_, "a group needs a display name before ':'");
        return false;
      }
      std::string name;
      if (!Phrase(tokens, &name)) return false;
      saw_group_ = true;
      group_ = std::move(name);
      ++pos_;
      const bool ok = options_.lenient ? LenientGroupList() : StrictGroupList();
      group_.clear();
      return ok;
    }
    Fail(MailboxListError::kSyntax, pos_,
         std::string("unexpected '") + c + "'; expected '<', '@'" + (allow_group ? " or ':'" : ""));
    return false;
  }

  // group-list = mailbox-list / CFWS, then ";" (§3.4).
  bool StrictGroupList() {
    if (!SkipCfws()) return false;
    if (pos_ < s_.size() && s_[pos_] != ';') {
      while (true) {
        if (!ParseAddress(/*allow_group=*/false)) return false;
        if (!SkipCfws()) return false;
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          if (!SkipCfws()) return false;
          continue;
        }
        break;
      }
    }
    if (pos_ >= s_.size() || s_[pos_] != ';') {
      Fail(MailboxListError::kSyntax, pos_, "expected ';' to close the group (RFC 5322 §3.4)");
      return false;
    }
    ++pos_;
    return true;
  }

  // Lenient: empty members skipped, a missing ';' at the end forgiven.
  bool LenientGroupList() {
    while (!stop_) {
      const std::size_t p = CfwsEnd(pos_);
      if (p >= s_.size()) {
        pos_ = p;
        return true;
      }
      if (s_[p] == ';') {
        pos_ = p + 1;
        return true;
      }
      if (s_[p] == ',') {
        pos_ = p + 1;
        continue;
      }
      LenientMember(/*allow_group=*/false);
    }
    return true;
  }

  std::string_view s_;
  const MailboxListOptions& options_;
  std::size_t pos_ = 0;
  bool saw_group_ = false;
  bool truncated_ = false;
  bool stop_ = false;
  std::string group_;
  MailboxListError error_ = MailboxListError::kNone;
  std::size_t error_offset_ = 0;
  std::string message_;
  std::vector<Mailbox> mailboxes_;
};

}  // namespace

std::string Mailbox::Address() const {
  return domain.empty() ? local_part : local_part + "@" + domain;
}

std::string_view MailboxListErrorName(MailboxListError error) {
  switch (error) {
    case MailboxListError::kNone: return "None";
    case MailboxListError::kSyntax: return "Syntax";
    case MailboxListError::kCommentTooDeep: return "CommentTooDeep";
    case MailboxListError::kTooManyMailboxes: return "TooManyMailboxes";
    case MailboxListError::kDomainLiteral: return "DomainLiteral";
    case MailboxListError::kRejected: return "Rejected";
  }
  return "Unknown";
}

MailboxListResult ParseMailboxList(std::string_view value, const MailboxListOptions& options) {
  return Parser(value, options).Run();
}

}  // namespace mxkit::message
