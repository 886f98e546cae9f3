// Fuzz target for //fakemx:mailpit_search, the parser of Mailpit's search
// filters that fakemx's API hands every ?query= and "Search" body to.
//
// Input: the query. Properties checked (a violation traps, naming it):
//  1. A parsed query has 1..kMaxSearchTerms terms; values are lowercase;
//     is:/has: terms carry no value, prefixed field terms a non-empty one.
//  2. Round trip: the terms written back as a query (each value quoted,
//     behind its prefix and negation) parse to the same terms, when that
//     query is within kMaxSearchQueryBytes.
//  3. An error is InvalidArgument with a message saying where.
//  4. Matching any parsed query against a message is total, and a query of
//     one term and its negation never both match.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fakemx/mailpit_search.h"
#include "fuzz/property_check.h"

namespace {

using mxkit::fakemx::Matches;
using mxkit::fakemx::ParseSearchQuery;
using mxkit::fakemx::SearchQuery;
using mxkit::fakemx::SearchTerm;
using mxkit::fakemx::SearchableMessage;
using Field = SearchTerm::Field;

const char* PrefixOf(Field f) {
  switch (f) {
    case Field::kText: return "";
    case Field::kFrom: return "from:";
    case Field::kTo: return "to:";
    case Field::kCc: return "cc:";
    case Field::kBcc: return "bcc:";
    case Field::kReplyTo: return "reply-to:";
    case Field::kAddressed: return "addressed:";
    case Field::kSubject: return "subject:";
    case Field::kMessageId: return "message-id:";
    case Field::kIsRead: return "is:read";
    case Field::kIsUnread: return "is:unread";
    case Field::kHasAttachment: return "has:attachment";
  }
  return "";
}

bool IsFlag(Field f) {
  return f == Field::kIsRead || f == Field::kIsUnread || f == Field::kHasAttachment;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const absl::StatusOr<SearchQuery> q = ParseSearchQuery(input);
  if (!q.ok()) {
    MXKIT_FUZZ_CHECK(q.status().code() == absl::StatusCode::kInvalidArgument);
    MXKIT_FUZZ_CHECK(q.status().message().find("search query at offset ") == 0);
    return 0;
  }
  MXKIT_FUZZ_CHECK(!q->terms.empty() && q->terms.size() <= mxkit::fakemx::kMaxSearchTerms);
  std::string again;
  for (const SearchTerm& t : q->terms) {
    for (char c : t.value) MXKIT_FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    MXKIT_FUZZ_CHECK(t.value.find('"') == std::string::npos);
    if (IsFlag(t.field)) {
      MXKIT_FUZZ_CHECK(t.value.empty());
    } else if (t.field != Field::kText) {
      MXKIT_FUZZ_CHECK(!t.value.empty());
    }
    if (!again.empty()) again += ' ';
    if (t.negated) again += '-';
    again += PrefixOf(t.field);
    if (!IsFlag(t.field)) again += "\"" + t.value + "\"";
  }
  // Quotes can take a query at the size limit over it; only those are exempt.
  if (again.size() <= mxkit::fakemx::kMaxSearchQueryBytes) {
    const absl::StatusOr<SearchQuery> q2 = ParseSearchQuery(again);
    MXKIT_FUZZ_CHECK(q2.ok());
    MXKIT_FUZZ_CHECK(q2->terms == q->terms);
  }

  SearchableMessage m;
  m.from = m.to = m.subject = m.text = std::string(input.substr(0, 64));
  m.read = size % 2 == 1;
  m.attachments = size % 3;
  SearchQuery one;
  one.terms.push_back(q->terms.front());
  SearchQuery negated = one;
  negated.terms.front().negated = !negated.terms.front().negated;
  MXKIT_FUZZ_CHECK(!(Matches(one, m) && Matches(negated, m)));
  (void)Matches(*q, m);
  return 0;
}
