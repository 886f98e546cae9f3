// DANE for SMTP (RFC 7672, on RFC 6698 and RFC 7671): TLSA RDATA and the
// match of a served chain against a TLSA RRset. Sans-IO: the caller looks up
// _25._tcp.<mx> TLSA (dns::Resolver) and says whether the answer was
// authenticated (the AD bit from a validating resolver, RFC 7672 §2.1.1); the
// chain is what the handshake saw.

#ifndef MXKIT_POLICY_DANE_H_
#define MXKIT_POLICY_DANE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "dns/resolver.h"
#include "policy/tls_report_types.h"

namespace mxkit::policy {

// RFC 6698 §2.1: usage, selector, matching type (one octet each), then the
// certificate association data.
inline constexpr size_t kTlsaFixedSize = 3;
// RFC 6698 §2.1.3: SHA-256 and SHA-512 association data lengths.
inline constexpr size_t kTlsaSha256Size = 32;
inline constexpr size_t kTlsaSha512Size = 64;
// RDATA is bounded by RDLENGTH (RFC 1035 §3.2.1, 16 bits).
inline constexpr size_t kMaxTlsaRdataSize = 65535;

// RFC 7218 acronyms.
enum class TlsaUsage : uint8_t { kPkixTa = 0, kPkixEe = 1, kDaneTa = 2, kDaneEe = 3 };
enum class TlsaSelector : uint8_t { kCert = 0, kSpki = 1 };
enum class TlsaMatchingType : uint8_t { kFull = 0, kSha256 = 1, kSha512 = 2 };

struct TlsaRecord {
  uint8_t usage = 0;  // TlsaUsage values, or another octet (unusable)
  uint8_t selector = 0;
  uint8_t matching_type = 0;
  std::string data;  // certificate association data, raw bytes

  friend bool operator==(const TlsaRecord&, const TlsaRecord&) = default;
};

// Parses TLSA RDATA (RFC 6698 §2.1). InvalidArgument when shorter than
// kTlsaFixedSize + 1 (§2.1.4: the data field is never empty), or when a
// known matching type's data has the wrong length (1: 32 octets, 2: 64;
// RFC 7671 §10.1.2 calls such records malformed and unusable). Unknown
// usages, selectors and matching types parse: their usability is
// TlsaUnusableReason's question, not a syntax error.
absl::StatusOr<TlsaRecord> ParseTlsaRdata(std::string_view rdata);
// The same checks on a record dns/message.h already decoded.
absl::StatusOr<TlsaRecord> TlsaRecordFromDns(const dns::TlsaData& data);
// The RDATA wire form (for zones and fuzzing round trips).
std::string SerializeTlsaRdata(const TlsaRecord& record);
// "3 1 1 <hex>", presentation format (RFC 6698 §2.2), data in lower-case hex.
std::string TlsaRecordToString(const TlsaRecord& record);

// Why `record` cannot be used for SMTP, or nullopt when it can: usages 0 and
// 1 (PKIX-TA, PKIX-EE) are not for SMTP (RFC 7672 §3.1.3); usages, selectors
// and matching types beyond 3/1/2 are unknown (RFC 6698 §7); matching type 0
// with a data field that is no certificate or SPKI is still usable and
// simply matches nothing.
std::optional<std::string> TlsaUnusableReason(const TlsaRecord& record);

// The association data a chain element yields for `selector` and
// `matching_type` (the raw DER for 0, its SHA-256 or SHA-512 digest for 1, 2).
// InvalidArgument for unknown values or a DER certificate BoringSSL refuses.
absl::StatusOr<std::string> TlsaAssociationData(std::string_view cert_der, uint8_t selector,
                                                uint8_t matching_type);

// What the TLSA lookup for _25._tcp.<mx> returned.
enum class TlsaLookup {
  kNoRecords,        // NXDOMAIN or NODATA (authenticated denial or not): no DANE
  kUnauthenticated,  // records, but the answer was not validated (no AD bit): no DANE
  kAuthenticated,    // records from a validated answer: DANE applies
  kFailed,           // SERVFAIL, timeout, bogus: RFC 7672 §2.2 says defer delivery
};

struct DaneInput {
  TlsaLookup lookup = TlsaLookup::kNoRecords;
  std::vector<TlsaRecord> records;  // the RRset (for kAuthenticated / kUnauthenticated)
  // The chain the server sent, DER, leaf first. Empty when no handshake.
  std::vector<std::string> chain_der;
  // Reference names for DANE-TA (RFC 7672 §3.2.3): the TLSA base domain
  // first, then the MX host name when it differs (after CNAME expansion).
  std::vector<std::string> reference_names;
  absl::Time now;  // for DANE-TA chain validity (DANE-EE ignores dates, §3.1.1)
};

struct DaneVerdict {
  enum class Outcome {
    kMatch,          // a usable record matched: the server is authenticated
    kMismatch,       // usable records, none matched: do not deliver (RFC 7672 §2.2)
    kNotApplicable,  // DANE does not apply: see `reason`
    kLookupFailed,   // the TLSA lookup failed: defer (RFC 7672 §2.2)
  };
  Outcome outcome = Outcome::kNotApplicable;
  // kNotApplicable with usable_records == 0 after an authenticated non-empty
  // RRset: RFC 7672 §2.2 still requires TLS ("encrypt") but no authentication.
  bool tls_required = false;
  size_t usable_records = 0;
  // The index in `records` of the record that matched (kMatch).
  std::optional<size_t> matched_record;
  // kMismatch / kLookupFailed: tlsa-invalid (no usable record matched the
  // chain, RFC 8460 §4.3.2), certificate-host-mismatch / certificate-expired
  // / validation-failure (a DANE-TA anchor matched but the chain to it or the
  // names failed), dnssec-invalid (lookup failed).
  std::optional<TlsResultType> failure;
  std::string reason;  // "DANE-EE(3) SPKI(1) SHA2-256(1) matched the leaf"
};

// Applies the TLSA RRset to the chain (RFC 7672 §3):
//  - only kAuthenticated records apply; kNoRecords and kUnauthenticated are
//    kNotApplicable, kFailed is kLookupFailed with dnssec-invalid;
//  - unusable records (TlsaUnusableReason) are skipped; none usable is
//    kNotApplicable with tls_required;
//  - DANE-EE(3) matches the leaf by selector and matching type and ignores
//    names and validity dates (§3.1.1);
//  - DANE-TA(2) matches any certificate of the chain (selector 0 or 1), or,
//    for a full-certificate record with matching type 0, a trust anchor not
//    in the chain; the chain must then verify up to that anchor at `now`
//    (policy/chain.h) and the leaf carry one of reference_names
//    (policy/hostname.h, no CN fallback) (§3.1.2, §3.2);
//  - an empty chain (no handshake) with usable records is kMismatch.
// Any matching record makes kMatch (RFC 6698 §4.1 "any").
DaneVerdict EvaluateDane(const DaneInput& input);

}  // namespace mxkit::policy

#endif  // MXKIT_POLICY_DANE_H_
