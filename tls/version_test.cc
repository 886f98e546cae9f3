#include "tls/version.h"

#include <optional>
#include <string>

#include "gtest/gtest.h"

namespace mxkit::tls {
namespace {

struct RangeRow {
  std::string input;
  std::optional<VersionRange> expected;  // nullopt: InvalidArgument
  std::string error_mentions;            // a fragment the error must contain
};

TEST(ParseVersionRange, AcceptsSingleVersionsAndRangesAndRejectsTheRest) {
  const RangeRow rows[] = {
      {"1.0", VersionRange{TlsVersion::kTls10, TlsVersion::kTls10}, ""},
      {"1.3", VersionRange{TlsVersion::kTls13, TlsVersion::kTls13}, ""},
      {"1.2-1.3", VersionRange{TlsVersion::kTls12, TlsVersion::kTls13}, ""},
      {"1.0-1.3", VersionRange{TlsVersion::kTls10, TlsVersion::kTls13}, ""},
      {"1.0-1.0", VersionRange{TlsVersion::kTls10, TlsVersion::kTls10}, ""},
      {"1.1-1.2", VersionRange{TlsVersion::kTls11, TlsVersion::kTls12}, ""},
      {"1.4", std::nullopt, "\"1.4\" is not a TLS version"},
      {"1.3-1.2", std::nullopt, "minimum 1.3 is above maximum 1.2"},
      {"", std::nullopt, "empty"},
      {"1.2-", std::nullopt, "maximum \"\""},
      {"-1.2", std::nullopt, "minimum \"\""},
      {" 1.2", std::nullopt, "\" 1.2\" is not"},
      {"1.2 ", std::nullopt, "\"1.2 \" is not"},
      {"1.2 - 1.3", std::nullopt, "minimum \"1.2 \""},
      {"1.2-1.3-1.3", std::nullopt, "maximum \"1.3-1.3\""},
      {"tls1.2", std::nullopt, "\"tls1.2\" is not"},
      {"TLSv1.2", std::nullopt, "is not a TLS version"},
      {"3.0", std::nullopt, "there are 1.0, 1.1, 1.2, 1.3"},
      {"1", std::nullopt, "\"1\" is not"},
      {"1.2\n", std::nullopt, "is not"},
      {std::string("1.2\0", 4), std::nullopt, "is not"},
  };
  for (const RangeRow& row : rows) {
    SCOPED_TRACE("input: \"" + row.input + "\"");
    absl::StatusOr<VersionRange> got = ParseVersionRange(row.input);
    if (row.expected) {
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(*got, *row.expected);
    } else {
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(got.status().message().find(row.error_mentions), std::string::npos)
          << got.status();
    }
  }
}

TEST(FormatVersionRange, IsTheInverseOfParse) {
  for (const char* text : {"1.0", "1.1", "1.2", "1.3", "1.0-1.3", "1.2-1.3", "1.0-1.1"}) {
    absl::StatusOr<VersionRange> range = ParseVersionRange(text);
    ASSERT_TRUE(range.ok()) << range.status();
    EXPECT_EQ(FormatVersionRange(*range), text);
  }
}

TEST(VersionName, SpellsVersionsAsSslGetVersionDoes) {
  EXPECT_EQ(VersionName(TlsVersion::kTls10), "TLSv1");
  EXPECT_EQ(VersionName(TlsVersion::kTls11), "TLSv1.1");
  EXPECT_EQ(VersionName(TlsVersion::kTls12), "TLSv1.2");
  EXPECT_EQ(VersionName(TlsVersion::kTls13), "TLSv1.3");
}

TEST(VersionFromWire, KnowsTlsOnly) {
  struct Row {
    uint16_t wire;
    bool known;
    TlsVersion version;
  };
  const Row rows[] = {
      {0x0301, true, TlsVersion::kTls10}, {0x0302, true, TlsVersion::kTls11},
      {0x0303, true, TlsVersion::kTls12}, {0x0304, true, TlsVersion::kTls13},
      {0x0300, false, {}},  // SSL 3.0
      {0xfefd, false, {}},  // DTLS 1.2
      {0x0305, false, {}},  {0x0000, false, {}},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.wire);
    TlsVersion got = TlsVersion::kTls13;
    EXPECT_EQ(VersionFromWire(row.wire, &got), row.known);
    if (row.known) {
      EXPECT_EQ(got, row.version);
    }
  }
}

}  // namespace
}  // namespace mxkit::tls
