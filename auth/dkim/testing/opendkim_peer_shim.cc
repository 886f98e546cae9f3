// libopendkim_peer_shim.so: the C functions of opendkim_peer_shim.h over
// libopendkim 2.11. Built with -fvisibility=hidden; only MXKIT_EXPORT
// functions leave the object. Never linked into a binary directly: loaded by
// OpenDkimPeer with dlopen(RTLD_LOCAL | RTLD_DEEPBIND) (see the header).

#include <dlfcn.h>
#include <strings.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "auth/dkim/testing/opendkim_peer_shim.h"
// dkim.h is C: it spells bool as C99's _Bool, which C++ does not have.
#include <sys/types.h>
#define _Bool bool
#include "opendkim/dkim.h"
#undef _Bool

#define MXKIT_EXPORT extern "C" __attribute__((visibility("default")))

struct mxkit_opendkim {
  DKIM_LIB* lib = nullptr;
  struct Key {
    std::string record;
    int kind = MXKIT_OPENDKIM_KEY_RECORD;
  };
  std::map<std::string, Key> keys;  // lower-case name
  // DKIM_OPTS_SIGNHDRS / OVERSIGNHDRS take NULL-terminated arrays.
  std::vector<std::string> sign_names, oversign_names;
  std::vector<const char*> sign_ptrs, oversign_ptrs;
};

namespace {

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

void Copy(const std::string& s, char* out, std::size_t cap) {
  if (cap == 0) return;
  std::size_t n = s.size() < cap - 1 ? s.size() : cap - 1;
  std::memcpy(out, s.data(), n);
  out[n] = '\0';
}

// The key lookup OpenDKIM calls instead of DNS (dkim_set_key_lookup): the
// record from memory, NOTFOUND for an unknown name (NXDOMAIN), ERROR for a
// name marked as failing transiently.
DKIM_CBSTAT LookupKey(DKIM* dkim, DKIM_SIGINFO* sig, u_char* buf, size_t buflen) {
  auto* peer = static_cast<mxkit_opendkim*>(dkim_get_user_context(dkim));
  const char* selector = reinterpret_cast<const char*>(dkim_sig_getselector(sig));
  const char* domain = reinterpret_cast<const char*>(dkim_sig_getdomain(sig));
  if (peer == nullptr || selector == nullptr || domain == nullptr) return DKIM_CBSTAT_ERROR;
  std::string name = Lower(std::string(selector) + "._domainkey." + domain);
  auto it = peer->keys.find(name);
  if (it == peer->keys.end()) return DKIM_CBSTAT_NOTFOUND;
  if (it->second.kind == MXKIT_OPENDKIM_KEY_TEMPFAIL) return DKIM_CBSTAT_TRYAGAIN;
  if (it->second.record.size() + 1 > buflen) return DKIM_CBSTAT_ERROR;
  std::memcpy(buf, it->second.record.c_str(), it->second.record.size() + 1);
  return DKIM_CBSTAT_CONTINUE;
}

void SplitNames(const char* list, std::vector<std::string>& names,
                std::vector<const char*>& ptrs) {
  names.clear();
  ptrs.clear();
  if (list != nullptr) {
    std::string s(list);
    std::size_t start = 0;
    while (start <= s.size()) {
      std::size_t end = s.find(':', start);
      if (end == std::string::npos) end = s.size();
      if (end > start) names.push_back(s.substr(start, end - start));
      start = end + 1;
    }
  }
  for (const std::string& n : names) ptrs.push_back(n.c_str());
  ptrs.push_back(nullptr);
}

std::string Status(const char* step, DKIM_STAT st, DKIM* dkim) {
  std::string m = std::string(step) + ": " + dkim_getresultstr(st);
  if (dkim != nullptr && dkim_geterror(dkim) != nullptr) m += std::string(" (") + dkim_geterror(dkim) + ")";
  return m;
}

}  // namespace

