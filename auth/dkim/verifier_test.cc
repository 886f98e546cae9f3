#include "auth/dkim/verifier.h"

#include <algorithm>
#include <string>
#include <vector>

#include "auth/dkim/internal/sha256_sink.h"
#include "auth/dkim/internal/test_keys.h"
#include "auth/dkim/signature.h"
#include "auth/dkim/signer.h"
#include "base/base64.h"
#include "dns/static_resolver.h"
#include "dns/testing/deferred_resolver.h"
#include "gtest/gtest.h"

namespace mxkit::auth::dkim {
namespace {

constexpr int64_t kNow = 1700000000;

// The relaxed body hash of a message's body, as bh= carries it.
std::string RelaxedBodyHash(const std::string& message) {
  return base::EncodeBase64(internal::Sha256(CanonicalizeBody(
      Canonicalization::kRelaxed, message.substr(message.find("\r\n\r\n") + 4))));
}

const std::string kMessage =
    "Received: from a.example by b.example; Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.net>\r\n"
    "Subject: Lunch\r\n"
    " tomorrow?\r\n"
    "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
    "X-Tag: bottom-one\r\n"
    "Message-ID: <1@example.com>\r\n"
    "\r\n"
    "Hi Bob,\r\n"
    "\r\n"
    "Lunch  at noon? \r\n"
    "\r\n";

struct Keys {
  std::string rsa_pem = internal::GenerateRsaPem(1024);
  std::string short_rsa_pem = internal::GenerateRsaPem(512);
  std::string seed = internal::GenerateEd25519Seed();
  SigningKey rsa = *SigningKey::RsaFromPem(rsa_pem);
  SigningKey ed = *SigningKey::Ed25519FromSeed(seed);
};

const Keys& TestKeys() {
  static const Keys* keys = new Keys();
  return *keys;
}

void AddTxt(dns::StaticResolver& r, const std::string& name, std::vector<std::string> strings) {
  dns::ResourceRecord rr;
  rr.name = name;
  rr.type = dns::RrType::kTxt;
  rr.data = dns::TxtData{std::move(strings)};
  r.Add(rr);
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest() {
    AddTxt(resolver_, "rsa._domainkey.example.com", {TestKeys().rsa.KeyRecordText()});
    AddTxt(resolver_, "ed._domainkey.example.com", {TestKeys().ed.KeyRecordText()});
  }

  SignerOptions Options(const std::string& selector) {
    SignerOptions o;
    o.domain = "example.com";
    o.selector = selector;
    o.timestamp = kNow - 60;
    return o;
  }

  // Signs `message` and returns it with the signature prepended.
  std::string Signed(const std::string& message, const SigningKey& key, const SignerOptions& o) {
    absl::StatusOr<std::string> field = SignMessage(message, key, o);
    EXPECT_TRUE(field.ok()) << field.status();
    return field.value_or("") + message;
  }

  // Signs a hand-written DKIM-Signature field (value after "DKIM-Signature:")
  // whose b= is last and empty, and returns the signed message.
  std::string SignedWithField(const std::string& message, const std::string& value,
                              const SigningKey& key) {
    auto split = SplitMessage(message);
    EXPECT_TRUE(split.ok());
    std::string field = "DKIM-Signature:" + value;
    absl::StatusOr<std::string> b = SignFieldTemplate(split->headers, field, key);
    EXPECT_TRUE(b.ok()) << b.status();
    std::string b64;
    {
      static const char kAlphabet[] =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const std::string& s = b.value_or("");
      for (size_t i = 0; i < s.size(); i += 3) {
        uint32_t n = static_cast<uint8_t>(s[i]) << 16;
        if (i + 1 < s.size()) n |= static_cast<uint8_t>(s[i + 1]) << 8;
        if (i + 2 < s.size()) n |= static_cast<uint8_t>(s[i + 2]);
        b64 += kAlphabet[(n >> 18) & 63];
        b64 += kAlphabet[(n >> 12) & 63];
        b64 += i + 1 < s.size() ? kAlphabet[(n >> 6) & 63] : '=';
        b64 += i + 2 < s.size() ? kAlphabet[n & 63] : '=';
      }
    }
    return field + b64 + "\r\n" + message;
  }

  // The synchronous results, after checking that VerifyMessageAsync over
  // deferred lookups (answered newest-first and in two shuffled orders)
  // starts every key lookup at once, completes only after the last answer,
  // exactly once, with the same results: so every test below covers both.
  std::vector<SignatureResult> Verify(const std::string& message, int64_t now = kNow) {
    Verifier verifier(&resolver_);
    auto results = verifier.VerifyMessage(message, now);
    EXPECT_TRUE(results.ok()) << results.status();
    std::vector<SignatureResult> want = results.value_or(std::vector<SignatureResult>{});
    for (uint64_t seed : {0u, 21u, 22u}) {
      SCOPED_TRACE("async, completion order seed " + std::to_string(seed));
      dns::testing::DeferredResolver deferred(resolver_);
      Verifier async(&deferred);
      int calls = 0;
      std::vector<SignatureResult> got;
      async.VerifyMessageAsync(message, now,
                               [&](absl::StatusOr<std::vector<SignatureResult>> r) {
                                 ++calls;
                                 EXPECT_TRUE(r.ok()) << r.status();
                                 got = r.value_or(std::vector<SignatureResult>{});
                               });
      const std::size_t in_flight = deferred.pending();
      if (in_flight > 0) {
        EXPECT_EQ(calls, 0);
      }
      EXPECT_EQ(deferred.Drain(seed), in_flight) << "key lookups are all started at once";
      EXPECT_EQ(calls, 1);
      EXPECT_EQ(got.size(), want.size());
      for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        EXPECT_EQ(got[i].result, want[i].result) << i;
        EXPECT_EQ(got[i].reason, want[i].reason) << i;
        EXPECT_EQ(got[i].header_index, want[i].header_index) << i;
        EXPECT_EQ(got[i].signature.has_value(), want[i].signature.has_value()) << i;
        EXPECT_EQ(got[i].key_testing, want[i].key_testing) << i;
        EXPECT_EQ(got[i].key_bits, want[i].key_bits) << i;
      }
    }
    return want;
  }

