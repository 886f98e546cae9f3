#include "fakemx/verdict_reasons.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

DeliveryTls Tls13(bool implicit = false) {
  DeliveryTls t;
  t.used = true;
  t.implicit = implicit;
  t.version = "TLSv1.3";
  t.cipher = "TLS_AES_128_GCM_SHA256";
  t.group = "X25519";
  t.certificate = "good";
  return t;
}

SessionVerdict Plain(std::string outcome) {
  SessionVerdict v;
  v.tls_outcome = std::move(outcome);
  return v;
}

SessionVerdict Encrypted() {
  SessionVerdict v;
  v.encrypted = true;
  return v;
}

TEST(VerdictReasons, MessageLockSaysWhichTlsOrWhyNone) {
  struct Row {
    std::string name;
    bool encrypted;
    DeliveryTls tls;
    SessionVerdict session;
    std::string receiver;
    std::string want;
  };
  DeliveryTls tls12 = Tls13();
  tls12.version = "TLSv1.2";
  tls12.cipher = "ECDHE-RSA-AES128-GCM-SHA256";
  tls12.group = "";
  tls12.certificate = "expired";
  const Row rows[] = {
      {"starttls", true, Tls13(), Encrypted(), "mx",
       "TLS 1.3 via STARTTLS, TLS_AES_128_GCM_SHA256, X25519, certificate good"},
      {"implicit", true, Tls13(true), Encrypted(), "mx",
       "TLS 1.3 (implicit TLS), TLS_AES_128_GCM_SHA256, X25519, certificate good"},
      {"no group, other certificate", true, tls12, Encrypted(), "mx",
       "TLS 1.2 via STARTTLS, ECDHE-RSA-AES128-GCM-SHA256, certificate expired"},
      {"not offered names the receiver", false, {}, Plain("starttls not offered"), "no-starttls",
       "no TLS: starttls not offered by receiver no-starttls"},
      {"refused names the receiver", false, {}, Plain("starttls refused by the receiver"),
       "starttls-refused", "no TLS: starttls refused by receiver starttls-refused"},
      {"client skipped it", false, {}, Plain("client did not use starttls"), "good",
       "no TLS: client did not use starttls"},
      {"handshake failed", false, {}, Plain("handshake failed: certificate unknown"), "good",
       "no TLS: handshake failed: certificate unknown"},
      {"sent before STARTTLS", false, {}, Encrypted(), "good",
       "no TLS: sent before the session's STARTTLS"},
      {"outcome not known yet", false, {}, Plain(""), "good", "no TLS: no TLS on this connection"},
  };
  for (const Row& row : rows) {
    EXPECT_EQ(MessageLockReason(row.encrypted, row.tls, row.session, row.receiver), row.want)
        << row.name;
  }
}

TEST(VerdictReasons, SessionLockSaysWhichTlsOrWhyNone) {
  EXPECT_EQ(SessionLockReason(Encrypted(), Tls13(), "good"),
            "TLS 1.3 via STARTTLS, TLS_AES_128_GCM_SHA256, X25519, certificate good");
  EXPECT_EQ(SessionLockReason(Plain("starttls not offered"), {}, "no-starttls"),
            "no TLS: starttls not offered by receiver no-starttls");
  EXPECT_EQ(SessionLockReason(Plain("handshake timed out"), {}, "slow"),
            "no TLS: handshake timed out");
}

MessageVerdict Verdict(std::string spf, std::string spf_domain,
                       std::vector<std::pair<std::string, std::string>> dkim) {
  MessageVerdict v;
  v.evaluated = true;
  v.spf_mail_from.result = std::move(spf);
  v.spf_mail_from.domain = std::move(spf_domain);
  for (auto& [result, domain] : dkim) {
    DkimVerdict d;
    d.result = result;
    d.domain = domain;
    v.dkim.push_back(d);
  }
  v.summary.authenticated =
      v.spf_mail_from.result == "pass" ||
      std::any_of(v.dkim.begin(), v.dkim.end(), [](const DkimVerdict& d) { return d.result == "pass"; });
  return v;
}

TEST(VerdictReasons, SenderSaysWhatAuthenticatedOrThatNothingDid) {
  struct Row {
    std::string name;
    MessageVerdict verdict;
    std::string want;
  };
  const Row rows[] = {
      {"off", MessageVerdict{}, "not checked: verdicts are off"},
      {"both pass", Verdict("pass", "example.com", {{"pass", "example.com"}}),
       "SPF pass for example.com (MAIL FROM), DKIM pass for example.com"},
      {"spf only", Verdict("pass", "example.com", {}),
       "SPF pass for example.com (MAIL FROM), DKIM none (no signature)"},
      {"dkim only", Verdict("softfail", "example.com", {{"pass", "example.com"}}),
       "SPF softfail for example.com (MAIL FROM), DKIM pass for example.com"},
      {"nothing", Verdict("none", "example.org", {}),
       "SPF none for example.org (MAIL FROM), DKIM none (no signature): neither "
       "authenticated the sender"},
      {"bad signature", Verdict("fail", "example.org", {{"fail", "example.org"}}),
       "SPF fail for example.org (MAIL FROM), DKIM fail for example.org: neither "
       "authenticated the sender"},
      {"null sender, unparsed d=", Verdict("none", "", {{"permerror", ""}}),
       "SPF none (MAIL FROM), DKIM permerror: neither authenticated the sender"},
      {"many signatures",
       Verdict("none", "a.test",
               {{"fail", "a.test"}, {"fail", "b.test"}, {"pass", "c.test"}, {"fail", "d.test"},
                {"fail", "e.test"}}),
       "SPF none for a.test (MAIL FROM), DKIM fail for a.test, DKIM fail for b.test, DKIM pass "
       "for c.test and 2 more"},
  };
  for (const Row& row : rows) EXPECT_EQ(SenderReason(row.verdict), row.want) << row.name;
}

}  // namespace
}  // namespace mxkit::fakemx
