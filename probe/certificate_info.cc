#include "probe/certificate_info.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <string>
#include <utility>

#include "base/absl_interop.h"

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "tls/x509_der.h"

namespace mxkit::probe {
namespace {

std::string Sha256Hex(std::string_view bytes) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

// RFC 2253 order and escaping, the form openssl x509 -nameopt RFC2253 prints.
bool NameText(const X509_NAME* name, std::string* out) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return false;
  const uint8_t* data = nullptr;
  size_t len = 0;
  if (!BIO_mem_contents(bio.get(), &data, &len)) return false;
  out->assign(reinterpret_cast<const char*>(data), len);
  return true;
}

// This BoringSSL has no ASN1_TIME_to_posix: the distance from the epoch.
bool PosixTime(const ASN1_TIME* t, int64_t* out) {
  bssl::UniquePtr<ASN1_TIME> epoch(ASN1_TIME_set(nullptr, 0));
  int days = 0, seconds = 0;
  if (!epoch || !ASN1_TIME_diff(&days, &seconds, epoch.get(), t)) return false;
  *out = int64_t{days} * 86400 + seconds;
  return true;
}

std::string TimeText(int64_t posix) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(posix), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<CertificateInfo> DescribeCertificate(std::string_view der) {
  absl::StatusOr<bssl::UniquePtr<X509>> parsed = tls::ParseCertificateDer(der);
  if (!parsed.ok()) return parsed.status();
  bssl::UniquePtr<X509> cert = *std::move(parsed);
  CertificateInfo info;
  info.der = std::string(der);
  if (!NameText(X509_get_subject_name(cert.get()), &info.subject)) {
    return absl::InvalidArgumentError("the subject name cannot be printed");
  }
  if (!NameText(X509_get_issuer_name(cert.get()), &info.issuer)) {
    return absl::InvalidArgumentError("the issuer name cannot be printed");
  }
  if (!PosixTime(X509_get0_notBefore(cert.get()), &info.not_before) ||
      !PosixTime(X509_get0_notAfter(cert.get()), &info.not_after)) {
    return absl::InvalidArgumentError("the validity period cannot be read");
  }
  info.not_before_text = TimeText(info.not_before);
  info.not_after_text = TimeText(info.not_after);
  bssl::UniquePtr<GENERAL_NAMES> names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (names) {
    for (size_t i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
      if (name->type != GEN_DNS) continue;
      const ASN1_IA5STRING* dns = name->d.dNSName;
      info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                                  static_cast<size_t>(ASN1_STRING_length(dns)));
    }
  }
  info.sha256_fingerprint = Sha256Hex(der);
  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(cert.get()));
  uint8_t* spki = nullptr;
  const int spki_len = key ? i2d_PUBKEY(key.get(), &spki) : -1;
  if (spki_len <= 0) {
    return absl::InvalidArgumentError("the public key (SubjectPublicKeyInfo) cannot be read");
  }
  info.spki_sha256 = Sha256Hex(std::string_view(reinterpret_cast<const char*>(spki),
                                                static_cast<size_t>(spki_len)));
  OPENSSL_free(spki);
  switch (EVP_PKEY_id(key.get())) {
    case EVP_PKEY_RSA: info.key_type = "RSA"; break;
    case EVP_PKEY_EC: info.key_type = "EC"; break;
    case EVP_PKEY_ED25519: info.key_type = "Ed25519"; break;
    case EVP_PKEY_DSA: info.key_type = "DSA"; break;
    default: info.key_type = "unknown"; break;
  }
  info.key_bits = EVP_PKEY_bits(key.get());
  return info;
}

std::string X509ErrorText(long x509_error) {
  // OpenSSL's X509_V_ERR_EE_KEY_TOO_SMALL and X509_V_ERR_CA_MD_TOO_WEAK
  // (policy::kX509ErrorEeKeyTooSmall, kX509ErrorCaMdTooWeak), in its words.
  if (x509_error == 66) return "EE certificate key too weak";
  if (x509_error == 68) return "CA signature digest algorithm too weak";
  const char* text = X509_verify_cert_error_string(x509_error);
  return text != nullptr ? text : "unknown X.509 error";
}

}  // namespace mxkit::probe
