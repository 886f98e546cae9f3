#include "auth/dkim/internal/base64.h"

#include <openssl/base64.h>
#include <openssl/rand.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::auth::dkim::internal {
namespace {

TEST(Base64, DecodesRfc4648TestVectors) {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"", ""},           {"Zg==", "f"},         {"Zm8=", "fo"},         {"Zm9v", "foo"},
      {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"},
  };
  for (const auto& [b64, raw] : rows) {
    std::optional<std::string> got = DecodeBase64(b64);
    ASSERT_TRUE(got) << b64;
    EXPECT_EQ(*got, raw);
    EXPECT_EQ(EncodeBase64(raw), b64);
  }
}

TEST(Base64, RejectsMalformedInput) {
  for (std::string bad : {"Zg", "Zg=", "Z===", "====", "Zg==Zg==", "Zm9v!A==", "Zm 9v", "Zg=a",
                          "=Zg=", "Zm9vYg=\n"}) {
    EXPECT_FALSE(DecodeBase64(bad)) << bad;
  }
}

TEST(Base64, IgnoringFwsSkipsWhitespaceAnywhereButNothingElse) {
  EXPECT_EQ(DecodeBase64IgnoringFws(" Zm9v\r\n\tYm Fy "), "foobar");
  EXPECT_EQ(DecodeBase64IgnoringFws("Zg= ="), "f");
  EXPECT_EQ(DecodeBase64IgnoringFws(""), "");
  EXPECT_FALSE(DecodeBase64IgnoringFws("Zg== Zg=="));
  EXPECT_FALSE(DecodeBase64IgnoringFws("Zm9v\vYmFy"));
  EXPECT_FALSE(DecodeBase64("Zm9v YmFy"));
}

// The table decoder agrees with BoringSSL's on random data and on every
// four-character group over a reduced alphabet with padding.
TEST(Base64, AgreesWithBoringSsl) {
  for (int len = 0; len < 200; ++len) {
    std::string raw(static_cast<std::size_t>(len), '\0');
    RAND_bytes(reinterpret_cast<uint8_t*>(raw.data()), raw.size());
    std::string b64 = EncodeBase64(raw);
    ASSERT_EQ(DecodeBase64(b64), raw);
  }
  const std::string chars = "Aa/+=0!";
  for (char a : chars) for (char b : chars) for (char c : chars) for (char d : chars) {
    std::string in = {'Q', 'U', 'J', 'D', a, b, c, d};
    std::optional<std::string> ours = DecodeBase64(in);
    uint8_t out[8];
    size_t out_len = 0;
    bool theirs = EVP_DecodeBase64(out, &out_len, sizeof(out),
                                   reinterpret_cast<const uint8_t*>(in.data()), in.size());
    EXPECT_EQ(ours.has_value(), theirs) << in;
    if (ours && theirs) {
      EXPECT_EQ(*ours, std::string(reinterpret_cast<char*>(out), out_len)) << in;
    }
  }
}

}  // namespace
}  // namespace mxkit::auth::dkim::internal
