// The DKIM keys and records BuildScenarioDns makes, checked with software
// nobody here wrote: Debian's dkimpy signs with the exported key and verifies
// against the published record, and mxkit's verifier accepts what dkimpy
// signed, through a resolver loaded with the generated zone.

#include <sys/wait.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "auth/dkim/signature.h"
#include "auth/dkim/verifier.h"
#include "base/base64.h"
#include "dns/static_resolver.h"
#include "fakemx/flags.h"
#include "fakemx/scenario.h"
#include "fakemx/scenario_dns.h"
#include "fakemx/tls_setup.h"
#include "gtest/gtest.h"
#include "testing/conformance.h"

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

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string HelperPath() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr) return "fakemx/testdata/dkimpy_scenario_helper.py";
  return std::string(srcdir) + "/" + (workspace ? workspace : "mxkit") +
         "/fakemx/testdata/dkimpy_scenario_helper.py";
}

// The 32-byte seed of an Ed25519 PKCS#8 PEM, base64: the private key form
// dkimpy reads (RFC 8463 §4 shows keys this way).
std::string Ed25519SeedBase64(const std::string& pem) {
  bssl::UniquePtr<BIO> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  bssl::UniquePtr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return "";
  uint8_t seed[32];
  size_t len = sizeof(seed);
  if (!EVP_PKEY_get_raw_private_key(key.get(), seed, &len)) return "";
  return base::EncodeBase64(std::string_view(reinterpret_cast<const char*>(seed), len));
}

TEST(ScenarioDnsDkimpy, DkimpySignsWithTheExportedKeysAndVerifiesThePublishedRecords) {
  absl::StatusOr<Scenario> scenario = ParseScenario(R"yaml(receivers:
  - name: ed.test
    listeners: ["127.0.0.2:2525"]
  - name: rsa.test
    listeners: ["127.0.0.3:2525"]
    dns: {dkim: {selector: s2026, algorithm: rsa}}
)yaml",
                                                    "dkimpy.yaml");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const std::string work = TempDir("dkimpy-world");
  FakemxFlags flags;
  absl::StatusOr<ScenarioTls> tls = SetUpScenarioTls(*scenario, flags, work);
  ASSERT_TRUE(tls.ok()) << tls.status();
  absl::StatusOr<ScenarioDns> dns = BuildScenarioDns(*scenario, *tls, work);
  ASSERT_TRUE(dns.ok()) << dns.status();
  ASSERT_EQ(dns->dkim_keys.size(), 2u);

  std::string keys, manifest;
  dns::StaticResolver resolver;
  for (const dns::ServedZone& z : dns->zones) {
    for (const dns::ResourceRecord& r : z.records) {
      resolver.Add(r);
      if (r.type != dns::RrType::kTxt || r.name.find("._domainkey.") == std::string::npos) continue;
      std::string text;
      for (const std::string& s : std::get<dns::TxtData>(r.data).strings) text += s;
      keys += r.name + "\t" + text + "\n";
    }
  }
  for (const DkimKey& k : dns->dkim_keys) {
    const std::string id = k.domain;
    std::string keyfile = k.key_file.substr(k.key_file.rfind('/') + 1);
    if (k.algorithm == "ed25519") {
      keyfile = id + ".seed";
      const std::string seed = Ed25519SeedBase64(ReadFile(k.key_file));
      ASSERT_FALSE(seed.empty());
      WriteFile(work + "/" + keyfile, seed + "\n");
    }
    WriteFile(work + "/" + id + ".eml",
              "From: a@" + k.domain + "\r\nTo: b@elsewhere.test\r\nSubject: world\r\n\r\n"
              "signed by dkimpy\r\n");
    manifest += id + "\t" + k.algorithm + "\t" + k.selector + "\t" + k.domain + "\t" + keyfile +
                "\n";
  }
  WriteFile(work + "/keys.txt", keys);
  WriteFile(work + "/manifest.txt", manifest);

  const std::string command =
      "/usr/bin/python3 '" + HelperPath() + "' '" + work + "' 2>'" + work + "/helper.err'";
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << command;
  if (WEXITSTATUS(status) == 77) {
    MXKIT_SKIP_OR_FAIL("python3-dkim is not installed for /usr/bin/python3 (apt-get install "
                       "python3-dkim python3-nacl): " + ReadFile(work + "/helper.err"));
  }
  ASSERT_EQ(WEXITSTATUS(status), 0) << ReadFile(work + "/helper.err");

  std::map<std::string, std::pair<std::string, std::string>> results;
  std::istringstream in(ReadFile(work + "/results.txt"));
  for (std::string line; std::getline(in, line);) {
    const size_t t1 = line.find('\t'), t2 = line.find('\t', t1 + 1);
    if (t1 == std::string::npos || t2 == std::string::npos) continue;
    results[line.substr(0, t1)] = {line.substr(t1 + 1, t2 - t1 - 1), line.substr(t2 + 1)};
  }
  auth::dkim::Verifier verifier(&resolver);
  for (const DkimKey& k : dns->dkim_keys) {
    SCOPED_TRACE(k.domain + " " + k.algorithm);
    ASSERT_EQ(results.count(k.domain), 1u) << ReadFile(work + "/results.txt");
    EXPECT_EQ(results[k.domain].first, "pass") << results[k.domain].second;
    // And mxkit's verifier agrees on what dkimpy signed.
    const std::string signed_message = ReadFile(work + "/" + k.domain + ".dkimpy.eml");
    absl::StatusOr<auth::dkim::DkimMessage> split = auth::dkim::SplitMessage(signed_message);
    ASSERT_TRUE(split.ok()) << split.status();
    const std::vector<auth::dkim::SignatureResult> verdicts =
        verifier.Verify(split->headers, split->body, /*now=*/1800000000);
    ASSERT_EQ(verdicts.size(), 1u);
    EXPECT_EQ(verdicts[0].result, auth::dkim::DkimResult::kPass) << verdicts[0].reason;
  }
}

}  // namespace
}  // namespace mxkit::fakemx
