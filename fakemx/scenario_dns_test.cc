#include "fakemx/scenario_dns.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "auth/dkim/signature.h"
#include "auth/dkim/signer.h"
#include "auth/dkim/verifier.h"
#include "base/absl_interop.h"
#include "dns/authoritative.h"
#include "dns/message.h"
#include "dns/static_resolver.h"
#include "fakemx/flags.h"
#include "fakemx/tls_setup.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

std::string TempDir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

struct Built {
  Scenario scenario;
  ScenarioTls tls;
  ScenarioDns dns;
};

// Parses `yaml`, sets up its TLS in a fresh directory and builds its DNS,
// as fakemx/main.cc does at start.
absl::StatusOr<Built> Build(const std::string& yaml, const std::string& dir, uint64_t seed = 1) {
  absl::StatusOr<Scenario> scenario = ParseScenario(yaml, "t.yaml");
  if (!scenario.ok()) return scenario.status();
  FakemxFlags flags;
  flags.cert_seed = seed;
  absl::StatusOr<ScenarioTls> tls = SetUpScenarioTls(*scenario, flags, TempDir(dir));
  if (!tls.ok()) return tls.status();
  absl::StatusOr<ScenarioDns> dns = BuildScenarioDns(*scenario, *tls, TempDir(dir));
  if (!dns.ok()) return dns.status();
  return Built{*std::move(scenario), *std::move(tls), *std::move(dns)};
}

// A record as one line, for exact comparisons: "NAME TYPE RDATA" with TXT
// strings quoted and TLSA data in hex.
std::string Show(const dns::ResourceRecord& r) {
  std::string out = absl::StrCat(r.name, " ", dns::RrTypeName(r.type), " ");
  if (const auto* a = std::get_if<dns::AData>(&r.data)) {
    absl::StrAppend(&out, a->address[0], ".", a->address[1], ".", a->address[2], ".",
                    a->address[3]);
  } else if (const auto* aaaa = std::get_if<dns::AaaaData>(&r.data)) {
    absl::StrAppend(&out, absl::BytesToHexString(absl::string_view(
                              reinterpret_cast<const char*>(aaaa->address.data()), 16)));
  } else if (const auto* mx = std::get_if<dns::MxData>(&r.data)) {
    absl::StrAppend(&out, mx->preference, " ", mx->exchange.empty() ? "." : mx->exchange);
  } else if (const auto* txt = std::get_if<dns::TxtData>(&r.data)) {
    for (size_t i = 0; i < txt->strings.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : " ", "\"", txt->strings[i], "\"");
    }
  } else if (const auto* tlsa = std::get_if<dns::TlsaData>(&r.data)) {
    absl::StrAppend(&out, tlsa->usage, " ", tlsa->selector, " ", tlsa->matching_type, " ",
                    absl::BytesToHexString(tlsa->association_data));
  }
  return out;
}

std::vector<std::string> ShowAll(const dns::ServedZone& zone) {
  std::vector<std::string> out;
  for (const dns::ResourceRecord& r : zone.records) out.push_back(Show(r));
  return out;
}

const dns::ServedZone* FindZone(const ScenarioDns& dns, const std::string& apex) {
  for (const dns::ServedZone& z : dns.zones) {
    if (z.apex == apex) return &z;
  }
  return nullptr;
}

std::vector<const dns::ResourceRecord*> Records(const ScenarioDns& dns, const std::string& name,
                                                dns::RrType type) {
  std::vector<const dns::ResourceRecord*> out;
  for (const dns::ServedZone& z : dns.zones) {
    for (const dns::ResourceRecord& r : z.records) {
      if (r.name == name && r.type == type) out.push_back(&r);
    }
  }
  return out;
}

std::string Joined(const dns::ResourceRecord& r) {
  std::string out;
  for (const std::string& s : std::get<dns::TxtData>(r.data).strings) out += s;
  return out;
}

// ---- The default world -------------------------------------------------

