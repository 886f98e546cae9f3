#include "auth/dmarc/from.h"

#include <cstddef>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "message/header_block.h"

namespace mxkit::auth::dmarc {
namespace {

struct DomainRow {
  const char* value;
  std::vector<std::string> domains;
};

TEST(FromValue, ExtractsTheAuthorDomain) {
  const DomainRow rows[] = {
      {" joe@football.example.com", {"football.example.com"}},
      {" Joe SixPack <joe@football.example.com>", {"football.example.com"}},
      {" \"Joe, \\\"the\\\" SixPack\" <joe@Football.Example.COM>", {"football.example.com"}},
      {" <joe@example.com>", {"example.com"}},
      {" John Q. Public <jqp@example.org>", {"example.org"}},  // RFC 5322 §4.1 obs-phrase
      {" =?utf-8?q?J=C3=B6rg?= <j@example.de>", {"example.de"}},  // RFC 2047 words are atoms
      {" =?UTF-8?B?SsO2cmc=?= <j@example.de>", {"example.de"}},
      {" Jörg <j@example.de>", {"example.de"}},  // RFC 6532 UTF-8 display name
      {" (comment (nested) \\) ) Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
       {"silly.test"}},  // RFC 5322 Appendix A.5
      {" \"quoted local\"@example.net", {"example.net"}},
      {" first.last@sub.example.co.uk", {"sub.example.co.uk"}},
      {" Joe\r\n <joe@example.com>\r\n (folded)", {"example.com"}},
      {" Team: alice@example.com, bob@example.com;", {"example.com"}},  // RFC 6854 group
      {" <joe @ example.com>", {"example.com"}},  // obs CFWS around '@' (§4.4)
      {" <@route.example,@x.example:joe@example.com>", {"example.com"}},  // §4.4 obs-route
      {" _dmarc-test@_x.example", {"_x.example"}},
      // RFC 8616 §6: U-labels are evaluated as A-labels.
      {" joe@exämple.com", {"xn--exmple-cua.com"}},
      {" Jörg <jörg@Bücher.Example>", {"xn--bcher-kva.example"}},
      {" a@bücher.example, b@xn--bcher-kva.example", {"xn--bcher-kva.example"}},
  };
  for (const DomainRow& row : rows) {
    FromOptions options;
    options.multiple_mailboxes = MultipleAuthorAction::kEvaluateAll;
    FromResult r = ParseFromValue(row.value, options);
    ASSERT_TRUE(r.ok()) << row.value << ": " << r.message;
    EXPECT_EQ(r.domains, row.domains) << row.value;
  }
}

TEST(FromValue, KeepsTheAddressAsWrittenWithoutCfws) {
  FromResult r = ParseFromValue(" Joe <\"j d\" (x) @ (y) Example.COM>");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.authors.size(), 1u);
  EXPECT_EQ(r.authors[0].address, "\"j d\"@Example.COM");
  EXPECT_EQ(r.authors[0].domain, "example.com");
}

TEST(FromValue, KeepsAUlabelAddressAsWrittenAndTheDomainAsALabels) {
  FromResult r = ParseFromValue(" Jörg <jörg@Bücher.example>");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.authors.size(), 1u);
  EXPECT_EQ(r.authors[0].address, "jörg@Bücher.example");
  EXPECT_EQ(r.authors[0].domain, "xn--bcher-kva.example");
}

TEST(FromValue, InvalidInternationalizedDomainSaysWhy) {
  FromResult r = ParseFromValue(" joe@ex\xE2\x98\x83" "ample.com");
  EXPECT_EQ(r.error, FromError::kInvalidDomain);
  EXPECT_NE(r.message.find("not a valid internationalized domain name"), std::string::npos)
      << r.message;
}

struct ErrorRow {
  const char* value;
  FromError error;
  std::size_t offset;
};

