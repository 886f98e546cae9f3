#include "policy/dane.h"

#include <openssl/bytestring.h>
#include <openssl/mem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "policy/chain.h"
#include "policy/hostname.h"
#include "tls/boringssl_error.h"
#include "tls/x509_der.h"

namespace mxkit::policy {
namespace {

std::optional<size_t> DigestSize(uint8_t matching_type) {
  switch (matching_type) {
    case 1:
      return kTlsaSha256Size;
    case 2:
      return kTlsaSha512Size;
    default:
      return std::nullopt;
  }
}

absl::Status CheckRecord(uint8_t matching_type, size_t data_size) {
  if (data_size == 0) {
    return absl::InvalidArgumentError(
        "TLSA certificate association data is empty (RFC 6698 §2.1.4)");
  }
  if (auto want = DigestSize(matching_type); want && *want != data_size) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLSA matching type ", matching_type, " (", matching_type == 1 ? "SHA2-256" : "SHA2-512",
        ") needs ", *want, " octets of association data, got ", data_size,
        " (RFC 6698 §2.1.3; RFC 7671 §10.1.2: such records are unusable)"));
  }
  return absl::OkStatus();
}

// RFC 7218 acronyms for reasons.
std::string UsageName(uint8_t usage) {
  switch (usage) {
    case 0: return "PKIX-TA(0)";
    case 1: return "PKIX-EE(1)";
    case 2: return "DANE-TA(2)";
    case 3: return "DANE-EE(3)";
    default: return absl::StrCat("usage(", usage, ")");
  }
}
std::string SelectorName(uint8_t selector) {
  switch (selector) {
    case 0: return "Cert(0)";
    case 1: return "SPKI(1)";
    default: return absl::StrCat("selector(", selector, ")");
  }
}
std::string MatchingName(uint8_t matching_type) {
  switch (matching_type) {
    case 0: return "Full(0)";
    case 1: return "SHA2-256(1)";
    case 2: return "SHA2-512(2)";
    default: return absl::StrCat("matching(", matching_type, ")");
  }
}
std::string Describe(const TlsaRecord& r) {
  return absl::StrCat(UsageName(r.usage), " ", SelectorName(r.selector), " ",
                      MatchingName(r.matching_type));
}

}  // namespace

absl::StatusOr<TlsaRecord> ParseTlsaRdata(std::string_view rdata) {
  if (rdata.size() > kMaxTlsaRdataSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("TLSA RDATA of ", rdata.size(), " octets exceeds ", kMaxTlsaRdataSize));
  }
  if (rdata.size() < kTlsaFixedSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "TLSA RDATA of ", rdata.size(), " octets is shorter than usage, selector and matching "
        "type (RFC 6698 §2.1)"));
  }
  TlsaRecord record;
  record.usage = static_cast<uint8_t>(rdata[0]);
  record.selector = static_cast<uint8_t>(rdata[1]);
  record.matching_type = static_cast<uint8_t>(rdata[2]);
  record.data = std::string(rdata.substr(kTlsaFixedSize));
  if (absl::Status s = CheckRecord(record.matching_type, record.data.size()); !s.ok()) return s;
  return record;
}

absl::StatusOr<TlsaRecord> TlsaRecordFromDns(const dns::TlsaData& data) {
  if (data.association_data.size() > kMaxTlsaRdataSize - kTlsaFixedSize) {
    return absl::InvalidArgumentError("TLSA association data exceeds an RDATA");
  }
  if (absl::Status s = CheckRecord(data.matching_type, data.association_data.size()); !s.ok()) {
    return s;
  }
  return TlsaRecord{data.usage, data.selector, data.matching_type, data.association_data};
}

std::string SerializeTlsaRdata(const TlsaRecord& record) {
  std::string out;
  out.push_back(static_cast<char>(record.usage));
  out.push_back(static_cast<char>(record.selector));
  out.push_back(static_cast<char>(record.matching_type));
  out += record.data;
  return out;
}