TEST(BuildScenarioDns, DefaultWorldIsCompleteAndPassing) {
  absl::StatusOr<Built> b =
      Build("receivers: [{name: example.test, listeners: [\"127.0.0.2:2525\"]}]\n", "default");
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->dns.zones.size(), 1u);
  const dns::ServedZone& z = b->dns.zones[0];
  EXPECT_EQ(z.apex, "example.test");
  EXPECT_FALSE(z.authenticated);
  EXPECT_TRUE(z.faults.empty());
  std::vector<std::string> records = ShowAll(z);
  ASSERT_EQ(records.size(), 6u);
  // The DKIM key is derived; its record is checked by the signing test below.
  ASSERT_TRUE(absl::StartsWith(records[3],
                               "mxkit._domainkey.example.test TXT \"v=DKIM1; "
                               "k=ed25519; p="))
      << records[3];
  records.erase(records.begin() + 3);
  EXPECT_EQ(records, (std::vector<std::string>{
                         "example.test MX 10 mx.example.test",
                         "mx.example.test A 127.0.0.2",
                         "example.test TXT \"v=spf1 ip4:127.0.0.2 ip4:127.0.0.1 -all\"",
                         "_dmarc.example.test TXT \"v=DMARC1; p=reject; "
                         "rua=mailto:dmarc@example.test\"",
                         "_smtp._tls.example.test TXT \"v=TLSRPTv1; "
                         "rua=mailto:tlsrpt@example.test\"",
                     }));
  EXPECT_TRUE(b->dns.policy_sites.empty());
  ASSERT_EQ(b->dns.dkim_keys.size(), 1u);
  const DkimKey& key = b->dns.dkim_keys[0];
  EXPECT_EQ(key.domain, "example.test");
  EXPECT_EQ(key.selector, "mxkit");
  EXPECT_EQ(key.algorithm, "ed25519");
  EXPECT_EQ(key.key_file, TempDir("default") + "/example.test.mxkit.dkim.pem");
  EXPECT_EQ(ReadFile(key.key_file), key.private_pem);
  struct stat st;
  ASSERT_EQ(stat(key.key_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // The responder takes the zones as they are.
  EXPECT_TRUE(dns::AuthoritativeResponder::Create(b->dns.zones).ok());
}

TEST(BuildScenarioDns, ListenerOnLoopbackGivesSpfWithOneMechanismAndIpv6GivesAaaa) {
  absl::StatusOr<Built> b = Build(
      "receivers:\n"
      "  - {name: a.test, listeners: [\"127.0.0.1:0\"]}\n"
      "  - {name: b.test, listeners: [\"[::1]:0\"]}\n",
      "v6");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(Joined(*Records(b->dns, "a.test", dns::RrType::kTxt).at(0)),
            "v=spf1 ip4:127.0.0.1 -all");
  EXPECT_EQ(Joined(*Records(b->dns, "b.test", dns::RrType::kTxt).at(0)),
            "v=spf1 ip6:::1 ip4:127.0.0.1 -all");
  ASSERT_EQ(Records(b->dns, "mx.b.test", dns::RrType::kAaaa).size(), 1u);
  EXPECT_EQ(Show(*Records(b->dns, "mx.b.test", dns::RrType::kAaaa)[0]),
            "mx.b.test AAAA 00000000000000000000000000000001");
  EXPECT_TRUE(Records(b->dns, "mx.b.test", dns::RrType::kA).empty());
}

// ---- Switched off, literal, configured -----------------------------------

TEST(BuildScenarioDns, EachRecordCanBeSwitchedOffReplacedOrConfigured) {
  absl::StatusOr<Built> b = Build(R"yaml(receivers:
  - name: example.test
    listeners: ["127.0.0.2:25"]
    dns:
      mx: [{preference: 20, host: mx2.example.test}, {preference: 0, host: "."}]
      address: "192.0.2.7"
      spf: "v=spf1 +all"
      dkim: {selector: s1.sub, text: "v=DKIM1; p="}
      dmarc: false
      tls_rpt: "v=TLSRPTv1;"
)yaml",
                                  "literal");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(ShowAll(b->dns.zones.at(0)), (std::vector<std::string>{
                                             "example.test MX 20 mx2.example.test",
                                             "example.test MX 0 .",
                                             "mx.example.test A 192.0.2.7",
                                             "example.test TXT \"v=spf1 +all\"",
                                             "s1.sub._domainkey.example.test TXT \"v=DKIM1; p=\"",
                                             "_smtp._tls.example.test TXT \"v=TLSRPTv1;\"",
                                         }));
  // A published text does not stop the key being made for the sender.
  ASSERT_EQ(b->dns.dkim_keys.size(), 1u);
  EXPECT_EQ(b->dns.dkim_keys[0].selector, "s1.sub");
}

TEST(BuildScenarioDns, NoMxNoAddressNoDkimLeaveThoseNamesEmpty) {
  absl::StatusOr<Built> b = Build(
      "receivers: [{name: example.test, dns: {mx: false, address: false, dkim: false, spf: "
      "false}}]\n",
      "off");
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_TRUE(Records(b->dns, "example.test", dns::RrType::kMx).empty());
  EXPECT_TRUE(Records(b->dns, "mx.example.test", dns::RrType::kA).empty());
  EXPECT_TRUE(Records(b->dns, "example.test", dns::RrType::kTxt).empty());
  EXPECT_TRUE(b->dns.dkim_keys.empty());
  EXPECT_EQ(ShowAll(b->dns.zones.at(0)).size(), 2u);  // DMARC and TLS-RPT
}

