// RFC 8463 Appendix A: the worked example, read at test time from
// $MXKIT_SHARED_DIR/conformance/dkim/ (format in the README there).

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "auth/dkim/canonicalize.h"
#include "auth/dkim/internal/sha256_sink.h"
#include "auth/dkim/signature.h"
#include "auth/dkim/signer.h"
#include "auth/dkim/tag_list.h"
#include "auth/dkim/verifier.h"
#include "base/ascii.h"
#include "base/base64.h"
#include "dns/static_resolver.h"
#include "gtest/gtest.h"
#include "testing/conformance.h"

namespace mxkit::auth::dkim {
namespace {

constexpr char kPublishedBodyHash[] = "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=";

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::string Dir() {
  const char* shared = std::getenv("MXKIT_SHARED_DIR");
  return shared == nullptr ? "" : std::string(shared) + "/conformance/dkim/";
}

struct Vectors {
  std::vector<std::pair<std::string, std::string>> txt;  // name, value
  std::string message;                                     // CRLF
  std::string ed25519_seed_b64;
  std::string rsa_pem;
};

enum class LoadOutcome { kLoaded, kAbsent, kMalformed };

// Loads the vectors or says why not: kAbsent is a skip (a failure under
// MXKIT_REQUIRE_CONFORMANCE), kMalformed always a failure.
LoadOutcome Load(Vectors* v, std::string* why) {
  if (std::getenv("MXKIT_SHARED_DIR") == nullptr) {
    *why = "MXKIT_SHARED_DIR is not set; the RFC 8463 vectors live in "
           "$MXKIT_SHARED_DIR/conformance/dkim/ (run through ./bazelw with ../shared beside the "
           "checkout)";
    return LoadOutcome::kAbsent;
  }
  std::string text;
  if (!ReadFile(Dir() + "rfc8463-appendix-a.txt", &text) ||
      !ReadFile(Dir() + "rfc8463-ed25519.seed", &v->ed25519_seed_b64) ||
      !ReadFile(Dir() + "rfc8463-rsa.pem", &v->rsa_pem)) {
    *why = "RFC 8463 vectors not found: looked for rfc8463-appendix-a.txt, rfc8463-ed25519.seed "
           "and rfc8463-rsa.pem under " + Dir() +
           " (run through ./bazelw with ../shared beside the checkout, or set MXKIT_SHARED_DIR)";
    return LoadOutcome::kAbsent;
  }
  std::size_t blank = text.find("\n\n");
  if (blank == std::string::npos) {
    *why = Dir() + "rfc8463-appendix-a.txt: no blank line between TXT records and message";
    return LoadOutcome::kMalformed;
  }
  std::istringstream records(text.substr(0, blank + 1));
  std::string line;
  while (std::getline(records, line)) {
    std::size_t space = line.find(' ');
    if (space == std::string::npos) continue;
    v->txt.emplace_back(line.substr(0, space), line.substr(space + 1));
  }
  for (char c : text.substr(blank + 2)) {
    if (c == '\n') v->message += "\r\n";
    else v->message += c;
  }
  while (!v->ed25519_seed_b64.empty() &&
         (v->ed25519_seed_b64.back() == '\n' || v->ed25519_seed_b64.back() == '\r')) {
    v->ed25519_seed_b64.pop_back();
  }
  return LoadOutcome::kLoaded;
}

#define LOAD_OR_SKIP(v)                                          \
  Vectors v;                                                     \
  {                                                              \
    std::string why;                                             \
    switch (Load(&v, &why)) {                                    \
      case LoadOutcome::kLoaded: break;                          \
      case LoadOutcome::kAbsent: MXKIT_SKIP_OR_FAIL(why); break; \
      case LoadOutcome::kMalformed: GTEST_FAIL() << why;         \
    }                                                            \
  }

void Serve(const Vectors& v, dns::StaticResolver* resolver) {
  for (const auto& [name, value] : v.txt) {
    dns::ResourceRecord rr;
    rr.name = name;
    rr.type = dns::RrType::kTxt;
    rr.ttl = 300;
    rr.data = dns::TxtData{{value}};
    resolver->Add(rr);
  }
}

// t=1528637909 in the vectors; any time after it works (no x=).
constexpr int64_t kNow = 1528637909 + 86400;

TEST(Rfc8463, BothAppendixASignaturesVerify) {
  LOAD_OR_SKIP(v);
  ASSERT_EQ(v.txt.size(), 2u);
  dns::StaticResolver resolver;
  Serve(v, &resolver);
  Verifier verifier(&resolver);
  absl::StatusOr<std::vector<SignatureResult>> results = verifier.VerifyMessage(v.message, kNow);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 2u);
  EXPECT_EQ(DkimResultKeyword((*results)[0].result), "pass") << (*results)[0].reason;
  EXPECT_EQ((*results)[0].signature->algorithm, SignatureAlgorithm::kEd25519Sha256);
  EXPECT_EQ(DkimResultKeyword((*results)[1].result), "pass") << (*results)[1].reason;
  EXPECT_EQ((*results)[1].signature->algorithm, SignatureAlgorithm::kRsaSha256);
  EXPECT_EQ((*results)[1].key_bits, 1024u);
}

TEST(Rfc8463, TamperedMessageFailsBothSignatures) {
  LOAD_OR_SKIP(v);
  dns::StaticResolver resolver;
  Serve(v, &resolver);
  Verifier verifier(&resolver);
  std::string tampered = v.message;
  tampered.replace(tampered.find("Is dinner ready?"), 16, "Is dinner ready!");
  auto results = verifier.VerifyMessage(tampered, kNow);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 2u);
  for (const SignatureResult& r : *results) {
    EXPECT_EQ(DkimResultKeyword(r.result), "fail") << r.reason;
  }
}