  // The keyword of the only signature's result.
  std::string Only(const std::string& message, int64_t now = kNow) {
    std::vector<SignatureResult> r = Verify(message, now);
    if (r.size() != 1) return "count=" + std::to_string(r.size());
    last_reason_ = r[0].reason;
    return std::string(DkimResultKeyword(r[0].result));
  }

  dns::StaticResolver resolver_;
  std::string last_reason_;
};

TEST_F(VerifierTest, OwnSignaturesPassForBothAlgorithmsAndAllCanonicalizations) {
  for (const char* selector : {"rsa", "ed"}) {
    const SigningKey& key = std::string(selector) == "rsa" ? TestKeys().rsa : TestKeys().ed;
    for (Canonicalization hc : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
      for (Canonicalization bc : {Canonicalization::kSimple, Canonicalization::kRelaxed}) {
        SignerOptions o = Options(selector);
        o.header_canonicalization = hc;
        o.body_canonicalization = bc;
        std::string m = Signed(kMessage, key, o);
        EXPECT_EQ(Only(m), "pass") << selector << " " << CanonicalizationName(hc) << "/"
                                   << CanonicalizationName(bc) << ": " << last_reason_;
      }
    }
  }
}

TEST_F(VerifierTest, NoSignatureGivesNoResults) { EXPECT_TRUE(Verify(kMessage).empty()); }

TEST_F(VerifierTest, ModifiedBodyFailsWithBodyHashReason) {
  std::string m = Signed(kMessage, TestKeys().ed, Options("ed"));
  m.replace(m.find("noon"), 4, "one!");
  EXPECT_EQ(Only(m), "fail");
  EXPECT_NE(last_reason_.find("body hash"), std::string::npos) << last_reason_;
}

TEST_F(VerifierTest, RelaxedSurvivesWhitespaceAndCaseChangesSimpleDoesNot) {
  SignerOptions o = Options("rsa");
  std::string m = Signed(kMessage, TestKeys().rsa, o);
  std::string rewritten = m;
  rewritten.replace(rewritten.find("Subject: Lunch"), 14, "SUBJECT:   Lunch ");
  rewritten.replace(rewritten.find("Lunch  at noon? "), 16, "Lunch \t at noon?");
  EXPECT_EQ(Only(rewritten), "pass") << last_reason_;

  o.header_canonicalization = Canonicalization::kSimple;
  o.body_canonicalization = Canonicalization::kSimple;
  std::string s = Signed(kMessage, TestKeys().rsa, o);
  std::string s2 = s;
  s2.replace(s2.find("Subject: Lunch"), 14, "SUBJECT: Lunch");
  EXPECT_EQ(Only(s2), "fail");
  // Trailing empty lines are not signed content under either algorithm.
  EXPECT_EQ(Only(s + "\r\n\r\n"), "pass") << last_reason_;
}

TEST_F(VerifierTest, HeaderSelectionIsBottomUp) {
  std::string message = "X-Tag: top-one\r\n" + kMessage;
  SignerOptions o = Options("ed");
  o.signed_headers = {"from", "x-tag"};
  std::string m = Signed(message, TestKeys().ed, o);
  // The signer lists x-tag once per instance (twice); a hand-made field
  // lists it once, which selects only the bottom-most instance.
  std::string one = SignedWithField(
      message,
      " v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed; h=from:x-tag; bh=" +
          RelaxedBodyHash(message) + "; b=",
      TestKeys().ed);
  EXPECT_EQ(Only(m), "pass") << last_reason_;
  // Editing the top instance does not matter for the hand-made signature
  // (only the bottom X-Tag is signed), but does for the signer's (both are).
  auto edit_top = [](std::string s) {
    s.replace(s.find("top-one"), 7, "top-two");
    return s;
  };
  EXPECT_EQ(Only(edit_top(m)), "fail");
  std::vector<SignatureResult> r = Verify(edit_top(one));
  ASSERT_EQ(r.size(), 1u);
  // bh= above is the relaxed body hash of kMessage's body.
  EXPECT_EQ(DkimResultKeyword(r[0].result), "pass") << r[0].reason;
  std::string edit_bottom = one;
  edit_bottom.replace(edit_bottom.find("bottom-one"), 10, "bottom-two");
  EXPECT_EQ(Only(edit_bottom), "fail");
}

TEST_F(VerifierTest, OverSigningRejectsAnAddedFrom) {
  SignerOptions o = Options("ed");
  std::string plain = Signed(kMessage, TestKeys().ed, o);
  o.oversign = true;
  std::string over = Signed(kMessage, TestKeys().ed, o);
  auto add_from = [](const std::string& s) {
    // Insert a second From above the signed one (below the signature).
    std::string out = s;
    out.insert(out.find("Received:"), "From: Mallory <boss@example.com>\r\n");
    return out;
  };
  EXPECT_EQ(Only(over), "pass") << last_reason_;
  // Without over-signing the bottom-most From is still the signed one.
  EXPECT_EQ(Only(add_from(plain)), "pass") << last_reason_;
  // With it, the extra h=from entry now selects Mallory's field instead of null.
  EXPECT_EQ(Only(add_from(over)), "fail");
  // Over-signed names absent from the message appear once in h=.
  std::vector<SignatureResult> r = Verify(over);
  ASSERT_EQ(r.size(), 1u);
  int cc = 0, from = 0;
  for (const std::string& h : r[0].signature->signed_headers) {
    cc += h == "cc";
    from += h == "from";
  }
  EXPECT_EQ(cc, 1);
  EXPECT_EQ(from, 2);
}

TEST_F(VerifierTest, BodyLengthLimitSignsOnlyThePrefix) {
  SignerOptions o = Options("rsa");
  o.include_body_length = true;
  std::string m = Signed(kMessage, TestKeys().rsa, o);
  EXPECT_EQ(Only(m + "Appended after signing.\r\n"), "pass") << last_reason_;
  // A shorter body than l= says fails.
  std::string cut = m.substr(0, m.size() - 8) + "\r\n";
  EXPECT_EQ(Only(cut), "fail");
}

TEST_F(VerifierTest, ExpiryIsCheckedAgainstTheCallersClock) {
  SignerOptions o = Options("ed");
  o.timestamp = kNow;
  o.expiration = kNow + 100;
  std::string m = Signed(kMessage, TestKeys().ed, o);
  EXPECT_EQ(Only(m, kNow + 100), "pass") << last_reason_;
  EXPECT_EQ(Only(m, kNow + 101), "fail");
  EXPECT_NE(last_reason_.find("expired"), std::string::npos);
}

struct FieldRow {
  std::string value;  // after "DKIM-Signature:"
  std::string keyword;
};

TEST_F(VerifierTest, SignatureFieldProblemsMapToRfc8601Keywords) {
  const std::string bh = "bh=ZUkKRUyrpbEeUuhIO6rdWPWQr1mfJlNuX3J4/P0rnoQ=; ";
  const std::string b = "b=dGVzdA==";
  const std::vector<FieldRow> rows = {
      {" v=1; a=ed25519-sha256; d=example.com; s=ed; h=from; " + bh.substr(0, bh.size() - 2),
       "permerror"},  // no b=
      {" v=1; a=ed25519-sha256; d=example.com; s=ed; " + bh + b, "permerror"},      // no h=
      {" v=2; a=ed25519-sha256; d=example.com; s=ed; h=from; " + bh + b, "permerror"},
      {" v=1; a=ed448-sha256; d=example.com; s=ed; h=from; " + bh + b, "permerror"},
      {" v=1; a=rsa-sha256; c=fancy; d=example.com; s=rsa; h=from; " + bh + b, "permerror"},
      {" v=1; a=rsa-sha256; q=http/get; d=example.com; s=rsa; h=from; " + bh + b, "permerror"},
      {" v=1; a=rsa-sha256; d=example.com; s=rsa; h=to:subject; " + bh + b, "permerror"},
      {" v=1; a=rsa-sha256; d=example.com; i=@example.org; s=rsa; h=from; " + bh + b,
       "permerror"},
      {" v=1; a=rsa-sha256; d=example.com; i=@badexample.com; s=rsa; h=from; " + bh + b,
       "permerror"},
      {" v=1; a=rsa-sha256; d=example.com; t=200; x=100; s=rsa; h=from; " + bh + b,
       "permerror"},
      {" v=1; a=rsa-sha256; d=example.com; t=100; x=100; s=rsa; h=from; " + bh + b,
       "permerror"},
      // Syntax errors: neutral.
      {" v=1; a=rsa-sha256; v=1; d=example.com; s=rsa; h=from; " + bh + b, "neutral"},
      {" v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; " + bh + "b=!!!!", "neutral"},
      {" v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; l=12a; " + bh + b, "neutral"},
      {" v=1; a=rsa-sha256; d=example.com; s=rsa; h=from; t=1234567890123; " + bh + b,
       "neutral"},
      {" v=1; a=rsa-sha256; d=-example.com; s=rsa; h=from; " + bh + b, "neutral"},
      {" v=1; a=rsa-sha256; d=example.com; s=rsa; h=from::to; " + bh + b, "neutral"},
      {" v=1; a=rsa-sha256; d=example.com; i=nobody; s=rsa; h=from; " + bh + b, "neutral"},
      // RFC 8301 §3.1: rsa-sha1 is refused by default, as local policy.
      {" v=1; a=rsa-sha1; d=example.com; s=rsa; h=from; " + bh + b, "policy"},
      // Wrong signature bytes.
      {" v=1; a=ed25519-sha256; c=relaxed/relaxed; d=example.com; s=ed; h=from; " + bh + b,
       "fail"},
  };
  for (const FieldRow& row : rows) {
    std::string m = "DKIM-Signature:" + row.value + "\r\n" + kMessage;
    EXPECT_EQ(Only(m), row.keyword) << row.value << "\n  reason: " << last_reason_;
  }
}

TEST_F(VerifierTest, IdentityInASubdomainIsAccepted) {
  SignerOptions o = Options("ed");
  o.identity = "alice@mail.Example.COM";
  EXPECT_EQ(Only(Signed(kMessage, TestKeys().ed, o)), "pass") << last_reason_;
}

struct KeyRow {
  std::vector<std::string> txt;  // empty: no record
  std::string keyword;
  std::string reason_part;
};

TEST_F(VerifierTest, KeyProblemsMapToRfc8601Keywords) {
  const std::string ed_p = TestKeys().ed.KeyRecordText().substr(std::string("v=DKIM1; k=ed25519; ").size());
  const std::vector<KeyRow> rows = {
      {{}, "permerror", "no key"},
      {{"v=DKIM1; k=ed25519; p="}, "permerror", "revoked"},
      {{"v=DKIM1; k=ed25519; " + ed_p + "; v=DKIM1"}, "permerror", "key record"},
      {{"v=DKIM2; k=ed25519; " + ed_p}, "permerror", "DKIM1"},
      {{"v=DKIM1; k=rsa; " + ed_p}, "permerror", "key record"},
      {{TestKeys().rsa.KeyRecordText()}, "permerror", "inappropriate key algorithm"},
      {{"v=DKIM1; k=ed25519; h=sha1; " + ed_p}, "permerror", "hash"},
      {{"v=DKIM1; k=ed25519; s=web; " + ed_p}, "permerror", "service"},
      // Split over several strings, with t=y: passes, flagged as testing.
      {{"v=DKIM1; k=ed25519; t=y; ", ed_p.substr(0, 10), ed_p.substr(10)}, "pass", "verified"},
      // An ed25519 key that is not 32 bytes.
      {{"v=DKIM1; k=ed25519; p=AAAA"}, "permerror", "32-byte"},
  };
  for (const KeyRow& row : rows) {
    dns::StaticResolver resolver;
    if (!row.txt.empty()) AddTxt(resolver, "k._domainkey.example.com", row.txt);
    SignerOptions o = Options("k");
    std::string m = Signed(kMessage, TestKeys().ed, o);
    Verifier verifier(&resolver);
    auto results = verifier.VerifyMessage(m, kNow);
    ASSERT_TRUE(results.ok());
    ASSERT_EQ(results->size(), 1u);
    EXPECT_EQ(DkimResultKeyword((*results)[0].result), row.keyword)
        << (row.txt.empty() ? "" : row.txt[0]) << ": " << (*results)[0].reason;
    EXPECT_NE((*results)[0].reason.find(row.reason_part), std::string::npos)
        << (*results)[0].reason;
    if (row.keyword == "pass") {
      EXPECT_TRUE((*results)[0].key_testing);
    }
  }
}

TEST_F(VerifierTest, SecondKeyRecordIsUsedWhenTheFirstIsInvalid) {
  dns::StaticResolver resolver;
  AddTxt(resolver, "k._domainkey.example.com", {"v=DKIM1; k=ed25519; p=AAAA"});
  AddTxt(resolver, "k._domainkey.example.com", {TestKeys().ed.KeyRecordText()});
  Verifier verifier(&resolver);
  auto results = verifier.VerifyMessage(Signed(kMessage, TestKeys().ed, Options("k")), kNow);
  ASSERT_TRUE(results.ok());
  ASSERT_EQ(results->size(), 1u);
  EXPECT_EQ((*results)[0].result, DkimResult::kPass) << (*results)[0].reason;
}

TEST_F(VerifierTest, DnsTimeoutIsTempError) {
  resolver_.AddFault("ed._domainkey.example.com", dns::Fault::kTimeout);
  EXPECT_EQ(Only(Signed(kMessage, TestKeys().ed, Options("ed"))), "temperror") << last_reason_;
}

TEST_F(VerifierTest, StrictIdentityFlagRequiresIEqualToD) {
  AddTxt(resolver_, "strict._domainkey.example.com", {"t=s; " + TestKeys().ed.KeyRecordText().substr(9)});
  SignerOptions o = Options("strict");
  EXPECT_EQ(Only(Signed(kMessage, TestKeys().ed, o)), "pass") << last_reason_;
  o.identity = "@mail.example.com";
  EXPECT_EQ(Only(Signed(kMessage, TestKeys().ed, o)), "permerror");
  EXPECT_NE(last_reason_.find("t=s"), std::string::npos) << last_reason_;
}

TEST_F(VerifierTest, RsaKeysUnder1024BitsAreRefusedAsPolicyWithTheReason) {
  AddTxt(resolver_, "short._domainkey.example.com",
         {internal::RsaKeyRecordFromPem(TestKeys().short_rsa_pem)});
  // The signer refuses short keys, so sign a field by hand with the 1024-bit
  // key: the verifier stops at the key size before any crypto.
  std::string m = SignedWithField(
      kMessage,
      " v=1; a=rsa-sha256; d=example.com; s=short; h=from; "
      "bh=ZUkKRUyrpbEeUuhIO6rdWPWQr1mfJlNuX3J4/P0rnoQ=; b=",
      TestKeys().rsa);
  std::vector<SignatureResult> r = Verify(m);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].result, DkimResult::kPolicy) << r[0].reason;
  EXPECT_NE(r[0].reason.find("RSA key of 512 bits below the 1024-bit minimum"), std::string::npos)
      << r[0].reason;
  EXPECT_NE(r[0].reason.find("RFC 8301 §3.2"), std::string::npos) << r[0].reason;
  EXPECT_EQ(r[0].key_bits, 512u);

  // Evaluated once the minimum is lowered: the b= made with another key fails.
  VerifierOptions lowered;
  lowered.min_rsa_bits = 512;
  auto verifier = Verifier::Create(&resolver_, lowered);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  auto evaluated = verifier->VerifyMessage(m, kNow);
  ASSERT_TRUE(evaluated.ok());
  ASSERT_EQ(evaluated->size(), 1u);
  EXPECT_EQ((*evaluated)[0].result, DkimResult::kFail) << (*evaluated)[0].reason;
}

