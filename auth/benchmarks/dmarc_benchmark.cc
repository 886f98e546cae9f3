// DMARC evaluation (record parse + organizational domain + alignment + the
// policy to apply), ours against OpenDMARC (libopendmarc 1.4.2) in-process, on
// the same fixed set of messages, in the same binary.
//
//   ./bazelw run --config=opt //auth/benchmarks:dmarc_benchmark --
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// (one command line)
//
// Both sides get the DMARC records as text from the same in-memory table
// (a name -> TXT records lookup, the same lambda for both), the public suffix
// list (Debian's /usr/share/publicsuffix/public_suffix_list.dat) is loaded
// once outside the timed loops, and OpenDMARC is driven as its milter drives
// it (auth/dmarc/testing/opendmarc_peer.h). Our side is measured twice:
//  - BM_OursDirect: ParseRecord + PublicSuffixList::OrganizationalDomain +
//    IsAligned, called directly, with RFC 7489 §6.6.3 discovery over the same
//    lookup as the peer: the like-for-like comparison;
//  - BM_OursEvaluator: the public Evaluator over a dns::StaticResolver holding
//    the same records, i.e. what an application calls, which adds the
//    resolver's zone lookup, the coroutine frames and the reason strings.
// Each of our benchmarks also times the peer on the same inputs (thread CPU
// time, so other processes' load does not count) and reports
// ratio_vs_opendmarc = OpenDMARC's CPU time per message set / ours (> 1: we
// are faster). BM_OpenDmarc gives the peer's own figure.


#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc/evaluator.h"
#include "auth/dmarc/record.h"
#include "auth/dmarc/testing/opendmarc_peer.h"
#include "benchmark/benchmark.h"
#include "testing/cpu_clock.h"
#include "dns/static_resolver.h"

