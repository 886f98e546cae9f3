// Differential test: our DMARC evaluator against OpenDMARC (libopendmarc
// 1.4.2, driven as its milter drives it: auth/dmarc/testing/opendmarc_peer.h)
// on a table of From / SPF / DKIM combinations over one zone, with the same
// public suffix list file on both sides.
//
// Each case is evaluated by both; we compare the result keyword, the
// disposition, the requested policy (p or sp) and which identifiers aligned.
// Every disagreement must be listed in kKnownDisagreements with both answers
// exactly as observed, the RFC section that decides it and who is right; an
// unlisted disagreement fails, and so does a listed one that no longer occurs
// (a stale row). auth/dmarc/README.md carries the same table.

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "auth/dmarc/evaluator.h"
#include "auth/dmarc/testing/opendmarc_peer.h"
#include "dns/static_resolver.h"
#include "gtest/gtest.h"

namespace mxkit::auth::dmarc {
namespace {

using testing::OpenDmarcPeer;
using testing::PeerEvaluation;

// Names under real suffixes so that both public suffix codes see the same
// list entries: .com and .de (ICANN, one label), .co.uk (ICANN, two labels),
// .github.io (private section).
constexpr char kZone[] = R"(
_dmarc.example.com.        TXT "v=DMARC1; p=reject; sp=quarantine"
_dmarc.strict.com.         TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.example.co.uk.      TXT "v=DMARC1; p=quarantine"
_dmarc.alice.github.io.    TXT "v=DMARC1; p=reject"
_dmarc.pnone.com.          TXT "v=DMARC1; p=none"
_dmarc.pct.com.            TXT "v=DMARC1; p=reject; pct=50"
_dmarc.tflag.com.          TXT "v=DMARC1; p=reject; t=y"
_dmarc.nop.com.            TXT "v=DMARC1; sp=reject"
_dmarc.noprua.com.         TXT "v=DMARC1; sp=reject; rua=mailto:agg@noprua.com"
_dmarc.badp.com.           TXT "v=DMARC1; p=bogus"
_dmarc.badpct.com.         TXT "v=DMARC1; p=reject; pct=abc"
_dmarc.badadkim.com.       TXT "v=DMARC1; p=reject; adkim=x"
_dmarc.spaces.com.         TXT "v = DMARC1 ;p = quarantine ; aspf = s"
_dmarc.version.com.        TXT "v=DMARC2; p=reject"
_dmarc.multi.com.          TXT "v=DMARC1; p=reject"
_dmarc.multi.com.          TXT "v=DMARC1; p=none"
_dmarc.mixed.com.          TXT "v=spf1 -all"
_dmarc.mixed.com.          TXT "v=DMARC1; p=quarantine"
_dmarc.split.com.          TXT "v=DMARC1; " "p=reject"
_dmarc.npdom.com.          TXT "v=DMARC1; p=reject; sp=none; np=quarantine"
www.npdom.com.             A 192.0.2.1
_dmarc.xn--bcher-kva.de.   TXT "v=DMARC1; p=reject"
$SERVFAIL _dmarc.servfail.com.
)";

struct Dkim {
  dkim::DkimResult result;
  const char* domain;
};

struct Case {
  const char* name;
  const char* from;
  spf::Result spf;
  const char* mail_from;  // the SPF-authenticated domain
  std::vector<Dkim> dkim;
  uint32_t pct_sample = 0;
};

constexpr auto kPass = spf::Result::kPass;
constexpr auto kSpfFail = spf::Result::kFail;
constexpr auto kSpfNone = spf::Result::kNone;
constexpr auto kSpfTemp = spf::Result::kTempError;
constexpr auto kDPass = dkim::DkimResult::kPass;
constexpr auto kDFail = dkim::DkimResult::kFail;

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      // Organizational domain, SPF.
      {"org-spf-pass-aligned", "example.com", kPass, "example.com", {}},
      {"org-spf-pass-subdomain-mailfrom", "example.com", kPass, "bounce.example.com", {}},
      {"org-spf-pass-unaligned", "example.com", kPass, "example.net", {}},
      {"org-spf-fail-aligned", "example.com", kSpfFail, "example.com", {}},
      {"org-spf-none", "example.com", kSpfNone, "example.com", {}},
      {"org-spf-temperror", "example.com", kSpfTemp, "example.com", {}},
      {"org-spf-pass-public-suffix-mailfrom", "example.com", kPass, "com", {}},
      // Organizational domain, DKIM.
      {"org-dkim-pass-aligned", "example.com", kSpfFail, "example.net", {{kDPass, "example.com"}}},
      {"org-dkim-pass-subdomain", "example.com", kSpfNone, "", {{kDPass, "mail.example.com"}}},
      {"org-dkim-fail-aligned", "example.com", kSpfNone, "", {{kDFail, "example.com"}}},
      {"org-dkim-pass-unaligned", "example.com", kSpfNone, "", {{kDPass, "example.org"}}},
      {"org-dkim-pass-public-suffix-d", "example.com", kSpfNone, "", {{kDPass, "com"}}},
      {"org-dkim-several-one-aligned", "example.com", kSpfFail, "example.com",
       {{kDFail, "example.com"}, {kDPass, "other.org"}, {kDPass, "news.example.com"}}},
      {"org-dkim-several-none-aligned", "example.com", kSpfFail, "example.com",
       {{kDFail, "example.com"}, {kDPass, "other.org"}, {kDPass, "third.net"}}},
      // Subdomain: record only at the organizational domain (sp=quarantine).
      {"sub-spf-pass-org-mailfrom", "news.example.com", kPass, "example.com", {}},
      {"sub-dkim-pass-sibling", "news.example.com", kSpfNone, "", {{kDPass, "mail.example.com"}}},
      {"sub-fails-gets-sp", "news.example.com", kSpfFail, "news.example.com", {}},
      {"deep-sub-fails-gets-sp", "a.b.news.example.com", kSpfFail, "a.b.news.example.com",
       {{kDPass, "example.org"}}},
      // Upper case anywhere.
      {"upper-from-aligned", "EXAMPLE.COM", kPass, "example.com", {}},
      {"upper-dkim-aligned", "News.Example.Com", kSpfNone, "", {{kDPass, "EXAMPLE.com"}}},
      {"upper-from-fails", "NEWS.EXAMPLE.COM", kSpfFail, "x.example.net", {}},
      // Strict alignment (adkim=s, aspf=s).
      {"strict-exact-dkim", "strict.com", kSpfNone, "", {{kDPass, "strict.com"}}},
      {"strict-exact-spf", "strict.com", kPass, "strict.com", {}},
      {"strict-dkim-subdomain-d", "strict.com", kSpfNone, "", {{kDPass, "mail.strict.com"}}},
      {"strict-spf-subdomain-mailfrom", "strict.com", kPass, "bounce.strict.com", {}},
      {"strict-sub-from-org-d", "mail.strict.com", kSpfNone, "", {{kDPass, "strict.com"}}},
      {"strict-sub-from-org-mailfrom", "mail.strict.com", kPass, "strict.com", {}},
      {"strict-sub-from-exact-d", "mail.strict.com", kSpfNone, "", {{kDPass, "mail.strict.com"}}},
      // Multi-label public suffix (co.uk).
      {"couk-dkim-sub-aligned", "example.co.uk", kSpfNone, "", {{kDPass, "mail.example.co.uk"}}},
      {"couk-sub-from", "news.example.co.uk", kPass, "example.co.uk", {}},
      {"couk-other-org-same-suffix", "example.co.uk", kPass, "other.co.uk",
       {{kDPass, "other.co.uk"}}},
      {"couk-d-is-suffix", "example.co.uk", kSpfNone, "", {{kDPass, "co.uk"}}},
      // Private-section public suffix (github.io).
      {"githubio-exact", "alice.github.io", kSpfNone, "", {{kDPass, "alice.github.io"}}},
      {"githubio-sibling", "alice.github.io", kPass, "bob.github.io", {{kDPass, "bob.github.io"}}},
      {"githubio-sub-from", "www.alice.github.io", kPass, "alice.github.io", {}},
      {"githubio-d-is-suffix", "alice.github.io", kSpfNone, "", {{kDPass, "github.io"}}},
      // IDN: the From domain as an A-label and as a U-label.
      {"idn-alabel-aligned", "xn--bcher-kva.de", kSpfNone, "", {{kDPass, "mail.xn--bcher-kva.de"}}},
      {"idn-alabel-fails", "xn--bcher-kva.de", kSpfFail, "xn--bcher-kva.de", {}},
      {"idn-ulabel-from", "b\xC3\xBC" "cher.de", kSpfNone, "", {{kDPass, "xn--bcher-kva.de"}}},
      // p=none, pct, t.
      {"pnone-fails", "pnone.com", kSpfFail, "pnone.com", {}},
      {"pct-inside-sample", "pct.com", kSpfFail, "pct.com", {}, 10},
      {"pct-outside-sample", "pct.com", kSpfFail, "pct.com", {}, 90},
      {"tflag-fails", "tflag.com", kSpfFail, "tflag.com", {}},
      // Records without or with a bad p=.
      {"missing-p", "nop.com", kSpfFail, "nop.com", {}},
      {"missing-p-rua-rule", "noprua.com", kSpfFail, "noprua.com", {}},
      {"bad-p", "badp.com", kSpfFail, "badp.com", {}},
      {"bad-pct", "badpct.com", kSpfFail, "badpct.com", {}},
      {"bad-adkim", "badadkim.com", kSpfNone, "", {{kDPass, "mail.badadkim.com"}}},
      {"spaces-around-tags", "spaces.com", kPass, "bounce.spaces.com", {}},
      {"version-dmarc2", "version.com", kSpfFail, "version.com", {}},
      // Several records, records mixed with other TXT, split strings.
      {"multi-records", "multi.com", kSpfFail, "multi.com", {}},
      {"multi-records-subdomain", "sub.multi.com", kSpfFail, "sub.multi.com", {}},
      {"mixed-txt", "mixed.com", kSpfFail, "mixed.com", {}},
      {"split-strings", "split.com", kSpfFail, "split.com", {}},
      // np= (RFC 9989) for a subdomain that does not exist.
      {"np-nonexistent-sub", "gone.npdom.com", kSpfFail, "gone.npdom.com", {}},
      {"np-existing-sub", "www.npdom.com", kSpfFail, "www.npdom.com", {}},
      // No record, DNS failure.
      {"no-record", "norecord.com", kSpfFail, "norecord.com", {}},
      {"no-record-sub", "a.norecord.com", kPass, "a.norecord.com", {}},
      {"servfail", "servfail.com", kPass, "servfail.com", {}},
  };
  return *cases;
}

