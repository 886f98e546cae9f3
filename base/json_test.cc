#include "base/json.h"

#include <string>

#include "gtest/gtest.h"

namespace mxkit::base {
namespace {

std::string Json(std::string_view bytes) {
  std::string out;
  AppendJsonString(out, bytes);
  return out;
}

TEST(AppendJsonString, EscapesTable) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Row {
    std::string in, want;
  };
  const Row rows[] = {
      {"", "\"\""},
      {"alice@example.org", "\"alice@example.org\""},
      {"\"quoted local\"@x", "\"\\\"quoted local\\\"@x\""},
      {"back\\slash", "\"back\\\\slash\""},
      {"cr\rlf\ntab\t", "\"cr\\rlf\\ntab\\t\""},
      {std::string("nul\0x", 5), "\"nul\\u0000x\""},
      {"\x1f\x7f", "\"\\u001f\\u007f\""},
      // Valid UTF-8 (RFC 6531 addresses) passes through unchanged.
      {"j\xc3\xb6rg@\xe4\xbe\x8b.\xf0\x9f\x98\x80", "\"j\xc3\xb6rg@\xe4\xbe\x8b.\xf0\x9f\x98\x80\""},
      {"\xc3\xbf", "\"\xc3\xbf\""},  // the real U+00FF
      // Each maximal ill-formed subpart becomes one U+FFFD, never \u00XX,
      // which would read as the real character U+00XX.
      {"\xff", "\"" + fffd + "\""},
      {"\xc3", "\"" + fffd + "\""},                        // truncated sequence
      {"\xc0\xaf", "\"" + fffd + fffd + "\""},             // overlong '/'
      {"\xed\xa0\x80", "\"" + fffd + fffd + fffd + "\""},  // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", "\"" + fffd + fffd + fffd + fffd + "\""},  // above U+10FFFF
      {"\xe2\x82", "\"" + fffd + "\""},
      {"a\"\xff\n", "\"a\\\"" + fffd + "\\n\""},  // escapes still apply around it
  };
  for (const Row& row : rows) {
    EXPECT_EQ(Json(row.in), row.want) << row.in;
  }
}

TEST(AppendJsonString, AppendsWithoutTouchingWhatIsThere) {
  std::string out = "{\"helo\":";
  AppendJsonString(out, "mx");
  EXPECT_EQ(out, "{\"helo\":\"mx\"");
}

}  // namespace
}  // namespace mxkit::base
