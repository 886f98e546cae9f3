#include "auth/dkim/tag_list.h"

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::auth::dkim {
namespace {

struct ValidRow {
  std::string input;
  std::vector<std::pair<std::string, std::string>> tags;
};

TEST(TagList, ParsesValidLists) {
  const std::vector<ValidRow> rows = {
      {"v=1", {{"v", "1"}}},
      {"v=1;", {{"v", "1"}}},
      {"v=1; a=rsa-sha256", {{"v", "1"}, {"a", "rsa-sha256"}}},
      {" v = 1 ; a =\r\n\trsa-sha256 ;", {{"v", "1"}, {"a", "rsa-sha256"}}},
      {"p=", {{"p", ""}}},
      {"p= ;t=y", {{"p", ""}, {"t", "y"}}},
      // Inner FWS is kept byte for byte; outer FWS is not.
      {"b=abc \r\n def\t ", {{"b", "abc \r\n def"}}},
      {"h=from : to :\r\n subject", {{"h", "from : to :\r\n subject"}}},
      // Tag names are case-sensitive: these are two different tags.
      {"a=1;A=2", {{"a", "1"}, {"A", "2"}}},
      {"x_1=a=b", {{"x_1", "a=b"}}},
      {"n=!\"#$%&'()*+,-./:<=>?@[\\]^_`{|}~", {{"n", "!\"#$%&'()*+,-./:<=>?@[\\]^_`{|}~"}}},
  };
  for (const ValidRow& row : rows) {
    TagListResult r = ParseTagList(row.input);
    ASSERT_TRUE(r.ok()) << row.input << ": " << r.message;
    ASSERT_EQ(r.list.tags.size(), row.tags.size()) << row.input;
    for (std::size_t i = 0; i < row.tags.size(); ++i) {
      EXPECT_EQ(r.list.tags[i].name, row.tags[i].first) << row.input;
      EXPECT_EQ(r.list.tags[i].value, row.tags[i].second) << row.input;
    }
  }
}

struct InvalidRow {
  std::string input;
  TagListError error;
  std::size_t offset;
};

TEST(TagList, RejectsInvalidListsWithKindAndOffset) {
  const std::vector<InvalidRow> rows = {
      {"", TagListError::kExpectedTagName, 0},
      {"  ", TagListError::kExpectedTagName, 2},
      {"=1", TagListError::kExpectedTagName, 0},
      {"1a=1", TagListError::kExpectedTagName, 0},
      {"_a=1", TagListError::kExpectedTagName, 0},
      {"v", TagListError::kExpectedEquals, 1},
      {"v 1", TagListError::kExpectedEquals, 2},
      {"a-b=1", TagListError::kExpectedEquals, 1},
      {"v=1; v=2", TagListError::kDuplicateTag, 5},
      {"v=1;;a=2", TagListError::kEmptyTagSpec, 4},
      {"v=1; ", TagListError::kEmptyTagSpec, 5},
      {"v=1\r\na=2", TagListError::kMalformedFws, 3},
      {"v=1\r\n", TagListError::kMalformedFws, 3},
      {"v=1\na=2", TagListError::kMalformedFws, 3},
      {"v=a\rb", TagListError::kMalformedFws, 3},
      {"v=\x01", TagListError::kInvalidValueChar, 2},
      {"v=caf\xc3\xa9", TagListError::kInvalidValueChar, 5},
      {"v=a\x7f", TagListError::kInvalidValueChar, 3},
      {"\r\n v=1", TagListError::kOk, 0},
  };
  for (const InvalidRow& row : rows) {
    TagListResult r = ParseTagList(row.input);
    EXPECT_EQ(TagListErrorName(r.error), TagListErrorName(row.error)) << row.input;
    if (row.error != TagListError::kOk) {
      EXPECT_EQ(r.offset, row.offset) << row.input;
      EXPECT_FALSE(r.message.empty());
    }
  }
}

TEST(TagList, EmptyTagSpecsNeedTheLeniencySwitch) {
  TagListOptions lenient;
  lenient.allow_empty_tag_spec = true;
  for (std::string input : {"v=DKIM1; p=abc; ", "v=DKIM1;; p=abc", "v=DKIM1; p=abc;\r\n \t"}) {
    EXPECT_FALSE(ParseTagList(input).ok()) << input;
    TagListResult r = ParseTagList(input, lenient);
    ASSERT_TRUE(r.ok()) << input << ": " << r.message;
    ASSERT_EQ(r.list.tags.size(), 2u);
    EXPECT_EQ(r.list.Find("p")->value, "abc");
  }
}

TEST(TagList, ReportsOffsetsOfNamesAndValues) {
  std::string input = " a = x y ;bb=";
  TagListResult r = ParseTagList(input);
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.list.tags.size(), 2u);
  EXPECT_EQ(r.list.tags[0].name_offset, 1u);
  EXPECT_EQ(r.list.tags[0].value_offset, 5u);
  EXPECT_EQ(r.list.tags[0].value, "x y");
  EXPECT_EQ(r.list.tags[1].name_offset, 10u);
  EXPECT_EQ(r.list.tags[1].value_offset, 13u);
  EXPECT_EQ(r.list.IndexOf("bb"), 1);
  EXPECT_EQ(r.list.IndexOf("c"), -1);
  EXPECT_EQ(r.list.Find("A"), nullptr);
}

TEST(TagList, BoundsLengthAndTagCount) {
  std::string many;
  for (std::size_t i = 0; i <= kMaxTags; ++i) many += "t" + std::to_string(i) + "=x;";
  TagListResult r = ParseTagList(many);
  EXPECT_EQ(r.error, TagListError::kTooManyTags);
  std::string exactly;
  for (std::size_t i = 0; i < kMaxTags; ++i) exactly += "t" + std::to_string(i) + "=x;";
  EXPECT_TRUE(ParseTagList(exactly).ok());

  std::string big = "b=" + std::string(kMaxTagListBytes, 'A');
  EXPECT_EQ(ParseTagList(big).error, TagListError::kTooLong);
  EXPECT_TRUE(ParseTagList(big.substr(0, kMaxTagListBytes)).ok());
}

TEST(TagList, StripFwsRemovesAllWhitespace) {
  EXPECT_EQ(StripFws("ab c\r\n\td e"), "abcde");
  EXPECT_EQ(StripFws(""), "");
}

}  // namespace
}  // namespace mxkit::auth::dkim
