#include "message/mailbox_list.h"

#include <cstddef>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "message/cfws.h"

namespace mxkit::message {
namespace {

struct Want {
  std::string display_name;
  std::string address;
  std::string comment = "";
  std::string group = "";
};

struct ValidRow {
  std::string value;
  std::vector<Want> want;
};

void ExpectMailboxes(const MailboxListResult& r, const ValidRow& row) {
  ASSERT_EQ(r.mailboxes.size(), row.want.size()) << row.value;
  for (std::size_t i = 0; i < row.want.size(); ++i) {
    const Mailbox& m = r.mailboxes[i];
    EXPECT_EQ(m.display_name, row.want[i].display_name) << row.value;
    EXPECT_EQ(m.Address(), row.want[i].address) << row.value;
    EXPECT_EQ(m.comment, row.want[i].comment) << row.value;
    EXPECT_EQ(m.group, row.want[i].group) << row.value;
  }
}

// Valid RFC 5322 §3.4 lists read the same way strictly and leniently.
TEST(MailboxList, ReadsTheRfc5322GrammarStrictlyAndLeniently) {
  const ValidRow rows[] = {
      {"", {}},
      {"  (only a comment) ", {}},
      {" joe@football.example.com", {{"", "joe@football.example.com"}}},
      {" Joe SixPack <joe@football.example.com>", {{"Joe SixPack", "joe@football.example.com"}}},
      {" \"Joe, \\\"the\\\" SixPack\" <joe@Example.COM>",
       {{"Joe, \"the\" SixPack", "joe@Example.COM"}}},
      {" <joe@example.com>", {{"", "joe@example.com"}}},
      {" John Q. Public <jqp@example.org>", {{"John Q. Public", "jqp@example.org"}}},  // §4.1
      {" =?utf-8?q?J=C3=B6rg?= <j@example.de>", {{"=?utf-8?q?J=C3=B6rg?=", "j@example.de"}}},
      {" Jörg <jörg@bücher.example>", {{"Jörg", "jörg@bücher.example"}}},  // RFC 6532
      // RFC 5322 Appendix A.5: comments everywhere, nested and quoted-pairs.
      {" (comment (nested) \\) ) Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
       {{"Pete", "pete@silly.test", "A nice ) chap"}}},
      {" \"quoted local\"@example.net", {{"", "\"quoted local\"@example.net"}}},
      {" Joe\r\n <joe@example.com>\r\n (folded)", {{"Joe", "joe@example.com", "folded"}}},
      {" j@example.test (Jane Doe)", {{"", "j@example.test", "Jane Doe"}}},
      {" <joe @ example.com>", {{"", "joe@example.com"}}},         // §4.4 CFWS around '@'
      {" joe . x @ example . com", {{"", "joe.x@example.com"}}},   // §4.4 obs-local-part
      {" <@route.test,@b.test:r@example.test>", {{"", "r@example.test"}}},  // §4.4 obs-route
      {" a@[192.0.2.1]", {{"", "a@[192.0.2.1]"}}},                 // domain-literal
      {" Team: a@example.test, B <b@example.test>;, c@example.test",
       {{"", "a@example.test", "", "Team"}, {"B", "b@example.test", "", "Team"},
        {"", "c@example.test"}}},
      {" undisclosed-recipients:;", {}},
      {" \"j\r\n d\"@example.com", {{"", "\"j\r\n d\"@example.com"}}},  // a fold inside quotes
  };
  for (const ValidRow& row : rows) {
    MailboxListResult strict = ParseMailboxList(row.value);
    ASSERT_TRUE(strict.ok()) << row.value << ": " << strict.message;
    ExpectMailboxes(strict, row);
    MailboxListOptions lenient;
    lenient.lenient = true;
    MailboxListResult r = ParseMailboxList(row.value, lenient);
    ASSERT_TRUE(r.ok()) << row.value;
    ExpectMailboxes(r, row);
  }
}

struct ErrorRow {
  std::string value;
  MailboxListError error;
  std::size_t offset;
};

TEST(MailboxList, RejectsStrictlyWithKindAndOffset) {
  const ErrorRow rows[] = {
      {" joe", MailboxListError::kSyntax, 4},
      {" Joe <joe@example.com", MailboxListError::kSyntax, 21},
      {" Joe <>", MailboxListError::kSyntax, 6},
      {" Joe <joe>", MailboxListError::kSyntax, 9},
      {" joe@", MailboxListError::kSyntax, 5},
      {" joe@example..com", MailboxListError::kSyntax, 13},
      {" joe@example.com.", MailboxListError::kSyntax, 16},
      {" .joe@example.com", MailboxListError::kSyntax, 1},
      {" . Joe <joe@example.com>", MailboxListError::kSyntax, 1},
      {" joe@\"quoted\".com", MailboxListError::kSyntax, 5},
      {" joe@[192.0.2.1", MailboxListError::kSyntax, 5},
      {" joe@[1[2]", MailboxListError::kSyntax, 7},
      {" <@route.test r@example.test>", MailboxListError::kSyntax, 14},
      {" (unterminated joe@example.com", MailboxListError::kSyntax, 1},
      {" \"unterminated@example.com", MailboxListError::kSyntax, 1},
      {" a@example.com,", MailboxListError::kSyntax, 15},
      {" , a@example.com", MailboxListError::kSyntax, 1},
      {" a@example.com b@example.com", MailboxListError::kSyntax, 15},
      {" G: H: a@example.com;;", MailboxListError::kSyntax, 5},  // no nested groups
      {" G: a@example.com", MailboxListError::kSyntax, 17},
      {" : a@example.com;", MailboxListError::kSyntax, 1},
      {" joe@example.com\r\nX", MailboxListError::kSyntax, 16},  // CRLF without WSP
      // RFC 5322 §3.2.2 ctext and §4.1 obs-ctext exclude CR, LF and NUL: in
      // a comment or a quoted-string they appear only as a fold.
      {std::string(" (a\0b) joe@example.com", 22), MailboxListError::kSyntax, 3},
      {" (a\rb) joe@example.com", MailboxListError::kSyntax, 3},
      {" (a\nb) joe@example.com", MailboxListError::kSyntax, 3},
      {" joe@example.com (a\r\nb)", MailboxListError::kSyntax, 19},
      {" \"j\r d\"@example.com", MailboxListError::kSyntax, 3},
      {std::string(" \"j\0\"@example.com", 17), MailboxListError::kSyntax, 3},
      {" " + std::string(kMaxCommentDepth + 1, '(') + std::string(kMaxCommentDepth + 1, ')') +
           " a@example.com",
       MailboxListError::kCommentTooDeep, kMaxCommentDepth + 1},
  };
  for (const ErrorRow& row : rows) {
    MailboxListResult r = ParseMailboxList(row.value);
    EXPECT_EQ(r.error, row.error) << row.value << ": " << r.message;
    EXPECT_EQ(r.offset, row.offset) << row.value << ": " << r.message;
    EXPECT_NE(r.message.find("at offset " + std::to_string(row.offset)), std::string::npos)
        << r.message;
    EXPECT_TRUE(r.mailboxes.empty()) << row.value;
  }
}

TEST(MailboxList, RefusesDomainLiteralsWhenAsked) {
  MailboxListOptions options;
  options.allow_domain_literal = false;
  MailboxListResult r = ParseMailboxList(" Joe <joe@[192.0.2.1]>", options);
  EXPECT_EQ(r.error, MailboxListError::kDomainLiteral);
  EXPECT_EQ(r.offset, 10u);
  // A source route's domains are dropped, so a literal there is no author.
  EXPECT_TRUE(ParseMailboxList(" <@[192.0.2.1]:a@example.com>", options).ok());
}

TEST(MailboxList, BoundsTheMailboxCount) {
  std::string list = " a@example.com";
  for (int i = 0; i < 3; ++i) list += ", a@example.com";
  MailboxListOptions options;
  options.max_mailboxes = 3;
  MailboxListResult r = ParseMailboxList(list, options);
  EXPECT_EQ(r.error, MailboxListError::kTooManyMailboxes);
  EXPECT_EQ(r.offset, 46u);
  options.lenient = true;
  r = ParseMailboxList(list, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.mailboxes.size(), 3u);
  EXPECT_TRUE(r.truncated);
}

TEST(MailboxList, ACallersCheckRejectsAtTheDomainBeforeLaterSyntaxErrors) {
  MailboxListOptions options;
  options.check = [](const Mailbox& m) {
    return m.domain == "bad.example" ? std::string("not this one") : std::string();
  };
  MailboxListResult r = ParseMailboxList(" a@ok.example, b@bad.example, (", options);
  EXPECT_EQ(r.error, MailboxListError::kRejected);
  EXPECT_EQ(r.offset, 17u);
  EXPECT_EQ(r.message, "not this one at offset 17");
}

// Display code reads what senders write: each element that is no mailbox is
// salvaged, and the elements after it are still read.
TEST(MailboxList, LenientModeSalvagesWhatDoesNotParse) {
  const ValidRow rows[] = {
      {" root", {{"", "root"}}},
      {" Root <root>", {{"Root", "root"}}},
      {" , a@example.test,, b@example.test;", {{"", "a@example.test"}, {"", "b@example.test"}}},
      {" Jane Doe [Company] <j@example.test>, b@example.test",
       {{"Jane Doe [Company]", "j@example.test"}, {"", "b@example.test"}}},
      {" Joe <joe@example.test", {{"Joe", "joe@example.test"}}},
      {" a@example.test b@example.test", {{"", "a@example.testb@example.test"}}},
      {" G: H: a@example.test;", {{"", "a@example.test", "", "G"}}},
      {" Team: a@example.test, b@example.test", {{"", "a@example.test", "", "Team"},
                                                 {"", "b@example.test", "", "Team"}}},
      {" (unterminated a@example.test", {{"", "", "unterminated a@example.test"}}},
      {" \"Doe, Jane <j@example.test>", {}},  // all quoted: no address to show
  };
  MailboxListOptions lenient;
  lenient.lenient = true;
  for (const ValidRow& row : rows) {
    MailboxListResult r = ParseMailboxList(row.value, lenient);
    ASSERT_TRUE(r.ok()) << row.value;
    ExpectMailboxes(r, row);
    EXPECT_FALSE(ParseMailboxList(row.value).ok()) << row.value << " is valid; move the row";
  }
}

TEST(MailboxList, RecordsOffsetsOfEachMailboxAndItsDomain) {
  MailboxListResult r = ParseMailboxList(" a@x.example, Bob <b@ (c) y.example>");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.mailboxes.size(), 2u);
  EXPECT_EQ(r.mailboxes[0].offset, 1u);
  EXPECT_EQ(r.mailboxes[0].domain_offset, 3u);
  EXPECT_FALSE(r.mailboxes[0].angle);
  EXPECT_EQ(r.mailboxes[1].offset, 14u);
  EXPECT_EQ(r.mailboxes[1].domain_offset, 26u);
  EXPECT_TRUE(r.mailboxes[1].angle);
}

}  // namespace
}  // namespace mxkit::message
