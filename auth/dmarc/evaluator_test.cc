#include "auth/dmarc/evaluator.h"

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns/static_resolver.h"
#include "dns/testing/async_matches_sync.h"
#include "dns/testing/deferred_resolver.h"
#include "gtest/gtest.h"

namespace mxkit::auth::dmarc {
namespace {

std::shared_ptr<const PublicSuffixList> DebianPsl() {
  static auto* psl = [] {
    auto loaded = PublicSuffixList::Load(kDefaultPublicSuffixListPath);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    return new std::shared_ptr<const PublicSuffixList>(loaded.ok() ? *loaded : nullptr);
  }();
  return *psl;
}

// Evaluates `in` synchronously over `zone`, checks that EvaluateAsync over
// deferred lookups (answered newest-first and in two shuffled orders) waits
// for its lookups, completes exactly once and agrees field for field, and
// returns the synchronous evaluation: so each test covers both paths.
Evaluation Both(dns::Resolver& zone, const EvaluatorOptions& options, const EvaluationInput& in) {
  auto sync = Evaluator::Create(zone, options);
  EXPECT_TRUE(sync.ok()) << sync.status();
  if (!sync.ok()) return Evaluation{};
  Evaluation want = sync->Evaluate(in);
  dns::testing::ExpectAsyncMatchesSync(
      zone, {0u, 31u, 32u}, want,
      [&](dns::Resolver& deferred, std::function<void(Evaluation)> done) {
        auto async = std::make_shared<absl::StatusOr<Evaluator>>(Evaluator::Create(deferred, options));
        EXPECT_TRUE(async->ok()) << async->status();
        if (async->ok()) (*async)->EvaluateAsync(in, std::move(done));
        return async;
      },
      [](const Evaluation& got, const Evaluation& want) {
        EXPECT_EQ(got.result, want.result);
        EXPECT_EQ(got.disposition, want.disposition);
        EXPECT_EQ(got.requested_policy, want.requested_policy);
        EXPECT_EQ(got.author_domain, want.author_domain);
        EXPECT_EQ(got.policy_domain, want.policy_domain);
        EXPECT_EQ(got.organizational_domain, want.organizational_domain);
        EXPECT_EQ(got.record.has_value(), want.record.has_value());
        EXPECT_EQ(got.spf_aligned, want.spf_aligned);
        EXPECT_EQ(got.dkim_aligned, want.dkim_aligned);
        EXPECT_EQ(got.aligned_dkim_domain, want.aligned_dkim_domain);
        EXPECT_EQ(got.sampled_out, want.sampled_out);
        EXPECT_EQ(got.testing, want.testing);
        EXPECT_EQ(got.nonexistent_domain, want.nonexistent_domain);
        EXPECT_EQ(got.reason, want.reason);
        EXPECT_EQ(got.dns_queries, want.dns_queries);
      });
  return want;
}

TEST(PublicSuffixList, OrganizationalDomainsFromDebiansList) {
  auto psl = DebianPsl();
  ASSERT_NE(psl, nullptr);
  struct Row {
    const char* domain;
    const char* org;
  } rows[] = {
      {"example.com", "example.com"},
      {"Mail.Example.COM.", "example.com"},
      {"a.b.c.example.co.uk", "example.co.uk"},
      {"co.uk", "co.uk"},  // a public suffix is its own organizational domain
      {"com", "com"},
      {"foo.example.test", "example.test"},  // unlisted TLD: the implicit "*" rule
      {"user.github.io", "user.github.io"},  // private-section suffix
  };
  for (const Row& row : rows) EXPECT_EQ(psl->OrganizationalDomain(row.domain), row.org) << row.domain;
  EXPECT_TRUE(psl->IsPublicSuffix("co.uk"));
  EXPECT_FALSE(psl->IsPublicSuffix("example.co.uk"));
}

TEST(PublicSuffixList, PathIsConfigurableAndResultsFollowTheFile) {
  std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/tiny_psl.dat";
  std::ofstream(path) << "// ===BEGIN ICANN DOMAINS===\ncom\nexample.com\n// ===END ICANN DOMAINS===\n";
  auto psl = PublicSuffixList::Load(path);
  ASSERT_TRUE(psl.ok()) << psl.status();
  // With example.com listed as a suffix, its children are organizations.
  EXPECT_EQ((*psl)->OrganizationalDomain("a.b.example.com"), "b.example.com");
  EXPECT_FALSE(PublicSuffixList::Load(path + ".missing").ok());
}

struct AlignRow {
  const char* authenticated;
  const char* author;
  AlignmentMode mode;
  bool aligned;
};

TEST(Alignment, RelaxedAndStrictWithPsl) {
  auto psl = DebianPsl();
  ASSERT_NE(psl, nullptr);
  const AlignRow rows[] = {
      {"example.com", "example.com", AlignmentMode::kStrict, true},
      {"EXAMPLE.com.", "example.COM", AlignmentMode::kStrict, true},
      {"mail.example.com", "example.com", AlignmentMode::kStrict, false},
      {"example.com", "news.example.com", AlignmentMode::kStrict, false},
      {"mail.example.com", "example.com", AlignmentMode::kRelaxed, true},
      {"a.example.com", "b.example.com", AlignmentMode::kRelaxed, true},
      {"example.net", "example.com", AlignmentMode::kRelaxed, false},
      {"a.example.co.uk", "b.example.co.uk", AlignmentMode::kRelaxed, true},
      // Two organizations under one public suffix never align.
      {"one.co.uk", "two.co.uk", AlignmentMode::kRelaxed, false},
      // Relaxed alignment consults the list only for a name below the author's
      // organizational domain: these rows pin each shortcut to the full answer.
      {"EXAMPLE.com.", "example.com", AlignmentMode::kRelaxed, true},
      {"notexample.com", "example.com", AlignmentMode::kRelaxed, false},
      {"com", "example.com", AlignmentMode::kRelaxed, false},
      {"example.com", "com", AlignmentMode::kRelaxed, false},
      {"example.com", "mail.example.com", AlignmentMode::kRelaxed, true},
      // Below the author's organizational domain but a different
      // organization (s3.amazonaws.com and *.compute.amazonaws.com are
      // suffixes in the private section).
      {"bucket.s3.amazonaws.com", "amazonaws.com", AlignmentMode::kRelaxed, false},
      {"x.bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com", AlignmentMode::kRelaxed, true},
      {"a.b.eu-west-1.compute.amazonaws.com", "amazonaws.com", AlignmentMode::kRelaxed, false},
      {"a.b.eu-west-1.compute.amazonaws.com", "b.eu-west-1.compute.amazonaws.com",
       AlignmentMode::kRelaxed, true},
      {"alice.github.io", "bob.github.io", AlignmentMode::kRelaxed, false},
      {"", "example.com", AlignmentMode::kRelaxed, false},
      {"", "", AlignmentMode::kStrict, false},
  };
  for (const AlignRow& row : rows) {
    EXPECT_EQ(IsAligned(row.authenticated, row.author, row.mode, *psl), row.aligned)
        << row.authenticated << " vs " << row.author;
  }
}

// OpenDMARC bug: once a public suffix list was loaded, its strict alignment
// check compared organizational domains, so a subdomain passed adkim=s /
// aspf=s. Strict alignment is an exact match whatever list is loaded.
TEST(Alignment, OpenDmarcBugStrictAlignmentIgnoresLoadedPsl) {
  auto psl = DebianPsl();
  ASSERT_NE(psl, nullptr);
  EXPECT_FALSE(IsAligned("mail.example.com", "example.com", AlignmentMode::kStrict, *psl));
  EXPECT_FALSE(IsAligned("example.com", "mail.example.com", AlignmentMode::kStrict, *psl));
  EXPECT_FALSE(StrictlyAligned("a.example.co.uk", "example.co.uk"));

  dns::StaticResolver resolver;
  ASSERT_TRUE(resolver.LoadZone("_dmarc.example.com. TXT \"v=DMARC1; p=reject; adkim=s; aspf=s\"\n").ok());
  auto evaluator = Evaluator::Create(resolver, {DiscoveryMethod::kRfc7489, psl});
  ASSERT_TRUE(evaluator.ok());
  EvaluationInput in;
  in.author_domain = "example.com";
  in.spf_result = spf::Result::kPass;
  in.spf_domain = "bounce.example.com";
  in.dkim = {{dkim::DkimResult::kPass, "mail.example.com"}};
  Evaluation ev = Both(resolver, {DiscoveryMethod::kRfc7489, psl}, in);
  EXPECT_EQ(ev.result, DmarcResult::kFail) << ev.reason;
  EXPECT_EQ(ev.disposition, Policy::kReject);
}

constexpr char kZone[] = R"(
$ORIGIN example.
_dmarc.strict      TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.quarantine  TXT "v=DMARC1; p=quarantine"
_dmarc.org         TXT "v=DMARC1; p=reject; sp=quarantine; np=none"
_dmarc.nosp        TXT "v=DMARC1; p=reject"
_dmarc.pct         TXT "v=DMARC1; p=reject; pct=30"
_dmarc.testing     TXT "v=DMARC1; p=reject; t=y"
_dmarc.split       TXT "v=DMARC1; " "p=quarantine"
_dmarc.multi       TXT "v=DMARC1; p=reject"
_dmarc.multi       TXT "v=DMARC1; p=none"
_dmarc.mixed       TXT "v=spf1 -all"
_dmarc.mixed       TXT "some-verification=abc"
_dmarc.mixed       TXT "v=DMARC1; p=quarantine"
_dmarc.broken      TXT "v=DMARC1; p=bogus"
_dmarc.ruarule     TXT "v=DMARC1; p=bogus; rua=mailto:d@ruarule.example"
_dmarc.notdmarc    TXT "v=DMARC2; p=reject"
exists.org         A 192.0.2.1
$SERVFAIL _dmarc.servfail.example.
$TIMEOUT _dmarc.timeout.example.
)";

class PolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(resolver_.LoadZone(kZone).ok());
    // RFC 7489 discovery with a list where each "X.example" is an
    // organization (".example" is an unlisted TLD: the implicit * rule).
    auto psl = DebianPsl();
    ASSERT_NE(psl, nullptr);
    options_ = {DiscoveryMethod::kRfc7489, psl};
    auto ev = Evaluator::Create(resolver_, options_);
    ASSERT_TRUE(ev.ok());
    evaluator_ = std::make_unique<Evaluator>(*ev);
  }

  Evaluation Fail(const std::string& author, uint32_t sample = 0) {
    EvaluationInput in;
    in.author_domain = author;
    in.spf_result = spf::Result::kPass;
    in.spf_domain = "unrelated.test";
    in.dkim = {{dkim::DkimResult::kFail, author}};
    in.pct_sample = sample;
    return Both(resolver_, options_, in);
  }

  dns::StaticResolver resolver_;
  EvaluatorOptions options_;
  std::unique_ptr<Evaluator> evaluator_;
};

