#include "probe/hop_session.h"

#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "policy/chain.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"

namespace mxkit::probe {
namespace {

// A scripted receiver: answers each command line from a table, runs a real
// server tls::Engine after its STARTTLS 220.
struct ServerScript {
  std::string greeting = "220 mx.test ESMTP\r\n";
  std::string ehlo = "250-mx.test\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n";
  std::string ehlo_tls = "250-mx.test\r\n250 PIPELINING\r\n";
  std::string helo = "250 mx.test\r\n";
  std::string starttls = "220 2.0.0 Ready\r\n";
  bool close_after_starttls = false;  // abort-after-220
  tls::CertVariant cert = tls::CertVariant::kGood;
  tls::VersionRange versions;
};

const tls::CertificateSet& Certs() {
  static const tls::CertificateSet* set = [] {
    tls::CertFactoryOptions o;
    o.hostname = "mx.test";
    return new tls::CertificateSet(*tls::CertificateSet::Generate(o));
  }();
  return *set;
}

class FakeServer {
 public:
  explicit FakeServer(ServerScript s) : script_(std::move(s)) { out_ = script_.greeting; }

  void Receive(std::string_view bytes) {
    if (closed_) return;
    if (engine_) {
      engine_->FeedCiphertext(bytes);
      if (engine_->has_ciphertext()) out_ += engine_->TakeCiphertext();
      if (engine_->state() != tls::EngineState::kEstablished) return;
      in_ += engine_->TakePlaintext();
    } else {
      in_.append(bytes);
    }
    size_t eol;
    while (!closed_ && (eol = in_.find("\r\n")) != std::string::npos) {
      std::string line = in_.substr(0, eol);
      in_.erase(0, eol + 2);
      Answer(absl::AsciiStrToUpper(line.substr(0, 4)));
    }
  }

  std::string TakeOutput() { return std::exchange(out_, {}); }
  bool closed() const { return closed_ && out_.empty(); }

 private:
  void Send(const std::string& reply) {
    if (engine_) {
      ASSERT_TRUE(engine_->WritePlaintext(reply).ok());
      out_ += engine_->TakeCiphertext();
    } else {
      out_ += reply;
    }
  }

  void Answer(const std::string& verb) {
    if (verb == "EHLO") {
      Send(engine_ ? script_.ehlo_tls : script_.ehlo);
    } else if (verb == "HELO") {
      Send(script_.helo);
    } else if (verb == "STAR") {
      Send(script_.starttls);
      if (script_.close_after_starttls) {
        closed_ = true;
      } else if (absl::StartsWith(script_.starttls, "220 ")) {
        const tls::ServedCertificate* served = *Certs().Get(script_.cert);
        tls::ServerContextOptions o;
        o.versions = script_.versions;
        o.certificate_chain_pem = served->chain_pem;
        o.private_key_pem = served->key_pem;
        auto ctx = tls::ServerContext::Create(o);
        ASSERT_TRUE(ctx.ok()) << ctx.status();
        engine_.emplace(*tls::Engine::NewServer(*ctx));
      }
    } else if (verb == "QUIT") {
      Send("221 bye\r\n");
      closed_ = true;
    } else {
      Send("500 what\r\n");
    }
  }

