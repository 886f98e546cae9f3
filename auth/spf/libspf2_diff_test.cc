// Differential test against libspf2 1.2.10 (Debian's libspf2-dev), called
// in-process through its static zone DNS layer (testing/libspf2_peer.h).
//
// Inputs: every scenario of the RFC 7208 suite (required: the test fails
// when $MXKIT_SHARED_DIR/conformance/spf/rfc7208-tests.yml is missing) and of
// auth/spf/testdata/differential.yml, each test as written plus the generated
// variations the pyspf test uses (testing/differential_cases.h). Both
// implementations see the same zones with the suite's driver conventions.
//
// Every case must agree on the result, and on the explanation when both say
// fail, unless kKnownDisagreements below covers it, each row with the RFC 7208
// section that decides it and who is right. A row that no longer matches any
// case fails the test, so the table cannot go stale. Cases whose checked
// domain has data libspf2's zone layer cannot hold (Libspf2Peer's
// inexpressible_names) are counted apart, not compared. The counts are
// printed and mirrored in README.md ("Differences from libspf2").

#include <fnmatch.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "auth/spf/evaluator.h"
#include "base/ascii.h"
#include "auth/spf/testing/differential_cases.h"
#include "auth/spf/testing/libspf2_peer.h"
#include "auth/spf/testing/rfc7208_suite.h"
#include "gtest/gtest.h"