TEST_F(VerifierTest, RaisedMinimumRefusesA1024BitKey) {
  VerifierOptions strict;
  strict.min_rsa_bits = 2048;
  auto verifier = Verifier::Create(&resolver_, strict);
  ASSERT_TRUE(verifier.ok()) << verifier.status();
  auto r = verifier->VerifyMessage(Signed(kMessage, TestKeys().rsa, Options("rsa")), kNow);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].result, DkimResult::kPolicy);
  EXPECT_NE((*r)[0].reason.find("1024 bits below the 2048-bit minimum"), std::string::npos)
      << (*r)[0].reason;
  // Ed25519 keys have no RSA size to refuse.
  r = verifier->VerifyMessage(Signed(kMessage, TestKeys().ed, Options("ed")), kNow);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].result, DkimResult::kPass) << (*r)[0].reason;
}

struct OptionsRow {
  unsigned min_rsa_bits;
  bool valid;
};

TEST(VerifierOptions, MinRsaBitsOutsideItsRangeIsRefusedByName) {
  const std::vector<OptionsRow> rows = {
      {0, false},    {256, false},  {511, false}, {512, true},  {768, true},
      {1024, true},  {2048, true},  {8192, true}, {8193, false}, {1u << 31, false},
  };
  dns::StaticResolver resolver;
  for (const OptionsRow& row : rows) {
    VerifierOptions o;
    o.min_rsa_bits = row.min_rsa_bits;
    absl::Status s = ValidateVerifierOptions(o);
    EXPECT_EQ(s.ok(), row.valid) << row.min_rsa_bits << ": " << s;
    EXPECT_EQ(Verifier::Create(&resolver, o).ok(), row.valid) << row.min_rsa_bits;
    if (!row.valid) {
      EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
      EXPECT_NE(s.message().find("min_rsa_bits"), std::string_view::npos) << s;
      EXPECT_NE(s.message().find("512..8192"), std::string_view::npos) << s;
    }
  }
}