MXKIT_EXPORT mxkit_opendkim* mxkit_opendkim_open(int64_t fixed_time) {
  DKIM_LIB* lib = dkim_init(nullptr, nullptr);
  if (lib == nullptr) return nullptr;
  auto* peer = new mxkit_opendkim;
  peer->lib = lib;
  time_t t = static_cast<time_t>(fixed_time);
  unsigned flags = DKIM_LIBFLAGS_NONE;
  if (dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FIXEDTIME, &t, sizeof t) != DKIM_STAT_OK ||
      dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) != DKIM_STAT_OK ||
      dkim_set_key_lookup(lib, LookupKey) != DKIM_STAT_OK) {
    dkim_close(lib);
    delete peer;
    return nullptr;
  }
  return peer;
}

MXKIT_EXPORT void mxkit_opendkim_close(mxkit_opendkim* peer) {
  if (peer == nullptr) return;
  dkim_close(peer->lib);
  delete peer;
}

MXKIT_EXPORT int mxkit_opendkim_has_ed25519(mxkit_opendkim* peer) {
  return dkim_libfeature(peer->lib, DKIM_FEATURE_ED25519) ? 1 : 0;
}

MXKIT_EXPORT int mxkit_opendkim_add_key(mxkit_opendkim* peer, const char* name,
                                        const char* record, int kind) {
  if (peer == nullptr || name == nullptr) return -1;
  peer->keys[Lower(name)] = {record != nullptr ? record : "", kind};
  return 0;
}

MXKIT_EXPORT int mxkit_opendkim_sign(mxkit_opendkim* peer,
                                     const mxkit_opendkim_sign_params* p, const char* msg,
                                     size_t len, char* out, size_t out_cap, char* error,
                                     size_t error_cap) {
  Copy("", error, error_cap);
  Copy("", out, out_cap);
  unsigned flags = p->body_length ? DKIM_LIBFLAGS_SIGNLEN : DKIM_LIBFLAGS_NONE;
  dkim_options(peer->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
  SplitNames(p->sign_headers, peer->sign_names, peer->sign_ptrs);
  SplitNames(p->oversign_headers, peer->oversign_names, peer->oversign_ptrs);
  DKIM_STAT st = dkim_options(peer->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
                              peer->sign_ptrs.data(), sizeof(char**));
  if (st == DKIM_STAT_OK) {
    st = dkim_options(peer->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
                      peer->oversign_ptrs.size() > 1 ? peer->oversign_ptrs.data() : nullptr,
                      sizeof(char**));
  }
  if (st != DKIM_STAT_OK) {
    Copy(Status("dkim_options", st, nullptr), error, error_cap);
    return st;
  }
  std::string key(p->private_key, p->private_key_len);
  DKIM* dkim = dkim_sign(peer->lib, reinterpret_cast<const unsigned char*>("mxkit"), nullptr,
                         reinterpret_cast<dkim_sigkey_t>(key.data()),
                         reinterpret_cast<const unsigned char*>(p->selector),
                         reinterpret_cast<const unsigned char*>(p->domain),
                         p->header_relaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
                         p->body_relaxed ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE,
                         p->ed25519 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256,
                         -1, &st);
  if (dkim == nullptr) {
    Copy(Status("dkim_sign", st, nullptr), error, error_cap);
    return st != DKIM_STAT_OK ? st : DKIM_STAT_INTERNAL;
  }
  const char* step = "dkim_set_signer";
  if (p->identity != nullptr) {
    st = dkim_set_signer(dkim, reinterpret_cast<const u_char*>(p->identity));
  }
  // Margin 0: the field is returned on one line (no folding).
  if (st == DKIM_STAT_OK && p->unfolded) st = dkim_set_margin(dkim, 0);
  if (st == DKIM_STAT_OK) {
    step = "dkim_chunk";
    st = dkim_chunk(dkim, reinterpret_cast<u_char*>(const_cast<char*>(msg)), len);
  }
  if (st == DKIM_STAT_OK) st = dkim_chunk(dkim, nullptr, 0);
  if (st == DKIM_STAT_OK) {
    step = "dkim_eom";
    st = dkim_eom(dkim, nullptr);
  }
  u_char* value = nullptr;
  size_t value_len = 0;
  const std::string prefix = std::string(DKIM_SIGNHEADER) + ": ";
  if (st == DKIM_STAT_OK) {
    step = "dkim_getsighdr_d";
    st = dkim_getsighdr_d(dkim, prefix.size(), &value, &value_len);
  }
  if (st != DKIM_STAT_OK) {
    Copy(Status(step, st, dkim), error, error_cap);
    dkim_free(dkim);
    return st;
  }
  // The library folds with a bare LF; on the wire every line ends in CRLF.
  std::string field = prefix;
  for (size_t i = 0; i < value_len; ++i) {
    if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) field += '\r';
    field += static_cast<char>(value[i]);
  }
  field += "\r\n";
  dkim_free(dkim);
  if (field.size() + 1 > out_cap) {
    Copy("signature field longer than the output buffer", error, error_cap);
    return DKIM_STAT_NORESOURCE;
  }
  Copy(field, out, out_cap);
  return DKIM_STAT_OK;
}