namespace mxkit::auth::spf {
namespace {

using testing::DifferentialCase;
using testing::KnownDisagreement;
using testing::Libspf2Answer;
using testing::Libspf2Peer;
using testing::Suite;
using testing::SuiteResolver;

// A row of kKnownDisagreements: KnownDisagreement (scenario, domain, host,
// ours and libspf2's answers, all fnmatch(3) patterns here) narrowed by what
// each side said about why, so a row names one cause and nothing else.
struct Libspf2Disagreement {
  KnownDisagreement row;
  const char* our_reason;      // pattern on CheckResult::reason
  const char* libspf2_detail;  // pattern on Libspf2Answer::detail
};

// Where libspf2 1.2.10 (2012, written to RFC 4408; RFC 7208 is from 2014)
// and we differ, first matching row wins. README.md ("Differences from
// libspf2") mirrors this table with the counts the test prints.
const std::vector<Libspf2Disagreement> kKnownDisagreements = {
    {{"*", "*", "*", "*", "pass",
      "RFC 7208 §4: check_host()'s result comes from the sender's record; nothing exempts a client "
      "address. libspf2 answers pass for any 127.0.0.0/8 or ::1 client without a lookup "
      "(SPF_REASON_LOCALHOST, \"localhost always gets a free ride\"); the suites' zones have "
      "127.0.0.x A records, so the generated cases check from them."},
     "*", "reason localhost*"},
    {{"*", "*", "*", "permerror", "invalid",
      "RFC 7208 §4.6 and §2.6.7: a record that does not match the §12 ABNF is a permerror. libspf2 "
      "rejects these records too, but answers SPF_RESULT_INVALID (its header: \"We should never "
      "return this\") with SPF_E_NOT_SPF, which is no RFC 7208 result."},
     "SPF record at *", "reason none, error Could not find a valid SPF record*"},
    {{"*", "*", "*", "*", "invalid",
      "RFC 7208 §5.6: ip4-cidr-length = \"/\" (\"0\" / %x31-39 0*1DIGIT), and the same for "
      "ip6-cidr-length, so /0 is valid (it matches every address). libspf2 refuses to compile the "
      "record (\"Invalid IPv4/IPv6 CIDR netmask (=0)\") and answers SPF_RESULT_INVALID."},
     "*", "*CIDR netmask (=0)*"},
    {{"Record lookup", "alltimeout.example.net", "*", "temperror", "invalid",
      "RFC 7208 §4.4: a DNS error (here a timeout) fetching the record gives temperror. libspf2 "
      "returns SPF_E_DNS_ERROR and leaves the result SPF_RESULT_INVALID."},
     "*", "*Temporary DNS failure*"},
    {{"Record evaluation", "t[26].example.com", "*", "*", "*",
      "RFC 7208 §6 and §12: an unknown modifier's name = ALPHA *( ALPHA / DIGIT / \"-\" / \"_\" / "
      "\".\" ), so \"moo.cow-far_out=man:dog/cat\" is a valid unknown modifier and MUST be ignored "
      "(suite test modifier-charset-good: pass; t6 redirects to it). libspf2 rejects the '.' "
      "(\"Invalid character in middle of mechanism\")."},
     "*", "*Invalid character in middle of mechanism*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §7.1: domain-spec = macro-string domain-end, and domain-end needs a \".\" and a "
      "toplabel (ALPHA somewhere, not all digits, no leading or trailing '-') or a macro-expand; "
      "a record that breaks it is a permerror (§4.6, suite tests a-bad-domain, a-only-toplabel, "
      "a-numeric-toplabel, a-colon-domain, mx-*, exists-*). libspf2 only warns \"Hostname has a "
      "missing or invalid TLD\" and evaluates on."},
     "*not a valid top label*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "As above (RFC 7208 §7.1 domain-end): a single label, or one with only a trailing dot, is "
      "not a domain-spec (suite tests a-only-toplabel, a-only-toplabel-trailing-dot, "
      "exp-syntax-error: \"exp=-all\"). libspf2 accepts it."},
     "*before its last label*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §7.1: domain-spec is not empty, so \"a:\", \"mx:\", \"ptr:\", \"exists:\", "
      "\"exp=\" and \"redirect=\" are syntax errors, permerror (suite tests a-empty-domain, "
      "mx-empty-domain, ptr-empty-domain, exists-empty-domain, empty-modifier-name, "
      "redirect-empty-domain). libspf2 treats the empty value as absent."},
     "*empty domain-spec*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §7.1: in a macro-string '%' is followed only by '{', '%', '_' or '-'; anything else "
      "is a syntax error, permerror (suite tests invalid-macro-char, macro-mania-in-domain, "
      "invalid-domain-empty-label...). libspf2 keeps the '%' as literal text."},
     "*'%' followed by*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §7.1: the macro letters c, r and t are allowed only in explanation text (exp= "
      "TXT); in a domain-spec or another modifier's value they are a syntax error (suite test "
      "exp-only-macro-char). libspf2 expands them anywhere."},
     "*allowed only in explanation text*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §7.1 and §12: a macro-string is visible ASCII (%x21-7E); a UTF-8 BOM or a CR "
      "inside a term is a syntax error, permerror (suite tests non-ascii-policy, ctrl-char-policy... "
      "of \"Initial processing\"). libspf2 takes the bytes as part of the name."},
     "*is not allowed in a macro-string*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §6: redirect= and exp= \"MUST NOT appear in a record more than once each\"; if "
      "they do, check_host() exits with permerror (suite tests redirect-twice, exp-twice). "
      "libspf2 uses one of them."},
     "*appears twice*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §5 and §4.6.1: \"redirect:t2...\" is neither a mechanism name nor name=value, so "
      "it is an unknown mechanism: permerror (suite test redirect-is-mechanism... \"Record "
      "evaluation\" t8). libspf2 reads it as redirect=."},
     "*is not a mechanism*", "*"},
    {{"IP4 mechanism syntax", "e4.example.com", "*", "permerror", "*",
      "RFC 7208 §5.6: ip4-cidr-length has no leading zeros, so \"/032\" is a syntax error "
      "(suite test cidr4-032: permerror). libspf2 reads it as /32."},
     "*without leading zeros*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §4.6.4: more than 2 void lookups (NXDOMAIN or no answers) is a permerror (suite "
      "tests void-over-limit...). The void-lookup limit is new in RFC 7208; libspf2 1.2.10 has "
      "none and evaluates on."},
     "more than 2 void DNS lookups*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "RFC 7208 §4.6.4: at most 10 DNS-querying terms over the whole check_host() evaluation, "
      "the terms of include:d and redirect=ed records counted with the caller's (suite tests "
      "include-over-limit..., and differential.yml's chain-over.test: an include chain 11 deep). "
      "libspf2 1.2.10 does not reach its limit on these (observed: it goes on and answers from a "
      "later term)."},
     "more than 10 DNS-querying terms*", "*"},
    {{"*", "*", "*", "permerror", "*",
      "As above, reached through nested include: chains (differential.yml's chain-over.test): "
      "the 11th DNS-querying term over the evaluation is a permerror; libspf2 evaluates on."},
     "*more than 10 DNS-querying terms*", "*"},
    {{"Processing limits", "e4.example.com", "*", "permerror", "*",
      "RFC 7208 §4.6.4: an mx term whose MX lookup returns more than 10 records MUST produce "
      "permerror (suite test mx-limit). libspf2 evaluates the first max_dns_mx (10) and matches."},
     "*MX records, more than 10*", "*"},
    {{"Processing limits", "e5.example.com", "*", "neutral", "permerror",
      "RFC 7208 §4.6.4: a ptr term checks only the first 10 PTR names and ignores the rest; that "
      "is not an error (suite test ptr-limit: neutral). libspf2 answers permerror \"Mechanisms "
      "used too many DNS lookups\"."},
     "*", "*too many DNS lookups*"},
    {{"Processing limits", "e6.example.com", "*", "*", "permerror",
      "RFC 7208 §4.6.4: e6's record has exactly 10 DNS-querying terms (a mx a mx a mx a mx a ptr), "
      "which is the limit, not over it (suite test mech-at-limit). libspf2 answers permerror "
      "\"Mechanisms used too many DNS lookups\"."},
     "*", "*too many DNS lookups*"},
    {{"Processing limits", "redir-unused.test", "*", "pass", "permerror",
      "RFC 7208 §4.6.4 counts terms that cause DNS queries during evaluation; the redirect= "
      "after ten a terms is never reached when the client matches (ip4 before it). libspf2 counts "
      "it anyway and answers permerror."},
     "*", "*too many DNS lookups*"},
    {{"Record evaluation", "t5.example.com", "*", "softfail", "permerror",
      "RFC 7208 §6.1: redirect= is used only when no mechanism matches; t5's record ends in ~all, "
      "so its redirect= to itself is never followed (suite test redirect-is-modifier... softfail). "
      "libspf2 follows it and reports unlimited recursion."},
     "*", "*unlimited recursion*"},
    {{"*", "*", "::[fF][fF][fF][fF]:*", "*", "*",
      "RFC 7208 §5: an IPv4-mapped IPv6 client (::ffff:a.b.c.d) is treated as the IPv4 client "
      "a.b.c.d, so ip4, a, mx and ptr match it as IPv4 and %{i}, %{v} are IPv4's. libspf2 "
      "evaluates it as IPv6 (and %{i} becomes ::ffff:..., URL-escaped in explanations)."},
     "*", "*"},
    {{"Macro expansion rules", "e7.example.com", "192.168.218.42", "pass", "softfail",
      "RFC 7208 §7.3: %{p} with several validated names may use any (a subdomain of <domain> "
      "SHOULD be preferred); the suite's p-macro-multiple accepts [pass, softfail]. Both are "
      "right."},
     "*", "*"},
    {{"Macro transformations", "u.test", "*", "fail:*%3A*", "fail:*%3a*",
      "RFC 7208 §7.3 URL-escapes uppercase letters' macros per RFC 3986, whose §2.1 says producers "
      "should use uppercase hex digits (differential.yml expects %3A, %2B). libspf2 writes "
      "lowercase."},
     "*", "*"},
    {{"Semantics of exp and other modifiers", "tworecs.example.com", "*", "fail:DEFAULT", "fail:one",
      "RFC 7208 §6.2: if the exp= lookup returns more than one TXT record, proceed as if there "
      "were no exp= (suite test exp-multiple-txt: DEFAULT). libspf2 uses the first."},
     "*", "*"},
    {{"Semantics of exp and other modifiers", "nonascii.example.com", "*", "fail:DEFAULT", "fail:*",
      "RFC 7208 §6.2: the explanation must be US-ASCII; a TXT with other bytes is unusable and "
      "the default applies (suite test non-ascii-exp: DEFAULT). libspf2 returns the bytes."},
     "*", "*"},
    {{"Semantics of exp and other modifiers", "e11.example.com", "*", "fail:DEFAULT", "fail:Answer*",
      "As above, RFC 7208 §6.2: e11's exp= name has two TXT records (suite test "
      "exp-multiple-txt: DEFAULT). libspf2 uses the first."},
     "*", "*"},
    {{"Semantics of exp and other modifiers", "e13.example.com", "*", "fail:DEFAULT", "fail:The*{x}-files.",
      "RFC 7208 §6.2: an explanation string with a syntax error (\"%{x}\": x is no macro letter) "
      "is ignored and the default applies (suite test explanation-syntax-error: DEFAULT). "
      "libspf2 returns the text unexpanded."},
     "*", "*"},
    {{"Macro expansion rules", "somewhat.long.exp.example.com", "*", "fail:Congratulations!*", "fail:DEFAULT",
      "RFC 7208 §6.2 and §7.3: exp=%{o}.%{o}.… expands to a name over 253 characters, which is "
      "truncated from the left label by label and looked up (suite test "
      "exp-dns-long-names... \"Congratulations!  That was tricky.\"). libspf2 gives up and uses "
      "the default."},
     "*", "*"},
    {{"Macro transformations", "a1234*.trunc.test", "*", "fail:Truncated from the left*", "fail:DEFAULT",
      "RFC 7208 §7.3: an expanded exp= name over 253 characters loses labels from the left until "
      "it fits, and is looked up (differential.yml's trunc.test). libspf2 gives up and uses the "
      "default."},
     "*", "*"},
    {{"*", "*", "*", "fail:*", "fail:*%*",
      "RFC 7208 §6.2 and §7: the exp= TXT is an explain-string, macro-expanded with its spaces "
      "kept (explain-string = *( macro-string / SP )). libspf2 1.2.10 returns it with every space "
      "replaced by '%' and the explanation-only macros (%{c}, %{p}, %{r}) and %{ir} left as "
      "written."},
     "*", "*"},
};

