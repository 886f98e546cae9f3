#include "auth/dmarc/from.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "dns/idna.h"
#include "message/cfws.h"
#include "message/header_block.h"

namespace mxkit::auth::dmarc {
namespace {

// RFC 5322 §3.2.3 atext, widened by RFC 6532 §3.2 to UTF-8 non-ASCII.
bool IsAtext(char c) { return static_cast<unsigned char>(c) >= 0x80 || base::IsAtext(c); }

struct Token {
  enum Kind { kWord, kDot } kind;
  std::string text;  // a word as written (quoted strings keep their quotes)
  std::size_t offset;
};

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool failed() const { return error_ != FromError::kOk; }
  FromError error() const { return error_; }
  std::size_t error_offset() const { return error_offset_; }
  const std::string& message() const { return message_; }
  std::vector<std::pair<Author, std::size_t>>& authors() { return authors_; }

  // address-list (RFC 5322 §3.4; RFC 6854 allows it in From).
  void ParseAddressList() {
    while (true) {
      if (!SkipCfws()) return;
      if (pos_ >= s_.size()) {
        if (authors_.empty() && !saw_group_) {
          Fail(FromError::kNoMailbox, pos_, "the From field names no mailbox");
        }
        return;
      }
      if (!ParseAddress(/*allow_group=*/true)) return;
      if (!SkipCfws()) return;
      if (pos_ >= s_.size()) return;
      if (s_[pos_] != ',') {
        Fail(FromError::kSyntax, pos_,
             "expected ',' or the end of the field after a mailbox (RFC 5322 §3.4)");
        return;
      }
      ++pos_;
      if (!SkipCfws()) return;
      if (pos_ >= s_.size()) {
        Fail(FromError::kSyntax, pos_, "a ',' must be followed by another mailbox");
        return;
      }
    }
  }

 private:
  void Fail(FromError e, std::size_t offset, std::string message) {
    if (failed()) return;
    error_ = e;
    error_offset_ = offset;
    message_ = std::move(message) + " at offset " + std::to_string(offset);
  }

  // [CFWS] (RFC 5322 §3.2.2), through the one lexer in message/cfws.h.
  bool SkipCfws() { return Take(message::SkipCfws(s_, pos_)); }

  // Moves past what the lexer skipped, or fails with its error kind mapped.
  bool Take(const message::CfwsResult& r) {
    if (!r.ok()) {
      const bool deep = r.error == message::CfwsError::kCommentTooDeep;
      Fail(deep ? FromError::kCommentTooDeep : FromError::kSyntax, r.offset,
           std::string(message::CfwsErrorText(r.error)));
    } else {
      pos_ = r.offset;
    }
    return r.ok();
  }

