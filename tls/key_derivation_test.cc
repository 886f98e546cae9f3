#include "tls/key_derivation.h"

#include <openssl/curve25519.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <cstdint>
#include <string>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace mxkit::tls {
namespace {

std::string RawPublic(EVP_PKEY* key) {
  std::array<uint8_t, ED25519_PUBLIC_KEY_LEN> out{};
  size_t len = out.size();
  if (!EVP_PKEY_get_raw_public_key(key, out.data(), &len)) return "";
  return std::string(reinterpret_cast<const char*>(out.data()), len);
}

TEST(KeyDerivation, BytesDependOnSeedAndLabelOnly) {
  std::array<uint8_t, 16> a{}, b{}, c{}, d{};
  ASSERT_TRUE(DeriveBytes(7, "x", absl::MakeSpan(a)).ok());
  ASSERT_TRUE(DeriveBytes(7, "x", absl::MakeSpan(b)).ok());
  ASSERT_TRUE(DeriveBytes(7, "y", absl::MakeSpan(c)).ok());
  ASSERT_TRUE(DeriveBytes(8, "x", absl::MakeSpan(d)).ok());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  EXPECT_NE(a, d);
}

// RFC 5869 HKDF-SHA256 of the seed's 8 big-endian octets with the historic
// salt; the expected bytes were computed with Python's hmac module, and the
// certificate factory's pinned certificates rest on this exact output.
TEST(KeyDerivation, BytesAreHkdfSha256WithTheHistoricSalt) {
  std::array<uint8_t, 8> out{};
  ASSERT_TRUE(DeriveBytes(1, "serial/root", absl::MakeSpan(out)).ok());
  EXPECT_EQ(absl::BytesToHexString(
                absl::string_view(reinterpret_cast<const char*>(out.data()), out.size())),
            "7ffaa893a1b921f6");
}

TEST(KeyDerivation, Ed25519KeyIsDeterministicPerLabel) {
  auto a = DeriveEd25519Key(1, "dkim/example.test/mxkit");
  auto b = DeriveEd25519Key(1, "dkim/example.test/mxkit");
  auto c = DeriveEd25519Key(1, "dkim/other.test/mxkit");
  auto d = DeriveEd25519Key(2, "dkim/example.test/mxkit");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok() && d.ok());
  EXPECT_EQ(EVP_PKEY_id(a->get()), EVP_PKEY_ED25519);
  EXPECT_EQ(RawPublic(a->get()).size(), 32u);
  EXPECT_EQ(RawPublic(a->get()), RawPublic(b->get()));
  EXPECT_NE(RawPublic(a->get()), RawPublic(c->get()));
  EXPECT_NE(RawPublic(a->get()), RawPublic(d->get()));
}

TEST(KeyDerivation, Ed25519PemRoundTrips) {
  auto key = DeriveEd25519Key(3, "k");
  ASSERT_TRUE(key.ok());
  auto pem = PrivateKeyToPkcs8Pem(key->get());
  ASSERT_TRUE(pem.ok());
  EXPECT_EQ(pem->rfind("-----BEGIN PRIVATE KEY-----\n", 0), 0u);
  EXPECT_EQ(*pem, *PrivateKeyToPkcs8Pem(DeriveEd25519Key(3, "k")->get()));
}

TEST(KeyDerivation, RsaKeyHasTheBitsAskedFor) {
  auto key = DeriveRsaKey(1, "dkim/example.test/mxkit", 1024);
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(EVP_PKEY_bits(key->get()), 1024);
}

TEST(KeyDerivation, RefusesRsaSizesOutsideTheRange) {
  for (int bits : {0, 512, 1000, 8192}) {
    auto key = DeriveRsaKey(1, "x", bits);
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument) << bits;
  }
}

}  // namespace
}  // namespace mxkit::tls