TEST(FromValue, RejectsWithKindAndOffset) {
  const ErrorRow rows[] = {
      {"", FromError::kNoMailbox, 0},
      {"   ", FromError::kNoMailbox, 3},
      {" undisclosed-recipients:;", FromError::kNoMailbox, 0},
      {" a@example.com, b@example.org", FromError::kMultipleMailboxes, 16},
      {" G: a@example.com, b@example.com;", FromError::kMultipleMailboxes, 19},
      {" joe", FromError::kSyntax, 4},
      {" Joe <joe@example.com", FromError::kSyntax, 21},
      {" Joe <>", FromError::kSyntax, 6},
      {" Joe <joe>", FromError::kSyntax, 9},
      {" joe@", FromError::kSyntax, 5},
      {" joe@example..com", FromError::kSyntax, 13},
      {" joe@example.com.", FromError::kSyntax, 16},
      {" .joe@example.com", FromError::kSyntax, 1},
      {" joe@[192.0.2.1]", FromError::kInvalidDomain, 5},
      {" joe@ex\xE2\x98\x83" "ample.com", FromError::kInvalidDomain, 5},  // U+2603: not IDNA2008
      {" joe@b\xFF" "cher.example", FromError::kInvalidDomain, 5},          // not UTF-8
      {" joe@ex!ample.com", FromError::kInvalidDomain, 5},
      {" Joe <joe@ex!ample.com", FromError::kInvalidDomain, 10},  // before the missing '>'
      {" <@[192.0.2.1]:joe@example.com>, (", FromError::kSyntax, 33},  // a route's literal is no author
      {" (unterminated joe@example.com", FromError::kSyntax, 1},
      {" \"unterminated@example.com", FromError::kSyntax, 1},
      {" a@example.com,", FromError::kSyntax, 15},
      {" a@example.com b@example.com", FromError::kSyntax, 15},
      {" G: H: a@example.com;;", FromError::kSyntax, 5},  // no nested groups
      {" joe@example.com\r\nX", FromError::kSyntax, 16},  // CRLF without WSP
  };
  for (const ErrorRow& row : rows) {
    FromResult r = ParseFromValue(row.value);
    EXPECT_EQ(r.error, row.error) << row.value << ": " << r.message;
    EXPECT_EQ(r.offset, row.offset) << row.value << ": " << r.message;
    EXPECT_FALSE(r.message.empty());
  }
}

// RFC 5322 §3.2.2 ctext and §4.1 obs-ctext exclude CR, LF and NUL: inside a
// comment they appear only as a fold (the lexer in message/cfws.h, which
// Authentication-Results parsing shares).
TEST(FromValue, RejectsCrLfAndNulInsideComments) {
  struct Row {
    std::string value;
    FromError error;
    std::size_t offset;
  };
  const Row rows[] = {
      {std::string(" (a\0b) joe@example.com", 22), FromError::kSyntax, 3},
      {" (a\rb) joe@example.com", FromError::kSyntax, 3},
      {" (a\nb) joe@example.com", FromError::kSyntax, 3},
      {" joe@example.com (a\r\nb)", FromError::kSyntax, 19},
      {" \"j\r d\"@example.com", FromError::kSyntax, 3},  // bare CR in a quoted-string
  };
  for (const Row& row : rows) {
    FromResult r = ParseFromValue(row.value);
    EXPECT_EQ(r.error, row.error) << row.value << ": " << r.message;
    EXPECT_EQ(r.offset, row.offset) << row.value << ": " << r.message;
  }
  // A fold inside a comment or a quoted-string is still fine.
  EXPECT_TRUE(ParseFromValue(" (a\r\n b) joe@example.com").ok());
  EXPECT_TRUE(ParseFromValue(" \"j\r\n d\"@example.com").ok());
}

TEST(FromValue, BoundsCommentNesting) {
  std::string deep = " " + std::string(kMaxCommentDepth + 1, '(') + std::string(kMaxCommentDepth + 1, ')') + " a@example.com";
  EXPECT_EQ(ParseFromValue(deep).error, FromError::kCommentTooDeep);
  std::string ok = " " + std::string(kMaxCommentDepth, '(') + std::string(kMaxCommentDepth, ')') + " a@example.com";
  EXPECT_TRUE(ParseFromValue(ok).ok());
}

TEST(FromValue, MultipleMailboxesCanBeEvaluatedEach) {
  FromOptions options;
  options.multiple_mailboxes = MultipleAuthorAction::kEvaluateAll;
  FromResult r = ParseFromValue(" a@example.com, B@Example.org, c@example.com", options);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.authors.size(), 3u);
  EXPECT_EQ(r.domains, (std::vector<std::string>{"example.com", "example.org"}));
}

