#include "fakemx/mailpit_search.h"

#include <string>

#include "absl/status/status.h"
#include "base/ascii.h"

namespace mxkit::fakemx {
namespace {

using Field = SearchTerm::Field;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

struct Prefix {
  std::string_view name;
  Field field;
};
constexpr Prefix kPrefixes[] = {
    {"from", Field::kFrom},           {"to", Field::kTo},
    {"cc", Field::kCc},               {"bcc", Field::kBcc},
    {"reply-to", Field::kReplyTo},    {"addressed", Field::kAddressed},
    {"subject", Field::kSubject},     {"message-id", Field::kMessageId},
};
// Mailpit's other prefixes: refused by name, so a query written for Mailpit
// never silently means something else here.
constexpr std::string_view kUnsupportedPrefixes[] = {
    "tag", "before", "after", "larger", "smaller", "header",
};

absl::Status Error(std::string_view what, size_t offset) {
  return absl::InvalidArgumentError("search query at offset " + std::to_string(offset) + ": " +
                                    std::string(what));
}

}  // namespace

absl::StatusOr<SearchQuery> ParseSearchQuery(std::string_view query) {
  if (query.size() > kMaxSearchQueryBytes) {
    return Error("longer than " + std::to_string(kMaxSearchQueryBytes) + " bytes", 0);
  }
  SearchQuery out;
  size_t i = 0;
  while (true) {
    while (i < query.size() && IsSpace(query[i])) ++i;
    if (i >= query.size()) break;
    const size_t term_start = i;
    SearchTerm term;
    if (query[i] == '-' || query[i] == '!') {
      term.negated = true;
      ++i;
    }
    // Read the raw term: up to white space outside quotes.
    std::string prefix;
    std::string value;
    bool quoted = false;
    const size_t body_start = i;
    while (i < query.size() && !IsSpace(query[i])) {
      if (query[i] == '"') {
        const size_t close = query.find('"', i + 1);
        if (close == std::string_view::npos) return Error("unterminated quote", i);
        value.append(query.substr(i + 1, close - i - 1));
        quoted = true;
        i = close + 1;
        continue;
      }
      if (query[i] == ':' && !quoted && prefix.empty()) {
        const std::string candidate = base::AsciiLower(query.substr(body_start, i - body_start));
        bool known = candidate == "is" || candidate == "has";
        for (const Prefix& p : kPrefixes) known |= candidate == p.name;
        for (std::string_view u : kUnsupportedPrefixes) {
          if (candidate == u) {
            return Error("Mailpit's \"" + candidate + ":\" filter is not implemented by fakemx",
                         term_start);
          }
        }
        if (known) {
          prefix = candidate;
          value.clear();
          ++i;
          continue;
        }
      }
      value += query[i];
      ++i;
    }
    value = base::AsciiLower(value);
    if (prefix.empty()) {
      if (value.empty() && !quoted) return Error("a lone negation", term_start);
      term.field = Field::kText;
    } else if (prefix == "is") {
      if (value == "read") term.field = Field::kIsRead;
      else if (value == "unread") term.field = Field::kIsUnread;
      else return Error("\"is:" + value + "\" is not implemented by fakemx (is:read, is:unread)", term_start);
      value.clear();
    } else if (prefix == "has") {
      if (value == "attachment" || value == "attachments") term.field = Field::kHasAttachment;
      else return Error("\"has:" + value + "\" is not implemented by fakemx (has:attachment)", term_start);
      value.clear();
    } else {
      if (value.empty()) return Error("\"" + prefix + ":\" without a value", term_start);
      for (const Prefix& p : kPrefixes) {
        if (prefix == p.name) term.field = p.field;
      }
    }
    term.value = std::move(value);
    if (out.terms.size() == kMaxSearchTerms) {
      return Error("more than " + std::to_string(kMaxSearchTerms) + " terms", term_start);
    }
    out.terms.push_back(std::move(term));
  }
  if (out.terms.empty()) return Error("empty", 0);
  return out;
}

bool Matches(const SearchQuery& query, const SearchableMessage& m) {
  for (const SearchTerm& t : query.terms) {
    auto has = [&](const std::string& field) {
      return field.find(t.value) != std::string::npos;
    };
    bool match = false;
    switch (t.field) {
      case Field::kText: match = has(m.text); break;
      case Field::kFrom: match = has(m.from); break;
      case Field::kTo: match = has(m.to); break;
      case Field::kCc: match = has(m.cc); break;
      case Field::kBcc: match = has(m.bcc); break;
      case Field::kReplyTo: match = has(m.reply_to); break;
      case Field::kAddressed: match = has(m.to) || has(m.cc) || has(m.bcc); break;
      case Field::kSubject: match = has(m.subject); break;
      case Field::kMessageId: match = has(m.message_id); break;
      case Field::kIsRead: match = m.read; break;
      case Field::kIsUnread: match = !m.read; break;
      case Field::kHasAttachment: match = m.attachments > 0; break;
    }
    if (match == t.negated) return false;
  }
  return true;
}

}  // namespace mxkit::fakemx
