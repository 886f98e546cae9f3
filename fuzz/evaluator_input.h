// Shared by the evaluator fuzz targets (spf_evaluator_fuzzer,
// dkim_verifier_fuzzer, dmarc_evaluator_fuzzer): the input framing and a
// resolver that records every query, so a target can check the DNS limits an
// RFC sets on the evaluator it drives.
//
// Framing: a zone in the dns/zone.h master-file subset, a line that is
// exactly "%%" (LF or CRLF), then the target's query (its own format, see each
// target). Seeds stay writable by hand; libFuzzer mutates both halves.

#ifndef MXKIT_FUZZ_EVALUATOR_INPUT_H_
#define MXKIT_FUZZ_EVALUATOR_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns/resolver.h"
#include "dns/static_resolver.h"

namespace mxkit::fuzz {

struct FramedInput {
  std::string_view zone;
  std::string_view query;  // everything after the "%%" line, byte for byte
};

// A seed for dns::testing::DeferredResolver::Drain taken from the input
// (FNV-1a), so the completion order the async paths are checked under is
// reproducible from a corpus file and varies as the fuzzer mutates it.
uint64_t CompletionOrderSeed(std::string_view input);

// Splits at the first "%%" line; nullopt when there is none.
std::optional<FramedInput> SplitFramedInput(std::string_view input);

// SplitFramedInput, then the zone part loaded into `zone`; nullopt (the
// input is not one to evaluate) when there is no "%%" line or the zone does
// not load.
std::optional<FramedInput> LoadFramedInput(std::string_view input, dns::StaticResolver& zone);

// Forwards to `inner` and logs each query with the status it got.
class CountingResolver : public dns::Resolver {
 public:
  struct Query {
    std::string name;   // lower-cased, without a trailing dot
    std::string asked;  // exactly as the evaluator asked it
    dns::RrType type;
    dns::LookupStatus status;
    // For MX and PTR answers: the names they point at (lower-cased, no
    // trailing dot), which the evaluator may then look up as hosts.
    std::vector<std::string> targets;
  };

  explicit CountingResolver(dns::Resolver& inner) : inner_(inner) {}

  void Lookup(std::string_view name, dns::RrType type, Callback done) override;
  dns::LookupResult LookupSync(std::string_view name, dns::RrType type) override;

  const std::vector<Query>& queries() const { return queries_; }
  std::size_t Count(dns::RrType type) const;

 private:
  void Record(std::string_view name, dns::RrType type, const dns::LookupResult& result);

  dns::Resolver& inner_;
  std::vector<Query> queries_;
};

// Lower-cased, one trailing dot dropped: how the log spells names.
std::string CanonicalName(std::string_view name);

// True for NXDOMAIN and NODATA, the answers RFC 7208 §4.6.4 calls void.
bool IsVoid(dns::LookupStatus status);

}  // namespace mxkit::fuzz

#endif  // MXKIT_FUZZ_EVALUATOR_INPUT_H_