  // quoted-string (§3.2.4) starting at '"'; appends it as written.
  bool ReadQuotedString(std::string* out) {
    std::size_t start = pos_;
    ++pos_;
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        out->append(s_.substr(start, pos_ - start));
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        pos_ += 2;
        continue;
      }
      if (c == '\r' || c == '\n') {
        if (!Take(message::SkipFold(s_, pos_))) return false;
        continue;
      }
      if (c == '\0') {
        Fail(FromError::kSyntax, pos_, "NUL inside a quoted string");
        return false;
      }
      ++pos_;
    }
    Fail(FromError::kSyntax, start, "unterminated quoted string");
    return false;
  }

  // Words (atoms, quoted strings) and dots up to the next other special.
  bool ReadTokens(std::vector<Token>* tokens) {
    while (true) {
      if (!SkipCfws()) return false;
      if (pos_ >= s_.size()) return true;
      char c = s_[pos_];
      if (c == '"') {
        Token t{Token::kWord, "", pos_};
        if (!ReadQuotedString(&t.text)) return false;
        tokens->push_back(std::move(t));
      } else if (c == '.') {
        tokens->push_back(Token{Token::kDot, ".", pos_});
        ++pos_;
      } else if (IsAtext(c)) {
        std::size_t start = pos_;
        while (pos_ < s_.size() && IsAtext(s_[pos_])) ++pos_;
        tokens->push_back(Token{Token::kWord, std::string(s_.substr(start, pos_ - start)), start});
      } else {
        return true;
      }
    }
  }

  // local-part = dot-atom / quoted-string / obs-local-part (§3.4.1, §4.4):
  // word *("." word).
  bool LocalPart(const std::vector<Token>& tokens, std::size_t at, std::string* out) {
    if (tokens.empty()) {
      Fail(FromError::kSyntax, at, "empty local-part before '@'");
      return false;
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      bool want_word = (i % 2 == 0);
      if ((tokens[i].kind == Token::kWord) != want_word || (i + 1 == tokens.size() && !want_word)) {
        Fail(FromError::kSyntax, tokens[i].offset,
             "local-part is not words separated by single dots (RFC 5322 §3.4.1)");
        return false;
      }
      out->append(tokens[i].text);
    }
    return true;
  }

  // display-name = phrase; obs-phrase (§4.1) also allows "." after the first word.
  bool Phrase(const std::vector<Token>& tokens) {
    if (!tokens.empty() && tokens[0].kind != Token::kWord) {
      Fail(FromError::kSyntax, tokens[0].offset, "a display name cannot start with '.'");
      return false;
    }
    return true;
  }

  // domain = dot-atom / domain-literal / obs-domain (§3.4.1, §4.4).
  // `written` gets the domain as written; `raw` the name DMARC looks up:
  // the same, or its A-label form when it holds U-labels (RFC 8616 §6).
  bool Domain(std::string* written, std::string* raw) {
    if (!SkipCfws()) return false;
    std::size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '[') {
      Fail(FromError::kInvalidDomain, pos_,
           "the author domain is a domain-literal, which has no DMARC policy");
      return false;
    }
    std::vector<Token> tokens;
    if (!ReadTokens(&tokens)) return false;
    if (tokens.empty()) {
      Fail(FromError::kSyntax, start, "missing domain after '@'");
      return false;
    }
    for (std::size_t i = 0; i < tokens.size(); ++i) {
      bool want_word = (i % 2 == 0);
      bool is_word = tokens[i].kind == Token::kWord && tokens[i].text[0] != '"';
      if (is_word != want_word || (i + 1 == tokens.size() && !want_word)) {
        Fail(FromError::kSyntax, tokens[i].offset,
             "domain is not atoms separated by single dots (RFC 5322 §3.4.1)");
        return false;
      }
      raw->append(tokens[i].text);
    }
    *written = *raw;
    if (dns::HasNonAscii(*raw)) {
      dns::IdnaResult a_labels = dns::ToALabels(*raw);
      if (!a_labels.ok()) {
        Fail(FromError::kInvalidDomain, start, "author domain: " + a_labels.error);
        return false;
      }
      *raw = std::move(a_labels.name);
    }
    // A DNS name we can query: ASCII letters, digits, '-' and '_' (the last
    // for names like _dmarc test domains), labels of 1..63, 253 in all.
    if (raw->size() > kMaxDomainLength) {
      Fail(FromError::kInvalidDomain, start, "author domain longer than 253 characters");
      return false;
    }
    std::size_t label = 0;
    for (std::size_t i = 0; i < raw->size(); ++i) {
      char c = (*raw)[i];
      if (c == '.') {
        label = 0;
        continue;
      }
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_';
      if (!ok || ++label > 63) {
        Fail(FromError::kInvalidDomain, start,
             ok ? "author domain has a label longer than 63 characters"
                : "author domain has a character DNS names cannot hold");
        return false;
      }
    }
    return true;
  }

  bool AddAuthor(std::string local, std::string written_domain, std::string domain,
                 std::size_t offset) {
    if (authors_.size() >= kMaxAuthors) {
      Fail(FromError::kTooManyMailboxes, offset,
           "more than " + std::to_string(kMaxAuthors) + " mailboxes in From");
      return false;
    }
    Author a;
    a.address = local + "@" + written_domain;
    for (char& c : domain) c = base::ToLowerAscii(c);
    a.domain = std::move(domain);
    authors_.emplace_back(std::move(a), offset);
    return true;
  }

  // mailbox / group (§3.4), starting at a non-CFWS byte.
  bool ParseAddress(bool allow_group) {
    std::size_t start = pos_;
    std::vector<Token> tokens;
    if (!ReadTokens(&tokens)) return false;
    if (pos_ >= s_.size()) {
      Fail(FromError::kSyntax, pos_, "expected '<', ':' or '@' before the end of the field");
      return false;
    }
    char c = s_[pos_];
    if (c == '@') {
      std::string local;
      if (!LocalPart(tokens, start, &local)) return false;
      ++pos_;
      std::string written, domain;
      if (!Domain(&written, &domain)) return false;
      return AddAuthor(std::move(local), std::move(written), std::move(domain), start);
    }
    if (c == '<') {
      if (!Phrase(tokens)) return false;
      ++pos_;
      if (!SkipCfws()) return false;
      std::size_t local_start = pos_;
      std::vector<Token> local_tokens;
      if (!ReadTokens(&local_tokens)) return false;
      if (pos_ >= s_.size() || s_[pos_] != '@') {
        Fail(FromError::kSyntax, pos_,
             local_start == pos_ && pos_ < s_.size() && s_[pos_] == '>'
                 ? "empty angle-addr \"<>\" names no mailbox"
                 : "expected '@' in the angle-addr (RFC 5322 §3.4)");
        return false;
      }
      std::string local;
      if (!LocalPart(local_tokens, local_start, &local)) return false;
      ++pos_;
      std::string written, domain;
      if (!Domain(&written, &domain)) return false;
      if (!SkipCfws()) return false;
      if (pos_ >= s_.size() || s_[pos_] != '>') {
        Fail(FromError::kSyntax, pos_, "expected '>' to close the angle-addr");
        return false;
      }
      ++pos_;
      return AddAuthor(std::move(local), std::move(written), std::move(domain), start);
    }
    if (c == ':' && allow_group) {
      if (tokens.empty()) {
        Fail(FromError::kSyntax, pos_, "a group needs a display name before ':'");
        return false;
      }
      if (!Phrase(tokens)) return false;
      saw_group_ = true;
      ++pos_;
      // group-list = mailbox-list / CFWS (§3.4)
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
        Fail(FromError::kSyntax, pos_, "expected ';' to close the group (RFC 5322 §3.4)");
        return false;
      }
      ++pos_;
      return true;
    }
    Fail(FromError::kSyntax, pos_,
         std::string("unexpected '") + c + "'; expected '<', '@'" + (allow_group ? " or ':'" : ""));
    return false;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  bool saw_group_ = false;
  FromError error_ = FromError::kOk;
  std::size_t error_offset_ = 0;
  std::string message_;
  std::vector<std::pair<Author, std::size_t>> authors_;
};

