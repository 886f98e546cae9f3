#include "auth/dkim/signer.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <string>
#include <vector>

#include "auth/dkim/internal/test_keys.h"
#include "auth/dkim/key_record.h"
#include "auth/dkim/signature.h"
#include "gtest/gtest.h"

namespace mxkit::auth::dkim {
namespace {

const std::string kMessage =
    "From: a@example.com\r\n"
    "To: b@example.net\r\n"
    "Subject: s\r\n"
    "\r\n"
    "body\r\n";

SignerOptions Options() {
  SignerOptions o;
  o.domain = "example.com";
  o.selector = "sel";
  return o;
}

const SigningKey& Ed() {
  static const SigningKey* key = new SigningKey(*SigningKey::Ed25519FromSeed(std::string(32, 'k')));
  return *key;
}

TEST(Signer, ProducesAFoldedFieldThatParses) {
  SignerOptions o = Options();
  o.identity = "a@example.com";
  o.timestamp = 1000;
  o.expiration = 2000;
  o.include_body_length = true;
  o.oversign = true;
  absl::StatusOr<std::string> field = SignMessage(kMessage, Ed(), o);
  ASSERT_TRUE(field.ok()) << field.status();
  ASSERT_GE(field->size(), 2u);
  EXPECT_EQ(field->substr(field->size() - 2), "\r\n");
  EXPECT_EQ(field->rfind("DKIM-Signature: v=1; a=ed25519-sha256;", 0), 0u) << *field;
  // Every line fits in 78 columns and continuation lines start with WSP.
  std::size_t start = 0;
  bool first = true;
  while (start < field->size()) {
    std::size_t end = field->find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << field->substr(start, end - start);
    if (!first) {
      EXPECT_EQ((*field)[start], '\t');
    }
    first = false;
    start = end + 2;
  }
  SignatureParseResult parsed = ParseSignature(field->substr(0, field->size() - 2));
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  const Signature& sig = parsed.signature;
  EXPECT_EQ(sig.domain, "example.com");
  EXPECT_EQ(sig.selector, "sel");
  EXPECT_EQ(sig.identity, "a@example.com");
  EXPECT_EQ(sig.timestamp, 1000);
  EXPECT_EQ(sig.expiration, 2000);
  EXPECT_EQ(sig.body_length, 6u);  // "body\r\n"
  EXPECT_EQ(sig.header_canonicalization, Canonicalization::kRelaxed);
  EXPECT_EQ(sig.signature.size(), 64u);
  // Over-signing: present names once more, absent names once.
  std::vector<std::string> want = {"from", "from", "to", "to", "cc", "subject", "subject"};
  std::vector<std::string> got(sig.signed_headers.begin(), sig.signed_headers.begin() + 7);
  EXPECT_EQ(got, want);
}

TEST(Signer, ListsOnlyPresentFieldsWithoutOverSigning) {
  absl::StatusOr<std::string> field = SignMessage(kMessage, Ed(), Options());
  ASSERT_TRUE(field.ok()) << field.status();
  SignatureParseResult parsed = ParseSignature(field->substr(0, field->size() - 2));
  ASSERT_TRUE(parsed.ok()) << parsed.message;
  EXPECT_EQ(parsed.signature.signed_headers, (std::vector<std::string>{"from", "to", "subject"}));
  EXPECT_FALSE(parsed.signature.body_length);
  EXPECT_FALSE(parsed.signature.timestamp);
}

TEST(Signer, Ed25519IsDeterministic) {
  EXPECT_EQ(*SignMessage(kMessage, Ed(), Options()), *SignMessage(kMessage, Ed(), Options()));
}

TEST(Signer, RejectsBadOptions) {
  SignerOptions o = Options();
  o.domain = "not a domain";
  EXPECT_FALSE(SignMessage(kMessage, Ed(), o).ok());
  o = Options();
  o.selector = "bad selector";
  EXPECT_FALSE(SignMessage(kMessage, Ed(), o).ok());
  o = Options();
  o.identity = "a@example.org";
  EXPECT_FALSE(SignMessage(kMessage, Ed(), o).ok());
  o = Options();
  o.timestamp = 10;
  o.expiration = 10;
  EXPECT_FALSE(SignMessage(kMessage, Ed(), o).ok());
  o = Options();
  o.signed_headers = {"to", "subject"};
  EXPECT_FALSE(SignMessage(kMessage, Ed(), o).ok());
  EXPECT_FALSE(SignMessage("To: b@example.net\r\n\r\nbody\r\n", Ed(), Options()).ok());
  EXPECT_FALSE(SignMessage("no header\r\n", Ed(), Options()).ok());
}

TEST(SigningKey, RefusesShortRsaKeysAndBadInput) {
  EXPECT_FALSE(SigningKey::RsaFromPem(internal::GenerateRsaPem(512)).ok());
  EXPECT_FALSE(SigningKey::RsaFromPem("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n").ok());
  EXPECT_FALSE(SigningKey::Ed25519FromSeed("short").ok());
}

TEST(SigningKey, AcceptsPkcs1AndPkcs8AndPublishesAParseableRecord) {
  std::string pkcs1 = internal::GenerateRsaPem(1024);
  absl::StatusOr<SigningKey> key = SigningKey::RsaFromPem(pkcs1);
  ASSERT_TRUE(key.ok()) << key.status();
  KeyRecordResult record = ParseKeyRecord(key->KeyRecordText());
  ASSERT_TRUE(record.ok()) << record.message;
  EXPECT_EQ(record.record.rsa_bits, 1024u);

  BIO* in = BIO_new_mem_buf(pkcs1.data(), static_cast<int>(pkcs1.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  BIO* out = BIO_new(BIO_s_mem());
  ASSERT_TRUE(PEM_write_bio_PKCS8PrivateKey(out, pkey, nullptr, nullptr, 0, nullptr, nullptr));
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(out, &data, &len);
  std::string pkcs8(reinterpret_cast<const char*>(data), len);
  BIO_free(out);
  EVP_PKEY_free(pkey);
  EXPECT_NE(pkcs8.find("BEGIN PRIVATE KEY"), std::string::npos);
  absl::StatusOr<SigningKey> key8 = SigningKey::RsaFromPem(pkcs8);
  ASSERT_TRUE(key8.ok()) << key8.status();
  EXPECT_EQ(key8->KeyRecordText(), key->KeyRecordText());

  KeyRecordResult ed = ParseKeyRecord(Ed().KeyRecordText());
  ASSERT_TRUE(ed.ok()) << ed.message;
  EXPECT_EQ(ed.record.key_type, KeyType::kEd25519);
}

}  // namespace
}  // namespace mxkit::auth::dkim