std::string TlsaRecordToString(const TlsaRecord& record) {
  return absl::StrCat(record.usage, " ", record.selector, " ", record.matching_type, " ",
                      absl::BytesToHexString(record.data));
}

std::optional<std::string> TlsaUnusableReason(const TlsaRecord& record) {
  if (record.usage == 0 || record.usage == 1) {
    return absl::StrCat(UsageName(record.usage),
                        " is not for SMTP: PKIX usages are unusable (RFC 7672 §3.1.3)");
  }
  if (record.usage > 3) return absl::StrCat("unknown usage ", record.usage, " (RFC 6698 §7.2)");
  if (record.selector > 1) {
    return absl::StrCat("unknown selector ", record.selector, " (RFC 6698 §7.3)");
  }
  if (record.matching_type > 2) {
    return absl::StrCat("unknown matching type ", record.matching_type, " (RFC 6698 §7.4)");
  }
  if (absl::Status s = CheckRecord(record.matching_type, record.data.size()); !s.ok()) {
    return base::StatusText(s);
  }
  return std::nullopt;
}

absl::StatusOr<std::string> TlsaAssociationData(std::string_view cert_der, uint8_t selector,
                                                uint8_t matching_type) {
  if (selector > 1) return absl::InvalidArgumentError(absl::StrCat("unknown selector ", selector));
  if (matching_type > 2) {
    return absl::InvalidArgumentError(absl::StrCat("unknown matching type ", matching_type));
  }
  std::string selected;
  if (selector == 0) {
    selected = std::string(cert_der);
  } else {
    absl::StatusOr<bssl::UniquePtr<X509>> cert = tls::ParseCertificateDer(cert_der);
    if (!cert.ok()) return cert.status();
    tls::ErrorQueueScope errors;
    uint8_t* spki = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert->get()), &spki);
    if (len <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot encode the SubjectPublicKeyInfo (", tls::TakeQueuedReason(), ")"));
    }
    selected.assign(reinterpret_cast<char*>(spki), static_cast<size_t>(len));
    OPENSSL_free(spki);
  }
  if (matching_type == 0) return selected;
  const uint8_t* in = reinterpret_cast<const uint8_t*>(selected.data());
  if (matching_type == 1) {
    uint8_t digest[SHA256_DIGEST_LENGTH];
    SHA256(in, selected.size(), digest);
    return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
  }
  uint8_t digest[SHA512_DIGEST_LENGTH];
  SHA512(in, selected.size(), digest);
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