void AddDomains(FromResult* r) {
  for (const Author& a : r->authors) {
    if (std::find(r->domains.begin(), r->domains.end(), a.domain) == r->domains.end()) {
      r->domains.push_back(a.domain);
    }
  }
}

}  // namespace

std::string_view FromErrorName(FromError error) {
  switch (error) {
    case FromError::kOk: return "Ok";
    case FromError::kNoFromField: return "NoFromField";
    case FromError::kMultipleFromFields: return "MultipleFromFields";
    case FromError::kMultipleMailboxes: return "MultipleMailboxes";
    case FromError::kNoMailbox: return "NoMailbox";
    case FromError::kSyntax: return "Syntax";
    case FromError::kCommentTooDeep: return "CommentTooDeep";
    case FromError::kTooManyMailboxes: return "TooManyMailboxes";
    case FromError::kInvalidDomain: return "InvalidDomain";
  }
  return "Unknown";
}

FromResult ParseFromValue(std::string_view value, const FromOptions& options) {
  FromResult r;
  Parser parser(value);
  parser.ParseAddressList();
  if (parser.failed()) {
    r.error = parser.error();
    r.offset = parser.error_offset();
    r.message = parser.message();
    return r;
  }
  auto& authors = parser.authors();
  if (authors.empty()) {
    r.error = FromError::kNoMailbox;
    r.offset = 0;
    r.message = "the From field names no mailbox (an empty group)";
    return r;
  }
  if (authors.size() > 1 && options.multiple_mailboxes == MultipleAuthorAction::kReject) {
    r.error = FromError::kMultipleMailboxes;
    r.offset = authors[1].second;
    r.message = "From names " + std::to_string(authors.size()) +
                " mailboxes; DMARC needs one author domain (RFC 7489 §6.6.1), second at offset " +
                std::to_string(authors[1].second);
    return r;
  }
  for (auto& [author, offset] : authors) r.authors.push_back(std::move(author));
  AddDomains(&r);
  return r;
}

FromResult ExtractAuthorDomains(const message::HeaderBlock& block, const FromOptions& options) {
  FromResult r;
  std::vector<const message::HeaderField*> fields = block.FindAll("From");
  if (fields.empty()) {
    r.error = FromError::kNoFromField;
    r.offset = block.separator_offset;
    r.message = "the message has no From field (RFC 5322 §3.6 requires one; RFC 7489 §6.6.1)";
    return r;
  }
  if (fields.size() > 1 && options.multiple_from_fields == MultipleAuthorAction::kReject) {
    r.error = FromError::kMultipleFromFields;
    r.offset = fields[1]->offset;
    r.message = "the message has " + std::to_string(fields.size()) +
                " From fields (RFC 5322 §3.6 allows one; RFC 7489 §6.6.1), second at offset " +
                std::to_string(fields[1]->offset);
    return r;
  }
  for (const message::HeaderField* field : fields) {
    FromResult one = ParseFromValue(field->raw_value, options);
    std::size_t base =
        field->offset + static_cast<std::size_t>(field->raw_value.data() - field->raw.data());
    if (!one.ok()) {
      one.offset += base;
      one.message += " of the From field at offset " + std::to_string(field->offset);
      return one;
    }
    for (Author& a : one.authors) r.authors.push_back(std::move(a));
  }
  AddDomains(&r);
  return r;
}

}  // namespace mxkit::auth::dmarc