TEST(BuildScenarioDns, LongTextIsSplitIntoStringsOf255Octets) {
  const std::string text = "v=spf1 " + std::string(600, 'a');
  absl::StatusOr<Built> b =
      Build("receivers: [{name: example.test, dns: {spf: \"" + text + "\"}}]\n", "long");
  ASSERT_TRUE(b.ok()) << b.status();
  const auto& strings =
      std::get<dns::TxtData>(Records(b->dns, "example.test", dns::RrType::kTxt).at(0)->data)
          .strings;
  ASSERT_EQ(strings.size(), 3u);
  EXPECT_EQ(strings[0].size(), 255u);
  EXPECT_EQ(strings[1].size(), 255u);
  EXPECT_EQ(strings[0] + strings[1] + strings[2], text);
}

// ---- DKIM: what the sender signs with, the verifier accepts ----------------

class DkimRoundTrip : public testing::TestWithParam<std::string> {};

TEST_P(DkimRoundTrip, MessageSignedWithTheExportedKeyVerifiesThroughTheZone) {
  const std::string algorithm = GetParam();
  absl::StatusOr<Built> b =
      Build("receivers: [{name: example.test, dns: {dkim: {algorithm: " + algorithm + "}}}]\n",
            "dkim-" + algorithm);
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->dns.dkim_keys.size(), 1u);
  const DkimKey& exported = b->dns.dkim_keys[0];
  EXPECT_EQ(exported.algorithm, algorithm);
  const std::string pem = ReadFile(exported.key_file);

  absl::StatusOr<auth::dkim::SigningKey> key;
  if (algorithm == "rsa") {
    key = auth::dkim::SigningKey::RsaFromPem(pem);
  } else {
    // What a sender does with a PKCS#8 Ed25519 file: read the seed out.
    bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    bssl::UniquePtr<EVP_PKEY> pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    ASSERT_TRUE(pkey);
    uint8_t seed[32];
    size_t len = sizeof(seed);
    ASSERT_TRUE(EVP_PKEY_get_raw_private_key(pkey.get(), seed, &len));
    key = auth::dkim::SigningKey::Ed25519FromSeed(
        std::string_view(reinterpret_cast<const char*>(seed), len));
  }
  ASSERT_TRUE(key.ok()) << key.status();

  const std::string message =
      "From: a@example.test\r\nTo: b@elsewhere.test\r\nSubject: hi\r\n\r\nbody\r\n";
  auth::dkim::SignerOptions options;
  options.domain = "example.test";
  options.selector = "mxkit";
  absl::StatusOr<std::string> field = auth::dkim::SignMessage(message, *key, options);
  ASSERT_TRUE(field.ok()) << field.status();
  const std::string signed_message = *field + message;

  dns::StaticResolver resolver;
  for (const dns::ServedZone& z : b->dns.zones) {
    for (const dns::ResourceRecord& r : z.records) resolver.Add(r);
  }
  auth::dkim::Verifier verifier(&resolver);
  absl::StatusOr<auth::dkim::DkimMessage> split = auth::dkim::SplitMessage(signed_message);
  ASSERT_TRUE(split.ok()) << split.status();
  std::vector<auth::dkim::SignatureResult> results =
      verifier.Verify(split->headers, split->body, /*now=*/1800000000);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].result, auth::dkim::DkimResult::kPass) << results[0].reason;
  EXPECT_EQ(results[0].key_bits, algorithm == "rsa" ? 2048u : 256u);
}

INSTANTIATE_TEST_SUITE_P(Algorithms, DkimRoundTrip, testing::Values("ed25519", "rsa"));

// ---- TLSA: computed here, independently, from the served chain ------------

std::vector<bssl::UniquePtr<X509>> ReadChain(const std::string& pem) {
  std::vector<bssl::UniquePtr<X509>> out;
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.emplace_back(cert);
  }
  return out;
}

std::string SpkiSha256(X509* cert) {
  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(cert));
  uint8_t* der = nullptr;
  const int len = i2d_PUBKEY(key.get(), &der);
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string CertSha512(X509* cert) {
  uint8_t* der = nullptr;
  const int len = i2d_X509(cert, &der);
  uint8_t digest[SHA512_DIGEST_LENGTH];
  SHA512(der, static_cast<size_t>(len), digest);
  OPENSSL_free(der);
  return std::string(reinterpret_cast<const char*>(digest), sizeof(digest));
}

std::string Complement(std::string s) {
  for (char& c : s) c = static_cast<char>(~static_cast<unsigned char>(c));
  return s;
}

