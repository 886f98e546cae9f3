#include "fakemx/verdict_authentication_results.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/authentication_results_builder.h"
#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

namespace spf = auth::spf;
namespace dkim = auth::dkim;
namespace dmarc = auth::dmarc;

// What the engine keeps of `in` (fakemx/verdict.cc, ToVerdict and Finish):
// the field is then written from that alone.
MessageVerdict KeptOf(const auth::AuthResInput& in) {
  MessageVerdict v;
  v.evaluated = true;
  v.authserv_id = std::make_shared<const std::string>(in.authserv_id);
  SpfVerdict* spf[] = {&v.spf_mail_from, &v.spf_helo};
  for (size_t i = 0; i < 2; ++i) {
    spf[i]->result = std::string(spf::ResultName(in.spf[i].result));
    spf[i]->reason = in.spf[i].reason;
    spf[i]->identity = in.spf[i].value;
  }
  for (const dkim::SignatureResult& r : *in.dkim) {
    DkimVerdict d;
    d.result = std::string(dkim::DkimResultKeyword(r.result));
    d.reason = r.reason;
    if (r.signature) {
      d.parsed = true;
      d.domain = r.signature->domain;
      d.selector = r.signature->selector;
      d.algorithm = std::string(dkim::SignatureAlgorithmName(r.signature->algorithm));
      d.identity = r.signature->identity;
      // The base64 of b='s first 6 bytes, as many characters as it has.
      static const char kAlphabet[] =
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
      const std::string& b = r.signature->signature;
      std::string out;
      for (size_t k = 0; k < std::min<size_t>(b.size(), 6); k += 3) {
        uint32_t n = static_cast<uint8_t>(b[k]) << 16;
        if (k + 1 < b.size()) n |= static_cast<uint8_t>(b[k + 1]) << 8;
        if (k + 2 < b.size()) n |= static_cast<uint8_t>(b[k + 2]);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += k + 1 < b.size() ? kAlphabet[(n >> 6) & 63] : '=';
        out += k + 2 < b.size() ? kAlphabet[n & 63] : '=';
      }
      d.header_b = out.substr(0, auth::kHeaderBPrefixLength);
    }
    v.dkim.push_back(std::move(d));
  }
  const dmarc::Evaluation& e = *in.dmarc;
  v.dmarc.result = std::string(dmarc::DmarcResultKeyword(e.result));
  v.dmarc.disposition = std::string(dmarc::PolicyName(e.disposition));
  v.dmarc.author_domain = e.author_domain;
  v.dmarc.record_found = e.record.has_value();
  v.dmarc.reason = e.reason;
  return v;
}

dkim::SignatureResult Signature(dkim::DkimResult result, std::string reason, std::string domain,
                                std::string identity, std::string b) {
  dkim::SignatureResult r;
  r.result = result;
  r.reason = std::move(reason);
  r.signature.emplace();
  r.signature->domain = std::move(domain);
  r.signature->selector = "sel";
  r.signature->algorithm = dkim::SignatureAlgorithm::kEd25519Sha256;
  r.signature->identity = std::move(identity);
  r.signature->signature = std::move(b);
  return r;
}

auth::AuthResInput Input(spf::Result mail_from, std::string mail_from_value,
                         std::string mail_from_reason, spf::Result helo, std::string helo_value,
                         std::vector<dkim::SignatureResult> signatures,
                         dmarc::DmarcResult dmarc_result, std::string author_domain,
                         bool record, std::string dmarc_reason) {
  auth::AuthResInput in;
  in.authserv_id = "mx.example.test";
  in.spf.push_back({mail_from, "mailfrom", std::move(mail_from_value), std::move(mail_from_reason)});
  in.spf.push_back({helo, "helo", std::move(helo_value), "no SPF record at the HELO name"});
  in.dkim = std::move(signatures);
  dmarc::Evaluation e;
  e.result = dmarc_result;
  e.disposition = dmarc_result == dmarc::DmarcResult::kFail ? dmarc::Policy::kReject
                                                            : dmarc::Policy::kNone;
  e.author_domain = std::move(author_domain);
  if (record) e.record.emplace();
  e.reason = std::move(dmarc_reason);
  in.dmarc = std::move(e);
  return in;
}

// Byte for byte what auth/'s builder writes from the results themselves
// (the engine wrote that with every message before the value became lazy).
TEST(AuthenticationResultsValue, IsWhatTheBuilderWritesFromTheResults) {
  const std::string sig(64, '\xfb');
  const std::vector<auth::AuthResInput> inputs = {
      // Everything passes: no reasons, every property.
      Input(spf::Result::kPass, "perf@example.test", "matched ip4", spf::Result::kNone,
            "client.example.test",
            {Signature(dkim::DkimResult::kPass, "", "example.test", "@example.test", sig)},
            dmarc::DmarcResult::kPass, "example.test", true, "aligned"),
      // Failures with reasons holding control characters, the null
      // reverse-path (no smtp.mailfrom), an unparsed signature, a b= shorter
      // than the prefix and an empty one, no record, long enough to fold.
      Input(spf::Result::kFail, "", "ip4 \t mismatch\x01 in \"example.org\"",
            spf::Result::kTempError, "helo\x7f.example.test",
            {dkim::SignatureResult{dkim::DkimResult::kPermError, "no d= tag", 0, std::nullopt},
             Signature(dkim::DkimResult::kFail, "body hash mismatch", "example.org",
                       "a\tb@example.org", "\x01\x02"),
             Signature(dkim::DkimResult::kNeutral, "", "example.org", "", "")},
            dmarc::DmarcResult::kFail, "example.org", false,
            "neither SPF nor DKIM aligned with the From domain example.org, and more words "
            "so that the writer has to fold this field over several lines"),
      // No signature: dkim=none; an unreadable From: no header.from.
      Input(spf::Result::kSoftFail, "x@example.net", "~all", spf::Result::kNeutral, "h.test", {},
            dmarc::DmarcResult::kPermError, "", false, "RFC5322.From: no address"),
      // Bytes the field cannot carry: the "none" form, saying why.
      Input(spf::Result::kPass, "caf\xc3\xa9@example.test", "", spf::Result::kNone, "h\xff.test",
            {}, dmarc::DmarcResult::kNone, "example.test", false, "no record"),
  };
  for (size_t i = 0; i < inputs.size(); ++i) {
    SCOPED_TRACE(i);
    absl::StatusOr<std::string> built = auth::FormatBuiltAuthenticationResults(inputs[i]);
    std::string want;
    if (built.ok()) {
      want = built->substr(1);  // the value, without the space after the colon
    } else {
      want = "mx.example.test; none (" + std::string(built.status().message()) + ")";
    }
    EXPECT_EQ(AuthenticationResultsValue(KeptOf(inputs[i])), want);
  }
}

TEST(AuthenticationResultsValue, IsEmptyForAVerdictNotEvaluated) {
  MessageVerdict v;
  v.authserv_id = std::make_shared<const std::string>("mx.example.test");
  EXPECT_EQ(AuthenticationResultsValue(v), "");
}

}  // namespace
}  // namespace mxkit::fakemx
