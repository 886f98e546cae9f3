#include "fakemx/delivery.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

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
  d.tls.used = true;
  d.tls.implicit = true;
  d.tls.version = "TLSv1.3";
  d.tls.cipher = "TLS_AES_128_GCM_SHA256";
  d.tls.group = "X25519";
  d.tls.sni = "mx.test";
  d.tls.certificate = "good";
  d.tls.plaintext_discarded_bytes = 6;
  d.reverse_path = "";
  d.mail_params = {{"BODY", "8BITMIME"}};
  d.recipients = {{"a@b", {}}, {"c@d", {{"NOTIFY", "SUCCESS,FAILURE"}}}};
  d.body = "8BITMIME";
  d.smtputf8 = true;
  d.via_bdat = true;
  EXPECT_EQ(DeliveryToJson(d, "1.M1P2Q3.h", 42),
            "{\"name\":\"1.M1P2Q3.h\",\"received_at\":\"1970-01-01T00:00:01.000001Z\","
            "\"client\":{\"address\":\"::1\",\"port\":2525},\"server_hostname\":\"mx\","
            "\"helo\":{\"command\":\"HELO\",\"domain\":\"[127.0.0.1]\"},\"tls\":{\"used\":true,"
            "\"implicit\":true,\"version\":\"TLSv1.3\",\"cipher\":\"TLS_AES_128_GCM_SHA256\","
            "\"group\":\"X25519\",\"sni\":\"mx.test\",\"certificate\":\"good\","
            "\"plaintext_discarded_bytes\":6},"
            "\"mail_from\":{\"address\":\"\",\"params\":[[\"BODY\",\"8BITMIME\"]]},"
            "\"rcpt_to\":[{\"address\":\"a@b\",\"params\":[]},"
            "{\"address\":\"c@d\",\"params\":[[\"NOTIFY\",\"SUCCESS,FAILURE\"]]}],"
            "\"body\":\"8BITMIME\",\"smtputf8\":true,\"via_bdat\":true,\"size\":42}\n");
}

// The tls object keeps its keys when TLS was not used, so a reader needs no
// key test: the facts only TLS can have are null, the counters 0.
TEST(DeliveryToJson, WritesTlsFactsAsNullWhenTlsWasNotUsed) {
  struct Row {
    const char* what;
    DeliveryTls tls;
    std::string json;
  };
  DeliveryTls stale;  // facts left over must not leak into a plaintext record
  stale.implicit = true;
  stale.version = "TLSv1.2";
  stale.cipher = "x";
  stale.sni = "mx.test";
  stale.certificate = "good";
  DeliveryTls no_sni_no_group;
  no_sni_no_group.used = true;
  no_sni_no_group.version = "TLSv1.2";
  no_sni_no_group.cipher = "TLS_RSA_WITH_AES_128_GCM_SHA256";
  no_sni_no_group.certificate = "rsa-2048";
  no_sni_no_group.plaintext_discarded_bytes = 35;
  DeliveryTls empty_sni = no_sni_no_group;
  empty_sni.sni = "";
  const std::vector<Row> rows = {
      {"plaintext", {},
       R"({"used":false,"implicit":false,"version":null,"cipher":null,"group":null,)"
       R"("sni":null,"certificate":null,"plaintext_discarded_bytes":0})"},
      {"not used, stale facts", stale,
       R"({"used":false,"implicit":false,"version":null,"cipher":null,"group":null,)"
       R"("sni":null,"certificate":null,"plaintext_discarded_bytes":0})"},
      {"RSA key exchange, no SNI", no_sni_no_group,
       R"({"used":true,"implicit":false,"version":"TLSv1.2",)"
       R"("cipher":"TLS_RSA_WITH_AES_128_GCM_SHA256","group":null,"sni":null,)"
       R"("certificate":"rsa-2048","plaintext_discarded_bytes":35})"},
      {"empty SNI", empty_sni,
       R"({"used":true,"implicit":false,"version":"TLSv1.2",)"
       R"("cipher":"TLS_RSA_WITH_AES_128_GCM_SHA256","group":null,"sni":null,)"
       R"("certificate":"rsa-2048","plaintext_discarded_bytes":35})"},
  };
  for (const Row& row : rows) {
    Delivery d;
    d.tls = row.tls;
    const std::string json = DeliveryToJson(d, "n", 0);
    EXPECT_NE(json.find("\"tls\":" + row.json + ","), std::string::npos) << row.what << "\n" << json;
  }
}

// A client may put bytes that are not UTF-8 into a path without SMTPUTF8;
// they become U+FFFD (base/json.h), never \u00XX, which would claim the
// real character U+00XX.
TEST(DeliveryToJson, WritesInvalidUtf8AsReplacementCharacter) {
  Delivery d;
  d.helo = "h\xE9lo";  // Latin-1 e-acute
  d.reverse_path = "b\xC3\xBC" "cher@x";
  d.recipients = {{"\xFF@x", {{"ORCPT", "rfc822;\xC0\xAF"}}}};
  const std::string json = DeliveryToJson(d, "n", 0);
  EXPECT_NE(json.find("\"domain\":\"h\xEF\xBF\xBDlo\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"address\":\"b\xC3\xBC" "cher@x\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"address\":\"\xEF\xBF\xBD@x\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"rfc822;\xEF\xBF\xBD\xEF\xBF\xBD\""), std::string::npos) << json;
  EXPECT_EQ(json.find("\\u00"), std::string::npos) << json;
}

}  // namespace
}  // namespace mxkit::fakemx