TEST(BuildScenarioDns, TlsaDataMatchesTheCertificateTheReceiverServes) {
  absl::StatusOr<Built> b = Build(R"yaml(receivers:
  - name: example.test
    listeners: ["127.0.0.2:2525"]
    dns:
      authenticated: true
      tlsa:
        - {usage: 3, selector: 1, matching: 1}
        - {usage: 2, selector: 0, matching: 2}
        - {usage: 3, selector: 1, matching: 1, mismatch: true}
)yaml",
                                  "tlsa");
  ASSERT_TRUE(b.ok()) << b.status();
  const std::vector<bssl::UniquePtr<X509>> chain =
      ReadChain(ReadFile(b->tls.receivers[0].chain_file));
  ASSERT_EQ(chain.size(), 2u);  // leaf, intermediate
  const std::string leaf_spki = SpkiSha256(chain[0].get());
  const std::string intermediate = CertSha512(chain[1].get());
  EXPECT_TRUE(b->dns.zones.at(0).authenticated);
  // Where a sender looks (port 25) and where the listener is.
  for (const std::string owner : {"_25._tcp.mx.example.test", "_2525._tcp.mx.example.test"}) {
    SCOPED_TRACE(owner);
    const auto records = Records(b->dns, owner, dns::RrType::kTlsa);
    ASSERT_EQ(records.size(), 3u);
    const auto& t0 = std::get<dns::TlsaData>(records[0]->data);
    EXPECT_EQ(t0.usage, 3);
    EXPECT_EQ(t0.selector, 1);
    EXPECT_EQ(t0.matching_type, 1);
    EXPECT_EQ(t0.association_data, leaf_spki);
    const auto& t1 = std::get<dns::TlsaData>(records[1]->data);
    EXPECT_EQ(t1.usage, 2);
    EXPECT_EQ(t1.association_data, intermediate);
    const auto& t2 = std::get<dns::TlsaData>(records[2]->data);
    EXPECT_NE(t2.association_data, leaf_spki);
    EXPECT_EQ(t2.association_data, Complement(leaf_spki));
  }
}

TEST(BuildScenarioDns, TlsaOfAnExpiredCertificateStillNamesTheServedLeaf) {
  absl::StatusOr<Built> b = Build(
      "receivers: [{name: example.test, starttls: {certificate: expired}, dns: {tlsa: "
      "[{usage: 3, selector: 1, matching: 1}]}}]\n",
      "tlsa-expired");
  ASSERT_TRUE(b.ok()) << b.status();
  const auto chain = ReadChain(ReadFile(b->tls.receivers[0].chain_file));
  ASSERT_FALSE(chain.empty());
  const auto records = Records(b->dns, "_25._tcp.mx.example.test", dns::RrType::kTlsa);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(std::get<dns::TlsaData>(records[0]->data).association_data, SpkiSha256(chain[0].get()));
}

// ---- MTA-STS ----------------------------------------------------------------

TEST(BuildScenarioDns, MtaStsPublishesTxtAddressAndAPolicySiteTrustedByTheTestRoot) {
  absl::StatusOr<Built> b = Build(
      "receivers: [{name: example.test, listeners: [\"127.0.0.2:2525\"], mta_sts: {mode: "
      "enforce, max_age: 86400}}]\n",
      "sts");
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->dns.policy_sites.size(), 1u);
  const MtaStsSite& site = b->dns.policy_sites[0];
  EXPECT_EQ(site.domain, "example.test");
  EXPECT_EQ(site.host, "127.0.0.2");
  EXPECT_EQ(site.port, 443);
  EXPECT_EQ(site.status, 200);
  EXPECT_EQ(site.content_type, "text/plain");
  EXPECT_EQ(site.location, "");
  EXPECT_EQ(site.delay.count(), 0);
  EXPECT_EQ(site.body,
            "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 86400\r\n");
  // The id is the first 20 hex digits of the policy's SHA-256.
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(site.body.data()), site.body.size(), digest);
  const std::string id =
      absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), 10));
  EXPECT_EQ(Joined(*Records(b->dns, "_mta-sts.example.test", dns::RrType::kTxt).at(0)),
            "v=STSv1; id=" + id);
  EXPECT_EQ(Show(*Records(b->dns, "mta-sts.example.test", dns::RrType::kA).at(0)),
            "mta-sts.example.test A 127.0.0.2");

  // The chain is for mta-sts.example.test and the scenario's ca.pem trusts it.
  auto chain = ReadChain(site.chain_pem);
  ASSERT_EQ(chain.size(), 2u);
  auto roots = ReadChain(ReadFile(TempDir("sts") + "/ca.pem"));
  ASSERT_EQ(roots.size(), 1u);
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), roots[0].get());
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  sk_X509_push(untrusted.get(), X509_up_ref(chain[1].get()) ? chain[1].get() : nullptr);
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  ASSERT_TRUE(X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get()));
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  const std::string name = "mta-sts.example.test";
  X509_VERIFY_PARAM_set1_host(param, name.data(), name.size());
  EXPECT_EQ(X509_verify_cert(ctx.get()), 1)
      << X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  // The key is the leaf's.
  bssl::UniquePtr<BIO> kb(
      BIO_new_mem_buf(site.key_pem.data(), static_cast<int>(site.key_pem.size())));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
  ASSERT_TRUE(key);
  EXPECT_EQ(X509_check_private_key(chain[0].get(), key.get()), 1);
}

