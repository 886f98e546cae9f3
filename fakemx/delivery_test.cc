#include "fakemx/delivery.h"

#include <string>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

std::string Json(std::string_view bytes) {
  std::string out;
  AppendJsonString(out, bytes);
  return out;
}

TEST(AppendJsonString, EscapesTable) {
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
      // Invalid UTF-8 bytes become \u00XX of the byte value.
      {"\xff", "\"\\u00ff\""},
      {"\xc3", "\"\\u00c3\""},                  // truncated sequence
      {"\xc0\xaf", "\"\\u00c0\\u00af\""},       // overlong '/'
      {"\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""},  // a UTF-16 surrogate
      {"\xf4\x90\x80\x80", "\"\\u00f4\\u0090\\u0080\\u0080\""},  // above U+10FFFF
      {"\xe2\x82", "\"\\u00e2\\u0082\""},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(Json(row.in), row.want) << row.in;
  }
}

TEST(FormatRfc3339Micros, FormatsUtcWithSixFractionDigits) {
  EXPECT_EQ(FormatRfc3339Micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(1795000000123456), "2026-11-18T11:06:40.123456Z");
  EXPECT_EQ(FormatRfc3339Micros(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(DeliveryToJson, WritesEveryFieldInAFixedOrder) {
  Delivery d;
  d.received_at_us = 1000001;
  d.client_address = "::1";
  d.client_port = 2525;
  d.server_hostname = "mx";
  d.esmtp = false;
  d.helo = "[127.0.0.1]";
  d.tls = true;
  d.reverse_path = "";
  d.mail_params = {{"BODY", "8BITMIME"}};
  d.recipients = {{"a@b", {}}, {"c@d", {{"NOTIFY", "SUCCESS,FAILURE"}}}};
  d.body = "8BITMIME";
  d.smtputf8 = true;
  d.via_bdat = true;
  EXPECT_EQ(DeliveryToJson(d, "1.M1P2Q3.h", 42),
            "{\"name\":\"1.M1P2Q3.h\",\"received_at\":\"1970-01-01T00:00:01.000001Z\","
            "\"client\":{\"address\":\"::1\",\"port\":2525},\"server_hostname\":\"mx\","
            "\"helo\":{\"command\":\"HELO\",\"domain\":\"[127.0.0.1]\"},\"tls\":true,"
            "\"mail_from\":{\"address\":\"\",\"params\":[[\"BODY\",\"8BITMIME\"]]},"
            "\"rcpt_to\":[{\"address\":\"a@b\",\"params\":[]},"
            "{\"address\":\"c@d\",\"params\":[[\"NOTIFY\",\"SUCCESS,FAILURE\"]]}],"
            "\"body\":\"8BITMIME\",\"smtputf8\":true,\"via_bdat\":true,\"size\":42}\n");
}

}  // namespace
}  // namespace mxkit::fakemx