namespace mxkit::auth::dmarc {
namespace {

using testing::OpenDmarcPeer;
using testing::PeerTxtAnswer;
using testing::PeerTxtLookup;

struct TxtAt {
  const char* name;
  const char* text;
};

// The published records (each under 255 bytes: one TXT string).
const TxtAt kRecords[] = {
    {"_dmarc.example.com", "v=DMARC1; p=reject; sp=quarantine; rua=mailto:dmarc@example.com; "
                           "ruf=mailto:forensic@example.com!10m; fo=1:d; ri=3600"},
    {"_dmarc.example.co.uk", "v=DMARC1; p=quarantine; pct=50; rua=mailto:agg@example.co.uk"},
    {"_dmarc.strict.com", "v=DMARC1; p=reject; adkim=s; aspf=s"},
    {"_dmarc.alice.github.io", "v=DMARC1; p=none; rua=mailto:a@alice.github.io"},
    {"_dmarc.shop.example.org", "v=DMARC1; p=reject"},
    {"_dmarc.example.org", "v=DMARC1; p=quarantine; sp=reject; adkim=r; aspf=r"},
    {"_dmarc.mixed.com", "v=spf1 -all"},
    {"_dmarc.mixed.com", "v=DMARC1; p=quarantine"},
};

struct Message {
  const char* from;
  spf::Result spf;
  const char* mail_from;
  std::vector<DkimIdentifier> dkim;
  uint32_t sample;
};

const std::vector<Message>& Messages() {
  static const auto* m = new std::vector<Message>{
      {"example.com", spf::Result::kPass, "example.com", {{dkim::DkimResult::kPass, "example.com"}}, 0},
      {"news.example.com", spf::Result::kPass, "bounce.example.net",
       {{dkim::DkimResult::kPass, "mail.example.com"}}, 0},
      {"mail.example.co.uk", spf::Result::kSoftFail, "example.co.uk",
       {{dkim::DkimResult::kFail, "example.co.uk"}, {dkim::DkimResult::kPass, "esp.example.net"}}, 70},
      {"strict.com", spf::Result::kPass, "bounce.strict.com", {{dkim::DkimResult::kPass, "strict.com"}}, 0},
      {"alice.github.io", spf::Result::kPass, "bob.github.io", {{dkim::DkimResult::kPass, "bob.github.io"}}, 0},
      {"a.b.shop.example.org", spf::Result::kFail, "a.b.shop.example.org", {}, 0},
      {"mixed.com", spf::Result::kNone, "", {{dkim::DkimResult::kPass, "mixed.com"}}, 0},
      {"nodmarc.example.net", spf::Result::kPass, "nodmarc.example.net", {}, 0},
  };
  return *m;
}

struct Fixture {
  std::string error;
  std::shared_ptr<const PublicSuffixList> psl;
  std::unique_ptr<OpenDmarcPeer> peer;
  std::map<std::string, std::vector<std::string>, std::less<>> txt;
  PeerTxtLookup lookup;
  dns::StaticResolver zone;
  std::unique_ptr<Evaluator> evaluator;
  std::vector<EvaluationInput> inputs;
};

// Our RFC 7489 evaluation from the building blocks: §6.6.3 discovery over
// `lookup`, ParseRecord, §3.2 organizational domains, §3.1 alignment, §6.3
// p/sp and §6.6.4 pct.
struct Direct {
  DmarcResult result = DmarcResult::kNone;
  Policy disposition = Policy::kNone;
};

Direct EvaluateDirect(const EvaluationInput& in, const PeerTxtLookup& lookup,
                      const PublicSuffixList& psl) {
  Direct out;
  const std::string author = NormalizeDomain(in.author_domain);
  const std::string org = psl.OrganizationalDomain(author);
  std::optional<RecordResult> parsed;
  bool at_author = true;
  for (const std::string* name : {&author, &org}) {
    if (name == &org && org == author) break;
    PeerTxtAnswer answer = lookup("_dmarc." + *name);
    const std::string* only = nullptr;
    int dmarc = 0;
    for (const std::string& t : answer.records) {
      if (IsDmarcRecord(t)) {
        only = &t;
        ++dmarc;
      }
    }
    if (dmarc > 1) return out;  // §6.6.3: several records, no policy
    if (dmarc == 1) {
      parsed = ParseRecord(*only);
      at_author = name == &author;
      break;
    }
  }
  if (!parsed) return out;
  if (!parsed->ok()) {
    out.result = DmarcResult::kPermError;
    return out;
  }
  const Record& r = parsed->record;
  bool aligned = in.spf_result == spf::Result::kPass && !in.spf_domain.empty() &&
                 IsAligned(in.spf_domain, author, r.spf_alignment, psl);
  for (const DkimIdentifier& d : in.dkim) {
    if (aligned) break;
    aligned = d.result == dkim::DkimResult::kPass && IsAligned(d.domain, author, r.dkim_alignment, psl);
  }
  if (aligned) {
    out.result = DmarcResult::kPass;
    return out;
  }
  out.result = DmarcResult::kFail;
  Policy p = at_author ? r.policy : r.subdomain_policy.value_or(r.policy);
  if (in.pct_sample >= static_cast<uint32_t>(r.percent) || r.testing) {
    p = p == Policy::kReject ? Policy::kQuarantine : Policy::kNone;
  }
  out.disposition = p;
  return out;
}

const Fixture& Get() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    auto psl = PublicSuffixList::Load(kDefaultPublicSuffixListPath);
    if (!psl.ok()) {
      f->error = std::string(psl.status().message());
      return f;
    }
    f->psl = *psl;
    auto peer = OpenDmarcPeer::Create(kDefaultPublicSuffixListPath);
    if (!peer.ok()) {
      f->error = std::string(peer.status().message());
      return f;
    }
    f->peer = std::move(*peer);
    std::string zone_text;
    for (const TxtAt& r : kRecords) {
      f->txt[r.name].push_back(r.text);
      zone_text += std::string(r.name) + ". TXT \"" + r.text + "\"\n";
    }
    if (absl::Status s = f->zone.LoadZone(zone_text); !s.ok()) {
      f->error = std::string(s.message());
      return f;
    }
    f->lookup = [f](std::string_view name) {
      PeerTxtAnswer a;
      auto it = f->txt.find(name);
      if (it == f->txt.end()) return a;  // kNxDomain
      a.status = dns::LookupStatus::kAnswer;
      a.records = it->second;
      return a;
    };
    auto ev = Evaluator::Create(f->zone, {DiscoveryMethod::kRfc7489, f->psl});
    if (!ev.ok()) {
      f->error = std::string(ev.status().message());
      return f;
    }
    f->evaluator = std::make_unique<Evaluator>(std::move(*ev));
    for (const Message& m : Messages()) {
      EvaluationInput in;
      in.author_domain = m.from;
      in.spf_result = m.spf;
      in.spf_domain = m.mail_from;
      in.dkim = m.dkim;
      in.pct_sample = m.sample;
      f->inputs.push_back(std::move(in));
    }
    // The three must agree on these inputs (none of them is a documented
    // disagreement), or the comparison measures different work.
    for (const EvaluationInput& in : f->inputs) {
      Evaluation e = f->evaluator->Evaluate(in);
      Direct d = EvaluateDirect(in, f->lookup, *f->psl);
      testing::PeerEvaluation p = f->peer->Evaluate(in, f->lookup);
      if (e.result != d.result || e.disposition != d.disposition || e.result != p.result ||
          e.disposition != p.disposition) {
        f->error = "inputs disagree for From " + in.author_domain + ": evaluator " +
                   std::string(DmarcResultKeyword(e.result)) + "/" +
                   std::string(PolicyName(e.disposition)) + ", direct " +
                   std::string(DmarcResultKeyword(d.result)) + "/" +
                   std::string(PolicyName(d.disposition)) + ", OpenDMARC " +
                   std::string(DmarcResultKeyword(p.result)) + "/" +
                   std::string(PolicyName(p.disposition));
        return f;
      }
    }
    return f;
  }();
  return *f;
}