TEST(BuildScenarioDns, MtaStsMisbehavioursReachTheSite) {
  absl::StatusOr<Built> b = Build(R"yaml(receivers:
  - name: example.test
    listeners: ["127.0.0.2:2525"]
    mta_sts:
      mode: testing
      mx: ["*.elsewhere.test", mx.example.test]
      id: "20260101"
      redirect: "https://other.test/.well-known/mta-sts.txt"
      content_type: text/html
      delay: 2s
      certificate: expired
      listen: "127.0.0.3:8443"
  - name: other.test
    listeners: ["127.0.0.4:2525"]
    mta_sts: {body: "garbage\n", status: 404, txt: false, listen: "0.0.0.0:0"}
)yaml",
                                  "sts-bad");
  ASSERT_TRUE(b.ok()) << b.status();
  ASSERT_EQ(b->dns.policy_sites.size(), 2u);
  const MtaStsSite& a = b->dns.policy_sites[0];
  EXPECT_EQ(a.body,
            "version: STSv1\r\nmode: testing\r\nmx: *.elsewhere.test\r\nmx: mx.example.test\r\n"
            "max_age: 604800\r\n");
  EXPECT_EQ(a.status, 301);
  EXPECT_EQ(a.location, "https://other.test/.well-known/mta-sts.txt");
  EXPECT_EQ(a.content_type, "text/html");
  EXPECT_EQ(a.delay, std::chrono::seconds(2));
  EXPECT_EQ(a.host, "127.0.0.3");
  EXPECT_EQ(a.port, 8443);
  EXPECT_EQ(Joined(*Records(b->dns, "_mta-sts.example.test", dns::RrType::kTxt).at(0)),
            "v=STSv1; id=20260101");
  EXPECT_EQ(Show(*Records(b->dns, "mta-sts.example.test", dns::RrType::kA).at(0)),
            "mta-sts.example.test A 127.0.0.3");
  // The expired variant, for mta-sts.example.test.
  auto chain = ReadChain(a.chain_pem);
  ASSERT_FALSE(chain.empty());
  EXPECT_EQ(X509_check_host(chain[0].get(), "mta-sts.example.test", 20, 0, nullptr), 1);
  EXPECT_LT(X509_cmp_time(X509_get0_notAfter(chain[0].get()), nullptr), 0);  // in the past

  const MtaStsSite& o = b->dns.policy_sites[1];
  EXPECT_EQ(o.body, "garbage\n");
  EXPECT_EQ(o.status, 404);
  EXPECT_TRUE(Records(b->dns, "_mta-sts.other.test", dns::RrType::kTxt).empty());
  // Bound on every address, published at one a sender can reach.
  EXPECT_EQ(o.host, "0.0.0.0");
  EXPECT_EQ(o.port, 0);
  EXPECT_EQ(Show(*Records(b->dns, "mta-sts.other.test", dns::RrType::kA).at(0)),
            "mta-sts.other.test A 127.0.0.1");
}

// ---- Faults, extra zones, names outside the domain --------------------------

TEST(BuildScenarioDns, FaultsAndExtraZonesLandInTheirZones) {
  absl::StatusOr<Built> b = Build(R"yaml(receivers:
  - name: example.test
    hostname: mail.hosting.test
    dns:
      faults:
        - {name: _dmarc, type: TXT, fault: timeout}
        - {name: "@", fault: servfail}
        - {name: mail.hosting.test., type: A, fault: truncate}
zones:
  - apex: example.test
    text: |
      extra 300 IN TXT "hello"
  - apex: other.test
    authenticated: true
    text: |
      @ 300 IN A 192.0.2.1
      $TIMEOUT slow.other.test. TXT
)yaml",
                                  "faults");
  ASSERT_TRUE(b.ok()) << b.status();
  const dns::ServedZone* example = FindZone(b->dns, "example.test");
  const dns::ServedZone* hosting = FindZone(b->dns, "mail.hosting.test");
  const dns::ServedZone* other = FindZone(b->dns, "other.test");
  ASSERT_TRUE(example && hosting && other);
  EXPECT_EQ(b->dns.zones.size(), 3u);
  // The hostname outside the domain gets a zone of its own.
  EXPECT_EQ(ShowAll(*hosting), std::vector<std::string>{"mail.hosting.test A 127.0.0.1"});
  ASSERT_EQ(hosting->faults.size(), 1u);
  EXPECT_EQ(hosting->faults[0].fault, dns::ServeFault::kTruncate);
  EXPECT_EQ(hosting->faults[0].type, dns::RrType::kA);
  ASSERT_EQ(example->faults.size(), 2u);
  EXPECT_EQ(example->faults[0].name, "_dmarc.example.test");
  EXPECT_EQ(example->faults[0].type, dns::RrType::kTxt);
  EXPECT_EQ(example->faults[0].fault, dns::ServeFault::kTimeout);
  EXPECT_EQ(example->faults[1].name, "example.test");
  EXPECT_FALSE(example->faults[1].type);
  EXPECT_EQ(example->faults[1].fault, dns::ServeFault::kServfail);
  EXPECT_EQ(Joined(*Records(b->dns, "extra.example.test", dns::RrType::kTxt).at(0)), "hello");
  EXPECT_TRUE(other->authenticated);
  EXPECT_EQ(ShowAll(*other), std::vector<std::string>{"other.test A 192.0.2.1"});
  ASSERT_EQ(other->faults.size(), 1u);
  EXPECT_EQ(other->faults[0].name, "slow.other.test");
  EXPECT_EQ(other->faults[0].fault, dns::ServeFault::kTimeout);
  EXPECT_TRUE(dns::AuthoritativeResponder::Create(b->dns.zones).ok());
}

