#include "auth/dkim/key_record.h"

#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/rsa.h>

#include <string>
#include <vector>

#include "base/base64.h"
#include "gtest/gtest.h"

namespace mxkit::auth::dkim {
namespace {

RSA* NewRsa(int bits) {
  RSA* rsa = RSA_new();
  BIGNUM* e = BN_new();
  BN_set_word(e, RSA_F4);
  EXPECT_TRUE(RSA_generate_key_ex(rsa, bits, e, nullptr));
  BN_free(e);
  return rsa;
}

std::string Marshal(int (*fn)(CBB*, const RSA*), const RSA* rsa) {
  CBB cbb;
  CBB_init(&cbb, 0);
  EXPECT_TRUE(fn(&cbb, rsa));
  uint8_t* data = nullptr;
  size_t len = 0;
  CBB_finish(&cbb, &data, &len);
  std::string out(reinterpret_cast<char*>(data), len);
  OPENSSL_free(data);
  return out;
}

int MarshalSpki(CBB* cbb, const RSA* rsa) {
  EVP_PKEY* pkey = EVP_PKEY_new();
  EVP_PKEY_set1_RSA(pkey, const_cast<RSA*>(rsa));
  int ok = EVP_marshal_public_key(cbb, pkey);
  EVP_PKEY_free(pkey);
  return ok;
}

struct Keys {
  std::string spki_1024, pkcs1_1024, spki_512;
  Keys() {
    RSA* k1024 = NewRsa(1024);
    spki_1024 = base::EncodeBase64(Marshal(MarshalSpki, k1024));
    pkcs1_1024 = base::EncodeBase64(Marshal(RSA_marshal_public_key, k1024));
    RSA_free(k1024);
    RSA* k512 = NewRsa(512);
    spki_512 = base::EncodeBase64(Marshal(MarshalSpki, k512));
    RSA_free(k512);
  }
};

const Keys& TestKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

// With whitespace and CRLF-WSP folds inserted, as a long p= is often written.
std::string Folded(const std::string& b64) {
  std::string out;
  for (size_t i = 0; i < b64.size(); ++i) {
    if (i % 40 == 39) out += (i % 80 == 79) ? "\r\n\t" : " ";
    out += b64[i];
  }
  return out;
}

TEST(KeyRecord, AcceptsRsaSubjectPublicKeyInfoAndRsaPublicKey) {
  for (const std::string& p : {TestKeys().spki_1024, TestKeys().pkcs1_1024}) {
    KeyRecordResult r = ParseKeyRecord("v=DKIM1; k=rsa; p=" + p);
    ASSERT_TRUE(r.ok()) << r.message;
    EXPECT_EQ(r.record.key_type, KeyType::kRsa);
    EXPECT_EQ(r.record.rsa_bits, 1024u);
    EXPECT_NE(r.record.rsa, nullptr);
    EXPECT_FALSE(r.record.revoked);
  }
}

TEST(KeyRecord, DefaultsToRsaAndAcceptsFoldedBase64) {
  KeyRecordResult r = ParseKeyRecord("p=" + Folded(TestKeys().spki_1024));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.record.key_type, KeyType::kRsa);
  EXPECT_EQ(r.record.rsa_bits, 1024u);
}

TEST(KeyRecord, ConcatenatesTxtStrings) {
  std::string record = "v=DKIM1; k=rsa; p=" + TestKeys().spki_1024;
  std::vector<std::string> parts = {record.substr(0, 100), record.substr(100, 7),
                                    record.substr(107)};
  KeyRecordResult r = ParseKeyRecord(parts);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.record.rsa_bits, 1024u);
}

TEST(KeyRecord, RejectsRsaKeysUnder1024Bits) {
  KeyRecordResult r = ParseKeyRecord("v=DKIM1; p=" + TestKeys().spki_512);
  EXPECT_EQ(r.error, KeyRecordError::kRsaKeyTooShort) << r.message;
  EXPECT_EQ(r.offset, 11u);
}

TEST(KeyRecord, MinimumRsaBitsIsTheCallersChoice) {
  KeyRecordOptions any_size;
  any_size.min_rsa_bits = 0;
  KeyRecordResult r = ParseKeyRecord("v=DKIM1; p=" + TestKeys().spki_512, any_size);
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.record.rsa_bits, 512u);
  ASSERT_NE(r.record.rsa, nullptr);

  KeyRecordOptions strict;
  strict.min_rsa_bits = 2048;
  r = ParseKeyRecord("v=DKIM1; p=" + TestKeys().spki_1024, strict);
  EXPECT_EQ(r.error, KeyRecordError::kRsaKeyTooShort) << r.message;
  EXPECT_NE(r.message.find("2048-bit minimum"), std::string::npos) << r.message;
}

