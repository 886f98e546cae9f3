#include "fakemx/verdict_json.h"

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "fakemx/verdict_authentication_results.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

namespace json = boost::json;

json::object Parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << ec.message() << " in " << text;
  if (ec || !v.is_object()) return {};
  return v.as_object();
}

MessageVerdict FullVerdict() {
  MessageVerdict v;
  v.evaluated = true;
  v.client_ip = "192.0.2.1";
  v.spf_mail_from = {"pass", "example.test", "ip4:192.0.2.0/24", "matched", "a@example.test"};
  v.spf_helo = {"none", "mx.example.test", "", "no SPF record", "mx.example.test"};
  v.dkim.push_back(
      {"pass", "example.test", "sel", "rsa-sha256", 2048, "", true, "@example.test", "AbCdEfGh"});
  v.dkim.push_back({"fail", "other.test", "s2", "ed25519-sha256", 256, "body hash mismatch", true,
                    "", "12345678"});
  v.dmarc.result = "pass";
  v.dmarc.disposition = "none";
  v.dmarc.requested_policy = "reject";
  v.dmarc.author_domain = "example.test";
  v.dmarc.policy_domain = "example.test";
  v.dmarc.spf_aligned = true;
  v.dmarc.dkim_aligned = true;
  v.authserv_id = std::make_shared<const std::string>("mx.test");
  v.summary.encrypted = true;
  v.summary.authenticated = true;
  v.summary.dmarc = "none";
  return v;
}

TEST(MessageVerdictJson, WritesEveryFieldSnakeCase) {
  std::string out;
  AppendMessageVerdictJson(out, FullVerdict());
  json::object o = Parse(out);
  EXPECT_EQ(o.at("evaluated"), json::value(true));
  EXPECT_EQ(o.at("client_ip"), json::value("192.0.2.1"));
  const json::object& mf = o.at("spf").at("mail_from").as_object();
  EXPECT_EQ(mf.at("result"), json::value("pass"));
  EXPECT_EQ(mf.at("domain"), json::value("example.test"));
  EXPECT_EQ(mf.at("mechanism"), json::value("ip4:192.0.2.0/24"));
  EXPECT_EQ(mf.at("reason"), json::value("matched"));
  EXPECT_EQ(o.at("spf").at("helo").at("result"), json::value("none"));
  const json::array& dkim = o.at("dkim").as_array();
  ASSERT_EQ(dkim.size(), 2u);
  EXPECT_EQ(dkim[0].at("result"), json::value("pass"));
  EXPECT_EQ(dkim[0].at("selector"), json::value("sel"));
  EXPECT_EQ(dkim[0].at("key_bits"), json::value(2048));
  EXPECT_EQ(dkim[1].at("algorithm"), json::value("ed25519-sha256"));
  EXPECT_EQ(dkim[1].at("reason"), json::value("body hash mismatch"));
  const json::object& dmarc = o.at("dmarc").as_object();
  EXPECT_EQ(dmarc.at("result"), json::value("pass"));
  EXPECT_EQ(dmarc.at("disposition"), json::value("none"));
  EXPECT_EQ(dmarc.at("requested_policy"), json::value("reject"));
  EXPECT_EQ(dmarc.at("author_domain"), json::value("example.test"));
  EXPECT_EQ(dmarc.at("policy_domain"), json::value("example.test"));
  EXPECT_EQ(dmarc.at("spf_aligned"), json::value(true));
  EXPECT_EQ(dmarc.at("dkim_aligned"), json::value(true));
  // Written when read (fakemx/verdict_authentication_results.h).
  const std::string ar = AuthenticationResultsValue(FullVerdict());
  EXPECT_EQ(ar.rfind("mx.test;", 0), 0u) << ar;
  EXPECT_NE(ar.find("spf=pass smtp.mailfrom=a@example.test;"), std::string::npos) << ar;
  EXPECT_EQ(o.at("authentication_results"), json::value(ar));
  EXPECT_EQ(o.at("summary").at("lock"), json::value("encrypted"));
  EXPECT_EQ(o.at("summary").at("sender"), json::value("authenticated"));
  EXPECT_EQ(o.at("summary").at("dmarc"), json::value("none"));
}

TEST(MessageVerdictJson, SummaryWordsFollowTheFlags) {
  struct Row {
    bool encrypted;
    bool authenticated;
    std::string dmarc;
    const char* lock;
    const char* sender;
  };
  const Row rows[] = {
      {true, true, "none", "encrypted", "authenticated"},
      {false, true, "quarantine", "red_lock", "authenticated"},
      {true, false, "reject", "encrypted", "question_mark"},
      {false, false, "reject", "red_lock", "question_mark"},
  };
  for (const Row& row : rows) {
    MessageVerdict v = FullVerdict();
    v.summary.encrypted = row.encrypted;
    v.summary.authenticated = row.authenticated;
    v.summary.dmarc = row.dmarc;
    std::string out;
    AppendMessageVerdictJson(out, v);
    json::object o = Parse(out);
    EXPECT_EQ(o.at("summary").at("lock"), json::value(row.lock));
    EXPECT_EQ(o.at("summary").at("sender"), json::value(row.sender));
    EXPECT_EQ(o.at("summary").at("dmarc"), json::value(row.dmarc));
  }
}

