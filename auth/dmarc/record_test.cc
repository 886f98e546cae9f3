#include "auth/dmarc/record.h"

#include <cstddef>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::auth::dmarc {
namespace {

TEST(DmarcRecord, ParsesEveryRfc7489Tag) {
  RecordResult r = ParseRecord(
      "v=DMARC1; p=quarantine; sp=reject; pct=50; adkim=s; aspf=s; "
      "rua=mailto:agg@example.com!10m, mailto:agg2@example.net; ruf=mailto:f@example.com!512; "
      "fo=0:1:d:s; rf=afrf; ri=3600");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(r.issues.empty());
  const Record& rec = r.record;
  EXPECT_EQ(rec.policy, Policy::kQuarantine);
  EXPECT_EQ(rec.subdomain_policy, Policy::kReject);
  EXPECT_EQ(rec.percent, 50);
  EXPECT_EQ(rec.dkim_alignment, AlignmentMode::kStrict);
  EXPECT_EQ(rec.spf_alignment, AlignmentMode::kStrict);
  ASSERT_EQ(rec.aggregate_uris.size(), 2u);
  EXPECT_EQ(rec.aggregate_uris[0].uri, "mailto:agg@example.com");
  EXPECT_EQ(rec.aggregate_uris[0].max_bytes, 10ull << 20);
  EXPECT_EQ(rec.aggregate_uris[0].size_suffix, "10m");
  EXPECT_EQ(rec.aggregate_uris[1].max_bytes, std::nullopt);
  ASSERT_EQ(rec.failure_uris.size(), 1u);
  EXPECT_EQ(rec.failure_uris[0].max_bytes, 512u);
  EXPECT_EQ(rec.failure_options, (std::vector<char>{'0', '1', 'd', 's'}));
  EXPECT_EQ(rec.report_formats, std::vector<std::string>{"afrf"});
  EXPECT_EQ(rec.report_interval, 3600u);
  EXPECT_FALSE(rec.policy_from_rua_rule);
}

TEST(DmarcRecord, ParsesDmarcBisTags) {
  RecordResult r = ParseRecord("v=DMARC1; p=reject; np=quarantine; t=y; psd=n");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.record.nonexistent_policy, Policy::kQuarantine);
  EXPECT_TRUE(r.record.testing);
  EXPECT_EQ(r.record.psd, PsdFlag::kNo);
}

TEST(DmarcRecord, DefaultsMatchRfc7489Section63) {
  RecordResult r = ParseRecord("v=DMARC1; p=none");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.record.percent, 100);
  EXPECT_EQ(r.record.dkim_alignment, AlignmentMode::kRelaxed);
  EXPECT_EQ(r.record.spf_alignment, AlignmentMode::kRelaxed);
  EXPECT_EQ(r.record.report_interval, 86400u);
  EXPECT_EQ(r.record.failure_options, std::vector<char>{'0'});
  EXPECT_FALSE(r.record.subdomain_policy.has_value());
  EXPECT_FALSE(r.record.testing);
}

struct ErrorRow {
  const char* text;
  RecordError error;
  std::size_t offset;
};

TEST(DmarcRecord, RejectsWithKindAndOffset) {
  const ErrorRow rows[] = {
      {"", RecordError::kNotDmarc, 0},
      {"v=spf1 -all", RecordError::kNotDmarc, 0},
      {"v=dmarc1; p=none", RecordError::kNotDmarc, 0},  // §6.4: %x44... is case-sensitive
      {"V=DMARC1; p=none; V=DMARC1", RecordError::kDuplicateTag, 18},
      {"v=DMARC10; p=none", RecordError::kNotDmarc, 0},
      {" v=DMARC1; p=none", RecordError::kNotDmarc, 0},  // v must be first
      {"p=none; v=DMARC1", RecordError::kNotDmarc, 0},
      {"v=DMARC1", RecordError::kMissingPolicy, 8},
      {"v=DMARC1; sp=none", RecordError::kMissingPolicy, 17},
      {"v=DMARC1; p=block", RecordError::kInvalidPolicy, 12},
      {"v=DMARC1; p=reject; sp=maybe", RecordError::kInvalidPolicy, 23},
      {"v=DMARC1; p=none; p=reject", RecordError::kDuplicateTag, 18},
      {"v=DMARC1; p=none; v=DMARC1", RecordError::kDuplicateTag, 18},
      // rua present but with no valid URI: the §6.6.3 rule does not apply.
      {"v=DMARC1; rua=not a uri", RecordError::kMissingPolicy, 23},
  };
  for (const ErrorRow& row : rows) {
    RecordResult r = ParseRecord(row.text);
    EXPECT_EQ(r.error, row.error) << row.text << ": " << r.message;
    EXPECT_EQ(r.offset, row.offset) << row.text;
    EXPECT_FALSE(r.message.empty());
  }
}

