#include "fakemx/tls_setup.h"

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

std::string TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/tls_setup_test-XXXXXX";
  EXPECT_NE(mkdtemp(tmpl.data()), nullptr);
  return tmpl;
}

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string Message(const absl::Status& status) {
  return std::string(status.message().data(), status.message().size());
}

TEST(CertificateHostname, UsesTheServerNameOnlyWhenItCanBeADnsName) {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"mx.test", "mx.test"},
      {"MX.Example.ORG", "mx.example.org"},  // dNSNames compare case-insensitively; we issue lower
      {"mail-1.example.net", "mail-1.example.net"},
      {"buildbox", "mx.test"},   // a single-label machine name
      {"localhost", "mx.test"},
      {"127.0.0.1", "mx.test"},  // an address is no dNSName
      {"[127.0.0.1]", "mx.test"},
      {"a..test", "mx.test"},
      {"mx.test.", "mx.test"},
      {"-mx.test", "mx.test"},
      {"mx_1.test", "mx.test"},
      {"", "mx.test"},
  };
  for (const auto& [input, want] : rows) {
    EXPECT_EQ(CertificateHostname(input), want) << input;
  }
}

Receiver MakeReceiver(std::string name, std::string hostname,
                      tls::CertVariant cert = tls::CertVariant::kGood) {
  Receiver r;
  r.name = std::move(name);
  r.hostname = std::move(hostname);
  r.tls.profile.certificate = cert;
  return r;
}

Scenario OneReceiver(tls::CertVariant cert = tls::CertVariant::kGood) {
  Scenario s;
  s.name = "test";
  s.source = "<test>";
  s.receivers.push_back(MakeReceiver("example.test", "mx.example.test", cert));
  return s;
}

size_t CountCertificates(const std::string& pem) {
  size_t certs = 0;
  for (size_t at = pem.find("BEGIN CERTIFICATE"); at != std::string::npos;
       at = pem.find("BEGIN CERTIFICATE", at + 1)) {
    ++certs;
  }
  return certs;
}