struct OrderRow {
  std::string name;               // what the row checks
  std::vector<std::string> txt;   // the key record at k._domainkey.example.com; empty: none
  std::string algorithm;          // a=
  std::string keyword;
  std::string reason_part;
};

// A key-record problem makes the signature permerror/temperror whatever its
// algorithm and key size; the RFC 8301 refusals come only for a signature
// that would otherwise have been evaluated.
TEST_F(VerifierTest, KeyRecordProblemsComeBeforePolicyRefusals) {
  const std::string short_record = internal::RsaKeyRecordFromPem(TestKeys().short_rsa_pem);
  const std::string short_p = short_record.substr(short_record.find("p="));
  const std::string rsa_p = TestKeys().rsa.KeyRecordText().substr(
      TestKeys().rsa.KeyRecordText().find("p="));
  const std::vector<OrderRow> rows = {
      {"no key, sha1", {}, "rsa-sha1", "permerror", "no key"},
      {"no key, short", {}, "rsa-sha256", "permerror", "no key"},
      {"revoked, sha1", {"v=DKIM1; k=rsa; p="}, "rsa-sha1", "permerror", "revoked"},
      {"bad p=, sha1", {"v=DKIM1; k=rsa; p=AAAA"}, "rsa-sha1", "permerror", "key record"},
      {"bad p=, short", {"v=DKIM1; k=rsa; p=!!"}, "rsa-sha256", "permerror", "base64"},
      {"wrong k=, sha1", {TestKeys().ed.KeyRecordText()}, "rsa-sha1", "permerror",
       "inappropriate key algorithm"},
      {"h= without sha1", {"v=DKIM1; k=rsa; h=sha256; " + rsa_p}, "rsa-sha1", "permerror",
       "excludes sha1"},
      {"h= without sha256, short", {"v=DKIM1; k=rsa; h=sha1; " + short_p}, "rsa-sha256",
       "permerror", "excludes sha256"},
      {"s= not email, short", {"v=DKIM1; k=rsa; s=web; " + short_p}, "rsa-sha256", "permerror",
       "service"},
      {"revoked, short record ahead of policy", {"v=DKIM1; p="}, "rsa-sha256", "permerror",
       "revoked"},
      // Nothing wrong with the record: now the policy speaks, with its reason.
      {"sha1 with a good key", {"v=DKIM1; k=rsa; h=sha1:sha256; " + rsa_p}, "rsa-sha1", "policy",
       "rsa-sha1 refused"},
      {"short key", {short_record}, "rsa-sha256", "policy", "512 bits below"},
      {"sha1 and short key", {short_record}, "rsa-sha1", "policy",
       "rsa-sha1 refused: RFC 8301 §3.1; RSA key of 512 bits below the 1024-bit minimum"},
  };
  for (const OrderRow& row : rows) {
    dns::StaticResolver resolver;
    if (!row.txt.empty()) AddTxt(resolver, "k._domainkey.example.com", row.txt);
    std::string m = "DKIM-Signature: v=1; a=" + row.algorithm +
                    "; d=example.com; s=k; h=from; "
                    "bh=ZUkKRUyrpbEeUuhIO6rdWPWQr1mfJlNuX3J4/P0rnoQ=; b=dGVzdA==\r\n" +
                    kMessage;
    Verifier verifier(&resolver);
    auto results = verifier.VerifyMessage(m, kNow);
    ASSERT_TRUE(results.ok());
    ASSERT_EQ(results->size(), 1u);
    EXPECT_EQ(DkimResultKeyword((*results)[0].result), row.keyword)
        << row.name << ": " << (*results)[0].reason;
    EXPECT_NE((*results)[0].reason.find(row.reason_part), std::string::npos)
        << row.name << ": " << (*results)[0].reason;
  }
  // A DNS failure is temperror for an rsa-sha1 signature too.
  resolver_.AddFault("rsa._domainkey.example.com", dns::Fault::kServfail);
  EXPECT_EQ(Only("DKIM-Signature: v=1; a=rsa-sha1; d=example.com; s=rsa; h=from; "
                 "bh=ZUkKRUyrpbEeUuhIO6rdWPWQr1mfJlNuX3J4/P0rnoQ=; b=dGVzdA==\r\n" +
                 kMessage),
            "temperror")
      << last_reason_;
}