MXKIT_EXPORT int mxkit_opendkim_verify(mxkit_opendkim* peer, const char* msg, size_t len,
                                       mxkit_opendkim_sig_result* out, size_t cap,
                                       size_t* count) {
  *count = 0;
  DKIM_STAT st = DKIM_STAT_OK;
  DKIM* dkim = dkim_verify(peer->lib, reinterpret_cast<const unsigned char*>("mxkit"), nullptr,
                           &st);
  if (dkim == nullptr) return st != DKIM_STAT_OK ? st : DKIM_STAT_INTERNAL;
  dkim_set_user_context(dkim, peer);
  st = dkim_chunk(dkim, reinterpret_cast<u_char*>(const_cast<char*>(msg)), len);
  if (st == DKIM_STAT_OK) st = dkim_chunk(dkim, nullptr, 0);
  if (st == DKIM_STAT_OK) st = dkim_eom(dkim, nullptr);
  DKIM_SIGINFO** sigs = nullptr;
  int nsigs = 0;
  if (dkim_getsiglist(dkim, &sigs, &nsigs) == DKIM_STAT_OK) {
    for (int i = 0; i < nsigs && *count < cap; ++i) {
      mxkit_opendkim_sig_result& r = out[(*count)++];
      r.flags = dkim_sig_getflags(sigs[i]);
      r.bh = dkim_sig_getbh(sigs[i]);
      r.error = dkim_sig_geterror(sigs[i]);
      const u_char* d = dkim_sig_getdomain(sigs[i]);
      Copy(d != nullptr ? reinterpret_cast<const char*>(d) : "", r.domain, sizeof r.domain);
      const char* e = dkim_sig_geterrorstr(r.error);
      Copy(e != nullptr ? e : "", r.error_text, sizeof r.error_text);
    }
  }
  dkim_free(dkim);
  return st;
}

MXKIT_EXPORT void mxkit_opendkim_symbol_origin(const char* symbol, char* from_opendkim,
                                               size_t from_opendkim_cap, char* from_shim,
                                               size_t from_shim_cap) {
  Copy("", from_opendkim, from_opendkim_cap);
  Copy("", from_shim, from_shim_cap);
  Dl_info info;
  // dlsym on libopendkim's handle searches it and its DT_NEEDED tree.
  if (void* h = dlopen("libopendkim.so.11", RTLD_NOLOAD | RTLD_LAZY)) {
    if (void* f = dlsym(h, symbol); f != nullptr && dladdr(f, &info) && info.dli_fname) {
      Copy(info.dli_fname, from_opendkim, from_opendkim_cap);
    }
    dlclose(h);
  }
  if (void* f = dlsym(RTLD_DEFAULT, symbol); f != nullptr && dladdr(f, &info) && info.dli_fname) {
    Copy(info.dli_fname, from_shim, from_shim_cap);
  }
}