struct PolicyRow {
  const char* author;
  uint32_t sample;
  DmarcResult result;
  Policy disposition;
  const char* policy_domain;
};

TEST_F(PolicyTest, AppliesPSpNpPctAndT) {
  const PolicyRow rows[] = {
      {"strict.example", 0, DmarcResult::kFail, Policy::kReject, "strict.example"},
      {"quarantine.example", 0, DmarcResult::kFail, Policy::kQuarantine, "quarantine.example"},
      // sp= for an existing subdomain, found at the organizational domain.
      {"exists.org.example", 0, DmarcResult::kFail, Policy::kQuarantine, "org.example"},
      // np= for a subdomain that answers NXDOMAIN.
      {"nothere.org.example", 0, DmarcResult::kFail, Policy::kNone, "org.example"},
      // No sp=: p= applies to subdomains too.
      {"a.b.nosp.example", 0, DmarcResult::kFail, Policy::kReject, "nosp.example"},
      // pct=30: samples 0..29 get p=, 30..99 one step less strict.
      {"pct.example", 29, DmarcResult::kFail, Policy::kReject, "pct.example"},
      {"pct.example", 30, DmarcResult::kFail, Policy::kQuarantine, "pct.example"},
      {"testing.example", 0, DmarcResult::kFail, Policy::kQuarantine, "testing.example"},
      {"split.example", 0, DmarcResult::kFail, Policy::kQuarantine, "split.example"},
      {"mixed.example", 0, DmarcResult::kFail, Policy::kQuarantine, "mixed.example"},
      {"ruarule.example", 0, DmarcResult::kFail, Policy::kNone, "ruarule.example"},
      {"multi.example", 0, DmarcResult::kNone, Policy::kNone, ""},
      {"sub.multi.example", 0, DmarcResult::kNone, Policy::kNone, ""},
      {"nothing.example", 0, DmarcResult::kNone, Policy::kNone, ""},
      {"notdmarc.example", 0, DmarcResult::kNone, Policy::kNone, ""},
      {"broken.example", 0, DmarcResult::kPermError, Policy::kNone, "broken.example"},
      {"servfail.example", 0, DmarcResult::kTempError, Policy::kNone, ""},
      {"timeout.example", 0, DmarcResult::kTempError, Policy::kNone, ""},
  };
  for (const PolicyRow& row : rows) {
    Evaluation ev = Fail(row.author, row.sample);
    EXPECT_EQ(ev.result, row.result) << row.author << ": " << ev.reason;
    EXPECT_EQ(ev.disposition, row.disposition) << row.author << ": " << ev.reason;
    EXPECT_EQ(ev.policy_domain, row.policy_domain) << row.author;
    EXPECT_FALSE(ev.reason.empty());
  }
}

