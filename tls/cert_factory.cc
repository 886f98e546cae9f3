#include "tls/cert_factory.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/digest.h>
#include <openssl/ec.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <array>
#include <cstddef>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "tls/boringssl_error.h"
#include "tls/internal/rfc6979.h"
#include "tls/key_derivation.h"

namespace mxkit::tls {
namespace {

using base::Av;

// RFC 1035 §2.3.4: "labels 63 octets or less", "names 255 octets or less"
// on the wire; the wire form adds a length octet per label and the root's
// zero, so a name written with dots has at most 253.
constexpr std::size_t kMaxLabelOctets = 63;
constexpr std::size_t kMaxHostnameOctets = 253;
// X.520 ub-common-name (RFC 5280 Appendix A.1): a CN holds at most 64
// characters, so a longer hostname lives in the SAN alone.
constexpr std::size_t kMaxCommonNameOctets = 64;
// How much of a rejected input an error message quotes.
constexpr std::size_t kMaxQuotedOctets = 64;

// The validity windows cert_factory.h promises, as RFC 5280 §4.1.2.5.1
// UTCTime (YYMMDDHHMMSSZ): fixed dates, so a seed always gives the same
// bytes. 2049 is the last year UTCTime can carry (§4.1.2.5).
constexpr char kValidFrom[] = "250101000000Z";
constexpr char kValidUntil[] = "491231235959Z";
constexpr char kExpiredFrom[] = "200101000000Z";
constexpr char kExpiredUntil[] = "210101000000Z";
constexpr char kNotYetValidFrom[] = "490101000000Z";

constexpr std::array<std::pair<CertVariant, std::string_view>, 13> kVariantNames = {{
    {CertVariant::kGood, "good"},
    {CertVariant::kExpired, "expired"},
    {CertVariant::kNotYetValid, "not-yet-valid"},
    {CertVariant::kWrongHost, "wrong-host"},
    {CertVariant::kSelfSigned, "self-signed"},
    {CertVariant::kUnknownCa, "unknown-ca"},
    {CertVariant::kMissingIntermediate, "missing-intermediate"},
    {CertVariant::kRsa1024, "rsa-1024"},
    {CertVariant::kSha1Signature, "sha1-signature"},
    {CertVariant::kEcdsaP256, "ecdsa-p256"},
    {CertVariant::kRsa2048, "rsa-2048"},
    {CertVariant::kWildcard, "wildcard"},
    {CertVariant::kNoSan, "no-san"},
}};

constexpr std::array<CertVariant, kVariantNames.size()> MakeAllVariants() {
  std::array<CertVariant, kVariantNames.size()> all{};
  for (std::size_t i = 0; i < kVariantNames.size(); ++i) all[i] = kVariantNames[i].first;
  return all;
}
constexpr std::array<CertVariant, kVariantNames.size()> kAllVariants = MakeAllVariants();

bool IsKnownVariant(CertVariant v) {
  for (const auto& [variant, name] : kVariantNames) {
    if (variant == v) return true;
  }
  return false;
}


std::string Quote(std::string_view s) { return base::QuoteForMessage(s, kMaxQuotedOctets); }

// A name the leaves can carry as a dNSName: lower-case LDH labels (RFC 5890
// §2.3.1, RFC 1123 §2.1), at least two of them. Lower case only, so the
// certificate bytes have one spelling per name; two labels, so the wildcard
// variant has a parent domain to cover.
absl::Status ValidateHostname(std::string_view what, std::string_view name) {
  if (name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(what), " is empty; expected a DNS name such as mx.test"));
  }
  if (name.size() > kMaxHostnameOctets) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(what), " ", Quote(name), " is ", name.size(),
                     " octets long; a DNS name has at most 253 (RFC 1035 §2.3.4)"));
  }
  if (name.back() == '.') {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(what), " ", Quote(name),
                     " ends with a dot; write it without the root's dot, as certificates do "
                     "(RFC 5280 §4.2.1.6)"));
  }
  std::size_t label_start = 0;
  int label_number = 0;
  std::string_view last_label;
  while (label_start <= name.size()) {
    std::size_t dot = name.find('.', label_start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view label = name.substr(label_start, dot - label_start);
    ++label_number;
    const std::string where =
        absl::StrCat(Av(what), " ", Quote(name), ": label ", label_number, " ");
    if (label.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, "is empty (a leading dot or two dots in a row)"));
    }
    if (label.size() > kMaxLabelOctets) {
      return absl::InvalidArgumentError(absl::StrCat(where, Quote(label), " is ", label.size(),
                                                     " octets long; at most 63 (RFC 1035 §2.3.4)"));
    }
    for (std::size_t i = 0; i < label.size(); ++i) {
      const char c = label[i];
      if (c >= 'A' && c <= 'Z') {
        return absl::InvalidArgumentError(absl::StrCat(
            where, Quote(label), " has upper-case ", base::DescribeOctet(c), " at offset ", i,
            "; write the name in lower case (", Quote(base::AsciiLower(name)), ")"));
      }
      if (!(base::IsDigit(c) || (c >= 'a' && c <= 'z') || c == '-')) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, Quote(label), " has octet ", base::DescribeOctet(c), " at offset ", i,
            "; labels are letters, digits and hyphens (RFC 1123 §2.1; IDNs as xn-- A-labels, "
            "RFC 5890 §2.3.2.1)"));
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return absl::InvalidArgumentError(absl::StrCat(
          where, Quote(label), label.front() == '-' ? " starts" : " ends",
          " with a hyphen; labels begin and end with a letter or digit (RFC 1123 §2.1)"));
    }
    last_label = label;
    label_start = dot + 1;
  }
  if (label_number < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat(Av(what), " ", Quote(name),
                     " has one label; the factory needs at least two (such as mx.test), so "
                     "the wildcard variant has a parent domain"));
  }
  bool all_digits = true;
  for (const char c : last_label) all_digits = all_digits && base::IsDigit(c);
  if (all_digits) {
    return absl::InvalidArgumentError(absl::StrCat(
        Av(what), " ", Quote(name), ": the last label ", Quote(last_label),
        " is all digits, so the name reads as an IPv4 address; a dNSName must not be one "
        "(RFC 5280 §4.2.1.6; RFC 3696 §2: top-level labels are not all-numeric)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<bssl::UniquePtr<X509_NAME>> MakeName(std::string_view common_name,
                                                    std::string_view organization) {
  bssl::UniquePtr<X509_NAME> name(X509_NAME_new());
  if (!name) return BoringSslFailure("X509_NAME_new");
  auto add = [&](int nid, std::string_view value) {
    return X509_NAME_add_entry_by_NID(name.get(), nid, MBSTRING_UTF8,
                                      reinterpret_cast<const uint8_t*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!organization.empty() && !add(NID_organizationName, organization)) {
    return BoringSslFailure("X509_NAME_add_entry_by_NID(O)");
  }
  if (!common_name.empty() && !add(NID_commonName, common_name)) {
    return BoringSslFailure("X509_NAME_add_entry_by_NID(CN)");
  }
  return name;
}

std::string ToPem(X509* cert) {
  bssl::UniquePtr<BIO> bio(BIO_new(BIO_s_mem()));
  if (!bio || !PEM_write_bio_X509(bio.get(), cert)) return "";
  const uint8_t* data = nullptr;
  size_t len = 0;
  BIO_mem_contents(bio.get(), &data, &len);
  return std::string(reinterpret_cast<const char*>(data), len);
}

// What a certificate is for; decides its extensions (RFC 5280 §4.2).
enum class Role {
  kCa,      // basicConstraints CA:TRUE, keyUsage keyCertSign+cRLSign
  kLeaf,    // basicConstraints CA:FALSE, keyUsage for the key type, EKU serverAuth
  // Shaped like Debian's ssl-cert "snakeoil" certificate: CA:FALSE and no
  // keyUsage. OpenSSL and BoringSSL call a self-issued certificate
  // self-signed (and report error 18 rather than 20 at depth 0) only when
  // its keyUsage is absent or allows keyCertSign, and keyCertSign without
  // CA:TRUE would break RFC 5280 §4.2.1.9.
  kSelfSignedLeaf,
};

struct CertRequest {
  std::string label;  // derives the serial number
  const X509_NAME* subject = nullptr;
  EVP_PKEY* subject_key = nullptr;
  X509* issuer = nullptr;  // nullptr: self-signed by subject_key
  EVP_PKEY* issuer_key = nullptr;
  const char* not_before = kValidFrom;
  const char* not_after = kValidUntil;
  Role role = Role::kLeaf;
  int path_len = -1;  // CAs: pathLenConstraint, -1 for none
  std::vector<std::string> dns_names;  // subjectAltName; empty: no SAN extension
  const EVP_MD* md = nullptr;          // EVP_sha256() or EVP_sha1(); the issuer key is ECDSA
};

struct Built {
  bssl::UniquePtr<X509> cert;
  std::string der;
  std::string pem;
};

absl::Status AddConfExtension(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  bssl::UniquePtr<X509_EXTENSION> ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  if (!ext || !X509_add_ext(cert, ext.get(), -1)) {
    return BoringSslFailure(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  }
  return absl::OkStatus();
}

absl::Status AddSubjectAltNames(X509* cert, const std::vector<std::string>& dns_names) {
  bssl::UniquePtr<GENERAL_NAMES> names(sk_GENERAL_NAME_new_null());
  if (!names) return BoringSslFailure("sk_GENERAL_NAME_new_null");
  for (const std::string& dns : dns_names) {
    bssl::UniquePtr<GENERAL_NAME> gen(GENERAL_NAME_new());
    bssl::UniquePtr<ASN1_IA5STRING> ia5(ASN1_IA5STRING_new());
    if (!gen || !ia5 || !ASN1_STRING_set(ia5.get(), dns.data(), static_cast<int>(dns.size()))) {
      return BoringSslFailure("dNSName");
    }
    GENERAL_NAME_set0_value(gen.get(), GEN_DNS, ia5.release());
    if (!bssl::PushToStack(names.get(), std::move(gen))) return BoringSslFailure("SAN push");
  }
  if (!X509_add1_ext_i2d(cert, NID_subject_alt_name, names.get(), /*crit=*/0,
                         X509V3_ADD_DEFAULT)) {
    return BoringSslFailure("subjectAltName");
  }
  return absl::OkStatus();
}

absl::StatusOr<Built> BuildCertificate(uint64_t seed, const CertRequest& req) {
  bssl::UniquePtr<X509> cert(X509_new());
  if (!cert) return BoringSslFailure("X509_new");
  X509* issuer_cert = req.issuer != nullptr ? req.issuer : cert.get();
  const X509_NAME* issuer_name =
      req.issuer != nullptr ? X509_get_subject_name(req.issuer) : req.subject;

  // Serial: 16 derived octets, top bit clear so the INTEGER is positive
  // and the next bit set so it is never zero or shortened (RFC 5280
  // §4.1.2.2: positive, at most 20 octets, unique per issuer; the label
  // makes it unique here).
  uint8_t serial_bytes[16];
  if (absl::Status s = DeriveBytes(seed, absl::StrCat("serial/", req.label), serial_bytes); !s.ok()) {
    return s;
  }
  serial_bytes[0] = static_cast<uint8_t>((serial_bytes[0] & 0x7F) | 0x40);
  bssl::UniquePtr<BIGNUM> serial_bn(BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr));
  bssl::UniquePtr<ASN1_INTEGER> serial(serial_bn ? BN_to_ASN1_INTEGER(serial_bn.get(), nullptr)
                                                 : nullptr);
  bssl::UniquePtr<ASN1_TIME> not_before(ASN1_TIME_new()), not_after(ASN1_TIME_new());
  if (!serial || !not_before || !not_after ||
      !ASN1_TIME_set_string(not_before.get(), req.not_before) ||
      !ASN1_TIME_set_string(not_after.get(), req.not_after)) {
    return BoringSslFailure("serial number or validity");
  }
  if (!X509_set_version(cert.get(), X509_VERSION_3) ||
      !X509_set_serialNumber(cert.get(), serial.get()) ||
      !X509_set_issuer_name(cert.get(), const_cast<X509_NAME*>(issuer_name)) ||
      !X509_set_subject_name(cert.get(), const_cast<X509_NAME*>(req.subject)) ||
      !X509_set1_notBefore(cert.get(), not_before.get()) ||
      !X509_set1_notAfter(cert.get(), not_after.get()) ||
      !X509_set_pubkey(cert.get(), req.subject_key)) {
    return BoringSslFailure("X509 fields");
  }

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer_cert, cert.get(), nullptr, nullptr, 0);
  std::string basic = "critical,CA:FALSE";
  const char* key_usage = nullptr;
  switch (req.role) {
    case Role::kCa:
      basic = req.path_len >= 0 ? absl::StrCat("critical,CA:TRUE,pathlen:", req.path_len)
                                : "critical,CA:TRUE";
      key_usage = "critical,keyCertSign,cRLSign";
      break;
    case Role::kLeaf:
      // RSA leaves also allow keyEncipherment for TLS 1.2 RSA key transport
      // (RFC 5246 §7.4.7.1); ECDSA leaves only sign (RFC 8813 §3).
      key_usage = EVP_PKEY_id(req.subject_key) == EVP_PKEY_RSA
                      ? "critical,digitalSignature,keyEncipherment"
                      : "critical,digitalSignature";
      break;
    case Role::kSelfSignedLeaf:
      break;
  }
  if (absl::Status s = AddConfExtension(cert.get(), &ctx, NID_basic_constraints, basic.c_str());
      !s.ok()) {
    return s;
  }
  if (key_usage != nullptr) {
    if (absl::Status s = AddConfExtension(cert.get(), &ctx, NID_key_usage, key_usage); !s.ok()) {
      return s;
    }
  }
  if (req.role != Role::kCa) {
    if (absl::Status s = AddConfExtension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");
        !s.ok()) {
      return s;
    }
  }
  // RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey. The
  // authority key identifier (§4.2.1.1) is the issuer's, found from it; a
  // root may leave it out, a self-signed leaf carries its own.
  if (absl::Status s = AddConfExtension(cert.get(), &ctx, NID_subject_key_identifier, "hash");
      !s.ok()) {
    return s;
  }
  if (req.role != Role::kCa || req.issuer != nullptr) {
    if (absl::Status s =
            AddConfExtension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always");
        !s.ok()) {
      return s;
    }
  }
  if (!req.dns_names.empty()) {
    if (absl::Status s = AddSubjectAltNames(cert.get(), req.dns_names); !s.ok()) return s;
  }

  // Sign by hand: X509_sign would draw a random ECDSA nonce.
  const int sig_nid = req.md == EVP_sha1() ? NID_ecdsa_with_SHA1 : NID_ecdsa_with_SHA256;
  bssl::UniquePtr<X509_ALGOR> algo(X509_ALGOR_new());
  if (!algo || !X509_ALGOR_set0(algo.get(), OBJ_nid2obj(sig_nid), V_ASN1_UNDEF, nullptr) ||
      !X509_set1_signature_algo(cert.get(), algo.get())) {
    return BoringSslFailure("signature algorithm");
  }
  uint8_t* tbs = nullptr;
  const int tbs_len = i2d_re_X509_tbs(cert.get(), &tbs);
  if (tbs_len <= 0) return BoringSslFailure("i2d_re_X509_tbs");
  bssl::UniquePtr<uint8_t> tbs_owner(tbs);
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned digest_len = 0;
  if (!EVP_Digest(tbs, static_cast<size_t>(tbs_len), digest, &digest_len, req.md, nullptr)) {
    return BoringSslFailure("TBSCertificate digest");
  }
  const EC_KEY* signer = EVP_PKEY_get0_EC_KEY(req.issuer_key);
  if (signer == nullptr) return absl::InternalError("the issuer key is not an EC key");
  absl::StatusOr<std::string> sig =
      internal::SignEcdsaRfc6979(signer, req.md, absl::MakeConstSpan(digest, digest_len));
  if (!sig.ok()) return sig.status();
  if (!X509_set1_signature_value(cert.get(), reinterpret_cast<const uint8_t*>(sig->data()),
                                 sig->size())) {
    return BoringSslFailure("X509_set1_signature_value");
  }

  uint8_t* der = nullptr;
  const int der_len = i2d_X509(cert.get(), &der);
  if (der_len <= 0) return BoringSslFailure("i2d_X509");
  bssl::UniquePtr<uint8_t> der_owner(der);
  // Parse the bytes back and check the signature, so what leaves here is what
  // a peer will parse and a signing mistake shows up now, not in a handshake.
  const uint8_t* in = der;
  Built built;
  built.cert.reset(d2i_X509(nullptr, &in, der_len));
  if (!built.cert) return BoringSslFailure("d2i_X509 of the new certificate");
  if (X509_verify(built.cert.get(), req.issuer_key) != 1) {
    return BoringSslFailure(absl::StrCat("self-check of ", req.label, "'s signature"));
  }
  built.der.assign(reinterpret_cast<const char*>(der), static_cast<std::size_t>(der_len));
  built.pem = ToPem(built.cert.get());
  if (built.pem.empty()) return BoringSslFailure("PEM_write_bio_X509");
  return built;
}

// How each variant's leaf is made.
enum class KeyKind { kEcdsaP256, kRsa1024, kRsa2048 };
enum class Issuer { kIntermediate, kUnknownRoot, kSelf };
struct LeafPlan {
  KeyKind key = KeyKind::kEcdsaP256;
  Issuer issuer = Issuer::kIntermediate;
  bool send_intermediate = true;
  const char* not_before = kValidFrom;
  const char* not_after = kValidUntil;
  bool sha1 = false;
  std::string name;  // SAN dNSName, and the subject CN
  bool san = true;
};

LeafPlan PlanFor(CertVariant variant, const CertFactoryOptions& options) {
  LeafPlan plan;
  plan.name = options.hostname;
  switch (variant) {
    case CertVariant::kGood:
    case CertVariant::kEcdsaP256:
      break;
    case CertVariant::kExpired:
      plan.not_before = kExpiredFrom;
      plan.not_after = kExpiredUntil;
      break;
    case CertVariant::kNotYetValid:
      plan.not_before = kNotYetValidFrom;
      break;
    case CertVariant::kWrongHost:
      plan.name = options.wrong_hostname;
      break;
    case CertVariant::kSelfSigned:
      plan.issuer = Issuer::kSelf;
      plan.send_intermediate = false;
      break;
    case CertVariant::kUnknownCa:
      // Issued straight by the unknown root and sent alone: the client finds
      // no issuer among its roots (20). Sending the unknown root too would
      // turn the error into 19, self-signed certificate in chain.
      plan.issuer = Issuer::kUnknownRoot;
      plan.send_intermediate = false;
      break;
    case CertVariant::kMissingIntermediate:
      plan.send_intermediate = false;
      break;
    case CertVariant::kRsa1024:
      plan.key = KeyKind::kRsa1024;
      break;
    case CertVariant::kSha1Signature:
      plan.sha1 = true;
      break;
    case CertVariant::kRsa2048:
      plan.key = KeyKind::kRsa2048;
      break;
    case CertVariant::kWildcard:
      // RFC 6125 §6.4.3: "*" as the whole left-most label, over the parent
      // of the hostname. For a two-label hostname such as mx.test the parent
      // is one label and verifiers refuse the wildcard (see README.md).
      plan.name = absl::StrCat("*.", Av(std::string_view(options.hostname)
                                             .substr(options.hostname.find('.') + 1)));
      break;
    case CertVariant::kNoSan:
      plan.san = false;
      break;
  }
  return plan;
}

}  // namespace

absl::Span<const CertVariant> AllCertVariants() { return kAllVariants; }

absl::Status ValidateCertHostname(std::string_view hostname) {
  return ValidateHostname("hostname", hostname);
}

std::string_view CertVariantName(CertVariant variant) {
  for (const auto& [v, name] : kVariantNames) {
    if (v == variant) return name;
  }
  return "(invalid CertVariant)";
}

std::string CertVariantNameList() {
  std::vector<absl::string_view> names;
  for (const auto& [variant, name] : kVariantNames) names.push_back(Av(name));
  return absl::StrJoin(names, ", ");
}

absl::StatusOr<CertVariant> ParseCertVariant(std::string_view name) {
  for (const auto& [variant, known] : kVariantNames) {
    if (known == name) return variant;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown certificate variant ", Quote(name),
                                                 "; the variants are: ", CertVariantNameList()));
}