message::HeaderBlock Split(const std::string& message) {
  message::HeaderBlockResult r = message::SplitHeaderBlock(message);
  EXPECT_TRUE(r.ok()) << r.message;
  return r.block;
}

TEST(AuthorDomains, FindsTheFromFieldInAMessage) {
  std::string msg = "Subject: hi\r\nfrom: Joe <joe@example.com>\r\nTo: x@y.example\r\n\r\nbody";
  FromResult r = ExtractAuthorDomains(Split(msg));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.domains, std::vector<std::string>{"example.com"});
}

TEST(AuthorDomains, NoFromFieldIsAnError) {
  std::string msg = "Subject: hi\r\n\r\nbody";
  FromResult r = ExtractAuthorDomains(Split(msg));
  EXPECT_EQ(r.error, FromError::kNoFromField);
  EXPECT_EQ(r.offset, 13u);
}

TEST(AuthorDomains, MultipleFromFieldsRejectedOrEvaluated) {
  std::string msg =
      "From: a@example.com\r\nSubject: x\r\nFrom: b@evil.example\r\n\r\n";
  message::HeaderBlock block = Split(msg);
  FromResult r = ExtractAuthorDomains(block);
  EXPECT_EQ(r.error, FromError::kMultipleFromFields);
  EXPECT_EQ(r.offset, 33u);

  FromOptions options;
  options.multiple_from_fields = MultipleAuthorAction::kEvaluateAll;
  FromResult all = ExtractAuthorDomains(block, options);
  ASSERT_TRUE(all.ok()) << all.message;
  EXPECT_EQ(all.domains, (std::vector<std::string>{"example.com", "evil.example"}));
}

TEST(AuthorDomains, ErrorOffsetsPointIntoTheMessage) {
  std::string msg = "Subject: x\r\nFrom: Joe <joe@[192.0.2.1]>\r\n\r\n";
  FromResult r = ExtractAuthorDomains(Split(msg));
  EXPECT_EQ(r.error, FromError::kInvalidDomain);
  EXPECT_EQ(r.offset, msg.find('['));
}

void ExpectSame(const FromResult& got, const FromResult& want) {
  EXPECT_EQ(got.error, want.error);
  EXPECT_EQ(got.offset, want.offset);
  EXPECT_EQ(got.message, want.message);
  ASSERT_EQ(got.authors.size(), want.authors.size());
  for (size_t i = 0; i < got.authors.size(); ++i) {
    EXPECT_EQ(got.authors[i].address, want.authors[i].address);
    EXPECT_EQ(got.authors[i].domain, want.authors[i].domain);
  }
  EXPECT_EQ(got.domains, want.domains);
}

// Through a FromValueMemo, every message gets what ExtractAuthorDomains
// gives it, the first time and every time after, whatever came between;
// the same From value at another offset gets that offset in its errors.
TEST(AuthorDomains, RememberedValuesGiveWhatParsingGives) {
  const std::vector<std::string> messages = {
      "From: a@example.com\r\n\r\n",
      "Subject: x\r\nFrom: a@example.com\r\n\r\n",
      "From: Joe <joe@EXAMPLE.com> (c)\r\n\r\n",
      "From: a@example.com, b@example.org\r\n\r\n",
      "From: Joe <joe@[192.0.2.1]>\r\n\r\n",
      "Subject: longer\r\nFrom: Joe <joe@[192.0.2.1]>\r\n\r\n",
      "From: a@example.com\r\nFrom: b@example.org\r\n\r\n",
      "From: undisclosed:;\r\n\r\n",
      "From: <<broken@\r\n\r\n",
      "Subject: no from\r\n\r\n",
      "From: J\xc3\xb6rg <j@b\xc3\xbc" "cher.example>\r\n\r\n",
  };
  for (const FromOptions& options :
       {FromOptions{}, FromOptions{MultipleAuthorAction::kEvaluateAll,
                                   MultipleAuthorAction::kEvaluateAll}}) {
    FromValueMemo memo(options);
    for (int pass = 0; pass < 2; ++pass) {
      for (const std::string& msg : messages) {
        SCOPED_TRACE(msg);
        const message::HeaderBlock block = Split(msg);
        ExpectSame(ExtractAuthorDomains(block, memo), ExtractAuthorDomains(block, options));
      }
    }
  }
}

}  // namespace
}  // namespace mxkit::auth::dmarc
