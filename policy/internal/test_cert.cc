#include "policy/internal/test_cert.h"

#include <openssl/bn.h>
#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/mem.h>
#include <openssl/nid.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>

#include "absl/status/statusor.h"
#include "policy/chain.h"

namespace mxkit::policy::testing {
namespace {

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "MakeTestCert: %s failed\n", what);
  std::abort();
}

EVP_PKEY* NewKey() {
  EC_KEY* ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
  if (ec == nullptr || !EC_KEY_generate_key(ec)) Die("EC_KEY_generate_key");
  EVP_PKEY* key = EVP_PKEY_new();
  if (key == nullptr || !EVP_PKEY_assign_EC_KEY(key, ec)) Die("EVP_PKEY_assign_EC_KEY");
  return key;
}

std::string KeyDer(EVP_PKEY* key) {
  CBB cbb;
  uint8_t* out = nullptr;
  size_t len = 0;
  if (!CBB_init(&cbb, 0) || !EVP_marshal_private_key(&cbb, key) || !CBB_finish(&cbb, &out, &len)) {
    Die("EVP_marshal_private_key");
  }
  std::string der(reinterpret_cast<char*>(out), len);
  OPENSSL_free(out);
  return der;
}

EVP_PKEY* ParseKey(const std::string& der) {
  CBS cbs;
  CBS_init(&cbs, reinterpret_cast<const uint8_t*>(der.data()), der.size());
  EVP_PKEY* key = EVP_parse_private_key(&cbs);
  if (key == nullptr) Die("EVP_parse_private_key");
  return key;
}

X509* ParseCert(const std::string& der) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(der.data());
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr) Die("d2i_X509");
  return x;
}

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value);
  if (ext == nullptr || !X509_add_ext(cert, ext, -1)) Die("X509_add_ext");
  X509_EXTENSION_free(ext);
}

}  // namespace

TestCert MakeTestCert(const TestCertSpec& spec, const TestCert* issuer) {
  EVP_PKEY* key = NewKey();
  X509* cert = X509_new();
  if (cert == nullptr || !X509_set_version(cert, X509_VERSION_3)) Die("X509_new");
  ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert), spec.serial);
  X509_NAME* name = X509_get_subject_name(cert);
  if (!spec.common_name.empty()) {
    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                               reinterpret_cast<const uint8_t*>(spec.common_name.data()),
                               static_cast<int>(spec.common_name.size()), -1, 0);
  } else {
    X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_UTF8,
                               reinterpret_cast<const uint8_t*>("mxkit test"), -1, -1, 0);
  }
  X509* issuer_cert = issuer != nullptr ? ParseCert(issuer->der) : nullptr;
  EVP_PKEY* issuer_key = issuer != nullptr ? ParseKey(issuer->key_der) : key;
  X509_set_issuer_name(cert, issuer_cert != nullptr ? X509_get_subject_name(issuer_cert) : name);
  ASN1_TIME_set(X509_getm_notBefore(cert), static_cast<time_t>(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(cert), static_cast<time_t>(spec.not_after));
  X509_set_pubkey(cert, key);
  X509* ext_issuer = issuer_cert != nullptr ? issuer_cert : cert;
  AddExt(cert, ext_issuer, NID_basic_constraints, spec.is_ca ? "critical,CA:TRUE" : "CA:FALSE");
  AddExt(cert, ext_issuer, NID_key_usage,
         spec.is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  AddExt(cert, ext_issuer, NID_subject_key_identifier, "hash");
  if (issuer_cert != nullptr) AddExt(cert, ext_issuer, NID_authority_key_identifier, "keyid");
  if (!spec.dns_names.empty()) {
    GENERAL_NAMES* sans = sk_GENERAL_NAME_new_null();
    for (const std::string& dns : spec.dns_names) {
      GENERAL_NAME* gn = GENERAL_NAME_new();
      ASN1_IA5STRING* ia5 = ASN1_IA5STRING_new();
      ASN1_STRING_set(ia5, dns.data(), static_cast<int>(dns.size()));
      GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
      sk_GENERAL_NAME_push(sans, gn);
    }
    if (!X509_add1_ext_i2d(cert, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT)) {
      Die("subjectAltName");
    }
    GENERAL_NAMES_free(sans);
  }
  if (!X509_sign(cert, issuer_key, EVP_sha256())) Die("X509_sign");

  TestCert out;
  uint8_t* der = nullptr;
  const int len = i2d_X509(cert, &der);
  if (len <= 0) Die("i2d_X509");
  out.der.assign(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, cert);
  const uint8_t* contents = nullptr;
  size_t contents_len = 0;
  BIO_mem_contents(bio, &contents, &contents_len);
  out.pem.assign(reinterpret_cast<const char*>(contents), contents_len);
  BIO_free(bio);
  out.key_der = KeyDer(key);

  if (issuer_key != key) EVP_PKEY_free(issuer_key);
  X509_free(issuer_cert);
  X509_free(cert);
  EVP_PKEY_free(key);
  return out;
}

const tls::CertificateSet& FactorySet() {
  static const tls::CertificateSet* const set = [] {
    tls::CertFactoryOptions options;
    options.hostname = "mx.example.test";
    absl::StatusOr<tls::CertificateSet> generated = tls::CertificateSet::Generate(options);
    if (!generated.ok()) {
      std::fprintf(stderr, "FactorySet: %s\n", std::string(generated.status().message()).c_str());
      std::abort();
    }
    return new tls::CertificateSet(std::move(*generated));
  }();
  return *set;
}

std::vector<std::string> FactoryChainDer(tls::CertVariant variant) {
  absl::StatusOr<const tls::ServedCertificate*> served = FactorySet().Get(variant);
  absl::StatusOr<std::vector<std::string>> der =
      served.ok() ? PemCertificatesToDer((*served)->chain_pem)
                  : absl::StatusOr<std::vector<std::string>>(served.status());
  if (!der.ok()) {
    std::fprintf(stderr, "FactoryChainDer: %s\n", std::string(der.status().message()).c_str());
    std::abort();
  }
  return *std::move(der);
}

}  // namespace mxkit::policy::testing