TEST_F(PolicyTest, PassNeedsAnAlignedPassingIdentifier) {
  EvaluationInput in;
  in.author_domain = "quarantine.example";
  in.spf_result = spf::Result::kPass;
  in.spf_domain = "bounces.quarantine.example";  // relaxed: aligned
  Evaluation ev = Both(resolver_, options_, in);
  EXPECT_EQ(ev.result, DmarcResult::kPass) << ev.reason;
  EXPECT_TRUE(ev.spf_aligned);
  EXPECT_EQ(ev.disposition, Policy::kNone);

  in.spf_result = spf::Result::kSoftFail;  // aligned but not a pass
  ev = Both(resolver_, options_, in);
  EXPECT_EQ(ev.result, DmarcResult::kFail);
  EXPECT_FALSE(ev.spf_aligned);

  in.dkim = {{dkim::DkimResult::kFail, "quarantine.example"},
             {dkim::DkimResult::kPass, "other.example"},
             {dkim::DkimResult::kPass, "s1.quarantine.example"}};
  ev = Both(resolver_, options_, in);
  EXPECT_EQ(ev.result, DmarcResult::kPass) << ev.reason;
  EXPECT_TRUE(ev.dkim_aligned);
  EXPECT_EQ(ev.aligned_dkim_domain, "s1.quarantine.example");

  // adkim=s: the subdomain signature no longer aligns.
  in.author_domain = "strict.example";
  in.dkim = {{dkim::DkimResult::kPass, "s1.strict.example"}};
  ev = Both(resolver_, options_, in);
  EXPECT_EQ(ev.result, DmarcResult::kFail);
  in.dkim = {{dkim::DkimResult::kPass, "STRICT.example"}};
  ev = Both(resolver_, options_, in);
  EXPECT_EQ(ev.result, DmarcResult::kPass);
}