DaneVerdict EvaluateDane(const DaneInput& input) {
  DaneVerdict verdict;
  switch (input.lookup) {
    case TlsaLookup::kNoRecords:
      verdict.reason = "no TLSA records: DANE does not apply";
      return verdict;
    case TlsaLookup::kUnauthenticated:
      verdict.reason =
          "TLSA records not DNSSEC-authenticated (no AD bit): DANE does not apply "
          "(RFC 7672 §2.2)";
      return verdict;
    case TlsaLookup::kFailed:
      verdict.outcome = DaneVerdict::Outcome::kLookupFailed;
      verdict.failure = TlsResultType::kDnssecInvalid;
      verdict.reason = "TLSA lookup failed: delivery is deferred (RFC 7672 §2.2)";
      return verdict;
    case TlsaLookup::kAuthenticated:
      break;
  }
  std::vector<size_t> usable;
  std::string first_unusable;
  for (size_t i = 0; i < input.records.size(); ++i) {
    if (auto why = TlsaUnusableReason(input.records[i])) {
      if (first_unusable.empty()) first_unusable = *why;
    } else {
      usable.push_back(i);
    }
  }
  verdict.usable_records = usable.size();
  if (usable.empty()) {
    if (input.records.empty()) {
      verdict.reason = "no TLSA records: DANE does not apply";
      return verdict;
    }
    verdict.tls_required = true;
    verdict.reason = absl::StrCat("all ", input.records.size(),
                                  " authenticated TLSA records are unusable (", first_unusable,
                                  "): TLS is required but not authenticated (RFC 7672 §2.2)");
    return verdict;
  }
  verdict.outcome = DaneVerdict::Outcome::kMismatch;
  if (input.chain_der.empty()) {
    verdict.failure = TlsResultType::kTlsaInvalid;
    verdict.reason = "no certificate chain to match against the TLSA records (no TLS handshake)";
    return verdict;
  }
  // The first DANE-TA anchor that matched but whose chain or names failed:
  // a more precise report than tlsa-invalid.
  std::optional<TlsResultType> anchored_failure;
  std::string anchored_reason;
  const std::string& leaf = input.chain_der.front();
  for (size_t index : usable) {
    const TlsaRecord& record = input.records[index];
    if (record.usage == 3) {
      auto data = TlsaAssociationData(leaf, record.selector, record.matching_type);
      if (data.ok() && *data == record.data) {
        verdict.outcome = DaneVerdict::Outcome::kMatch;
        verdict.matched_record = index;
        verdict.failure.reset();
        // RFC 7672 §3.1.1: DANE-EE ignores names and validity dates.
        verdict.reason = absl::StrCat(Describe(record), " matched the leaf certificate");
        return verdict;
      }
      continue;
    }
    // DANE-TA(2): a certificate of the chain, or a full certificate given in
    // the record itself (RFC 7671 §5.2.2 allows the anchor to be left out of
    // the chain then).
    std::optional<std::string> anchor;
    size_t depth = 0;
    for (size_t j = 0; j < input.chain_der.size() && !anchor; ++j) {
      auto data = TlsaAssociationData(input.chain_der[j], record.selector, record.matching_type);
      if (data.ok() && *data == record.data) {
        anchor = input.chain_der[j];
        depth = j;
      }
    }
    if (!anchor && record.selector == 0 && record.matching_type == 0 &&
        TlsaAssociationData(record.data, 1, 0).ok()) {
      anchor = record.data;
      depth = input.chain_der.size();
    }
    if (!anchor) continue;
    const ChainVerification chain = VerifyChainToAnchor(input.chain_der, *anchor, input.now);
    if (!chain.ok) {
      if (!anchored_failure) {
        anchored_failure = ResultTypeForX509Error(chain.x509_error);
        anchored_reason = absl::StrCat(Describe(record), " anchor at depth ", depth,
                                       ", but the chain does not verify to it: ", chain.detail);
      }
      continue;
    }
    // RFC 7672 §3.2.3: the leaf must carry the TLSA base domain or the MX
    // host name; no CN fallback beyond what RFC 6125 permits by default.
    auto names = MatchCertificateNames(leaf, input.reference_names);
    if (!names.ok() || !names->matched) {
      if (!anchored_failure) {
        anchored_failure = names.ok() ? TlsResultType::kCertificateHostMismatch
                                      : TlsResultType::kValidationFailure;
        anchored_reason =
            absl::StrCat(Describe(record), " anchor at depth ", depth, " verifies, but ",
                         names.ok() ? names->reason : base::StatusText(names.status()));
      }
      continue;
    }
    verdict.outcome = DaneVerdict::Outcome::kMatch;
    verdict.matched_record = index;
    verdict.failure.reset();
    verdict.reason = absl::StrCat(Describe(record), " matched the trust anchor at depth ", depth,
                                  "; chain verified and the leaf names ", names->reference);
    return verdict;
  }
  if (anchored_failure) {
    verdict.failure = anchored_failure;
    verdict.reason = anchored_reason;
  } else {
    verdict.failure = TlsResultType::kTlsaInvalid;
    verdict.reason = absl::StrCat("none of the ", usable.size(),
                                  " usable TLSA records matches the served chain");
  }
  return verdict;
}

}  // namespace mxkit::policy