TEST(MessageVerdictJson, NotEvaluatedHasNullsButASummary) {
  MessageVerdict v;
  v.summary.encrypted = true;
  std::string out;
  AppendMessageVerdictJson(out, v);
  EXPECT_EQ(out,
            "{\"evaluated\":false,\"client_ip\":null,\"spf\":null,\"dkim\":null,"
            "\"dmarc\":null,\"authentication_results\":null,"
            "\"summary\":{\"lock\":\"encrypted\",\"sender\":\"question_mark\","
            "\"dmarc\":\"none\"}}");
}

TEST(MessageVerdictJson, EvaluatedWithoutSignaturesHasAnEmptyDkimArray) {
  MessageVerdict v = FullVerdict();
  v.dkim.clear();
  std::string out;
  AppendMessageVerdictJson(out, v);
  EXPECT_TRUE(Parse(out).at("dkim").as_array().empty());
}

TEST(MessageVerdictJson, InvalidUtf8AndQuotesStayValidJson) {
  MessageVerdict v = FullVerdict();
  v.spf_mail_from.reason = std::string("bad \xff\"byte\n");
  v.dkim[0].domain = std::string("\xc3\x28.test");
  std::string out;
  AppendMessageVerdictJson(out, v);
  json::object o = Parse(out);
  EXPECT_EQ(o.at("spf").at("mail_from").at("reason"), json::value("bad \xEF\xBF\xBD\"byte\n"));
  EXPECT_EQ(o.at("dkim").at(0).at("domain"), json::value("\xEF\xBF\xBD(.test"));
}

TEST(SessionVerdictJson, EncryptedSessionHasNullOutcome) {
  SessionVerdict v;
  v.encrypted = true;
  v.messages = 3;
  std::string out;
  AppendSessionVerdictJson(out, v);
  EXPECT_EQ(out,
            "{\"encrypted\":true,\"lock\":\"encrypted\",\"tls_outcome\":null,\"messages\":3}");
}

TEST(SessionVerdictJson, PlaintextSessionSaysWhy) {
  SessionVerdict v;
  v.tls_outcome = "handshake failed: certificate unknown";
  std::string out;
  AppendSessionVerdictJson(out, v);
  json::object o = Parse(out);
  EXPECT_EQ(o.at("encrypted"), json::value(false));
  EXPECT_EQ(o.at("lock"), json::value("red_lock"));
  EXPECT_EQ(o.at("tls_outcome"), json::value("handshake failed: certificate unknown"));
  EXPECT_EQ(o.at("messages"), json::value(0));
}

TEST(VerdictJson, CarriesTheReasonsOnlyWhenGiven) {
  std::string without;
  AppendMessageVerdictJson(without, FullVerdict());
  EXPECT_FALSE(Parse(without).at("summary").as_object().contains("lock_reason"));
  EXPECT_FALSE(Parse(without).at("summary").as_object().contains("sender_reason"));
  const VerdictReasonTexts reasons{"TLS 1.3 via STARTTLS", "SPF \"pass\" for example.test"};
  std::string with;
  AppendMessageVerdictJson(with, FullVerdict(), &reasons);
  const json::object parsed = Parse(with);
  const json::object& summary = parsed.at("summary").as_object();
  EXPECT_EQ(summary.at("lock_reason"), json::value("TLS 1.3 via STARTTLS"));
  EXPECT_EQ(summary.at("sender_reason"), json::value("SPF \"pass\" for example.test"));
  EXPECT_EQ(summary.at("lock"), json::value("encrypted"));

  SessionVerdict v;
  v.tls_outcome = "starttls not offered";
  std::string plain;
  AppendSessionVerdictJson(plain, v);
  EXPECT_FALSE(Parse(plain).contains("lock_reason"));
  const std::string why = "no TLS: starttls not offered by receiver no-starttls";
  std::string session;
  AppendSessionVerdictJson(session, v, &why);
  EXPECT_EQ(Parse(session).at("lock_reason"), json::value(why));
}

TEST(VerdictJson, AppendsWithoutDisturbingWhatIsThere) {
  std::string out = "[";
  AppendSessionVerdictJson(out, SessionVerdict{});
  out += ',';
  AppendMessageVerdictJson(out, FullVerdict());
  out += ']';
  boost::system::error_code ec;
  json::value v = json::parse(out, ec);
  ASSERT_FALSE(ec);
  EXPECT_EQ(v.as_array().size(), 2u);
}

}  // namespace
}  // namespace mxkit::fakemx
