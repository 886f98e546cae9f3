#include "policy/chain.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/nid.h>
#include <openssl/obj.h>
#include <openssl/mem.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "tls/boringssl_error.h"
#include "tls/x509_der.h"

namespace mxkit::policy {
namespace {

// A served chain longer than this is refused before verification: RFC 8446
// §4.4.2 sets no count, but BoringSSL's default verify depth is 100 and no
// real server sends more than a handful (Postfix's smtp_tls_scert_verifydepth
// default is 9).
constexpr size_t kMaxChainLength = 16;

using X509Ptr = bssl::UniquePtr<X509>;

ChainVerification Unusable(std::string detail) {
  ChainVerification v;
  v.ok = false;
  v.x509_error = -1;
  v.detail = std::move(detail);
  return v;
}

ChainVerification Weak(long x509_error, std::string detail) {
  ChainVerification v;
  v.ok = false;
  v.x509_error = x509_error;
  v.detail = std::move(detail);
  return v;
}

ChainVerification LeafStrength(X509* leaf) {
  bssl::UniquePtr<EVP_PKEY> key(X509_get_pubkey(leaf));
  if (!key) return Unusable("the leaf's public key does not parse");
  const int bits = EVP_PKEY_bits(key.get());
  const int id = EVP_PKEY_id(key.get());
  const char* name = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_DSA ? "DSA" : id == EVP_PKEY_EC ? "EC" : nullptr;
  const int minimum = id == EVP_PKEY_EC ? kMinLeafEcBits : kMinLeafRsaDsaBits;
  if (name != nullptr && bits < minimum) {
    return Weak(kX509ErrorEeKeyTooSmall, absl::StrCat("EE certificate key too weak (", name, " ",
                                                      bits, " bits < ", minimum, ")"));
  }
  const int sig = X509_get_signature_nid(leaf);
  if (sig == NID_sha1WithRSAEncryption || sig == NID_ecdsa_with_SHA1 || sig == NID_md5WithRSAEncryption ||
      sig == NID_dsaWithSHA1) {
    return Weak(kX509ErrorCaMdTooWeak, absl::StrCat("CA signature digest algorithm too weak (",
                                                    OBJ_nid2sn(sig), " on the leaf)"));
  }
  ChainVerification v;
  v.ok = true;
  return v;
}

ChainVerification Verify(absl::Span<const std::string> chain_der, X509_STORE* store,
                         unsigned long extra_flags, absl::Time now) {
  if (chain_der.empty()) return Unusable("no certificate was served");
  if (chain_der.size() > kMaxChainLength) {
    return Unusable(absl::StrCat("chain of ", chain_der.size(), " certificates exceeds ",
                                 kMaxChainLength));
  }
  std::vector<X509Ptr> chain;
  for (size_t i = 0; i < chain_der.size(); ++i) {
    absl::StatusOr<X509Ptr> cert = tls::ParseCertificateDer(chain_der[i]);
    if (!cert.ok()) {
      return Unusable(absl::StrCat("certificate ", i, " of the chain: ", cert.status().message()));
    }
    chain.push_back(*std::move(cert));
  }
  // Frees its elements too (sk_X509_pop_free), so each pushed one is up-ref'd.
  bssl::UniquePtr<STACK_OF(X509)> untrusted(sk_X509_new_null());
  for (size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(untrusted.get(), chain[i].get());
  }
  bssl::UniquePtr<X509_STORE_CTX> ctx(X509_STORE_CTX_new());
  if (!ctx || !X509_STORE_CTX_init(ctx.get(), store, chain[0].get(), untrusted.get())) {
    return Unusable(absl::StrCat("X509_STORE_CTX_init failed (", tls::TakeQueuedReason(), ")"));
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(absl::ToUnixSeconds(now)));
  if (extra_flags != 0) X509_VERIFY_PARAM_set_flags(param, extra_flags);
  // serverAuth: an SMTP server's certificate is a TLS server certificate.
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  ChainVerification v;
  v.ok = X509_verify_cert(ctx.get()) == 1;
  v.x509_error = v.ok ? X509_V_OK : X509_STORE_CTX_get_error(ctx.get());
  if (!v.ok) {
    v.detail = absl::StrCat(X509_verify_cert_error_string(v.x509_error), " (X.509 error ",
                            v.x509_error, ") at depth ", X509_STORE_CTX_get_error_depth(ctx.get()));
    return v;
  }
  return LeafStrength(chain[0].get());
}

// PEM_read_bio_X509 ends with "no start line" at the end of its input; any
// other reason means a block that did not parse.
bool IsEndOfPem(uint32_t packed) {
  return ERR_GET_LIB(packed) == ERR_LIB_PEM && ERR_GET_REASON(packed) == PEM_R_NO_START_LINE;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> PemCertificatesToDer(std::string_view pem) {
  tls::ErrorQueueScope errors;
  std::vector<std::string> out;
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
  for (;;) {
    X509Ptr cert(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    if (!cert) break;
    uint8_t* der = nullptr;
    const int len = i2d_X509(cert.get(), &der);
    if (len <= 0) break;
    out.emplace_back(reinterpret_cast<char*>(der), static_cast<size_t>(len));
    OPENSSL_free(der);
  }
  BIO_free(bio);
  const uint32_t last = ERR_peek_last_error();
  if (last != 0 && !IsEndOfPem(last)) {
    return absl::InvalidArgumentError(absl::StrCat("PEM certificate ", out.size() + 1,
                                                   " does not parse (", tls::ReasonOf(last), ")"));
  }
  if (out.empty()) return absl::InvalidArgumentError("no PEM certificate in the input");
  return out;
}

ChainVerification VerifyChainToRoots(absl::Span<const std::string> chain_der,
                                     std::string_view trusted_roots_pem, absl::Time now) {
  tls::ErrorQueueScope errors;
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  if (!store) return Unusable("X509_STORE_new failed");
  BIO* bio = BIO_new_mem_buf(trusted_roots_pem.data(), static_cast<int>(trusted_roots_pem.size()));
  size_t roots = 0;
  for (;;) {
    X509Ptr root(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
    if (!root) break;
    X509_STORE_add_cert(store.get(), root.get());
    ++roots;
  }
  BIO_free(bio);
  const uint32_t last = ERR_peek_last_error();
  if (last != 0 && !IsEndOfPem(last)) {
    return Unusable(absl::StrCat("trusted roots: certificate ", roots + 1, " does not parse (",
                                 tls::ReasonOf(last), ")"));
  }
  ERR_clear_error();
  return Verify(chain_der, store.get(), 0, now);
}

ChainVerification VerifyChainToAnchor(absl::Span<const std::string> chain_der,
                                      std::string_view trust_anchor_der, absl::Time now) {
  tls::ErrorQueueScope errors;
  absl::StatusOr<X509Ptr> anchor = tls::ParseCertificateDer(trust_anchor_der);
  if (!anchor.ok()) return Unusable(absl::StrCat("trust anchor: ", anchor.status().message()));
  bssl::UniquePtr<X509_STORE> store(X509_STORE_new());
  if (!store || !X509_STORE_add_cert(store.get(), anchor->get())) {
    return Unusable("X509_STORE_add_cert failed");
  }
  // RFC 7671 §5.2.2: a DANE-TA anchor is trusted as published, also when it
  // is an intermediate rather than a self-signed root.
  return Verify(chain_der, store.get(), X509_V_FLAG_PARTIAL_CHAIN, now);
}

ChainVerification CheckLeafStrength(std::string_view leaf_der) {
  tls::ErrorQueueScope errors;
  absl::StatusOr<X509Ptr> leaf = tls::ParseCertificateDer(leaf_der);
  if (!leaf.ok()) return Unusable(absl::StrCat("leaf: ", leaf.status().message()));
  return LeafStrength(leaf->get());
}

TlsResultType ResultTypeForX509Error(long x509_error) {
  switch (x509_error) {
    // RFC 8460 §4.3.1 defines certificate-expired as "the certificate has
    // expired"; one not yet valid (X509_V_ERR_CERT_NOT_YET_VALID) has no
    // type of its own, so it falls to validation-failure, the same
    // section's "general failure for a reason not matching a category".
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return TlsResultType::kCertificateExpired;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    // RFC 8460 §4.3.1: certificate-not-trusted is "a certificate chain
    // presented by the receiving MTA that is not trusted"; a chain that
    // validates but whose leaf key or signature the sender refuses to rely on
    // (OpenSSL level 2) is untrusted, not a failure of the validation itself.
    case kX509ErrorEeKeyTooSmall:
    case kX509ErrorCaMdTooWeak:
      return TlsResultType::kCertificateNotTrusted;
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return TlsResultType::kCertificateHostMismatch;
    default:
      return TlsResultType::kValidationFailure;
  }
}

}  // namespace mxkit::policy