TEST_F(VerifierTest, AllowedRsaSha1IsEvaluatedWithSha1) {
  // Our signer refuses rsa-sha1 (RFC 8301 §3.1); testdata/historic has
  // dkimpy-signed passes. Here: the SHA-256 bh= of kMessage is the wrong
  // hash for rsa-sha1, so the evaluated signature fails on the body hash.
  VerifierOptions o;
  o.allow_rsa_sha1 = true;
  auto verifier = Verifier::Create(&resolver_, o);
  ASSERT_TRUE(verifier.ok());
  auto r = verifier->VerifyMessage(
      "DKIM-Signature: v=1; a=rsa-sha1; d=example.com; s=rsa; h=from; "
      "bh=ZUkKRUyrpbEeUuhIO6rdWPWQr1mfJlNuX3J4/P0rnoQ=; b=dGVzdA==\r\n" + kMessage,
      kNow);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].result, DkimResult::kFail) << (*r)[0].reason;
  EXPECT_NE((*r)[0].reason.find("body hash"), std::string::npos) << (*r)[0].reason;
}

TEST_F(VerifierTest, EverySignatureGetsItsOwnResultUpToTheBound) {
  std::string m = Signed(kMessage, TestKeys().ed, Options("ed"));
  m = Signed(m, TestKeys().rsa, Options("rsa"));
  m = "DKIM-Signature: garbage\r\n" + m;
  std::vector<SignatureResult> r = Verify(m);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].result, DkimResult::kNeutral);
  EXPECT_EQ(r[1].result, DkimResult::kPass) << r[1].reason;
  EXPECT_EQ(r[1].signature->selector, "rsa");
  EXPECT_EQ(r[2].result, DkimResult::kPass) << r[2].reason;
  EXPECT_EQ(r[2].header_index, 2u);

  std::string many = kMessage;
  for (size_t i = 0; i < kMaxSignaturesEvaluated + 2; ++i) {
    many = Signed(many, TestKeys().ed, Options("ed"));
  }
  r = Verify(many);
  ASSERT_EQ(r.size(), kMaxSignaturesEvaluated + 2);
  for (size_t i = 0; i < r.size(); ++i) {
    // The default h= list leaves out DKIM-Signature, so stacking signatures
    // breaks none of them: every evaluated one passes.
    EXPECT_EQ(r[i].result, i < kMaxSignaturesEvaluated ? DkimResult::kPass : DkimResult::kPolicy)
        << i << ": " << r[i].reason;
  }
}