TEST(BuildScenarioDns, FaultOutsideEveryZoneNamesTheScenarioReceiverAndLine) {
  absl::StatusOr<Built> b = Build(
      "receivers:\n  - name: example.test\n    dns:\n      faults:\n"
      "        - {name: x.nowhere.test., fault: refused}\n",
      "fault-outside");
  ASSERT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(base::StatusText(b.status()),
            "t.yaml:5:11: scenario t, receiver example.test: the fault on x.nowhere.test is "
            "outside every zone fakemx serves");
}

TEST(BuildScenarioDns, ReceiverWhoseNameIsNoDnsNameIsAClearError) {
  absl::StatusOr<Built> b =
      Build("receivers: [{name: \"a!b.test\", hostname: mx.a.test, starttls: {enabled: false}}]\n",
            "bad-name");
  ASSERT_EQ(b.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(
      base::StatusText(b.status()).find("receiver a!b.test: fakemx's DNS cannot serve this domain"),
      std::string::npos)
      << b.status();
}

// ---- Determinism ------------------------------------------------------------

constexpr char kEverything[] = R"yaml(receivers:
  - name: example.test
    listeners: ["127.0.0.2:2525"]
    dns:
      dkim: {algorithm: rsa}
      tlsa: [{usage: 3, selector: 1, matching: 1}, {usage: 2, selector: 1, matching: 2}]
    mta_sts: {mode: enforce}
  - name: b.test
    listeners: ["127.0.0.3:2525"]
)yaml";

std::vector<std::string> Everything(const Built& b) {
  std::vector<std::string> out;
  for (const dns::ServedZone& z : b.dns.zones) {
    out.push_back("zone " + z.apex);
    for (const std::string& r : ShowAll(z)) out.push_back(r);
  }
  for (const MtaStsSite& s : b.dns.policy_sites) out.push_back(s.body + s.chain_pem + s.key_pem);
  for (const DkimKey& k : b.dns.dkim_keys) out.push_back(k.private_pem);
  return out;
}

TEST(BuildScenarioDns, SameSeedSameRecordsAndKeysOtherSeedOthers) {
  absl::StatusOr<Built> one = Build(kEverything, "det-1", 7);
  absl::StatusOr<Built> two = Build(kEverything, "det-2", 7);
  absl::StatusOr<Built> other = Build(kEverything, "det-3", 8);
  ASSERT_TRUE(one.ok() && two.ok() && other.ok()) << one.status() << two.status();
  EXPECT_EQ(Everything(*one), Everything(*two));
  const std::vector<std::string> a = Everything(*one), c = Everything(*other);
  ASSERT_EQ(a.size(), c.size());
  EXPECT_NE(a, c);
  // The DKIM keys differ per domain under one seed.
  ASSERT_EQ(one->dns.dkim_keys.size(), 2u);
  EXPECT_NE(one->dns.dkim_keys[0].private_pem, one->dns.dkim_keys[1].private_pem);
}

// ---- The catalogue ----------------------------------------------------------

TEST(BuildScenarioDns, EveryCatalogueScenarioBuildsZonesTheResponderAccepts) {
  for (const CatalogueEntry& e : ScenarioCatalogue()) {
    SCOPED_TRACE(std::string(e.name));
    absl::StatusOr<Scenario> s = CatalogueScenario(e.name);
    ASSERT_TRUE(s.ok()) << s.status();
    FakemxFlags flags;
    const std::string dir = TempDir("catalogue-" + std::string(e.name));
    absl::StatusOr<ScenarioTls> tls = SetUpScenarioTls(*s, flags, dir);
    ASSERT_TRUE(tls.ok()) << tls.status();
    absl::StatusOr<ScenarioDns> dns = BuildScenarioDns(*s, *tls, dir);
    ASSERT_TRUE(dns.ok()) << dns.status();
    EXPECT_TRUE(dns::AuthoritativeResponder::Create(dns->zones).ok());
  }
}

