#include "auth/spf/evaluator.h"

#include <arpa/inet.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns/static_resolver.h"
#include "dns/testing/async_matches_sync.h"
#include "dns/testing/deferred_resolver.h"
#include "gtest/gtest.h"

namespace mxkit::auth::spf {
namespace {

using dns::ResourceRecord;
using dns::RrType;

class EvaluatorTest : public ::testing::Test {
 protected:
  void Txt(const std::string& name, std::vector<std::string> strings) {
    zone_.Add(ResourceRecord{name, RrType::kTxt, 300, dns::TxtData{std::move(strings)}});
  }
  void Spf(const std::string& name, const std::string& record) { Txt(name, {record}); }
  void A(const std::string& name, const std::string& ip) {
    dns::AData a;
    ASSERT_EQ(inet_pton(AF_INET, ip.c_str(), a.address.data()), 1);
    zone_.Add(ResourceRecord{name, RrType::kA, 300, a});
  }
  void Aaaa(const std::string& name, const std::string& ip) {
    dns::AaaaData a;
    ASSERT_EQ(inet_pton(AF_INET6, ip.c_str(), a.address.data()), 1);
    zone_.Add(ResourceRecord{name, RrType::kAaaa, 300, a});
  }
  void Mx(const std::string& name, uint16_t pref, const std::string& host) {
    zone_.Add(ResourceRecord{name, RrType::kMx, 300, dns::MxData{pref, host}});
  }
  void Ptr(const std::string& name, const std::string& target) {
    zone_.Add(ResourceRecord{name, RrType::kPtr, 300, dns::NameData{target}});
  }
  void Cname(const std::string& name, const std::string& target) {
    zone_.Add(ResourceRecord{name, RrType::kCname, 300, dns::NameData{target}});
  }

  // The synchronous result, after checking that the asynchronous path over
  // deferred lookups, answered newest-first and in two shuffled orders,
  // gives the same: so every test below covers both paths.
  CheckResult Check(const std::string& ip, const std::string& mail_from,
                    const std::string& helo = "mail.example.org") {
    Evaluator evaluator(zone_, options_);
    CheckResult want = evaluator.CheckMailFrom(*IpAddress::Parse(ip), mail_from, helo, 1700000000);
    const IpAddress address = *IpAddress::Parse(ip);
    dns::testing::ExpectAsyncMatchesSync(
        zone_, {0u, 11u, 12u}, want,
        [&](dns::Resolver& deferred, std::function<void(CheckResult)> done) {
          auto async = std::make_shared<Evaluator>(deferred, options_);
          async->CheckMailFromAsync(address, mail_from, helo, 1700000000, std::move(done));
          return async;
        },
        [](const CheckResult& got, const CheckResult& want) {
          EXPECT_EQ(got.result, want.result);
          EXPECT_EQ(got.reason, want.reason);
          EXPECT_EQ(got.explanation, want.explanation);
          EXPECT_EQ(got.mechanism, want.mechanism);
          EXPECT_EQ(got.domain, want.domain);
          EXPECT_EQ(got.dns_lookups, want.dns_lookups);
          EXPECT_EQ(got.void_lookups, want.void_lookups);
        });
    return want;
  }