TEST_F(VerifierTest, AsyncStartsEveryKeyLookupAtOnceAndWaitsForTheLast) {
  std::string m = Signed(kMessage, TestKeys().ed, Options("ed"));
  m = Signed(m, TestKeys().rsa, Options("rsa"));
  m = "DKIM-Signature: garbage\r\n" + m;  // final without a lookup
  dns::testing::DeferredResolver deferred(resolver_);
  Verifier verifier(&deferred);
  int calls = 0;
  std::vector<SignatureResult> got;
  verifier.VerifyMessageAsync(m, kNow, [&](absl::StatusOr<std::vector<SignatureResult>> r) {
    ++calls;
    ASSERT_TRUE(r.ok());
    got = *std::move(r);
  });
  ASSERT_EQ(deferred.pending(), 2u);
  EXPECT_EQ(deferred.queue()[0].name, "rsa._domainkey.example.com");
  EXPECT_EQ(deferred.queue()[1].name, "ed._domainkey.example.com");
  deferred.Complete(1);
  EXPECT_EQ(calls, 0);
  deferred.Complete(0);
  ASSERT_EQ(calls, 1);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].result, DkimResult::kNeutral);
  EXPECT_EQ(got[1].result, DkimResult::kPass) << got[1].reason;
  EXPECT_EQ(got[2].result, DkimResult::kPass) << got[2].reason;
}