TEST(SetUpScenarioTls, WritesTheRootTheServedChainAndAPrivateKey) {
  const std::string dir = TempDir() + "/tls";  // created by SetUpScenarioTls
  absl::StatusOr<ScenarioTls> setup =
      SetUpScenarioTls(OneReceiver(tls::CertVariant::kMissingIntermediate), FakemxFlags{}, dir);
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_EQ(setup->dir, dir);
  ASSERT_EQ(setup->receivers.size(), 1u);
  const ReceiverTls& r = setup->receivers[0];
  EXPECT_EQ(r.receiver, "example.test");
  EXPECT_NE(r.context, nullptr);
  EXPECT_EQ(r.certificate_variant, "missing-intermediate");
  EXPECT_EQ(r.certificate_hostname, "mx.example.test");
  EXPECT_EQ(r.chain_file, dir + "/example.test.chain.pem");
  EXPECT_EQ(r.key_file, dir + "/example.test.key.pem");

  const std::string ca = Read(dir + "/ca.pem");
  const std::string chain = Read(dir + "/chain.pem");
  const std::string key = Read(dir + "/key.pem");
  EXPECT_EQ(ca.rfind("-----BEGIN CERTIFICATE-----", 0), 0u) << ca;
  // missing-intermediate serves the leaf alone.
  EXPECT_EQ(CountCertificates(chain), 1u) << chain;
  EXPECT_NE(key.find("PRIVATE KEY-----"), std::string::npos);
  // The per-receiver files hold the same for the first receiver.
  EXPECT_EQ(Read(r.chain_file), chain);
  EXPECT_EQ(Read(r.key_file), key);
  struct stat st;
  for (const std::string& k : {dir + "/key.pem", r.key_file}) {
    ASSERT_EQ(stat(k.c_str(), &st), 0) << k;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << k;
  }
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

// Several receivers: one root for all, each leaf for its own hostname, the
// first receiver's also as chain.pem; a receiver without TLS gets nothing.
TEST(SetUpScenarioTls, EachReceiverGetsACertificateForItsHostnameUnderOneRoot) {
  Scenario s;
  s.name = "two";
  s.source = "two.yaml";
  s.receivers.push_back(MakeReceiver("a.test", "mx.a.test", tls::CertVariant::kExpired));
  s.receivers.push_back(MakeReceiver("b.test", "mx.b.test", tls::CertVariant::kGood));
  s.receivers.push_back(MakeReceiver("c.test", "mx.c.test"));
  s.receivers.back().tls.enabled = false;
  s.receivers.push_back(MakeReceiver("d.test", "localhost", tls::CertVariant::kExpired));
  const std::string dir = TempDir() + "/tls";
  absl::StatusOr<ScenarioTls> setup = SetUpScenarioTls(s, FakemxFlags{}, dir);
  ASSERT_TRUE(setup.ok()) << setup.status();
  ASSERT_EQ(setup->receivers.size(), 4u);
  EXPECT_EQ(setup->receivers[0].certificate_hostname, "mx.a.test");
  EXPECT_EQ(setup->receivers[0].certificate_variant, "expired");
  EXPECT_EQ(setup->receivers[1].certificate_hostname, "mx.b.test");
  EXPECT_EQ(setup->receivers[1].certificate_variant, "good");
  EXPECT_EQ(setup->receivers[2].context, nullptr);
  EXPECT_EQ(setup->receivers[2].chain_file, "");
  EXPECT_EQ(setup->receivers[3].certificate_hostname, "mx.test");  // no DNS name: the fallback

  EXPECT_EQ(Read(dir + "/chain.pem"), Read(dir + "/a.test.chain.pem"));
  EXPECT_NE(Read(dir + "/a.test.chain.pem"), Read(dir + "/b.test.chain.pem"));
  struct stat st;
  EXPECT_NE(stat((dir + "/c.test.chain.pem").c_str(), &st), 0);
  EXPECT_EQ(CountCertificates(Read(dir + "/d.test.chain.pem")), 2u);
  // ca.pem is the root of every receiver's chain: the same as a
  // one-receiver setup with the same seed writes.
  const std::string other = TempDir() + "/tls";
  ASSERT_TRUE(SetUpScenarioTls(OneReceiver(), FakemxFlags{}, other).ok());
  EXPECT_EQ(Read(dir + "/ca.pem"), Read(other + "/ca.pem"));
  EXPECT_FALSE(Read(dir + "/ca.pem").empty());
}

TEST(SetUpScenarioTls, TheSameSeedGivesTheSameFilesAndAnotherSeedOthers) {
  const std::string base = TempDir();
  FakemxFlags flags;
  flags.cert_seed = 7;
  ASSERT_TRUE(SetUpScenarioTls(OneReceiver(), flags, base + "/a").ok());
  ASSERT_TRUE(SetUpScenarioTls(OneReceiver(), flags, base + "/b").ok());
  flags.cert_seed = 8;
  ASSERT_TRUE(SetUpScenarioTls(OneReceiver(), flags, base + "/c").ok());
  for (const char* file : {"/ca.pem", "/chain.pem", "/key.pem", "/example.test.key.pem"}) {
    EXPECT_EQ(Read(base + "/a" + file), Read(base + "/b" + file)) << file;
    EXPECT_NE(Read(base + "/a" + file), Read(base + "/c" + file)) << file;
  }
}

// BoringSSL's verdict on a list comes here, before fakemx binds anything,
// and names the flag when a flag gave the setting, else the receiver.
TEST(SetUpScenarioTls, ErrorsNameTheFlagOrTheReceiverAndWriteNothing) {
  struct Row {
    std::string what;
    Scenario scenario;
    FakemxFlags flags;
    std::string prefix;
  };
  Scenario ciphers = OneReceiver();
  ciphers.receivers[0].tls.profile.cipher_list = "NOT-A-CIPHER";
  FakemxFlags ciphers_flag;
  ciphers_flag.tls_ciphers = "NOT-A-CIPHER";
  ciphers_flag.given = {"--tls-ciphers"};
  Scenario groups = OneReceiver();
  groups.receivers[0].tls.profile.groups = "P-999";
  FakemxFlags groups_flag;
  groups_flag.tls_groups = "P-999";
  groups_flag.given = {"--tls-groups"};
  Scenario from_file = OneReceiver();
  from_file.source = "x.yaml";
  from_file.receivers[0].position = {3, 5};
  from_file.receivers[0].tls.profile.groups = "P-999";
  Scenario second;
  second.name = "pair";
  second.source = "<catalogue>";
  second.receivers = {MakeReceiver("a.test", "mx.a.test"), MakeReceiver("b.test", "mx.b.test")};
  second.receivers[1].tls.profile.cipher_list = "NOPE";
  Scenario bad_name = OneReceiver();
  bad_name.receivers[0].name = "../x";
  const std::vector<Row> rows = {
      {"ciphers from the flag", ciphers, ciphers_flag,
       "--tls-ciphers=NOT-A-CIPHER: cipher_list: "},
      {"groups from the flag", groups, groups_flag, "--tls-groups=P-999: groups: "},
      {"ciphers from the scenario", ciphers, FakemxFlags{},
       "scenario test, receiver example.test: cipher_list: "},
      {"groups from a file", from_file, FakemxFlags{},
       "x.yaml:3:5: scenario test, receiver example.test: groups: "},
      {"the second receiver", second, FakemxFlags{},
       "scenario pair, receiver b.test: cipher_list: "},
      {"a name that is no file name", bad_name, FakemxFlags{},
       "receiver \"../x\": its name cannot name the files of its certificate in --tls-dir"},
  };
  for (const Row& row : rows) {
    const std::string dir = TempDir() + "/tls";
    absl::StatusOr<ScenarioTls> setup = SetUpScenarioTls(row.scenario, row.flags, dir);
    ASSERT_FALSE(setup.ok()) << row.what;
    EXPECT_EQ(Message(setup.status()).substr(0, row.prefix.size()), row.prefix)
        << row.what << ": " << Message(setup.status());
    struct stat st;
    EXPECT_NE(stat(dir.c_str(), &st), 0) << row.what << ": nothing should be created";
  }
}

TEST(SetUpScenarioTls, ADirectoryThatIsAFileIsAnError) {
  const std::string file = TempDir() + "/plain-file";
  std::ofstream(file) << "x";
  absl::StatusOr<ScenarioTls> setup = SetUpScenarioTls(OneReceiver(), FakemxFlags{}, file);
  ASSERT_FALSE(setup.ok());
  EXPECT_NE(Message(setup.status()).find(file), std::string::npos) << setup.status();
}

}  // namespace
}  // namespace mxkit::fakemx