absl::StatusOr<CertificateSet> CertificateSet::Generate(const CertFactoryOptions& options) {
  return Generate(options, AllCertVariants());
}

absl::StatusOr<CertificateSet> CertificateSet::Generate(const CertFactoryOptions& options,
                                                        absl::Span<const CertVariant> variants) {
  // BoringSslFailure reports the whole queue: start it empty, leave it empty.
  ErrorQueueScope errors;
  if (absl::Status s = ValidateHostname("hostname", options.hostname); !s.ok()) return s;
  if (absl::Status s = ValidateHostname("wrong_hostname", options.wrong_hostname); !s.ok()) {
    return s;
  }
  if (options.hostname == options.wrong_hostname) {
    return absl::InvalidArgumentError(absl::StrCat(
        "wrong_hostname equals hostname (", Quote(options.hostname),
        "); the wrong-host variant must name another host"));
  }
  for (const CertVariant v : variants) {
    if (!IsKnownVariant(v)) {
      return absl::InvalidArgumentError(
          absl::StrCat("CertVariant value ", static_cast<int>(v), " is not a variant"));
    }
    if (v == CertVariant::kNoSan && options.hostname.size() > kMaxCommonNameOctets) {
      return absl::InvalidArgumentError(absl::StrCat(
          "hostname ", Quote(options.hostname), " is ", options.hostname.size(),
          " octets long; no-san carries it in the subject CN, which holds at most 64 "
          "(ub-common-name, RFC 5280 Appendix A.1)"));
    }
  }
  const uint64_t seed = options.seed;
  const std::string organization = absl::StrCat("mxkit test PKI, seed ", seed);

  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> root_key = DeriveEcP256Key(seed, "root");
  if (!root_key.ok()) return root_key.status();
  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> intermediate_key = DeriveEcP256Key(seed, "intermediate");
  if (!intermediate_key.ok()) return intermediate_key.status();
  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> unknown_key = DeriveEcP256Key(seed, "unknown-root");
  if (!unknown_key.ok()) return unknown_key.status();

  absl::StatusOr<bssl::UniquePtr<X509_NAME>> root_name =
      MakeName("mxkit test root CA", organization);
  if (!root_name.ok()) return root_name.status();
  absl::StatusOr<bssl::UniquePtr<X509_NAME>> intermediate_name =
      MakeName("mxkit test intermediate CA", organization);
  if (!intermediate_name.ok()) return intermediate_name.status();
  absl::StatusOr<bssl::UniquePtr<X509_NAME>> unknown_name =
      MakeName("mxkit unknown root CA (never trust this)", organization);
  if (!unknown_name.ok()) return unknown_name.status();

  CertRequest root_req;
  root_req.label = "root";
  root_req.subject = root_name->get();
  root_req.subject_key = root_key->get();
  root_req.issuer_key = root_key->get();
  root_req.role = Role::kCa;
  root_req.path_len = 1;
  root_req.md = EVP_sha256();
  absl::StatusOr<Built> root = BuildCertificate(seed, root_req);
  if (!root.ok()) return root.status();

  CertRequest intermediate_req = root_req;
  intermediate_req.label = "intermediate";
  intermediate_req.subject = intermediate_name->get();
  intermediate_req.subject_key = intermediate_key->get();
  intermediate_req.issuer = root->cert.get();
  intermediate_req.path_len = 0;
  absl::StatusOr<Built> intermediate = BuildCertificate(seed, intermediate_req);
  if (!intermediate.ok()) return intermediate.status();

  CertRequest unknown_req = root_req;
  unknown_req.label = "unknown-root";
  unknown_req.subject = unknown_name->get();
  unknown_req.subject_key = unknown_key->get();
  unknown_req.issuer_key = unknown_key->get();
  absl::StatusOr<Built> unknown_root = BuildCertificate(seed, unknown_req);
  if (!unknown_root.ok()) return unknown_root.status();

  CertificateSet set;
  set.root_pem_ = root->pem;
  set.intermediate_pem_ = intermediate->pem;
  set.unknown_root_pem_ = unknown_root->pem;

  for (const CertVariant variant : variants) {
    if (set.served_.count(variant) != 0) continue;
    const LeafPlan plan = PlanFor(variant, options);
    const std::string label = absl::StrCat("leaf/", Av(CertVariantName(variant)));

    absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> key;
    switch (plan.key) {
      case KeyKind::kEcdsaP256:
        key = DeriveEcP256Key(seed, label);
        break;
      case KeyKind::kRsa1024:
        key = DeriveRsaKey(seed, label, 1024);
        break;
      case KeyKind::kRsa2048:
        key = DeriveRsaKey(seed, label, 2048);
        break;
    }
    if (!key.ok()) return key.status();
    absl::StatusOr<bssl::UniquePtr<X509_NAME>> subject = MakeName(
        plan.name.size() <= kMaxCommonNameOctets ? std::string_view(plan.name) : "", organization);
    if (!subject.ok()) return subject.status();

    CertRequest req;
    req.label = label;
    req.subject = subject->get();
    req.subject_key = key->get();
    req.not_before = plan.not_before;
    req.not_after = plan.not_after;
    req.role = Role::kLeaf;
    req.md = plan.sha1 ? EVP_sha1() : EVP_sha256();
    if (plan.san) req.dns_names.push_back(plan.name);
    switch (plan.issuer) {
      case Issuer::kIntermediate:
        req.issuer = intermediate->cert.get();
        req.issuer_key = intermediate_key->get();
        break;
      case Issuer::kUnknownRoot:
        req.issuer = unknown_root->cert.get();
        req.issuer_key = unknown_key->get();
        break;
      case Issuer::kSelf:
        req.issuer_key = key->get();
        req.role = Role::kSelfSignedLeaf;
        break;
    }
    absl::StatusOr<Built> leaf = BuildCertificate(seed, req);
    if (!leaf.ok()) return leaf.status();
    absl::StatusOr<std::string> key_pem = PrivateKeyToPkcs8Pem(key->get());
    if (!key_pem.ok()) return key_pem.status();

    ServedCertificate served;
    served.variant = variant;
    served.chain_pem = leaf->pem;
    if (plan.send_intermediate) served.chain_pem += intermediate->pem;
    served.key_pem = *std::move(key_pem);
    served.leaf_der = std::move(leaf->der);
    set.served_.emplace(variant, std::move(served));
  }
  return set;
}

absl::StatusOr<const ServedCertificate*> CertificateSet::Get(CertVariant variant) const {
  const auto it = served_.find(variant);
  if (it == served_.end()) {
    std::vector<absl::string_view> made;
    for (const auto& [v, served] : served_) made.push_back(Av(CertVariantName(v)));
    return absl::NotFoundError(absl::StrCat("certificate variant ",
                                            Av(CertVariantName(variant)),
                                            " was not generated (this set has: ",
                                            made.empty() ? "none" : absl::StrJoin(made, ", "),
                                            ")"));
  }
  return &it->second;
}

}  // namespace mxkit::tls
