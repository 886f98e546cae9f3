#include "dns/idna.h"

#include <string>

#include "gtest/gtest.h"

namespace mxkit::dns {
namespace {

struct Conversion {
  std::string input;
  std::string a_labels;
};

// Expected A-labels computed by hand from RFC 3492 and cross-checked with
// Python's codecs ("bücher".encode("punycode") == b"bcher-kva").
TEST(ToALabels, ConvertsULabelsToALabels) {
  const Conversion rows[] = {
      {"bücher.example", "xn--bcher-kva.example"},
      {"mail.bücher.example", "mail.xn--bcher-kva.example"},
      {"bücher.example.", "xn--bcher-kva.example."},  // absolute name keeps its dot
      {"Bücher.Example", "xn--bcher-kva.example"},    // UTS #46 maps case
      {"münchen.de", "xn--mnchen-3ya.de"},
      {"例え.テスト", "xn--r8jz45g.xn--zckzah"},  // Japanese labels, each one converted
      {"_dmarc.bücher.example", "_dmarc.xn--bcher-kva.example"},
  };
  for (const Conversion& row : rows) {
    IdnaResult r = ToALabels(row.input);
    ASSERT_TRUE(r.ok()) << row.input << ": " << r.error;
    EXPECT_EQ(r.name, row.a_labels) << row.input;
  }
}

TEST(ToALabels, NormalizesToNfcBeforeConverting) {
  // "u" + U+0308 COMBINING DIAERESIS is "ü" after NFC.
  IdnaResult r = ToALabels("bu\xCC\x88" "cher.example");
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.name, "xn--bcher-kva.example");
}

TEST(ToALabels, LeavesAsciiNamesAlone) {
  for (const char* name : {"Example.COM", "a..b", "", "xn--zz", "_spf.example."}) {
    IdnaResult r = ToALabels(name);
    ASSERT_TRUE(r.ok()) << name << ": " << r.error;
    EXPECT_EQ(r.name, name);
  }
}

TEST(ToALabels, RejectsWhatIdna2008Disallows) {
  const std::string rows[] = {
      "b\xFF" "cher.example",           // not UTF-8
      "b\xC3" ".example",               // truncated sequence
      "\xC0\xAF" ".example",            // overlong '/'
      "a\xE2\x98\x83" "b.example",      // U+2603 SNOWMAN: DISALLOWED in IDNA2008
      "\xCC\x88" "abc.example",         // a label may not start with a combining mark
  };
  for (const std::string& input : rows) {
    IdnaResult r = ToALabels(input);
    EXPECT_FALSE(r.ok()) << "accepted: " << r.name;
    EXPECT_TRUE(r.name.empty());
    EXPECT_NE(r.error.find("internationalized domain name"), std::string::npos) << r.error;
  }
}

TEST(ToALabels, RejectsEmbeddedNul) {
  IdnaResult r = ToALabels(std::string("b\xC3\xBC" "cher\0.evil", 12));
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error.find("NUL"), std::string::npos) << r.error;
}

TEST(ToALabels, RejectsLabelsAndNamesTooLongInALabelForm) {
  // 60 'ü' make a label far over 63 octets once encoded.
  std::string label;
  for (int i = 0; i < 60; ++i) label += "\xC3\xBC";
  EXPECT_FALSE(ToALabels(label + ".example").ok());

  // Each "bü" label is 9 characters as "xn--b-eha"; 26 of them and ".example"
  // make 26 * 10 + 7 = 267 > 253.
  std::string name;
  for (int i = 0; i < 26; ++i) name += "b\xC3\xBC.";
  name += "example";
  IdnaResult r = ToALabels(name);
  EXPECT_FALSE(r.ok()) << r.name;

  EXPECT_FALSE(ToALabels(std::string(kMaxIdnaInputLength + 1, '\xC3')).ok());
}

TEST(HasNonAscii, FindsAnyHighByte) {
  EXPECT_FALSE(HasNonAscii("example.com"));
  EXPECT_TRUE(HasNonAscii("b\xC3\xBC" "cher.example"));
  EXPECT_TRUE(HasNonAscii("\x80"));
}

}  // namespace
}  // namespace mxkit::dns
