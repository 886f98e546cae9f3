#include "policy/hostname.h"

#include <openssl/asn1.h>
#include <openssl/mem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <openssl/err.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "tls/boringssl_error.h"
#include "tls/x509_der.h"

namespace mxkit::policy {
namespace {

// RFC 5890 §2.3.2.1: the ACE prefix of an A-label.
constexpr std::string_view kAcePrefix = "xn--";
// How many presented names a mismatch message lists before "...".
constexpr size_t kNamesInReason = 8;

// A reference identifier must be a plain DNS name: no empty label, no
// wildcard (a '*' in a name we look up is data, not a pattern).
bool IsPlainDnsName(std::string_view name) {
  if (name.empty() || name.find('*') != std::string_view::npos) return false;
  if (name.front() == '.' || name.back() == '.') return false;
  return name.find("..") == std::string_view::npos;
}

// ASN.1 string content as text, or nullopt when it holds a NUL (RFC 5280
// §4.2.1.6 dNSName is IA5String; a NUL would let "good.test\0.evil" pass a
// C-string compare, the 2009 Marlinspike/Kaminsky NUL-prefix attack).
std::optional<std::string> Ia5Text(const ASN1_STRING* s) {
  if (s == nullptr) return std::nullopt;
  std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                   static_cast<size_t>(ASN1_STRING_length(s)));
  if (text.find('\0') != std::string::npos) return std::nullopt;
  return text;
}

}  // namespace

bool DnsIdMatches(std::string_view presented, std::string_view reference) {
  presented = base::StripOneTrailingDot(presented);
  reference = base::StripOneTrailingDot(reference);
  if (!IsPlainDnsName(reference) || presented.empty()) return false;
  if (presented.find('*') == std::string_view::npos) {
    return base::EqualsIgnoreCase(presented, reference);
  }
  // RFC 6125 §6.4.3: only a whole leftmost "*" label, one wildcard.
  if (presented.size() < 2 || presented[0] != '*' || presented[1] != '.') return false;
  const std::string_view suffix = presented.substr(2);
  if (suffix.find('*') != std::string_view::npos || !IsPlainDnsName(suffix)) return false;
  // At least two labels under the wildcard (RFC 6125 §7.2).
  if (suffix.find('.') == std::string_view::npos) return false;
  const size_t dot = reference.find('.');
  if (dot == std::string_view::npos || dot == 0) return false;
  const std::string_view label = reference.substr(0, dot);
  // RFC 6125 §6.4.3: no wildcard matching of internationalized labels.
  if (base::StartsWithIgnoreCase(label, kAcePrefix)) return false;
  return base::EqualsIgnoreCase(reference.substr(dot + 1), suffix);
}

absl::StatusOr<CertificateNames> ReadCertificateNames(std::string_view der) {
  auto cert = tls::ParseCertificateDer(der);
  if (!cert.ok()) return cert.status();
  CertificateNames names;
  int critical = 0;
  GENERAL_NAMES* sans = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert->get(), NID_subject_alt_name, &critical, nullptr));
  if (sans != nullptr) {
    for (size_t i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
      if (name->type != GEN_DNS) continue;
      if (auto text = Ia5Text(name->d.dNSName)) names.dns_names.push_back(std::move(*text));
    }
    GENERAL_NAMES_free(sans);
  }
  // A malformed SAN extension leaves BoringSSL's queue set; it must not leak
  // into the caller's next operation.
  ERR_clear_error();
  const X509_NAME* subject = X509_get_subject_name(cert->get());
  for (int i = -1;;) {
    i = X509_NAME_get_index_by_NID(subject, NID_commonName, i);
    if (i < 0) break;
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, i);
    const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
    unsigned char* utf8 = nullptr;
    const int len = ASN1_STRING_to_UTF8(&utf8, data);
    if (len < 0) {
      ERR_clear_error();
      continue;
    }
    std::string text(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
    OPENSSL_free(utf8);
    if (text.find('\0') == std::string::npos) names.subject_common_names.push_back(std::move(text));
  }
  return names;
}

absl::StatusOr<CertificateNameMatch> MatchCertificateNames(
    std::string_view der, absl::Span<const std::string> references,
    const HostnameMatchOptions& options) {
  auto names = ReadCertificateNames(der);
  if (!names.ok()) return names.status();
  CertificateNameMatch match;
  // RFC 6125 §6.4.4: the CN only when there is no dNSName at all.
  const bool use_cn = options.allow_subject_cn_fallback && names->dns_names.empty();
  for (const std::string& reference : references) {
    for (const std::string& presented : names->dns_names) {
      if (DnsIdMatches(presented, reference)) {
        match.matched = true;
        match.reference = reference;
        match.presented = presented;
        return match;
      }
    }
    if (!use_cn) continue;
    for (const std::string& cn : names->subject_common_names) {
      if (DnsIdMatches(cn, reference)) {
        match.matched = true;
        match.reference = reference;
        match.presented = cn;
        match.via_common_name = true;
        return match;
      }
    }
  }
  auto quote = [](std::string* out, const std::string& s) {
    out->append(base::QuoteForMessage(s, 80));
  };
  std::string presented;
  if (names->dns_names.empty()) {
    presented = "no DNS name in subjectAltName";
    if (!names->subject_common_names.empty()) {
      absl::StrAppend(&presented, " (subject CN ",
                      absl::StrJoin(names->subject_common_names, ", ", quote),
                      use_cn ? ")" : ", not used: RFC 6125 §6.4.4 CN fallback is off)");
    }
  } else {
    std::vector<std::string> shown(
        names->dns_names.begin(),
        names->dns_names.begin() + std::min(names->dns_names.size(), kNamesInReason));
    presented = absl::StrCat("certificate names ", absl::StrJoin(shown, ", ", quote),
                             names->dns_names.size() > kNamesInReason ? ", ..." : "");
  }
  match.reason = absl::StrCat(presented, "; wanted ",
                              references.empty() ? std::string("(no reference name)")
                                                 : absl::StrJoin(references, " or ", quote));
  return match;
}

}  // namespace mxkit::policy