// ---- The catalogue's DNS worlds, as a sender's resolver sees them -----------

absl::StatusOr<Built> BuildCatalogue(const std::string& name) {
  absl::StatusOr<Scenario> scenario = CatalogueScenario(name);
  if (!scenario.ok()) return scenario.status();
  FakemxFlags flags;
  const std::string dir = TempDir("world-" + name);
  absl::StatusOr<ScenarioTls> tls = SetUpScenarioTls(*scenario, flags, dir);
  if (!tls.ok()) return tls.status();
  absl::StatusOr<ScenarioDns> dns = BuildScenarioDns(*scenario, *tls, dir);
  if (!dns.ok()) return dns.status();
  return Built{*std::move(scenario), *std::move(tls), *std::move(dns)};
}

// One query over UDP with the AD bit set (RFC 6840 §5.7: a stub asking for
// the AD bit), answered by the responder fakemx runs.
struct Answer {
  bool sent = false;
  bool ad = false;
  dns::LookupResult result;
};

Answer Ask(const dns::AuthoritativeResponder& responder, const std::string& name,
           dns::RrType type) {
  dns::Message query = dns::MakeQuery(0x1234, name, static_cast<uint16_t>(type));
  query.header.z = 0x2;  // AD: the middle of the three bits (RFC 4035 §3.2.3)
  auto wire = dns::BuildMessage(query);
  Answer out;
  if (!wire.ok()) return out;
  const dns::DnsResponse response = responder.Respond(*wire, dns::QueryTransport::kUdp);
  out.sent = response.send;
  if (!response.send) return out;
  auto parsed = dns::ParseMessage(response.wire);
  out.ad = parsed.ok() && (parsed->header.z & 0x2) != 0;
  out.result = dns::InterpretAnswer(name, type, response.wire);
  return out;
}

std::string AnswerText(const Answer& a) {
  if (!a.sent) return "(no answer)";
  if (!a.result.ok()) return "(status " + std::to_string(static_cast<int>(a.result.status)) + ")";
  std::string out;
  for (const dns::ResourceRecord& r : a.result.records) out += (out.empty() ? "" : "|") + Show(r);
  return out;
}

struct WorldRow {
  std::string name;
  std::function<void(const Built&, const dns::AuthoritativeResponder&)> check;
};

std::string ServedLeafSpki(const Built& b) {
  auto chain = ReadChain(ReadFile(b.tls.receivers.at(0).chain_file));
  return chain.empty() ? "" : SpkiSha256(chain[0].get());
}