// One side's answer, as compared: alignment only means something when a
// record was applied (pass or fail).
std::string Summary(DmarcResult result, Policy disposition, std::optional<Policy> requested,
                    bool spf_aligned, bool dkim_aligned) {
  std::string s(DmarcResultKeyword(result));
  if (result != DmarcResult::kPass && result != DmarcResult::kFail) return s;
  s += " p=" + std::string(requested ? PolicyName(*requested) : "?");
  s += " dis=" + std::string(PolicyName(disposition));
  s += spf_aligned ? " spf=aligned" : " spf=-";
  s += dkim_aligned ? " dkim=aligned" : " dkim=-";
  return s;
}

struct KnownDisagreement {
  const char* case_name;
  const char* ours;
  const char* opendmarc;
  const char* rfc;      // the section that decides it
  const char* correct;  // who is right, and why in a few words
};

// Keep in step with auth/dmarc/README.md "Differences from OpenDMARC".
const KnownDisagreement kKnownDisagreements[] = {
    {"org-spf-pass-public-suffix-mailfrom",
     "fail p=reject dis=reject spf=- dkim=-",
     "pass p=reject dis=none spf=aligned dkim=-",
     "RFC 7489 §3.1.2, §3.2",
     "ours: MAIL FROM \"com\" is a public suffix, its organizational domain is itself, not example.com; OpenDMARC's relaxed check is a label-suffix match that consults no list"},
    {"org-dkim-pass-public-suffix-d",
     "fail p=reject dis=reject spf=- dkim=-",
     "pass p=reject dis=none spf=- dkim=aligned",
     "RFC 7489 §3.1.1, §3.2",
     "ours: d=com is a public suffix, not example.com's organizational domain (OpenDMARC: suffix match without the list)"},
    {"upper-from-fails",
     "fail p=quarantine dis=quarantine spf=- dkim=-",
     "none",
     "RFC 7489 §3.2, RFC 4343",
     "ours: domain names compare case-insensitively; OpenDMARC's suffix table lookup is case-sensitive, so NEWS.EXAMPLE.COM finds no organizational domain and no policy"},
    {"strict-dkim-subdomain-d",
     "fail p=reject dis=reject spf=- dkim=-",
     "pass p=reject dis=none spf=- dkim=aligned",
     "RFC 7489 §3.1.1",
     "ours: adkim=s is an exact match; OpenDMARC's strict check falls back to the organizational domain of d= once a suffix list is loaded (evaluator_test OpenDmarcBugStrictAlignmentIgnoresLoadedPsl)"},
    {"strict-spf-subdomain-mailfrom",
     "fail p=reject dis=reject spf=- dkim=-",
     "pass p=reject dis=none spf=aligned dkim=-",
     "RFC 7489 §3.1.2",
     "ours: aspf=s is an exact match; the same OpenDMARC strict-alignment bug for SPF"},
    {"couk-d-is-suffix",
     "fail p=quarantine dis=quarantine spf=- dkim=-",
     "pass p=quarantine dis=none spf=- dkim=aligned",
     "RFC 7489 §3.1.1, §3.2",
     "ours: d=co.uk is a public suffix; anyone under co.uk could otherwise pass for example.co.uk"},
    {"githubio-d-is-suffix",
     "fail p=reject dis=reject spf=- dkim=-",
     "pass p=reject dis=none spf=- dkim=aligned",
     "RFC 7489 §3.1.1, §3.2",
     "ours: d=github.io is a (private-section) public suffix, not alice.github.io's organizational domain"},
    {"idn-ulabel-from",
     "pass p=reject dis=none spf=- dkim=aligned",
     "none",
     "RFC 8616 §6 (RFC 7489 §6.6.3)",
     "ours: a U-label From domain is looked up and aligned as its A-label; OpenDMARC queries the UTF-8 name and finds no record"},
    {"pct-outside-sample",
     "fail p=reject dis=quarantine spf=- dkim=-",
     "fail p=reject dis=none spf=- dkim=-",
     "RFC 7489 §6.6.4",
     "ours: a message outside pct= gets the next less strict policy (reject -> quarantine); the opendmarc milter accepts it outright"},
    {"tflag-fails",
     "fail p=reject dis=quarantine spf=- dkim=-",
     "fail p=reject dis=reject spf=- dkim=-",
     "RFC 9989 §4.7 (RFC 7489 §6.3)",
     "both by their RFC: t=y is DMARCbis's pct=0, which we apply; under RFC 7489 t= is an unknown tag and ignored, as OpenDMARC 1.4.2 does"},
    {"missing-p-rua-rule",
     "fail p=none dis=none spf=- dkim=-",
     "permerror",
     "RFC 7489 §6.6.3 step 6",
     "ours: a record without p= but with a valid rua= is treated as p=none; OpenDMARC rejects the record"},
    {"bad-pct",
     "fail p=reject dis=reject spf=- dkim=-",
     "fail p=reject dis=none spf=- dkim=-",
     "RFC 7489 §6.3",
     "ours: an invalid pct= is discarded for its default 100; OpenDMARC's strtoul reads \"abc\" as pct=0 and never enforces"},
    {"bad-adkim",
     "pass p=reject dis=none spf=- dkim=aligned",
     "permerror",
     "RFC 7489 §6.3",
     "ours: a syntax error in adkim= SHOULD be discarded in favour of the default (relaxed); OpenDMARC rejects the whole record"},
    {"spaces-around-tags",
     "fail p=quarantine dis=quarantine spf=- dkim=-",
     "none",
     "RFC 7489 §6.4 (dmarc-version, *WSP)",
     "ours: \"v = DMARC1\" is valid ABNF; OpenDMARC keeps only TXT records containing the literal \"v=DMARC\""},
    {"version-dmarc2",
     "none",
     "permerror",
     "RFC 7489 §6.6.3 step 3",
     "ours: a record not starting with v=DMARC1 is discarded, so no policy; OpenDMARC takes it and fails on the version"},
    {"multi-records",
     "none",
     "fail p=reject dis=reject spf=- dkim=-",
     "RFC 7489 §6.6.3 step 4",
     "ours: several DMARC records at one name end discovery with no policy; OpenDMARC uses the first one the resolver returns"},
    {"multi-records-subdomain",
     "none",
     "fail p=reject dis=reject spf=- dkim=-",
     "RFC 7489 §6.6.3 step 4",
     "ours: the same at the organizational domain"},
    {"np-nonexistent-sub",
     "fail p=quarantine dis=quarantine spf=- dkim=-",
     "fail p=none dis=none spf=- dkim=-",
     "RFC 9989 §4.7 (RFC 7489 §6.3)",
     "both by their RFC: np= applies to a non-existent subdomain in DMARCbis; RFC 7489 knows no np=, so sp=none applies"},
    {"servfail",
     "temperror",
     "none",
     "RFC 7489 §11.2 (dmarc=temperror), §6.6.3",
     "ours: a SERVFAIL on the policy lookup is a temporary error; the milter turns it into \"no policy\" and delivers as if the domain had none"},
};

class OpenDmarcDiffTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto peer = OpenDmarcPeer::Create(kDefaultPublicSuffixListPath);
    ASSERT_TRUE(peer.ok()) << peer.status();
    peer_ = peer->release();
    auto psl = PublicSuffixList::Load(kDefaultPublicSuffixListPath);
    ASSERT_TRUE(psl.ok()) << psl.status();
    psl_ = new std::shared_ptr<const PublicSuffixList>(*psl);
  }
  static void TearDownTestSuite() {
    delete peer_;
    peer_ = nullptr;
    delete psl_;
    psl_ = nullptr;
  }
  static OpenDmarcPeer* peer_;
  static std::shared_ptr<const PublicSuffixList>* psl_;
};
OpenDmarcPeer* OpenDmarcDiffTest::peer_ = nullptr;
std::shared_ptr<const PublicSuffixList>* OpenDmarcDiffTest::psl_ = nullptr;

TEST_F(OpenDmarcDiffTest, DisagreesOnlyWhereDocumented) {
  ASSERT_NE(peer_, nullptr);
  ASSERT_NE(psl_, nullptr);
  dns::StaticResolver zone;
  ASSERT_TRUE(zone.LoadZone(kZone).ok());
  auto evaluator = Evaluator::Create(zone, {DiscoveryMethod::kRfc7489, *psl_});
  ASSERT_TRUE(evaluator.ok()) << evaluator.status();
  testing::PeerTxtLookup lookup = testing::TxtLookupFrom(zone);

  std::map<std::string, const KnownDisagreement*> known;
  for (const KnownDisagreement& k : kKnownDisagreements) known[k.case_name] = &k;
  std::set<std::string> seen;
  int agreed = 0, documented = 0;
  for (const Case& c : Cases()) {
    EXPECT_TRUE(seen.insert(c.name).second) << "duplicate case name " << c.name;
    EvaluationInput in;
    in.author_domain = c.from;
    in.spf_result = c.spf;
    in.spf_domain = c.mail_from;
    for (const Dkim& d : c.dkim) in.dkim.push_back({d.result, d.domain});
    in.pct_sample = c.pct_sample;

    Evaluation ours = evaluator->Evaluate(in);
    PeerEvaluation theirs = peer_->Evaluate(in, lookup);
    std::string a = Summary(ours.result, ours.disposition, ours.requested_policy, ours.spf_aligned,
                            ours.dkim_aligned);
    std::string b = Summary(theirs.result, theirs.disposition, theirs.requested_policy,
                            theirs.spf_aligned, theirs.dkim_aligned);
    auto it = known.find(c.name);
    if (a == b) {
      ++agreed;
      EXPECT_TRUE(it == known.end())
          << c.name << ": stale kKnownDisagreements row: both now answer \"" << a << "\"";
      continue;
    }
    if (it == known.end()) {
      ADD_FAILURE() << c.name << ": undocumented disagreement\n  ours:      " << a << "\n    ("
                    << ours.reason << ")\n  OpenDMARC: " << b << "\n    (" << theirs.detail << ")";
      continue;
    }
    ++documented;
    EXPECT_EQ(a, it->second->ours) << c.name << ": our answer changed (" << ours.reason << ")";
    EXPECT_EQ(b, it->second->opendmarc)
        << c.name << ": OpenDMARC's answer changed (" << theirs.detail << ")";
  }
  for (const KnownDisagreement& k : kKnownDisagreements) {
    EXPECT_TRUE(seen.count(k.case_name)) << "kKnownDisagreements names no case: " << k.case_name;
  }
  std::printf("opendmarc_diff: %zu cases, %d agree, %d documented disagreements\n",
              Cases().size(), agreed, documented);
}

