// The C interface of libopendkim_peer_shim.so, the only object in mxkit that
// links libopendkim (and through it OpenSSL's libcrypto.so.3). Test-only.
//
// Why a shared object: every mxkit library links BoringSSL, whose symbols
// (RSA_verify, EVP_*) have the same names as OpenSSL 3's. OpenDKIM's
// references are versioned (EVP_DigestVerify@OPENSSL_3.0.0), but glibc lets
// an unversioned definition satisfy a versioned reference, so BoringSSL's
// libcrypto.so.0, already in the global scope, would serve OpenDKIM's calls
// with the wrong ABI. OpenDkimPeer (opendkim_peer.h) loads this object with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND): its lookups search its own
// dependencies (libopendkim, libcrypto.so.3) before the global scope. Only
// the mxkit_opendkim_* functions below are exported (-fvisibility=hidden).
//
// Plain C types only: the caller and the shim share no C++ runtime objects.

#ifndef MXKIT_AUTH_DKIM_TESTING_OPENDKIM_PEER_SHIM_H_
#define MXKIT_AUTH_DKIM_TESTING_OPENDKIM_PEER_SHIM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mxkit_opendkim mxkit_opendkim;

// One library handle (dkim_init) with every key served from memory and the
// clock fixed at `fixed_time` (DKIM_OPTS_FIXEDTIME). NULL on failure.
typedef mxkit_opendkim* (*mxkit_opendkim_open_fn)(int64_t fixed_time);
typedef void (*mxkit_opendkim_close_fn)(mxkit_opendkim* peer);
// 1 when this libopendkim was built with ed25519-sha256 (DKIM_FEATURE_ED25519).
typedef int (*mxkit_opendkim_has_ed25519_fn)(mxkit_opendkim* peer);

enum {
  MXKIT_OPENDKIM_KEY_RECORD = 0,  // `record` is the TXT text
  MXKIT_OPENDKIM_KEY_TEMPFAIL = 1,  // the lookup fails transiently
};
// Publishes `record` at `name` ("sel._domainkey.example.com", compared
// case-insensitively). Names never added are NXDOMAIN. 0 on success.
typedef int (*mxkit_opendkim_add_key_fn)(mxkit_opendkim* peer, const char* name,
                                         const char* record, int kind);

typedef struct {
  const char* private_key;  // PEM (RSA PKCS#1/PKCS#8, Ed25519 PKCS#8)
  size_t private_key_len;
  const char* selector;
  const char* domain;
  const char* identity;    // i=, or NULL
  int header_relaxed;      // 0 simple, 1 relaxed
  int body_relaxed;
  int ed25519;             // 0 rsa-sha256, 1 ed25519-sha256
  int body_length;         // 1: l= (DKIM_LIBFLAGS_SIGNLEN)
  const char* sign_headers;      // colon-separated names (DKIM_OPTS_SIGNHDRS)
  const char* oversign_headers;  // colon-separated names, or NULL
  int unfolded;  // 1: dkim_set_margin(0), the field on one line
} mxkit_opendkim_sign_params;

// Signs the complete message `msg` (CRLF line endings). On success returns 0
// and writes the DKIM-Signature field (name, value, CRLF folding, final CRLF)
// to `out` (NUL-terminated); otherwise a DKIM_STAT and a message in `error`.
typedef int (*mxkit_opendkim_sign_fn)(mxkit_opendkim* peer,
                                      const mxkit_opendkim_sign_params* params,
                                      const char* msg, size_t len, char* out, size_t out_cap,
                                      char* error, size_t error_cap);

typedef struct {
  unsigned flags;  // DKIM_SIGFLAG_*
  int bh;          // DKIM_SIGBH_*
  int error;       // DKIM_SIGERROR_*
  char domain[256];
  char error_text[128];  // dkim_sig_geterrorstr
} mxkit_opendkim_sig_result;

// Verifies `msg`: one result per signature OpenDKIM reports (dkim_getsiglist,
// in its order), at most `cap`, the number in `*count`. Returns the
// dkim_eom (or the failing earlier call's) DKIM_STAT.
typedef int (*mxkit_opendkim_verify_fn)(mxkit_opendkim* peer, const char* msg, size_t len,
                                        mxkit_opendkim_sig_result* out, size_t cap,
                                        size_t* count);

// Where `symbol` resolves, as file paths: from libopendkim's handle (its
// DT_NEEDED tree, what OpenDKIM's own references bind to) and from
// dlsym(RTLD_DEFAULT) called inside the shim (under RTLD_DEEPBIND the
// shim's own scope comes before the global one). "" when not found.
typedef void (*mxkit_opendkim_symbol_origin_fn)(const char* symbol, char* from_opendkim,
                                                size_t from_opendkim_cap, char* from_shim,
                                                size_t from_shim_cap);

#ifdef __cplusplus
}
#endif

#endif  // MXKIT_AUTH_DKIM_TESTING_OPENDKIM_PEER_SHIM_H_