  ServerScript script_;
  std::optional<tls::Engine> engine_;
  std::string in_, out_;
  bool closed_ = false;
};

std::shared_ptr<const tls::ClientContext> ClientContext(tls::VersionRange versions = {}) {
  tls::ClientContextOptions o;
  o.verify = tls::ClientVerify::kRecord;
  o.trusted_roots_pem = Certs().root_pem();
  o.versions = versions;
  return *tls::ClientContext::Create(o);
}

// Runs a hop against `server`, handing it the server's bytes `chunk` at a time.
HopReport RunHop(ServerScript script, size_t chunk = 1 << 20,
              std::shared_ptr<const tls::ClientContext> ctx = ClientContext()) {
  FakeServer server(std::move(script));
  HopOptions o;
  o.helo_domain = "probe.test";
  o.tls_context = std::move(ctx);
  o.tls_name = "mx.test";
  HopSession hop(o);
  for (int round = 0; round < 1000 && !hop.done(); ++round) {
    std::string to_client = server.TakeOutput();
    for (size_t i = 0; i < to_client.size() && !hop.done(); i += chunk) {
      hop.Feed(std::string_view(to_client).substr(i, chunk));
      server.Receive(hop.TakeOutput());
    }
    server.Receive(hop.TakeOutput());
    if (to_client.empty() && server.closed()) hop.FeedEof();
  }
  EXPECT_TRUE(hop.done());
  return hop.report();
}

std::vector<std::string> Keywords(const std::optional<smtp::Reply>& r) {
  if (!r || r->lines.empty()) return {};
  return std::vector<std::string>(r->lines.begin() + 1, r->lines.end());
}

TEST(HopSession, GoodReceiverIsEncryptedAndVerifiedWithTheServedChain) {
  HopReport r = RunHop({});
  ASSERT_TRUE(r.greeting.has_value());
  EXPECT_EQ(r.greeting->lines, std::vector<std::string>{"mx.test ESMTP"});
  EXPECT_EQ(Keywords(r.hello_before_tls),
            (std::vector<std::string>{"PIPELINING", "SIZE 1000", "STARTTLS"}));
  EXPECT_EQ(Keywords(r.hello_after_tls), std::vector<std::string>{"PIPELINING"});
  EXPECT_TRUE(r.starttls_offered);
  ASSERT_TRUE(r.starttls_reply.has_value());
  EXPECT_EQ(r.starttls_reply->code, 220);
  ASSERT_TRUE(r.tls_established);
  EXPECT_EQ(r.tls->version, tls::TlsVersion::kTls13);
  EXPECT_FALSE(r.tls->cipher.empty());
  EXPECT_EQ(r.tls->verify_result, X509_V_OK);
  EXPECT_TRUE(r.verified());
  EXPECT_FALSE(r.red_lock());
  ASSERT_EQ(r.chain.size(), 2u) << "leaf and intermediate";
  EXPECT_EQ(r.chain[0].dns_names, std::vector<std::string>{"mx.test"});
  EXPECT_EQ(r.chain[0].issuer, r.chain[1].subject);
  EXPECT_EQ(r.chain[0].der, (*Certs().Get(tls::CertVariant::kGood))->leaf_der);
  EXPECT_EQ(r.outcome, smtp::SessionOutcome::kCompleted);
  EXPECT_EQ(r.injected_bytes, 0u);
  EXPECT_FALSE(r.timed_out);
}

struct VerifyRow {
  const char* name;
  tls::CertVariant cert;
  long verify_result;
};

TEST(HopSession, RecordsVerificationFailuresAndStaysEncrypted) {
  const VerifyRow rows[] = {
      {"expired", tls::CertVariant::kExpired, X509_V_ERR_CERT_HAS_EXPIRED},
      {"wrong-host", tls::CertVariant::kWrongHost, X509_V_ERR_HOSTNAME_MISMATCH},
      {"self-signed", tls::CertVariant::kSelfSigned, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT},
      {"unknown-ca", tls::CertVariant::kUnknownCa, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY},
      // BoringSSL verifies these; OpenSSL at security level 2 does not.
      {"rsa-1024", tls::CertVariant::kRsa1024, policy::kX509ErrorEeKeyTooSmall},
      {"sha1-signature", tls::CertVariant::kSha1Signature, policy::kX509ErrorCaMdTooWeak},
  };
  for (const VerifyRow& row : rows) {
    SCOPED_TRACE(row.name);
    ServerScript s;
    s.cert = row.cert;
    HopReport r = RunHop(s);
    ASSERT_TRUE(r.tls_established) << r.detail;
    EXPECT_EQ(r.tls->verify_result, row.verify_result);
    EXPECT_FALSE(r.verified());
    EXPECT_FALSE(r.red_lock()) << "encrypted under may, whatever the certificate";
    EXPECT_EQ(r.outcome, smtp::SessionOutcome::kCompleted);
  }
}

TEST(HopSession, NoStartTlsIsARedLock) {
  ServerScript s;
  s.ehlo = "250-mx.test\r\n250 PIPELINING\r\n";
  HopReport r = RunHop(s);
  EXPECT_FALSE(r.starttls_offered);
  EXPECT_FALSE(r.starttls_reply.has_value());
  EXPECT_FALSE(r.tls_established);
  EXPECT_TRUE(r.red_lock());
  EXPECT_EQ(r.outcome, smtp::SessionOutcome::kCompleted);
}

TEST(HopSession, StartTlsRefusedIsARedLockWithTheReply) {
  ServerScript s;
  s.starttls = "454 4.7.0 TLS not available due to temporary reason\r\n";
  HopReport r = RunHop(s);
  EXPECT_TRUE(r.starttls_offered);
  ASSERT_TRUE(r.starttls_reply.has_value());
  EXPECT_EQ(r.starttls_reply->code, 454);
  EXPECT_TRUE(r.red_lock());
  EXPECT_EQ(r.outcome, smtp::SessionOutcome::kCompleted);
}

TEST(HopSession, CloseAfterStartTls220IsAHandshakeFailureAndARedLock) {
  ServerScript s;
  s.close_after_starttls = true;
  HopReport r = RunHop(s);
  EXPECT_EQ(r.starttls_reply->code, 220);
  EXPECT_FALSE(r.tls_established);
  ASSERT_TRUE(r.tls_error.has_value());
  EXPECT_EQ(r.tls_error->kind, tls::EngineError::Kind::kTruncated);
  EXPECT_TRUE(r.red_lock());
}

TEST(HopSession, ProtocolVersionMismatchIsAHandshakeFailure) {
  ServerScript s;
  s.versions = {tls::TlsVersion::kTls10, tls::TlsVersion::kTls10};
  HopReport r = RunHop(s, 1 << 20, ClientContext({tls::TlsVersion::kTls12, tls::TlsVersion::kTls13}));
  EXPECT_FALSE(r.tls_established);
  ASSERT_TRUE(r.tls_error.has_value()) << r.detail;
  EXPECT_TRUE(r.red_lock());
  EXPECT_TRUE(absl::StrContains(r.detail, "TLS")) << r.detail;
}

TEST(HopSession, Tls10IsReportedWhenBothEndsAllowIt) {
  ServerScript s;
  s.versions = {tls::TlsVersion::kTls10, tls::TlsVersion::kTls10};
  HopReport r = RunHop(s, 1 << 20, ClientContext({tls::TlsVersion::kTls10, tls::TlsVersion::kTls13}));
  ASSERT_TRUE(r.tls_established) << r.detail;
  EXPECT_EQ(r.tls->version, tls::TlsVersion::kTls10);
}

TEST(HopSession, RepliesInjectedAfterStartTls220AreCountedAndNotParsed) {
  ServerScript s;
  s.starttls = "220 2.0.0 Ready\r\n250-injected\r\n250 STARTTLS\r\n";
  HopReport r = RunHop(s);
  EXPECT_EQ(r.injected_bytes, std::string("250-injected\r\n250 STARTTLS\r\n").size());
  ASSERT_TRUE(r.tls_established) << r.detail;
  EXPECT_EQ(Keywords(r.hello_after_tls), std::vector<std::string>{"PIPELINING"});
}

TEST(HopSession, EhloRefusedFallsBackToHeloWithoutStartTls) {
  ServerScript s;
  s.ehlo = "502 5.5.1 no EHLO here\r\n";
  HopReport r = RunHop(s);
  EXPECT_TRUE(r.helo_fallback);
  EXPECT_TRUE(r.hello_accepted());
  EXPECT_FALSE(r.starttls_offered);
  EXPECT_TRUE(r.red_lock());
}

TEST(HopSession, MalformedEhloReplyIsAProtocolErrorNotARedLock) {
  ServerScript s;
  s.ehlo = "250-mx.test\r\n250-PIPELINING\r\n251 broken continuation\r\n";
  HopReport r = RunHop(s);
  EXPECT_EQ(r.outcome, smtp::SessionOutcome::kProtocolError);
  EXPECT_FALSE(r.hello_accepted());
  EXPECT_FALSE(r.red_lock()) << "no mail could be sent on this hop at all";
  EXPECT_FALSE(r.detail.empty());
}

TEST(HopSession, GreetingRefusedEndsTheHop) {
  ServerScript s;
  s.greeting = "554 5.3.2 go away\r\n";
  HopReport r = RunHop(s);
  EXPECT_EQ(r.outcome, smtp::SessionOutcome::kGreetingRefused);
  EXPECT_EQ(r.greeting->code, 554);
  EXPECT_FALSE(r.red_lock());
}

// Beast's parsegrind: the server's bytes cut at every size give the same report.
TEST(HopSession, SameReportAtEveryChunkSize) {
  HopReport whole = RunHop({});
  for (size_t chunk : {1, 2, 3, 7, 64}) {
    SCOPED_TRACE(chunk);
    HopReport r = RunHop({}, chunk);
    EXPECT_EQ(r.greeting, whole.greeting);
    EXPECT_EQ(r.hello_before_tls, whole.hello_before_tls);
    EXPECT_EQ(r.hello_after_tls, whole.hello_after_tls);
    EXPECT_EQ(r.tls_established, whole.tls_established);
    EXPECT_EQ(r.chain.size(), whole.chain.size());
    EXPECT_EQ(r.outcome, whole.outcome);
  }
}

TEST(HopSession, AbortRecordsTheTimeout) {
  HopOptions o;
  o.tls_context = ClientContext();
  HopSession hop(o);
  EXPECT_EQ(hop.stage(), HopStage::kGreeting);
  hop.Abort("no greeting within 5 s", /*timed_out=*/true);
  EXPECT_TRUE(hop.done());
  EXPECT_TRUE(hop.report().timed_out);
  EXPECT_EQ(hop.report().detail, "no greeting within 5 s");
  EXPECT_FALSE(hop.report().red_lock());
}

TEST(HopSession, WithoutTlsContextStartTlsIsOnlyReportedAsOffered) {
  HopOptions o;
  HopSession hop(o);
  hop.Feed("220 mx ESMTP\r\n");
  EXPECT_EQ(hop.TakeOutput(), "EHLO localhost\r\n");
  hop.Feed("250-mx\r\n250 STARTTLS\r\n");
  EXPECT_EQ(hop.TakeOutput(), "QUIT\r\n");
  hop.Feed("221 bye\r\n");
  EXPECT_TRUE(hop.done());
  EXPECT_TRUE(hop.report().starttls_offered);
  EXPECT_FALSE(hop.report().starttls_reply.has_value());
}

}  // namespace
}  // namespace mxkit::probe
