#include "fakemx/mailpit_search.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

using Field = SearchTerm::Field;

TEST(ParseSearchQuery, ParsesTermsPhrasesPrefixesAndNegation) {
  struct Row {
    const char* query;
    std::vector<SearchTerm> want;
  } rows[] = {
      {"hello", {{Field::kText, "hello", false}}},
      {"  Hello   World ", {{Field::kText, "hello", false}, {Field::kText, "world", false}}},
      {"\"Hello World\"", {{Field::kText, "hello world", false}}},
      {"-spam", {{Field::kText, "spam", true}}},
      {"!spam", {{Field::kText, "spam", true}}},
      {"From:Alice@Example.test", {{Field::kFrom, "alice@example.test", false}}},
      {"subject:\"weekly report\"", {{Field::kSubject, "weekly report", false}}},
      {"-to:bob", {{Field::kTo, "bob", true}}},
      {"cc:c bcc:d reply-to:e addressed:f message-id:g",
       {{Field::kCc, "c", false},
        {Field::kBcc, "d", false},
        {Field::kReplyTo, "e", false},
        {Field::kAddressed, "f", false},
        {Field::kMessageId, "g", false}}},
      {"is:read -is:unread has:attachment",
       {{Field::kIsRead, "", false}, {Field::kIsUnread, "", true}, {Field::kHasAttachment, "", false}}},
      // Not one of Mailpit's prefixes: a plain word, as in Mailpit.
      {"http://x", {{Field::kText, "http://x", false}}},
      {"to:a:b", {{Field::kTo, "a:b", false}}},
      {"\"from:x\"", {{Field::kText, "from:x", false}}},
  };
  for (const Row& r : rows) {
    absl::StatusOr<SearchQuery> q = ParseSearchQuery(r.query);
    ASSERT_TRUE(q.ok()) << r.query << ": " << q.status();
    EXPECT_EQ(q->terms, r.want) << r.query;
  }
}

TEST(ParseSearchQuery, RefusesWhatItCannotMeanWithOffsets) {
  struct Row {
    std::string query;
    const char* message_part;
  } rows[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"a \"open", "offset 2: unterminated quote"},
      {"from:", "without a value"},
      {"x -", "offset 2: a lone negation"},
      {"is:starred", "is:starred"},
      {"has:inline", "has:inline"},
      {"tag:work", "\"tag:\" filter is not implemented"},
      {"before:2025-01-01", "\"before:\""},
      {std::string(kMaxSearchQueryBytes + 1, 'a'), "longer than"},
      {std::string(kMaxSearchTerms * 2, ' ') + [] {
         std::string s;
         for (size_t i = 0; i <= kMaxSearchTerms; ++i) s += "a ";
         return s;
       }(),
       "more than"},
  };
  for (const Row& r : rows) {
    absl::StatusOr<SearchQuery> q = ParseSearchQuery(r.query);
    ASSERT_FALSE(q.ok()) << r.query;
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(q.status().message().find(r.message_part), std::string::npos) << q.status();
  }
}

TEST(Matches, AndsTermsAndAppliesNegation) {
  SearchableMessage m;
  m.from = "alice alice@example.test";
  m.to = "bob@example.test";
  m.bcc = "carol@example.test";
  m.subject = "weekly report";
  m.text = m.from + " " + m.to + " " + m.subject + " the numbers are up";
  m.read = false;
  m.attachments = 1;
  struct Row {
    const char* query;
    bool want;
  } rows[] = {
      {"numbers", true},
      {"NUMBERS up", true},
      {"numbers down", false},
      {"\"numbers are up\"", true},
      {"\"up numbers\"", false},
      {"from:alice", true},
      {"from:bob", false},
      {"-from:bob", true},
      {"to:carol", false},
      {"addressed:carol", true},
      {"subject:weekly -subject:monthly", true},
      {"is:unread has:attachment", true},
      {"is:read", false},
      {"-has:attachment", false},
  };
  for (const Row& r : rows) {
    absl::StatusOr<SearchQuery> q = ParseSearchQuery(r.query);
    ASSERT_TRUE(q.ok()) << r.query;
    EXPECT_EQ(Matches(*q, m), r.want) << r.query;
  }
}

}  // namespace
}  // namespace mxkit::fakemx