// The organizational domain alone (RFC 7489 §3.2), ours (libpsl) against
// OpenDMARC's own suffix table (opendmarc_get_tld), same list file.
struct OrgRow {
  const char* name;
  const char* ours;
  const char* opendmarc;  // equal to ours unless a documented difference
};

TEST_F(OpenDmarcDiffTest, OrganizationalDomainsAgreeExceptDocumented) {
  ASSERT_NE(peer_, nullptr);
  ASSERT_NE(psl_, nullptr);
  const OrgRow rows[] = {
      {"example.com", "example.com", "example.com"},
      {"a.b.example.com", "example.com", "example.com"},
      {"example.co.uk", "example.co.uk", "example.co.uk"},
      {"mail.example.co.uk", "example.co.uk", "example.co.uk"},
      {"alice.github.io", "alice.github.io", "alice.github.io"},
      {"www.alice.github.io", "alice.github.io", "alice.github.io"},
      {"xn--bcher-kva.de", "xn--bcher-kva.de", "xn--bcher-kva.de"},
      {"a.xn--bcher-kva.de", "xn--bcher-kva.de", "xn--bcher-kva.de"},
      // Wildcard and exception rules (*.ck, !www.ck in the list). OpenDMARC
      // reads "*.ck" as the suffix "ck" (opendmarc_tld_read_file drops the
      // "*."), so b.ck, itself a public suffix, becomes an organization. The
      // publicsuffix.org algorithm (RFC 7489 §3.2 points to it) says a.b.ck.
      {"a.b.ck", "a.b.ck", "b.ck"},
      {"www.ck", "www.ck", "www.ck"},
      // RFC 4343: case does not matter in DNS names. OpenDMARC's table lookup
      // is case-sensitive and answers an empty name (the cause of the
      // upper-from-fails row above).
      {"NEWS.EXAMPLE.COM", "example.com", ""},
  };
  for (const OrgRow& row : rows) {
    EXPECT_EQ((*psl_)->OrganizationalDomain(row.name), row.ours) << row.name;
    EXPECT_EQ(peer_->OrganizationalDomain(row.name).value_or("<error>"), row.opendmarc)
        << row.name;
  }
}

TEST(OpenDmarcPeer, MissingSuffixListIsAnError) {
  auto peer = OpenDmarcPeer::Create("/nonexistent/public_suffix_list.dat");
  ASSERT_FALSE(peer.ok());
  EXPECT_EQ(peer.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace mxkit::auth::dmarc