TEST(Libspf2Differential, AgreesOrDisagreesOnlyAsDocumented) {
  std::string suite_path = testing::SuitePath();
  ASSERT_FALSE(suite_path.empty()) << "MXKIT_SHARED_DIR is unset: the RFC 7208 suite is required. Run through "
                                      "./bazelw with ../shared beside the checkout, or set MXKIT_SHARED_DIR to "
                                      "the directory holding conformance/spf";
  ASSERT_TRUE(std::ifstream(suite_path).good()) << "RFC 7208 suite missing: " << suite_path;
  absl::StatusOr<Suite> loaded = testing::LoadSuites({suite_path, testing::kDifferentialZones});
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  const Suite& all = *loaded;
  std::vector<DifferentialCase> cases = testing::GenerateDifferentialCases(all);
  ASSERT_GT(cases.size(), all.tests.size());

  std::vector<std::unique_ptr<SuiteResolver>> resolvers;
  std::vector<std::unique_ptr<Libspf2Peer>> peers;
  for (const auto& scenario : all.scenarios) {
    resolvers.push_back(std::make_unique<SuiteResolver>(scenario));
    absl::StatusOr<std::unique_ptr<Libspf2Peer>> peer = Libspf2Peer::Create(scenario);
    ASSERT_TRUE(peer.ok()) << scenario.description << ": " << peer.status().message();
    peers.push_back(std::move(*peer));
  }

  EvaluatorOptions options;
  options.default_explanation = Libspf2Peer::kDefaultExplanation;
  options.receiver = Libspf2Peer::kReceiver;
  std::vector<int> used(kKnownDisagreements.size(), 0);
  size_t agreed = 0, documented = 0, inexpressible = 0;
  std::vector<std::string> unexplained;
  std::map<std::string, int> inexpressible_by_name;
  for (const DifferentialCase& c : cases) {
    const std::string& scenario = all.scenarios[c.scenario].description;
    std::string domain = base::AsciiLower(testing::CheckedDomain(c.mailfrom, c.helo));
    if (peers[c.scenario]->inexpressible_names().count(domain) > 0) {
      ++inexpressible;
      ++inexpressible_by_name["[" + scenario + "] " + domain];
      continue;
    }
    Evaluator evaluator(*resolvers[c.scenario], options);
    std::optional<IpAddress> ip = IpAddress::Parse(c.host);
    ASSERT_TRUE(ip.has_value()) << c.host;
    CheckResult r = evaluator.CheckMailFrom(*ip, c.mailfrom, c.helo);
    std::string ours(ResultName(r.result));
    Libspf2Answer theirs = peers[c.scenario]->Check(c.host, c.mailfrom, c.helo);
    if (ours == theirs.result && (ours != "fail" || r.explanation == theirs.explanation)) {
      ++agreed;
      continue;
    }
    bool both_fail = ours == "fail" && theirs.result == "fail";
    std::string ours_full = both_fail ? "fail:" + r.explanation : ours;
    std::string theirs_full = both_fail ? "fail:" + theirs.explanation : theirs.result;
    bool explained = false;
    for (size_t k = 0; k < kKnownDisagreements.size(); ++k) {
      const Libspf2Disagreement& d = kKnownDisagreements[k];
      if (testing::Matches(d.row, scenario, c) && fnmatch(d.row.ours, ours_full.c_str(), 0) == 0 &&
          fnmatch(d.row.peer, theirs_full.c_str(), 0) == 0 && fnmatch(d.our_reason, r.reason.c_str(), 0) == 0 &&
          fnmatch(d.libspf2_detail, theirs.detail.c_str(), 0) == 0) {
        ++used[k];
        explained = true;
        break;
      }
    }
    if (explained) {
      ++documented;
      continue;
    }
    unexplained.push_back(testing::Escape("[" + scenario + "] host=" + c.host + " mailfrom=\"" + c.mailfrom +
                                          "\" helo=\"" + c.helo + "\": ours " + ours_full + " (" + r.reason +
                                          "), libspf2 " + theirs_full + " (" + theirs.detail + ")"));
  }
  std::printf("libspf2 differential: %zu cases, %zu compared, %zu agree, %zu documented disagreements, "
              "%zu unexplained, %zu not expressible in libspf2's zone layer\n",
              cases.size(), cases.size() - inexpressible, agreed, documented, unexplained.size(), inexpressible);
  for (const auto& [name, n] : inexpressible_by_name) {
    std::printf("  not expressible: %s: %d cases\n", name.c_str(), n);
  }
  for (size_t k = 0; k < kKnownDisagreements.size(); ++k) {
    std::printf("  row %zu [%s] %s host %s, ours %s, libspf2 %s: %d cases\n", k + 1,
                kKnownDisagreements[k].row.scenario, kKnownDisagreements[k].row.domain,
                kKnownDisagreements[k].row.host, kKnownDisagreements[k].row.ours, kKnownDisagreements[k].row.peer,
                used[k]);
  }
  std::string report;
  for (size_t k = 0; k < unexplained.size() && k < 2000; ++k) report += unexplained[k] + "\n";
  EXPECT_TRUE(unexplained.empty()) << unexplained.size() << " unexplained disagreements:\n" << report;
  for (size_t k = 0; k < kKnownDisagreements.size(); ++k) {
    EXPECT_GT(used[k], 0) << "stale known disagreement, row " << k + 1 << ": " << kKnownDisagreements[k].row.why;
  }
}

}  // namespace
}  // namespace mxkit::auth::spf
