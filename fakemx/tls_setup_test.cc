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

TEST(SetUpTls, WritesTheRootTheServedChainAndAPrivateKey) {
  const std::string dir = TempDir() + "/tls";  // created by SetUpTls
  FakemxFlags flags;
  flags.cert = tls::CertVariant::kMissingIntermediate;
  absl::StatusOr<TlsSetup> setup = SetUpTls(flags, "mx.test", dir);
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_NE(setup->context, nullptr);
  EXPECT_EQ(setup->certificate_variant, "missing-intermediate");
  EXPECT_EQ(setup->certificate_hostname, "mx.test");
  EXPECT_EQ(setup->dir, dir);

  const std::string ca = Read(dir + "/ca.pem");
  const std::string chain = Read(dir + "/chain.pem");
  const std::string key = Read(dir + "/key.pem");
  EXPECT_EQ(ca.rfind("-----BEGIN CERTIFICATE-----", 0), 0u) << ca;
  // missing-intermediate serves the leaf alone.
  size_t certs = 0;
  for (size_t at = chain.find("BEGIN CERTIFICATE"); at != std::string::npos;
       at = chain.find("BEGIN CERTIFICATE", at + 1)) {
    ++certs;
  }
  EXPECT_EQ(certs, 1u) << chain;
  EXPECT_NE(key.find("PRIVATE KEY-----"), std::string::npos);
  struct stat st;
  ASSERT_EQ(stat((dir + "/key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST(SetUpTls, TheSameSeedGivesTheSameFilesAndAnotherSeedOthers) {
  const std::string base = TempDir();
  FakemxFlags flags;
  flags.cert_seed = 7;
  ASSERT_TRUE(SetUpTls(flags, "mx.test", base + "/a").ok());
  ASSERT_TRUE(SetUpTls(flags, "mx.test", base + "/b").ok());
  flags.cert_seed = 8;
  ASSERT_TRUE(SetUpTls(flags, "mx.test", base + "/c").ok());
  for (const char* file : {"/ca.pem", "/chain.pem", "/key.pem"}) {
    EXPECT_EQ(Read(base + "/a" + file), Read(base + "/b" + file)) << file;
    EXPECT_NE(Read(base + "/a" + file), Read(base + "/c" + file)) << file;
  }
}

// The flags parser only checks that a list is a list; BoringSSL's verdict
// comes here, before fakemx binds anything, and names the flag.
TEST(SetUpTls, ErrorsNameTheFlagAndWriteNothing) {
  struct Row {
    std::string what;
    FakemxFlags flags;
    std::string prefix;
  };
  FakemxFlags ciphers;
  ciphers.tls_ciphers = "NOT-A-CIPHER";
  FakemxFlags groups;
  groups.tls_groups = "P-999";
  const std::vector<Row> rows = {
      {"ciphers", ciphers, "--tls-ciphers=NOT-A-CIPHER: cipher_list: "},
      {"groups", groups, "--tls-groups=P-999: groups: "},
  };
  for (const Row& row : rows) {
    const std::string dir = TempDir() + "/tls";
    absl::StatusOr<TlsSetup> setup = SetUpTls(row.flags, "mx.test", dir);
    ASSERT_FALSE(setup.ok()) << row.what;
    EXPECT_EQ(Message(setup.status()).substr(0, row.prefix.size()), row.prefix)
        << Message(setup.status());
    struct stat st;
    EXPECT_NE(stat(dir.c_str(), &st), 0) << row.what << ": nothing should be created";
  }
}

TEST(SetUpTls, ADirectoryThatIsAFileIsAnError) {
  const std::string file = TempDir() + "/plain-file";
  std::ofstream(file) << "x";
  absl::StatusOr<TlsSetup> setup = SetUpTls(FakemxFlags{}, "mx.test", file);
  ASSERT_FALSE(setup.ok());
  EXPECT_NE(Message(setup.status()).find(file), std::string::npos) << setup.status();
}

}  // namespace
}  // namespace mxkit::fakemx