TEST_F(VerifierTest, AsyncWithoutLookupsCompletesInline) {
  Verifier verifier(&resolver_);
  int calls = 0;
  verifier.VerifyMessageAsync(kMessage, kNow, [&](absl::StatusOr<std::vector<SignatureResult>> r) {
    ++calls;
    EXPECT_TRUE(r.ok() && r->empty());
  });
  EXPECT_EQ(calls, 1);
  verifier.VerifyMessageAsync("no header block end", kNow,
                              [&](absl::StatusOr<std::vector<SignatureResult>> r) {
                                ++calls;
                                EXPECT_FALSE(r.ok());
                              });
  EXPECT_EQ(calls, 2);
}

// A resolver whose one TXT answer the test can change between lookups.
class MutableResolver : public dns::Resolver {
 public:
  void Lookup(std::string_view name, dns::RrType type, Callback done) override {
    dns::LookupResult r;
    r.status = dns::LookupStatus::kAnswer;
    dns::ResourceRecord rr;
    rr.name = std::string(name);
    rr.type = dns::RrType::kTxt;
    rr.data = strings.empty() ? dns::TxtData{{txt}} : dns::TxtData{strings};
    r.records.push_back(rr);
    done(std::move(r));
  }
  std::string txt;
  std::vector<std::string> strings;  // when set, the record's strings instead of txt
};