TEST(Rfc8463, BodyHashMatchesTheReadme) {
  LOAD_OR_SKIP(v);
  auto split = SplitMessage(v.message);
  ASSERT_TRUE(split.ok()) << split.status();
  internal::Sha256Sink sink;
  BodyCanonicalizer canon(Canonicalization::kRelaxed, &sink);
  canon.Update(split->body);
  canon.Finish();
  EXPECT_EQ(base::EncodeBase64(sink.Digest()), kPublishedBodyHash);
}

// Re-signs each published DKIM-Signature with its b= emptied; both algorithms
// are deterministic, so the published b= must come back exactly.
TEST(Rfc8463, SigningThePublishedFieldsReproducesThePublishedSignatures) {
  LOAD_OR_SKIP(v);
  auto split = SplitMessage(v.message);
  ASSERT_TRUE(split.ok()) << split.status();
  base::Base64Result seed = base::DecodeBase64(v.ed25519_seed_b64);
  ASSERT_TRUE(seed.ok());
  absl::StatusOr<SigningKey> ed = SigningKey::Ed25519FromSeed(seed.bytes);
  ASSERT_TRUE(ed.ok()) << ed.status();
  absl::StatusOr<SigningKey> rsa = SigningKey::RsaFromPem(v.rsa_pem);
  ASSERT_TRUE(rsa.ok()) << rsa.status();
  // The published public key belongs to the seed.
  EXPECT_EQ(ed->KeyRecordText(), "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");

  int signatures = 0;
  for (std::size_t i = 0; i < split->headers.size(); ++i) {
    const HeaderField& field = split->headers[i];
    if (!base::EqualsIgnoreCase(field.name, "dkim-signature")) continue;
    ++signatures;
    SignatureParseResult parsed = ParseSignature(field.raw);
    ASSERT_TRUE(parsed.ok()) << parsed.message;
    std::string published = parsed.signature.signature;
    std::string blank = std::string(field.raw.substr(0, parsed.signature.b_value_begin)) +
                        std::string(field.raw.substr(parsed.signature.b_value_end));
    // Sign over the fields below this signature, as its signer saw them.
    std::vector<HeaderField> below(split->headers.begin() + i + 1, split->headers.end());
    const SigningKey& key =
        parsed.signature.algorithm == SignatureAlgorithm::kEd25519Sha256 ? *ed : *rsa;
    absl::StatusOr<std::string> b = SignFieldTemplate(below, blank, key);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(base::EncodeBase64(*b), base::EncodeBase64(published))
        << SignatureAlgorithmName(parsed.signature.algorithm);
  }
  EXPECT_EQ(signatures, 2);
}

}  // namespace
}  // namespace mxkit::auth::dkim