// RFC 8616 §6: U-labels and A-labels of one domain are the same domain for
// discovery and alignment.
TEST_F(PolicyTest, AlignsULabelsWithTheirALabels) {
  ASSERT_TRUE(resolver_.LoadZone("_dmarc.xn--bcher-kva.example. TXT \"v=DMARC1; p=reject\"\n").ok());
  EvaluationInput in;
  in.author_domain = "B\xC3\xBC" "cher.example";
  in.spf_result = spf::Result::kPass;
  in.spf_domain = "bounce.xn--bcher-kva.example";
  Evaluation ev = Both(resolver_, options_, in);
  EXPECT_EQ(ev.result, DmarcResult::kPass) << ev.reason;
  EXPECT_EQ(ev.author_domain, "xn--bcher-kva.example");
  EXPECT_EQ(ev.policy_domain, "xn--bcher-kva.example");

  in.author_domain = "xn--bcher-kva.example";
  in.spf_domain = "b\xC3\xBC" "cher.example";
  in.spf_result = spf::Result::kFail;
  in.dkim = {{dkim::DkimResult::kPass, "b\xC3\xBC" "cher.example"}};
  ev = Both(resolver_, options_, in);
  EXPECT_EQ(ev.result, DmarcResult::kPass) << ev.reason;
  EXPECT_EQ(ev.aligned_dkim_domain, "xn--bcher-kva.example");

  in.dkim = {{dkim::DkimResult::kPass, "b\xC3\xBC" "cher.example.org"}};
  ev = Both(resolver_, options_, in);
  EXPECT_EQ(ev.result, DmarcResult::kFail) << ev.reason;
  EXPECT_EQ(ev.disposition, Policy::kReject);
}

