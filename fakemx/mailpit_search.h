// Mailpit's search query language (https://mailpit.axllent.org/docs/usage/search-filters/),
// the subset fakemx's Mailpit-compatible API understands: parsed into terms
// (sans-IO, bounded, errors as values) and matched against a message's
// searchable text.
//
// Grammar, as Mailpit reads it: terms separated by white space, all of which
// must match (AND). A term is a word or a "quoted phrase", optionally behind a
// prefix, optionally negated with a leading '-' or '!':
//   word, "two words"        the text anywhere: subject, addresses and names,
//                            Message-ID, the text and HTML bodies
//   from:x  to:x  cc:x  bcc:x  reply-to:x  addressed:x (to, cc or bcc)
//   subject:x  message-id:x  the field contains x
//   is:read  is:unread       the read state
//   has:attachment           at least one attachment (has:attachments too)
// Matching is case-insensitive in ASCII (Mailpit's SQLite LIKE). A prefix
// Mailpit has and fakemx does not (tag:, is:tagged, before:, after:, larger:,
// smaller:, has:inline, is:starred ...) is an error naming it, rather than a
// silent difference; an unknown "word:" that is no prefix of Mailpit's is a
// plain word, as in Mailpit.

#ifndef MXKIT_FAKEMX_MAILPIT_SEARCH_H_
#define MXKIT_FAKEMX_MAILPIT_SEARCH_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace mxkit::fakemx {

// Ours: a query is typed by a test author; fakemx::kMaxTargetBytes bounds the
// URL it arrives in anyway.
inline constexpr size_t kMaxSearchQueryBytes = 4096;
inline constexpr size_t kMaxSearchTerms = 32;

struct SearchTerm {
  enum class Field {
    kText,  // anywhere
    kFrom,
    kTo,
    kCc,
    kBcc,
    kReplyTo,
    kAddressed,  // To, Cc or Bcc
    kSubject,
    kMessageId,
    kIsRead,
    kIsUnread,
    kHasAttachment,
  };
  Field field = Field::kText;
  std::string value;  // lowercased; empty for is:/has: terms
  bool negated = false;

  friend bool operator==(const SearchTerm&, const SearchTerm&) = default;
};

struct SearchQuery {
  std::vector<SearchTerm> terms;
};

// Parses `query`. InvalidArgument, saying what and where, for: an empty
// query (only white space), one over kMaxSearchQueryBytes or
// kMaxSearchTerms, an unterminated quote, an empty value after a prefix
// ("from:"), an is:/has: value fakemx does not know, or one of Mailpit's
// prefixes fakemx does not implement.
absl::StatusOr<SearchQuery> ParseSearchQuery(std::string_view query);

// What a message offers to a search, each field lowercased by the caller's
// builder (MakeSearchable).
struct SearchableMessage {
  std::string from;      // names and addresses, space-separated
  std::string to;
  std::string cc;
  std::string bcc;
  std::string reply_to;
  std::string subject;
  std::string message_id;
  std::string text;      // everything above plus the bodies
  bool read = false;
  size_t attachments = 0;
};

// True when every term of `query` matches `message`.
bool Matches(const SearchQuery& query, const SearchableMessage& message);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_MAILPIT_SEARCH_H_
