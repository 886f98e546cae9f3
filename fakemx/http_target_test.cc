#include "fakemx/http_target.h"

#include <string>
#include <utility>
#include <vector>

#include "fakemx/http_types.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

TEST(CheckRequestTransferEncoding, AcceptsNoneOrChunkedAlone) {
  for (const char* value : {"", "chunked", "Chunked", " chunked ", "chunked,", ", ,chunked", " , "}) {
    EXPECT_FALSE(CheckRequestTransferEncoding(value).has_value()) << value;
  }
}

TEST(CheckRequestTransferEncoding, RefusesWhatItCannotFrameWith400) {
  // RFC 9112 §6.3: chunked not the final coding (or not there at all).
  for (const char* value : {"gzip", "chunked, gzip", "chunked;x=1", "identity", "chunkedx",
                            "chunked, chunked", "x\x01y"}) {
    std::optional<TransferEncodingRefusal> r = CheckRequestTransferEncoding(value);
    ASSERT_TRUE(r.has_value()) << value;
    EXPECT_EQ(r->status, 400u) << value;
    EXPECT_NE(r->reason.find("RFC 9112 section 6.3"), std::string::npos) << r->reason;
  }
  EXPECT_NE(CheckRequestTransferEncoding("chunked, chunked")->reason.find("more than once"),
            std::string::npos);
  // Quoted, shortened: a hostile value is not echoed whole.
  const std::string long_value(10000, 'g');
  EXPECT_LT(CheckRequestTransferEncoding(long_value)->reason.size(), 200u);
}

TEST(CheckRequestTransferEncoding, RefusesAnUnknownCodingBeforeChunkedWith501) {
  // RFC 9112 §6.1.
  for (const char* value : {"gzip, chunked", "GZIP,chunked", "deflate ;q=1, chunked"}) {
    std::optional<TransferEncodingRefusal> r = CheckRequestTransferEncoding(value);
    ASSERT_TRUE(r.has_value()) << value;
    EXPECT_EQ(r->status, 501u) << value;
    EXPECT_NE(r->reason.find("section 6.1"), std::string::npos) << r->reason;
  }
  EXPECT_NE(CheckRequestTransferEncoding("gzip, chunked")->reason.find("\"gzip\""),
            std::string::npos)
      << CheckRequestTransferEncoding("gzip, chunked")->reason;
}

TEST(ParseHttpTarget, SplitsPathIntoDecodedSegments) {
  absl::StatusOr<HttpTarget> t = ParseHttpTarget("/api/v1/message/latest");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->segments, (std::vector<std::string>{"api", "v1", "message", "latest"}));
  EXPECT_TRUE(t->query.empty());
  EXPECT_TRUE(ParseHttpTarget("/")->segments.empty());
  EXPECT_EQ(ParseHttpTarget("/healthz/")->segments, (std::vector<std::string>{"healthz", ""}));
  EXPECT_EQ(ParseHttpTarget("/a%2Fb/c+d")->segments, (std::vector<std::string>{"a/b", "c+d"}));
}

TEST(ParseHttpTarget, DecodesQueryWithPlusAsSpace) {
  absl::StatusOr<HttpTarget> t =
      ParseHttpTarget("/api/v1/search?query=from%3Aalice+is%3Aunread&limit=5&&flag&start=");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->query, (Query{{"query", "from:alice is:unread"}, {"limit", "5"}, {"flag", ""},
                             {"start", ""}}));
  EXPECT_EQ(t->Param("limit"), "5");
  EXPECT_EQ(t->Param("nope"), std::nullopt);
  EXPECT_EQ(ParseHttpTarget("/x?a=1&a=2")->Param("a"), "1");
  EXPECT_EQ(ParseHttpTarget("/x?")->query.size(), 0u);
}

TEST(ParseHttpTarget, RefusesMalformedTargetsSayingWhere) {
  struct Case {
    std::string target;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {"", "empty"},
           {"api", "starts with '/'"},
           {"http://x/", "starts with '/'"},
           {"/a%2", "offset 2"},
           {"/a%zz", "two hex digits"},
           {"/a?b=%G0", "offset 5"},
           {"/a%00", "control character"},
           {"/a?b=%0A", "control character"},
           {"/a#frag", "fragment"},
           {"/" + std::string(kMaxTargetBytes, 'a'), "over the limit"},
       }) {
    absl::StatusOr<HttpTarget> t = ParseHttpTarget(c.target);
    ASSERT_FALSE(t.ok()) << c.target;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(c.expected), std::string::npos)
        << c.target << ": " << t.status().message();
  }
  std::string many = "/x?";
  for (size_t i = 0; i <= kMaxQueryParams; ++i) many += "p=1&";
  EXPECT_FALSE(ParseHttpTarget(many).ok());
}

TEST(PercentDecode, DecodesOrRefuses) {
  EXPECT_EQ(PercentDecode("a%20b+c", true), "a b c");
  EXPECT_EQ(PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(PercentDecode("%e2%82%AC", false), "\xE2\x82\xAC");
  EXPECT_EQ(PercentDecode("%", false), std::nullopt);
}

TEST(HttpTypes, ErrorsInBothForms) {
  HttpResponse j = JsonError(404, "no message \"7\"");
  EXPECT_EQ(j.status, 404u);
  EXPECT_EQ(j.content_type, "application/json");
  EXPECT_EQ(j.body, "{\"error\":\"no message \\\"7\\\"\",\"status\":404}\n");
  HttpResponse p = PlainError(400, "invalid query");
  EXPECT_EQ(p.content_type, "text/plain; charset=utf-8");
  EXPECT_EQ(p.body, "invalid query\n");
}

}  // namespace
}  // namespace mxkit::fakemx