TEST_F(PolicyTest, NonExistenceCheckFailureIsTempError) {
  ASSERT_TRUE(resolver_.LoadZone("_dmarc.npfail.example. TXT \"v=DMARC1; p=reject; np=reject\"\n"
                                 "$SERVFAIL x.npfail.example.\n")
                  .ok());
  Evaluation ev = Fail("x.npfail.example");
  EXPECT_EQ(ev.result, DmarcResult::kTempError) << ev.reason;
}

TEST(Evaluator, Rfc7489NeedsAPsl) {
  dns::StaticResolver resolver;
  EXPECT_FALSE(Evaluator::Create(resolver, {DiscoveryMethod::kRfc7489, nullptr}).ok());
  EXPECT_TRUE(Evaluator::Create(resolver, {DiscoveryMethod::kTreeWalk, nullptr}).ok());
}

TEST(TreeWalk, NamesFollowRfc9989Section410) {
  EXPECT_EQ(TreeWalkNames("a.mail.example.com"),
            (std::vector<std::string>{"a.mail.example.com", "mail.example.com", "example.com",
                                      "com"}));
  // 9 labels: the name, then the last 7, then one fewer each time: 8 queries.
  std::vector<std::string> names = TreeWalkNames("a.b.c.d.e.f.g.example.com");
  EXPECT_EQ(names.size(), kMaxTreeWalkQueries);
  EXPECT_EQ(names[0], "a.b.c.d.e.f.g.example.com");
  EXPECT_EQ(names[1], "c.d.e.f.g.example.com");
  EXPECT_EQ(names.back(), "com");
  EXPECT_EQ(TreeWalkNames("com"), std::vector<std::string>{"com"});
  EXPECT_TRUE(TreeWalkNames("").empty());
  EXPECT_LE(TreeWalkNames(std::string(60, 'a') + std::string(50, '.') + "com").size(),
            kMaxTreeWalkQueries);
}

constexpr char kWalkZone[] = R"(
_dmarc.example.com.      TXT "v=DMARC1; p=reject; sp=quarantine"
_dmarc.psd.example.      TXT "v=DMARC1; p=reject; psd=y"
_dmarc.bank.psd.example. TXT "v=DMARC1; p=none; psd=n"
_dmarc.deep.g.f.e.d.c.b.example.com. TXT "v=DMARC1; p=none"
$SERVFAIL _dmarc.mail.broken.example.
_dmarc.loop.test.        CNAME _dmarc.loop.test.
$SERVFAIL _dmarc.flaky.test.
)";