TEST(BuildScenarioDns, CatalogueDnsWorldsAnswerAsTheirEntriesSay) {
  using dns::RrType;
  const auto default_mx = [](const dns::AuthoritativeResponder& r) {
    EXPECT_EQ(AnswerText(Ask(r, "example.test", RrType::kMx)),
              "example.test MX 10 mx.example.test");
    EXPECT_EQ(AnswerText(Ask(r, "mx.example.test", RrType::kA)), "mx.example.test A 127.0.0.1");
  };
  const auto site_of = [](const Built& b) -> const MtaStsSite& {
    EXPECT_EQ(b.dns.policy_sites.size(), 1u);
    return b.dns.policy_sites.at(0);
  };
  const auto sts_txt = [](const dns::AuthoritativeResponder& r) {
    const Answer a = Ask(r, "_mta-sts.example.test", RrType::kTxt);
    EXPECT_TRUE(absl::StartsWith(AnswerText(a), "_mta-sts.example.test TXT \"v=STSv1; id="))
        << AnswerText(a);
    EXPECT_EQ(AnswerText(Ask(r, "mta-sts.example.test", RrType::kA)),
              "mta-sts.example.test A 127.0.0.1");
  };
  const WorldRow rows[] = {
      {"good",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         default_mx(r);
         EXPECT_EQ(AnswerText(Ask(r, "example.test", RrType::kTxt)),
                   "example.test TXT \"v=spf1 ip4:127.0.0.1 -all\"");
         EXPECT_EQ(Ask(r, "_mta-sts.example.test", RrType::kTxt).result.status,
                   dns::LookupStatus::kNxDomain);
         EXPECT_EQ(Ask(r, "_25._tcp.mx.example.test", RrType::kTlsa).result.status,
                   dns::LookupStatus::kNxDomain);
         EXPECT_FALSE(Ask(r, "example.test", RrType::kMx).ad);
         EXPECT_TRUE(b.dns.policy_sites.empty());
       }},
      {"no-mx",
       [&](const Built&, const dns::AuthoritativeResponder& r) {
         EXPECT_EQ(Ask(r, "example.test", RrType::kMx).result.status, dns::LookupStatus::kNoData);
         // RFC 5321 §5.1: the implicit MX, the domain's own address.
         EXPECT_EQ(AnswerText(Ask(r, "example.test", RrType::kA)), "example.test A 127.0.0.1");
       }},
      {"no-spf",
       [&](const Built&, const dns::AuthoritativeResponder& r) {
         default_mx(r);
         EXPECT_EQ(Ask(r, "example.test", RrType::kTxt).result.status, dns::LookupStatus::kNoData);
         EXPECT_EQ(Ask(r, "_dmarc.example.test", RrType::kTxt).result.status,
                   dns::LookupStatus::kAnswer);
       }},
      {"broken-dmarc",
       [&](const Built&, const dns::AuthoritativeResponder& r) {
         EXPECT_EQ(AnswerText(Ask(r, "_dmarc.example.test", RrType::kTxt)),
                   "_dmarc.example.test TXT \"v=DMARC1; p=bogus\"");
       }},
      {"dns-timeout",
       [&](const Built&, const dns::AuthoritativeResponder& r) {
         default_mx(r);
         EXPECT_FALSE(Ask(r, "example.test", RrType::kTxt).sent);
         EXPECT_FALSE(Ask(r, "_dmarc.example.test", RrType::kTxt).sent);
         EXPECT_TRUE(Ask(r, "mxkit._domainkey.example.test", RrType::kTxt).sent);
       }},
      {"mta-sts-enforce",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         default_mx(r);
         sts_txt(r);
         const MtaStsSite& s = site_of(b);
         EXPECT_EQ(s.status, 200);
         EXPECT_EQ(s.body,
                   "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmax_age: 604800\r\n");
       }},
      {"mta-sts-mismatch",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         sts_txt(r);
         EXPECT_EQ(site_of(b).body,
                   "version: STSv1\r\nmode: enforce\r\nmx: mx.elsewhere.test\r\n"
                   "max_age: 604800\r\n");
       }},
      {"mta-sts-testing-mismatch",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         sts_txt(r);
         EXPECT_EQ(site_of(b).body,
                   "version: STSv1\r\nmode: testing\r\nmx: mx.elsewhere.test\r\n"
                   "max_age: 604800\r\n");
       }},
      {"mta-sts-bad-cert",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         sts_txt(r);
         auto chain = ReadChain(site_of(b).chain_pem);
         ASSERT_FALSE(chain.empty());
         EXPECT_LT(X509_cmp_time(X509_get0_notAfter(chain[0].get()), nullptr), 0);
       }},
      {"mta-sts-404",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         sts_txt(r);
         EXPECT_EQ(site_of(b).status, 404);
       }},
      {"mta-sts-redirect",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         sts_txt(r);
         EXPECT_EQ(site_of(b).status, 301);
         EXPECT_EQ(site_of(b).location, "https://mta-sts.elsewhere.test/.well-known/mta-sts.txt");
       }},
      {"dane-good",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         const Answer a = Ask(r, "_25._tcp.mx.example.test", RrType::kTlsa);
         EXPECT_TRUE(a.ad);
         EXPECT_EQ(AnswerText(a), "_25._tcp.mx.example.test TLSA 3 1 1 " +
                                      absl::BytesToHexString(ServedLeafSpki(b)));
       }},
      {"dane-mismatch",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         const Answer a = Ask(r, "_25._tcp.mx.example.test", RrType::kTlsa);
         EXPECT_TRUE(a.ad);
         EXPECT_EQ(AnswerText(a), "_25._tcp.mx.example.test TLSA 3 1 1 " +
                                      absl::BytesToHexString(Complement(ServedLeafSpki(b))));
       }},
      {"dane-unsigned",
       [&](const Built& b, const dns::AuthoritativeResponder& r) {
         const Answer a = Ask(r, "_25._tcp.mx.example.test", RrType::kTlsa);
         EXPECT_FALSE(a.ad);
         EXPECT_EQ(AnswerText(a), "_25._tcp.mx.example.test TLSA 3 1 1 " +
                                      absl::BytesToHexString(Complement(ServedLeafSpki(b))));
       }},
  };
  for (const WorldRow& row : rows) {
    SCOPED_TRACE(row.name);
    absl::StatusOr<Built> b = BuildCatalogue(row.name);
    ASSERT_TRUE(b.ok()) << b.status();
    absl::StatusOr<dns::AuthoritativeResponder> responder =
        dns::AuthoritativeResponder::Create(b->dns.zones);
    ASSERT_TRUE(responder.ok()) << responder.status();
    row.check(*b, *responder);
  }
}

}  // namespace
}  // namespace mxkit::fakemx