  dns::StaticResolver zone_;
  EvaluatorOptions options_;
};

TEST_F(EvaluatorTest, AsyncDoesNotCompleteUntilEachLookupIsAnswered) {
  Spf("example.com", "v=spf1 include:_spf.example.com -all");
  Spf("_spf.example.com", "v=spf1 a:mail.example.com -all");
  A("mail.example.com", "192.0.2.9");
  dns::testing::DeferredResolver deferred(zone_);
  Evaluator evaluator(deferred, options_);
  int calls = 0;
  CheckResult got;
  evaluator.CheckMailFromAsync(*IpAddress::Parse("192.0.2.9"), "u@example.com", "h.example", 0,
                               [&](CheckResult r) {
                                 ++calls;
                                 got = std::move(r);
                               });
  // check_host() walks the record: TXT example.com, then TXT _spf, then A.
  const char* expected[] = {"example.com", "_spf.example.com", "mail.example.com"};
  for (const char* name : expected) {
    EXPECT_EQ(calls, 0);
    ASSERT_EQ(deferred.pending(), 1u);
    EXPECT_EQ(deferred.queue()[0].name, name);
    deferred.Complete(0);
  }
  EXPECT_EQ(deferred.pending(), 0u);
  ASSERT_EQ(calls, 1);
  EXPECT_EQ(got.result, Result::kPass);
  EXPECT_EQ(got.dns_lookups, 2);
}

TEST_F(EvaluatorTest, AsyncCompletesInlineOverAnInlineResolver) {
  Spf("example.com", "v=spf1 ip4:192.0.2.0/24 -all");
  Evaluator evaluator(zone_, options_);
  int calls = 0;
  evaluator.CheckHeloAsync(*IpAddress::Parse("192.0.2.1"), "example.com", 0, [&](CheckResult r) {
    ++calls;
    EXPECT_EQ(r.result, Result::kPass);
  });
  EXPECT_EQ(calls, 1);
}

TEST_F(EvaluatorTest, PassesOnMatchingIp4AndFailsOnAll) {
  Spf("example.com", "v=spf1 ip4:192.0.2.0/24 -all");
  CheckResult pass = Check("192.0.2.7", "user@example.com.");
  EXPECT_EQ(pass.result, Result::kPass);
  EXPECT_EQ(pass.domain, "example.com");
  EXPECT_EQ(pass.mechanism, "ip4:192.0.2.0/24");
  EXPECT_NE(pass.reason.find("example.com"), std::string::npos);
  CheckResult fail = Check("198.51.100.1", "user@example.com");
  EXPECT_EQ(fail.result, Result::kFail);
  EXPECT_EQ(fail.mechanism, "-all");
  EXPECT_EQ(fail.explanation, "example.com does not designate 198.51.100.1 as a permitted sender");
}

TEST_F(EvaluatorTest, TreatsIpv4MappedClientAsIpv4) {
  Spf("example.com", "v=spf1 ip6:::ffff:0:0/96 ip4:192.0.2.1 -all");
  EXPECT_EQ(Check("::ffff:192.0.2.1", "u@example.com").result, Result::kPass);
  EXPECT_EQ(Check("::ffff:192.0.2.2", "u@example.com").result, Result::kFail);
}

TEST_F(EvaluatorTest, ConcatenatesTxtStringsWithoutSpaces) {
  Txt("example.com", {"v=spf1 ip4:", "192.0.2.5 -all"});
  EXPECT_EQ(Check("192.0.2.5", "u@example.com").result, Result::kPass);
}

TEST_F(EvaluatorTest, IgnoresNonSpfTxtAndRejectsTwoSpfRecords) {
  Txt("one.example", {"google-site-verification=abc"});
  Spf("one.example", "v=spf1 +all");
  EXPECT_EQ(Check("192.0.2.1", "u@one.example").result, Result::kPass);
  Spf("two.example", "v=spf1 +all");
  Spf("two.example", "V=SPF1 -all");
  EXPECT_EQ(Check("192.0.2.1", "u@two.example").result, Result::kPermError);
  Txt("none.example", {"v=spf10 +all"});
  EXPECT_EQ(Check("192.0.2.1", "u@none.example").result, Result::kNone);
}

TEST_F(EvaluatorTest, ReturnsNoneForMalformedOrSingleLabelDomains) {
  EXPECT_EQ(Check("192.0.2.1", "u@localhost").result, Result::kNone);
  EXPECT_EQ(Check("192.0.2.1", "u@[192.0.2.1]").result, Result::kNone);
  EXPECT_EQ(Check("192.0.2.1", "u@a..example.com").result, Result::kNone);
  EXPECT_EQ(Check("192.0.2.1", "u@" + std::string(64, 'a') + ".example.com").result, Result::kNone);
  EXPECT_EQ(Check("192.0.2.1", "u@nowhere.example").result, Result::kNone);
}

// RFC 8616 §4: U-labels in MAIL FROM and HELO are looked up as A-labels, and
// the macros that carry them expand to A-labels.
TEST_F(EvaluatorTest, LooksUpInternationalizedDomainsAsALabels) {
  Spf("xn--bcher-kva.example", "v=spf1 exists:%{o}.%{h}.check.example -all");
  A("xn--bcher-kva.example.xn--mnchen-3ya.example.check.example", "127.0.0.2");
  CheckResult pass = Check("192.0.2.1", "jörg@Bücher.example", "münchen.example");
  EXPECT_EQ(pass.result, Result::kPass) << pass.reason;
  EXPECT_EQ(pass.domain, "xn--bcher-kva.example");

  CheckResult fail = Check("192.0.2.1", "jörg@bücher.example", "mail.example.org");
  EXPECT_EQ(fail.result, Result::kFail) << fail.reason;

  Evaluator evaluator(zone_, options_);
  CheckResult helo = evaluator.CheckHelo(*IpAddress::Parse("192.0.2.1"), "bücher.example");
  EXPECT_EQ(helo.result, Result::kFail) << helo.reason;  // %{h} is not münchen: no A record
  EXPECT_EQ(helo.domain, "xn--bcher-kva.example");
}

TEST_F(EvaluatorTest, ReturnsNoneForInvalidInternationalizedDomains) {
  Spf("example.com", "v=spf1 +all");
  CheckResult snowman = Check("192.0.2.1", "u@a\xE2\x98\x83" "b.example");
  EXPECT_EQ(snowman.result, Result::kNone);
  EXPECT_NE(snowman.reason.find("not a valid internationalized domain name"), std::string::npos)
      << snowman.reason;
  EXPECT_EQ(Check("192.0.2.1", "u@b\xFF" "cher.example").result, Result::kNone);
}

TEST_F(EvaluatorTest, TimeoutIsTempError) {
  zone_.AddFault("slow.example", dns::Fault::kTimeout);
  EXPECT_EQ(Check("192.0.2.1", "u@slow.example").result, Result::kTempError);
  Spf("example.com", "v=spf1 a:slow.example -all");
  CheckResult r = Check("192.0.2.1", "u@example.com");
  EXPECT_EQ(r.result, Result::kTempError);
  EXPECT_NE(r.reason.find("a:slow.example"), std::string::npos);
}

TEST_F(EvaluatorTest, CountsDnsTermsWhenEvaluatedAndStopsAfterTen) {
  A("h.example.com", "198.51.100.1");
  std::string ten = "v=spf1";
  for (int i = 0; i < 10; ++i) ten += " a:h.example.com";
  Spf("ten.example", ten + " ip4:192.0.2.1 a:h.example.com -all");
  CheckResult ok = Check("192.0.2.1", "u@ten.example");
  EXPECT_EQ(ok.result, Result::kPass);  // the 11th a: comes after the match
  EXPECT_EQ(ok.dns_lookups, 10);
  Spf("eleven.example", ten + " a:h.example.com ip4:192.0.2.1 -all");
  CheckResult over = Check("192.0.2.1", "u@eleven.example");
  EXPECT_EQ(over.result, Result::kPermError);
  EXPECT_NE(over.reason.find("RFC 7208 §4.6.4"), std::string::npos);
}

TEST_F(EvaluatorTest, LimitsVoidLookupsToTwo) {
  Spf("two.example", "v=spf1 a:nx1.example a:nx2.example ?all");
  EXPECT_EQ(Check("192.0.2.1", "u@two.example").result, Result::kNeutral);
  Spf("three.example", "v=spf1 a:nx1.example a:nx2.example mx:nx3.example ?all");
  CheckResult r = Check("192.0.2.1", "u@three.example");
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_EQ(r.void_lookups, 3);
  options_.max_void_lookups = 3;
  EXPECT_EQ(Check("192.0.2.1", "u@three.example").result, Result::kNeutral);
}

TEST_F(EvaluatorTest, MapsIncludeResultsPerSection52) {
  Spf("pass.example", "v=spf1 +all");
  Spf("fail.example", "v=spf1 -all");
  Spf("soft.example", "v=spf1 ~all");
  Spf("neutral.example", "v=spf1 ?all");
  Spf("perm.example", "v=spf1 moo");
  zone_.AddFault("temp.example", dns::Fault::kServfail);
  const std::vector<std::pair<std::string, Result>> rows = {
      {"pass.example", Result::kFail},      // matched: the "-" qualifier applies
      {"fail.example", Result::kSoftFail},  // no match: falls through to ~all
      {"soft.example", Result::kSoftFail},
      {"neutral.example", Result::kSoftFail},
      {"perm.example", Result::kPermError},
      {"temp.example", Result::kTempError},
      {"nothing.example", Result::kPermError},  // none → permerror
  };
  for (const auto& [target, want] : rows) {
    std::string domain = "inc-" + target;
    Spf(domain, "v=spf1 -include:" + target + " ~all");
    EXPECT_EQ(Check("192.0.2.1", "u@" + domain).result, want) << target;
  }
}

TEST_F(EvaluatorTest, RedirectUsesTargetRecordAndItsExplanation) {
  Spf("example.com", "v=spf1 exp=old.example.com redirect=_spf.example.net");
  Spf("_spf.example.net", "v=spf1 a -all exp=why.example.net");
  A("_spf.example.net", "192.0.2.9");
  Txt("why.example.net", {"%{i} is not in %{d}"});
  Txt("old.example.com", {"never shown"});
  EXPECT_EQ(Check("192.0.2.9", "u@example.com").result, Result::kPass);  // "a" means the target
  CheckResult r = Check("192.0.2.1", "u@example.com");
  EXPECT_EQ(r.result, Result::kFail);
  EXPECT_EQ(r.explanation, "192.0.2.1 is not in _spf.example.net");
  Spf("broken.example", "v=spf1 redirect=nothing.example");
  EXPECT_EQ(Check("192.0.2.1", "u@broken.example").result, Result::kPermError);
}

TEST_F(EvaluatorTest, IgnoresUnusableExplanations) {
  options_.default_explanation = "DEFAULT";
  Spf("multi.example", "v=spf1 -all exp=two.example");
  Txt("two.example", {"one"});
  Txt("two.example", {"two"});
  EXPECT_EQ(Check("192.0.2.1", "u@multi.example").explanation, "DEFAULT");
  Spf("bad.example", "v=spf1 -all exp=badmacro.example");
  Txt("badmacro.example", {"The %{x}-files"});
  EXPECT_EQ(Check("192.0.2.1", "u@bad.example").explanation, "DEFAULT");
  Spf("nx.example", "v=spf1 a:nx1.example a:nx2.example -all exp=nx3.example");
  CheckResult r = Check("192.0.2.1", "u@nx.example");
  EXPECT_EQ(r.result, Result::kFail);  // exp= lookups are not void lookups
  EXPECT_EQ(r.explanation, "DEFAULT");
  Spf("crt.example", "v=spf1 -all exp=msg.crt.example");
  Txt("msg.crt.example", {"%{c} via %{r} at %{t}"});
  options_.receiver = "mx.receiver.example";
  EXPECT_EQ(Check("2001:db8::1", "u@crt.example").explanation,
            "2001:db8::1 via mx.receiver.example at 1700000000");
}

TEST_F(EvaluatorTest, NullReversePathChecksPostmasterAtHelo) {
  Spf("helo.example", "v=spf1 exists:%{l}.%{o}.%{h}.check.example -all");
  A("postmaster.helo.example.helo.example.check.example", "127.0.0.2");
  CheckResult null_path = Check("192.0.2.1", "", "helo.example");
  EXPECT_EQ(null_path.result, Result::kPass);
  EXPECT_EQ(null_path.domain, "helo.example");
  Evaluator evaluator(zone_, options_);
  EXPECT_EQ(evaluator.CheckHelo(*IpAddress::Parse("192.0.2.1"), "helo.example").result,
            Result::kPass);
  EXPECT_EQ(evaluator.CheckHelo(*IpAddress::Parse("192.0.2.1"), "[192.0.2.1]").result,
            Result::kNone);
  EXPECT_EQ(evaluator.CheckHelo(*IpAddress::Parse("192.0.2.1"), "OEMCOMPUTER").result,
            Result::kNone);
}

TEST_F(EvaluatorTest, EmptyLocalPartBecomesPostmaster) {
  Spf("example.com", "v=spf1 -all exp=e.example.com");
  Txt("e.example.com", {"%{s}"});
  EXPECT_EQ(Check("192.0.2.1", "@example.com").explanation, "postmaster@example.com");
}

TEST_F(EvaluatorTest, MxMatchesExchangesAndRejectsMoreThanTen) {
  Spf("example.com", "v=spf1 mx/24 -all");
  Mx("example.com", 10, "mx1.example.com");
  Mx("example.com", 20, "");  // RFC 7505 null MX
  A("mx1.example.com", "192.0.2.200");
  EXPECT_EQ(Check("192.0.2.1", "u@example.com").result, Result::kPass);
  EXPECT_EQ(Check("192.0.3.1", "u@example.com").result, Result::kFail);
  Spf("many.example", "v=spf1 mx ?all");
  for (int i = 0; i < 11; ++i) Mx("many.example", i, "mx1.example.com");
  EXPECT_EQ(Check("192.0.2.200", "u@many.example").result, Result::kPermError);
}

TEST_F(EvaluatorTest, PtrMatchesOnlyValidatedNames) {
  Spf("example.com", "v=spf1 ptr -all");
  Ptr("1.2.0.192.in-addr.arpa", "forged.example.com");
  Ptr("1.2.0.192.in-addr.arpa", "mail.other.example");
  Ptr("2.2.0.192.in-addr.arpa", "Mail.Example.COM.");
  A("mail.example.com", "192.0.2.2");
  EXPECT_EQ(Check("192.0.2.1", "u@example.com").result, Result::kFail);  // forged: no A
  EXPECT_EQ(Check("192.0.2.2", "u@example.com").result, Result::kPass);
  Ptr("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "v6.example.com");
  Aaaa("v6.example.com", "2001:db8::1");
  EXPECT_EQ(Check("2001:db8::1", "u@example.com").result, Result::kPass);
}

TEST_F(EvaluatorTest, PMacroPrefersTheDomainsOwnName) {
  Spf("example.com", "v=spf1 -all exp=e.example.com");
  Txt("e.example.com", {"from %{p}"});
  Ptr("3.2.0.192.in-addr.arpa", "other.example");
  Ptr("3.2.0.192.in-addr.arpa", "mx.example.com");
  A("other.example", "192.0.2.3");
  A("mx.example.com", "192.0.2.3");
  EXPECT_EQ(Check("192.0.2.3", "u@example.com").explanation, "from mx.example.com");
  EXPECT_EQ(Check("192.0.2.4", "u@example.com").explanation, "from unknown");
}

TEST_F(EvaluatorTest, FollowsCnamesThroughTheResolver) {
  Cname("alias.example", "real.example");
  Spf("real.example", "v=spf1 a -all");
  A("real.example", "192.0.2.8");
  // "a" without a domain means <domain>, the alias, whose A comes via CNAME.
  EXPECT_EQ(Check("192.0.2.8", "u@alias.example").result, Result::kPass);
}

TEST_F(EvaluatorTest, ParsesWholeRecordBeforeEvaluating) {
  Spf("example.com", "v=spf1 +all moo");
  CheckResult r = Check("192.0.2.1", "u@example.com");
  EXPECT_EQ(r.result, Result::kPermError);
  EXPECT_NE(r.reason.find("\"moo\""), std::string::npos);
  EXPECT_NE(r.reason.find("offset 12"), std::string::npos);
}

TEST_F(EvaluatorTest, RecordCacheNeverChangesResults) {
  Spf("a.example", "v=spf1 ip4:192.0.2.0/24 -all");
  Spf("b.example", "v=spf1 ip4:198.51.100.0/24 ~all");
  Spf("c.example", "v=spf1 ip4:192.0.2.0/24 moo");
  const std::vector<std::string> domains = {"a.example", "b.example", "c.example"};
  const std::vector<std::string> ips = {"192.0.2.1", "198.51.100.1"};
  std::vector<Result> reference;
  for (size_t cache : {size_t{0}, size_t{1}, size_t{2}, size_t{1024}}) {
    options_.record_cache_size = cache;
    Evaluator evaluator(zone_, options_);
    std::vector<Result> got;
    for (int round = 0; round < 3; ++round) {
      for (const auto& d : domains) {
        for (const auto& ip : ips) {
          got.push_back(evaluator.CheckMailFrom(*IpAddress::Parse(ip), "u@" + d, "h.example").result);
        }
      }
    }
    if (reference.empty()) reference = got;
    EXPECT_EQ(got, reference) << "record_cache_size " << cache;
  }
  ASSERT_EQ(reference.size(), 18u);
  EXPECT_EQ(reference[0], Result::kPass);
  EXPECT_EQ(reference[3], Result::kPass);
  EXPECT_EQ(reference[4], Result::kPermError);
}

TEST(ResultName, NamesEveryResult) {
  EXPECT_EQ(ResultName(Result::kNone), "none");
  EXPECT_EQ(ResultName(Result::kNeutral), "neutral");
  EXPECT_EQ(ResultName(Result::kPass), "pass");
  EXPECT_EQ(ResultName(Result::kFail), "fail");
  EXPECT_EQ(ResultName(Result::kSoftFail), "softfail");
  EXPECT_EQ(ResultName(Result::kTempError), "temperror");
  EXPECT_EQ(ResultName(Result::kPermError), "permerror");
}

}  // namespace
}  // namespace mxkit::auth::spf