TEST(TreeWalk, FindsPolicyAndOrganizationalDomainWithoutPsl) {
  dns::StaticResolver resolver;
  ASSERT_TRUE(resolver.LoadZone(kWalkZone).ok());
  auto evaluator = Evaluator::Create(resolver, {DiscoveryMethod::kTreeWalk, nullptr});
  ASSERT_TRUE(evaluator.ok());

  EXPECT_EQ(evaluator->OrganizationalDomain("a.b.example.com"), "example.com");
  EXPECT_EQ(evaluator->OrganizationalDomain("x.bank.psd.example"), "bank.psd.example");
  // psd=y at psd.example: the organization is one label below it.
  EXPECT_EQ(evaluator->OrganizationalDomain("a.shop.psd.example"), "shop.psd.example");
  // No record anywhere: the name itself.
  EXPECT_EQ(evaluator->OrganizationalDomain("a.nothing.test"), "a.nothing.test");
  EXPECT_EQ(evaluator->OrganizationalDomain("mail.broken.example"), std::nullopt);
  {
    dns::testing::DeferredResolver deferred(resolver);
    auto async = Evaluator::Create(deferred, {DiscoveryMethod::kTreeWalk, nullptr});
    std::vector<std::optional<std::string>> got;
    async->OrganizationalDomainAsync("x.bank.psd.example",
                                     [&](std::optional<std::string> org) { got.push_back(org); });
    EXPECT_TRUE(got.empty());
    deferred.Drain(/*seed=*/41);
    EXPECT_EQ(got, (std::vector<std::optional<std::string>>{"bank.psd.example"}));
  }

  EvaluationInput in;
  in.author_domain = "news.example.com";
  in.dkim = {{dkim::DkimResult::kPass, "mail.example.com"}};
  Evaluation ev = Both(resolver, {DiscoveryMethod::kTreeWalk, nullptr}, in);
  EXPECT_EQ(ev.result, DmarcResult::kPass) << ev.reason;  // relaxed via the walk
  EXPECT_EQ(ev.policy_domain, "example.com");
  EXPECT_EQ(ev.organizational_domain, "example.com");

  in.dkim = {{dkim::DkimResult::kPass, "other.test"}};
  ev = Both(resolver, {DiscoveryMethod::kTreeWalk, nullptr}, in);
  EXPECT_EQ(ev.result, DmarcResult::kFail);
  EXPECT_EQ(ev.disposition, Policy::kQuarantine);  // sp=

  // 11 labels: the walk jumps to the last 7, skipping the record at 8 labels.
  in.author_domain = "x.y.deep.g.f.e.d.c.b.example.com";
  ev = Both(resolver, {DiscoveryMethod::kTreeWalk, nullptr}, in);
  EXPECT_EQ(ev.policy_domain, "example.com") << ev.reason;
  EXPECT_LE(ev.dns_queries, static_cast<int>(2 * kMaxTreeWalkQueries));

  in.author_domain = "mail.broken.example";
  ev = Both(resolver, {DiscoveryMethod::kTreeWalk, nullptr}, in);
  EXPECT_EQ(ev.result, DmarcResult::kTempError);
}

// evaluator.h: a lookup that failed permanently is permerror, a transient
// one temperror, also when it is met while walking the tree for the
// organizational domain of an identifier to align (RFC 9989 §4.10.2).
TEST(TreeWalk, AlignmentWalkFailuresKeepTheirKind) {
  dns::StaticResolver resolver;
  ASSERT_TRUE(resolver.LoadZone(kWalkZone).ok());
  auto evaluator = Evaluator::Create(resolver, {DiscoveryMethod::kTreeWalk, nullptr});
  ASSERT_TRUE(evaluator.ok());

  EvaluationInput in;
  in.author_domain = "news.example.com";
  in.dkim = {{dkim::DkimResult::kPass, "mail.loop.test"}};
  Evaluation ev = Both(resolver, {DiscoveryMethod::kTreeWalk, nullptr}, in);
  EXPECT_EQ(ev.result, DmarcResult::kPermError) << ev.reason;
  EXPECT_NE(ev.reason.find("CNAME loop"), std::string::npos) << ev.reason;

  in.dkim = {{dkim::DkimResult::kPass, "mail.flaky.test"}};
  ev = Both(resolver, {DiscoveryMethod::kTreeWalk, nullptr}, in);
  EXPECT_EQ(ev.result, DmarcResult::kTempError) << ev.reason;
  EXPECT_NE(ev.reason.find("_dmarc.flaky.test"), std::string::npos) << ev.reason;

  in.dkim = {};
  in.spf_result = spf::Result::kPass;
  in.spf_domain = "bounce.loop.test";
  ev = Both(resolver, {DiscoveryMethod::kTreeWalk, nullptr}, in);
  EXPECT_EQ(ev.result, DmarcResult::kPermError) << ev.reason;
}

TEST(Strictest, PicksTheStrictestFailingEvaluation) {
  Evaluation pass, quarantine, reject;
  pass.result = DmarcResult::kPass;
  quarantine.result = DmarcResult::kFail;
  quarantine.disposition = Policy::kQuarantine;
  reject.result = DmarcResult::kFail;
  reject.disposition = Policy::kReject;
  std::vector<Evaluation> all = {pass, quarantine, reject};
  EXPECT_EQ(Strictest(all).disposition, Policy::kReject);
  std::vector<Evaluation> one = {pass};
  EXPECT_EQ(Strictest(one).result, DmarcResult::kPass);
}

}  // namespace
}  // namespace mxkit::auth::dmarc