// The cache is keyed by the record's text (its strings joined): a record
// split differently is the same key, one of the same length that differs in
// one byte is not.
TEST(VerifierKeyCache, KeysOnTheJoinedTextOfTheRecord) {
  MutableResolver resolver;
  Verifier verifier(&resolver);
  SignerOptions o;
  o.domain = "example.com";
  o.selector = "k";
  std::string m = *SignMessage(kMessage, TestKeys().ed, o) + kMessage;
  auto keyword = [&] {
    auto r = verifier.VerifyMessage(m, kNow);
    return r.ok() && r->size() == 1 ? std::string(DkimResultKeyword((*r)[0].result)) : "?";
  };
  const std::string text = TestKeys().ed.KeyRecordText();
  const std::size_t p = text.find("p=") + 2;
  resolver.strings = {text.substr(0, p), text.substr(p)};
  EXPECT_EQ(keyword(), "pass");
  resolver.strings = {text.substr(0, p + 5), text.substr(p + 5, 7), text.substr(p + 12)};
  EXPECT_EQ(keyword(), "pass");
  std::string other = text;
  other[p] = other[p] == 'A' ? 'B' : 'A';  // another Ed25519 key, same length
  resolver.strings = {other.substr(0, p + 3), other.substr(p + 3)};
  EXPECT_EQ(keyword(), "fail");
  resolver.strings = {text};
  EXPECT_EQ(keyword(), "pass");
}

TEST(VerifierKeyCache, NeverHidesADnsChange) {
  MutableResolver resolver;
  Verifier verifier(&resolver);
  SignerOptions o;
  o.domain = "example.com";
  o.selector = "k";
  std::string m = *SignMessage(kMessage, TestKeys().ed, o) + kMessage;
  auto keyword = [&] {
    auto r = verifier.VerifyMessage(m, kNow);
    return r.ok() && r->size() == 1 ? std::string(DkimResultKeyword((*r)[0].result)) : "?";
  };
  resolver.txt = TestKeys().ed.KeyRecordText();
  EXPECT_EQ(keyword(), "pass");
  resolver.txt = "v=DKIM1; k=ed25519; p=";
  EXPECT_EQ(keyword(), "permerror");
  resolver.txt = TestKeys().rsa.KeyRecordText();
  EXPECT_EQ(keyword(), "permerror");
  resolver.txt = TestKeys().ed.KeyRecordText();
  EXPECT_EQ(keyword(), "pass");
  // More distinct records than the cache holds still parse correctly.
  for (std::size_t i = 0; i < kKeyCacheEntries + 3; ++i) {
    resolver.txt = "v=DKIM1; n=" + std::to_string(i) + "; " + TestKeys().ed.KeyRecordText().substr(9);
    EXPECT_EQ(keyword(), "pass") << i;
  }
}

}  // namespace
}  // namespace mxkit::auth::dkim