// OpenDMARC's thread CPU seconds per message set, over `sets` sets.
double PeerSecondsPerSet(const Fixture& f, int64_t sets) {
  double start = mxkit::testing::ThreadCpuSeconds();
  for (int64_t i = 0; i < sets; ++i) {
    for (const EvaluationInput& in : f.inputs) {
      benchmark::DoNotOptimize(f.peer->Evaluate(in, f.lookup));
    }
  }
  return (mxkit::testing::ThreadCpuSeconds() - start) / static_cast<double>(sets);
}

template <typename Body>
void RunOurs(benchmark::State& state, Body body) {
  const Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  int64_t sets = 0;
  double start = mxkit::testing::ThreadCpuSeconds();
  for (auto _ : state) {
    for (const EvaluationInput& in : f.inputs) body(f, in);
    ++sets;
  }
  double ours = (mxkit::testing::ThreadCpuSeconds() - start) / static_cast<double>(sets);
  // After the loop: the framework's timer has stopped.
  double peer = PeerSecondsPerSet(f, sets);
  state.SetItemsProcessed(sets * static_cast<int64_t>(f.inputs.size()));
  state.counters["ns_per_msg"] = ours * 1e9 / static_cast<double>(f.inputs.size());
  state.counters["opendmarc_ns_per_msg"] = peer * 1e9 / static_cast<double>(f.inputs.size());
  state.counters["ratio_vs_opendmarc"] = peer / ours;
}

void BM_OursDirect(benchmark::State& state) {
  RunOurs(state, [](const Fixture& f, const EvaluationInput& in) {
    benchmark::DoNotOptimize(EvaluateDirect(in, f.lookup, *f.psl));
  });
}
BENCHMARK(BM_OursDirect);

void BM_OursEvaluator(benchmark::State& state) {
  RunOurs(state, [](const Fixture& f, const EvaluationInput& in) {
    benchmark::DoNotOptimize(f.evaluator->Evaluate(in));
  });
}
BENCHMARK(BM_OursEvaluator);

void BM_OpenDmarc(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) {
    for (const EvaluationInput& in : f.inputs) {
      benchmark::DoNotOptimize(f.peer->Evaluate(in, f.lookup));
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(f.inputs.size()));
}
BENCHMARK(BM_OpenDmarc);

// The pieces alone, for the profile: one record parse, one organizational
// domain, one relaxed alignment.
void BM_OursParseRecord(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(ParseRecord(kRecords[0].text));
}
BENCHMARK(BM_OursParseRecord);

void BM_OursOrganizationalDomain(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(f.psl->OrganizationalDomain("a.b.shop.example.org"));
}
BENCHMARK(BM_OursOrganizationalDomain);

void BM_OpenDmarcOrganizationalDomain(benchmark::State& state) {
  const Fixture& f = Get();
  if (!f.error.empty()) {
    state.SkipWithError(f.error.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(f.peer->OrganizationalDomain("a.b.shop.example.org"));
}
BENCHMARK(BM_OpenDmarcOrganizationalDomain);

}  // namespace
}  // namespace mxkit::auth::dmarc