TEST(KeyRecord, AcceptsRawEd25519Key) {
  KeyRecordResult r =
      ParseKeyRecord("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.record.key_type, KeyType::kEd25519);
  EXPECT_EQ(r.record.public_key.size(), 32u);
}

TEST(KeyRecord, RevokedKeyParsesAsRevoked) {
  for (std::string text : {"v=DKIM1; p=", "v=DKIM1; k=ed25519; p= ;", "p=\r\n "}) {
    KeyRecordResult r = ParseKeyRecord(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.message;
    EXPECT_TRUE(r.record.revoked) << text;
  }
}

TEST(KeyRecord, ParsesFlagsHashesAndServices) {
  KeyRecordResult r = ParseKeyRecord("v=DKIM1; h=sha1 : sha256; s=email:*; t=y:s:x-new; "
                                     "n=hello world; zz=ignored; k=ed25519; "
                                     "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=; ");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(r.record.testing);
  EXPECT_TRUE(r.record.strict_identity);
  EXPECT_EQ(r.record.flags, (std::vector<std::string>{"y", "s", "x-new"}));
  EXPECT_TRUE(r.record.HashAllowed("sha256"));
  EXPECT_TRUE(r.record.HashAllowed("sha1"));
  EXPECT_TRUE(r.record.EmailServiceAllowed());
  EXPECT_EQ(r.record.notes, "hello world");

  KeyRecordResult only_sha1 = ParseKeyRecord("h=sha1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(only_sha1.ok());
  EXPECT_FALSE(only_sha1.record.HashAllowed("sha256"));
  // Unknown hash names are ignored, not errors (§3.6.1).
  KeyRecordResult unknown = ParseKeyRecord("h=sha512:sha256; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(unknown.ok());
  EXPECT_TRUE(unknown.record.HashAllowed("sha256"));

  KeyRecordResult web = ParseKeyRecord("s=web; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(web.ok());
  EXPECT_FALSE(web.record.EmailServiceAllowed());
}

struct InvalidRow {
  std::string text;
  KeyRecordError error;
  size_t offset;
};

TEST(KeyRecord, RejectsInvalidRecords) {
  const std::string ed = "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
  const std::vector<InvalidRow> rows = {
      {"k=ed25519; v=DKIM1; " + ed, KeyRecordError::kVersionNotFirst, 11},
      {"v=DKIM2; k=ed25519; " + ed, KeyRecordError::kBadVersion, 2},
      {"v=dkim1; k=ed25519; " + ed, KeyRecordError::kBadVersion, 2},
      {"v=DKIM1; k=ed25519", KeyRecordError::kMissingPublicKey, 18},
      {"v=DKIM1; k=dsa; " + ed, KeyRecordError::kUnsupportedKeyType, 11},
      {"v=DKIM1; k=RSA; " + ed, KeyRecordError::kUnsupportedKeyType, 11},
      {"v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHUR", KeyRecordError::kBadBase64, 22},
      {"v=DKIM1; k=ed25519; p=AAAA", KeyRecordError::kBadEd25519Key, 22},
      {"v=DKIM1; p=AAAA", KeyRecordError::kBadRsaKey, 11},
      {"v=DKIM1; k=rsa; " + ed, KeyRecordError::kBadRsaKey, 18},
      {"v=DKIM1; h=sha1::sha256; " + ed, KeyRecordError::kBadSyntax, 11},
      {"v=DKIM1; t=y s; " + ed, KeyRecordError::kBadSyntax, 11},
      {"v=DKIM1; v=DKIM1; " + ed, KeyRecordError::kTagList, 9},
      {"v=DKIM1; p=a\x01", KeyRecordError::kTagList, 12},
      {std::string(kMaxKeyRecordBytes + 1, 'a'), KeyRecordError::kTooLong, kMaxKeyRecordBytes},
  };
  for (const InvalidRow& row : rows) {
    KeyRecordResult r = ParseKeyRecord(row.text);
    EXPECT_EQ(KeyRecordErrorName(r.error), KeyRecordErrorName(row.error)) << row.text;
    EXPECT_EQ(r.offset, row.offset) << row.text;
    EXPECT_FALSE(r.message.empty()) << row.text;
  }
}

// RFC 4648 §3.5 lets a decoder reject non-zero pad bits; DKIM does not, as
// dkimpy, OpenDKIM and BoringSSL accept such keys (base/base64.h
// allow_nonzero_pad_bits). "...HURp=" differs from "...HURo=" only there.
TEST(KeyRecord, AcceptsNonZeroPadBitsInP) {
  KeyRecordResult canonical = ParseKeyRecord("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  KeyRecordResult padded = ParseKeyRecord("v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURp=");
  ASSERT_TRUE(canonical.ok()) << canonical.message;
  ASSERT_TRUE(padded.ok()) << padded.message;
  EXPECT_EQ(padded.record.public_key, canonical.record.public_key);
}

TEST(KeyRecord, RejectsTrailingBytesAfterDer) {
  base::Base64Result der = base::DecodeBase64(TestKeys().spki_1024);
  ASSERT_TRUE(der.ok());
  KeyRecordResult r = ParseKeyRecord("p=" + base::EncodeBase64(der.bytes + std::string(1, '\0')));
  EXPECT_EQ(r.error, KeyRecordError::kBadRsaKey);
}

}  // namespace
}  // namespace mxkit::auth::dkim