TEST(DmarcRecord, MissingPolicyWithValidRuaActsAsPNone) {
  // RFC 7489 §6.6.3 step 6.1.
  for (const char* text : {"v=DMARC1; rua=mailto:d@example.com",
                           "v=DMARC1; p=bogus; rua=mailto:d@example.com",
                           "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com"}) {
    RecordResult r = ParseRecord(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.message;
    EXPECT_EQ(r.record.policy, Policy::kNone) << text;
    EXPECT_FALSE(r.record.subdomain_policy.has_value()) << text;
    EXPECT_TRUE(r.record.policy_from_rua_rule) << text;
  }
}

struct DiscardRow {
  const char* text;
  std::size_t issue_offset;
};

TEST(DmarcRecord, DiscardsInvalidValuesInFavourOfDefaults) {
  // RFC 7489 §6.3: syntax errors in the remainder SHOULD be discarded.
  const DiscardRow rows[] = {
      {"v=DMARC1; p=none; pct=101", 22},
      {"v=DMARC1; p=none; pct=-1", 22},
      {"v=DMARC1; p=none; pct=1000", 22},
      {"v=DMARC1; p=none; adkim=x", 24},
      {"v=DMARC1; p=none; aspf=relaxed", 23},
      {"v=DMARC1; p=none; fo=2", 21},
      {"v=DMARC1; p=none; fo=0:", 21},
      {"v=DMARC1; p=none; rf=", 21},
      {"v=DMARC1; p=none; ri=4294967296", 21},
      {"v=DMARC1; p=none; t=yes", 20},
      {"v=DMARC1; p=none; np=all", 21},
      {"v=DMARC1; p=none; psd=x", 22},
      {"v=DMARC1; p=none; rua=mailto:a@example.com!10x", 22},
      {"v=DMARC1; p=none; junk", 18},
  };
  for (const DiscardRow& row : rows) {
    RecordResult r = ParseRecord(row.text);
    ASSERT_TRUE(r.ok()) << row.text << ": " << r.message;
    ASSERT_EQ(r.issues.size(), 1u) << row.text;
    EXPECT_EQ(r.issues[0].offset, row.issue_offset) << row.text << ": " << r.issues[0].message;
    Record defaults;
    EXPECT_EQ(r.record, defaults) << row.text;

    RecordOptions strict;
    strict.invalid_values_are_errors = true;
    RecordResult s = ParseRecord(row.text, strict);
    EXPECT_EQ(s.error, RecordError::kInvalidValue) << row.text;
    EXPECT_EQ(s.offset, row.issue_offset) << row.text;
  }
}

TEST(DmarcRecord, IgnoresUnknownTagsAndToleratesWhitespace) {
  RecordResult r = ParseRecord("v = DMARC1 ;\tp = Reject ; x_future=1; adkim=S;");
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_TRUE(r.issues.empty());
  EXPECT_EQ(r.record.policy, Policy::kReject);
  EXPECT_EQ(r.record.dkim_alignment, AlignmentMode::kStrict);
}

TEST(DmarcRecord, SizeSuffixUnitsArePowersOfTwoAndSaturate) {
  RecordResult r = ParseRecord(
      "v=DMARC1; p=none; rua=mailto:a@x.example!1k,mailto:b@x.example!2g,"
      "mailto:c@x.example!3t,mailto:d@x.example!99999999999999999999t");
  ASSERT_TRUE(r.ok()) << r.message;
  ASSERT_EQ(r.record.aggregate_uris.size(), 4u);
  EXPECT_EQ(r.record.aggregate_uris[0].max_bytes, 1024u);
  EXPECT_EQ(r.record.aggregate_uris[1].max_bytes, 2ull << 30);
  EXPECT_EQ(r.record.aggregate_uris[2].max_bytes, 3ull << 40);
  EXPECT_EQ(r.record.aggregate_uris[3].max_bytes, UINT64_MAX);
}

TEST(DmarcRecord, BoundsTheUriList) {
  std::string text = "v=DMARC1; p=none; rua=";
  for (std::size_t i = 0; i <= kMaxReportUris; ++i) {
    text += (i ? "," : "") + std::string("mailto:a@example.com");
  }
  RecordResult r = ParseRecord(text);
  EXPECT_EQ(r.error, RecordError::kTooManyUris);
  EXPECT_EQ(r.offset, 22u);
}

TEST(DmarcRecord, RejectsOverlongRecord) {
  std::string text = "v=DMARC1; p=none; x=" + std::string(kMaxRecordLength, 'a');
  EXPECT_EQ(ParseRecord(text).error, RecordError::kTooLong);
}

TEST(DmarcRecord, IsDmarcRecordIsTheSection663Filter) {
  EXPECT_TRUE(IsDmarcRecord("v=DMARC1"));
  EXPECT_TRUE(IsDmarcRecord("v=DMARC1;p=none"));
  EXPECT_TRUE(IsDmarcRecord("v =\tDMARC1 ; p=none"));
  EXPECT_FALSE(IsDmarcRecord("v=DMARC1x"));
  EXPECT_TRUE(IsDmarcRecord("V=DMARC1"));  // RFC 5234 §2.3: "v" is case-insensitive
  EXPECT_FALSE(IsDmarcRecord("v=spf1"));
}

TEST(DmarcRecord, FormatThenParseRoundTrips) {
  for (const char* text :
       {"v=DMARC1; p=none", "v=DMARC1; p=reject; sp=quarantine; np=reject; pct=0",
        "v=DMARC1; p=quarantine; adkim=s; aspf=s; rua=mailto:a@b.example!10m,https://r.example/x;"
        " ruf=mailto:f@b.example; fo=1:d; rf=afrf:iodef; ri=60; t=y; psd=y"}) {
    RecordResult a = ParseRecord(text);
    ASSERT_TRUE(a.ok()) << text;
    std::string formatted = FormatRecord(a.record);
    RecordResult b = ParseRecord(formatted);
    ASSERT_TRUE(b.ok()) << formatted;
    EXPECT_EQ(a.record, b.record) << formatted;
  }
}

}  // namespace
}  // namespace mxkit::auth::dmarc
