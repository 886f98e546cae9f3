#include "base/base64.h"

#include <openssl/base64.h>
#include <openssl/rand.h>

#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::base {
namespace {

using E = Base64Error;

constexpr Base64DecodeOptions kStrict{};
constexpr Base64DecodeOptions kAnyPadBits{.allow_nonzero_pad_bits = true};
constexpr Base64DecodeOptions kFws{.skip_folding_whitespace = true};
// What DKIM passes for b=, bh= and p= (RFC 6376 §3.5, §3.6.1).
constexpr Base64DecodeOptions kDkim{.allow_nonzero_pad_bits = true,
                                    .skip_folding_whitespace = true};

TEST(Base64, DecodesAndEncodesRfc4648TestVectors) {
  const std::vector<std::pair<std::string, std::string>> rows = {
      {"", ""},           {"Zg==", "f"},         {"Zm8=", "fo"},         {"Zm9v", "foo"},
      {"Zm9vYg==", "foob"}, {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"},
  };
  for (const auto& [b64, raw] : rows) {
    for (const Base64DecodeOptions& options : {kStrict, kAnyPadBits, kFws, kDkim}) {
      Base64Result got = DecodeBase64(b64, options);
      ASSERT_TRUE(got.ok()) << b64 << ": " << Base64ErrorName(got.error);
      EXPECT_EQ(got.bytes, raw);
    }
    EXPECT_EQ(EncodeBase64(raw), b64);
  }
}

struct Row {
  std::string input;
  Base64DecodeOptions options;
  E error;             // kNone: decodes to `bytes`
  std::size_t offset;  // for an error
  std::string bytes;
};

TEST(Base64, EachOptionRelaxesOnlyItsOwnRule) {
  const Row rows[] = {
      // Malformed under every option.
      {"Zg", kDkim, E::kIncompleteGroup, 2, ""},
      {"Zg=", kDkim, E::kIncompleteGroup, 3, ""},
      {"Z===", kDkim, E::kMisplacedPadding, 1, ""},
      {"====", kDkim, E::kMisplacedPadding, 0, ""},
      {"=Zg=", kDkim, E::kMisplacedPadding, 0, ""},
      {"Zg=a", kDkim, E::kMisplacedPadding, 2, ""},
      {"Zg==Zg==", kDkim, E::kMisplacedPadding, 2, ""},
      {"Zm8=Zm9v", kDkim, E::kMisplacedPadding, 3, ""},
      {"Zm9v!A==", kDkim, E::kInvalidCharacter, 4, ""},
      {"Zm9v-_==", kDkim, E::kInvalidCharacter, 4, ""},  // RFC 4648 §5 base64url is not §4
      {"Zm9v\vYmFy", kDkim, E::kInvalidCharacter, 4, ""},  // VT is not FWS
      {"Zg== Zg==", kDkim, E::kMisplacedPadding, 2, ""},
      {"Zm9v\xC3\xA9", kDkim, E::kInvalidCharacter, 4, ""},
      // RFC 4648 §3.5 pad bits: "QR==" and "QUJ=" have non-zero ones.
      {"QQ==", kStrict, E::kNone, 0, "A"},
      {"QR==", kStrict, E::kNonZeroPadBits, 1, ""},
      {"QR==", kAnyPadBits, E::kNone, 0, "A"},
      {"QUI=", kStrict, E::kNone, 0, "AB"},
      {"QUJ=", kStrict, E::kNonZeroPadBits, 2, ""},
      {"QUJ=", kAnyPadBits, E::kNone, 0, "AB"},
      {"QUJ=", kFws, E::kNonZeroPadBits, 2, ""},
      // RFC 6376 §3.5 FWS: SP, HTAB, CR, LF anywhere, only when asked for.
      {" Zm9v\r\n\tYm Fy ", kFws, E::kNone, 0, "foobar"},
      {" Zm9v\r\n\tYm Fy ", kStrict, E::kInvalidCharacter, 0, ""},
      {"Zm9v YmFy", kStrict, E::kInvalidCharacter, 4, ""},
      {"Zm9v YmFy", kAnyPadBits, E::kInvalidCharacter, 4, ""},
      {"Zg= =", kFws, E::kNone, 0, "f"},
      {"Zg==\r\n", kFws, E::kNone, 0, "f"},
      {"Zg==\r\n", kStrict, E::kInvalidCharacter, 4, ""},
      {"Zm9vYg=\n", kStrict, E::kInvalidCharacter, 7, ""},
      {"Zm 9", kFws, E::kIncompleteGroup, 4, ""},
      {"   ", kFws, E::kNone, 0, ""},
  };
  for (const Row& row : rows) {
    Base64Result got = DecodeBase64(row.input, row.options);
    EXPECT_EQ(got.error, row.error) << row.input << ": " << Base64ErrorName(got.error);
    if (row.error == E::kNone) {
      EXPECT_EQ(got.bytes, row.bytes) << row.input;
    } else {
      EXPECT_EQ(got.offset, row.offset) << row.input;
    }
  }
}

// Strict decoding is a bijection with the encoder: whatever decodes
// re-encodes to the same text.
TEST(Base64, StrictDecodingAcceptsOnlyCanonicalEncodings) {
  const std::string chars = "AQgw=/+";
  for (char a : chars) for (char b : chars) for (char c : chars) for (char d : chars) {
    const std::string in = {'Q', 'U', 'J', 'D', a, b, c, d};
    Base64Result r = DecodeBase64(in);
    if (r.ok()) {
      EXPECT_EQ(EncodeBase64(r.bytes), in);
    }
  }
}

// With DKIM's options the table decoder agrees with BoringSSL's on random
// data and on every four-character group over a reduced alphabet with
// padding (BoringSSL does not check pad bits either).
TEST(Base64, LenientPadBitsAgreeWithBoringSsl) {
  for (int len = 0; len < 200; ++len) {
    std::string raw(static_cast<std::size_t>(len), '\0');
    RAND_bytes(reinterpret_cast<uint8_t*>(raw.data()), raw.size());
    std::string b64 = EncodeBase64(raw);
    ASSERT_EQ(DecodeBase64(b64).bytes, raw);
    ASSERT_EQ(DecodeBase64(b64, kAnyPadBits).bytes, raw);
    std::size_t theirs_len = 0;
    ASSERT_TRUE(EVP_EncodedLength(&theirs_len, raw.size()));
    std::string theirs(theirs_len, '\0');
    theirs.resize(EVP_EncodeBlock(reinterpret_cast<uint8_t*>(theirs.data()),
                                  reinterpret_cast<const uint8_t*>(raw.data()), raw.size()));
    ASSERT_EQ(b64, theirs);
  }
  const std::string chars = "Aa/+=0!";
  for (char a : chars) for (char b : chars) for (char c : chars) for (char d : chars) {
    const std::string in = {'Q', 'U', 'J', 'D', a, b, c, d};
    Base64Result ours = DecodeBase64(in, kAnyPadBits);
    uint8_t out[8];
    size_t out_len = 0;
    bool theirs = EVP_DecodeBase64(out, &out_len, sizeof(out),
                                   reinterpret_cast<const uint8_t*>(in.data()), in.size());
    EXPECT_EQ(ours.ok(), theirs) << in;
    if (ours.ok() && theirs) {
      EXPECT_EQ(ours.bytes, std::string(reinterpret_cast<char*>(out), out_len)) << in;
    }
  }
}

TEST(Base64, AppendBase64KeepsWhatIsThere) {
  std::string out = "AUTH PLAIN ";
  AppendBase64(std::string("\0alice\0secret", 13), out);
  EXPECT_EQ(out, "AUTH PLAIN AGFsaWNlAHNlY3JldA==");
}

// The decoder takes sixteen symbols at a time, then four, then one: a fold,
// a bad byte or padding at every position of inputs longer than one wide
// step must give what the symbol-at-a-time rules give.
TEST(Base64, EveryPositionOfLongInputsDecodesAsSymbolBySymbol) {
  for (std::size_t length = 0; length <= 40; ++length) {
    std::string bytes(length, '\0');
    for (std::size_t i = 0; i < length; ++i) bytes[i] = static_cast<char>(i * 37 + length);
    const std::string encoded = EncodeBase64(bytes);
    ASSERT_EQ(DecodeBase64(encoded).bytes, bytes) << length;
    for (std::size_t at = 0; at <= encoded.size(); ++at) {
      std::string folded = encoded;
      folded.insert(at, "\r\n\t");
      Base64Result r = DecodeBase64(folded, kDkim);
      EXPECT_TRUE(r.ok()) << folded;
      EXPECT_EQ(r.bytes, bytes) << folded;
      Base64Result strict = DecodeBase64(folded);
      EXPECT_EQ(strict.error, E::kInvalidCharacter) << folded;
      EXPECT_EQ(strict.offset, at) << folded;

      std::string bad = encoded;
      bad.insert(at, "*");
      r = DecodeBase64(bad, kDkim);
      EXPECT_EQ(r.error, E::kInvalidCharacter) << bad;
      EXPECT_EQ(r.offset, at) << bad;
    }
    // Padding is only valid at the end: "=" in front of the last group is
    // misplaced wherever it falls, and the error names that "=".
    for (std::size_t at = 0; at + 4 < encoded.size(); at += 4) {
      std::string early = encoded;
      early[at + 2] = '=';
      early[at + 3] = '=';
      Base64Result r = DecodeBase64(early, kDkim);
      EXPECT_EQ(r.error, E::kMisplacedPadding) << early;
      EXPECT_EQ(r.offset, at + 2) << early;
    }
  }
}

}  // namespace
}  // namespace mxkit::base
