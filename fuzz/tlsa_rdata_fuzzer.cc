// Fuzzes TLSA RDATA parsing (RFC 6698 §2.1) and DANE matching (RFC 7672 §3)
// against a fixed chain (fuzz/tlsa_rdata_input.h) and checks properties: a
// parsed record serialises back to its bytes and has the length its
// matching type needs; the verdict is consistent with the input (only
// authenticated RRsets apply, a match names a usable record that really
// matches, a mismatch carries an RFC 8460 failure type, all-unusable
// requires TLS).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/property_check.h"
#include "fuzz/tlsa_rdata_input.h"
#include "policy/dane.h"

using namespace mxkit;
using namespace mxkit::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fuzz::TlsaFuzzInput input =
      fuzz::SplitTlsaInput(std::string_view(reinterpret_cast<const char*>(data), size));
  const fuzz::TlsaFuzzChain& chain = fuzz::FixedTlsaChain();

  DaneInput dane;
  dane.lookup = static_cast<TlsaLookup>(input.lookup);
  dane.chain_der = chain.chain_der;
  dane.reference_names = {"mx.test"};
  dane.now = absl::FromUnixSeconds(1'780'000'000);  // 2026, inside the chain's validity
  size_t usable = 0;
  for (std::string_view rdata : input.rdatas) {
    auto record = ParseTlsaRdata(rdata);
    if (!record.ok()) {
      MXKIT_FUZZ_CHECK(!record.status().message().empty());
      continue;
    }
    MXKIT_FUZZ_CHECK(SerializeTlsaRdata(*record) == rdata);
    MXKIT_FUZZ_CHECK(!record->data.empty());
    if (record->matching_type == 1) MXKIT_FUZZ_CHECK(record->data.size() == kTlsaSha256Size);
    if (record->matching_type == 2) MXKIT_FUZZ_CHECK(record->data.size() == kTlsaSha512Size);
    MXKIT_FUZZ_CHECK(!TlsaRecordToString(*record).empty());
    if (!TlsaUnusableReason(*record)) ++usable;
    dane.records.push_back(*record);
  }

  const DaneVerdict v = EvaluateDane(dane);
  MXKIT_FUZZ_CHECK(!v.reason.empty());
  switch (dane.lookup) {
    case TlsaLookup::kNoRecords:
    case TlsaLookup::kUnauthenticated:
      MXKIT_FUZZ_CHECK(v.outcome == DaneVerdict::Outcome::kNotApplicable);
      MXKIT_FUZZ_CHECK(!v.tls_required && !v.failure);
      return 0;
    case TlsaLookup::kFailed:
      MXKIT_FUZZ_CHECK(v.outcome == DaneVerdict::Outcome::kLookupFailed);
      MXKIT_FUZZ_CHECK(v.failure == TlsResultType::kDnssecInvalid);
      return 0;
    case TlsaLookup::kAuthenticated:
      break;
  }
  MXKIT_FUZZ_CHECK(v.usable_records == usable);
  switch (v.outcome) {
    case DaneVerdict::Outcome::kMatch: {
      MXKIT_FUZZ_CHECK(v.matched_record.has_value() && *v.matched_record < dane.records.size());
      const TlsaRecord& matched = dane.records[*v.matched_record];
      MXKIT_FUZZ_CHECK(!TlsaUnusableReason(matched));
      MXKIT_FUZZ_CHECK(!v.failure);
      if (matched.usage == 3) {
        auto expected = TlsaAssociationData(chain.chain_der[0], matched.selector,
                                            matched.matching_type);
        MXKIT_FUZZ_CHECK(expected.ok() && *expected == matched.data);
      }
      break;
    }
    case DaneVerdict::Outcome::kMismatch:
      MXKIT_FUZZ_CHECK(usable > 0 && v.failure.has_value());
      break;
    case DaneVerdict::Outcome::kNotApplicable:
      MXKIT_FUZZ_CHECK(usable == 0);
      MXKIT_FUZZ_CHECK(v.tls_required == !dane.records.empty());
      break;
    case DaneVerdict::Outcome::kLookupFailed:
      MXKIT_FUZZ_CHECK(false);
  }
  return 0;
}
