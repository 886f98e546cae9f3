#include "auth/dkim/testing/opendkim_peer.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/status/status.h"

namespace mxkit::auth::dkim::testing {
namespace {

// DKIM_SIGFLAG_PASSED and DKIM_SIGBH_MATCH (opendkim/dkim.h): this file must
// not include dkim.h's declarations, which only the shim may bind.
constexpr unsigned kSigFlagPassed = 0x04;
constexpr int kSigBhMatch = 0;
// RFC 6376 §3.5 puts no bound on a DKIM-Signature; a 16384-bit RSA b= is
// under 3 KiB of base64, so 16 KiB holds any field the shim produces.
constexpr std::size_t kMaxSignatureField = 16 * 1024;
// Signatures reported per message; our verifier evaluates kMaxSignaturesEvaluated (8).
constexpr std::size_t kMaxReportedSignatures = 32;
constexpr char kShimRunfile[] = "mxkit/auth/dkim/libopendkim_peer_shim.so";

bool Exists(const std::string& path) { return access(path.c_str(), R_OK) == 0; }

std::string Join(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) s += (s.empty() ? "" : ":") + n;
  return s;
}

}  // namespace

bool OpenDkimSignatureResult::passed() const {
  return (flags & kSigFlagPassed) != 0 && bh == kSigBhMatch;
}

std::string FindOpenDkimShim() {
  if (const char* p = std::getenv("MXKIT_OPENDKIM_SHIM"); p != nullptr && *p != '\0') return p;
  for (const char* var : {"TEST_SRCDIR", "RUNFILES_DIR"}) {
    if (const char* dir = std::getenv(var); dir != nullptr && *dir != '\0') {
      std::string path = std::string(dir) + "/" + kShimRunfile;
      if (Exists(path)) return path;
    }
  }
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    std::string path = std::string(exe, static_cast<std::size_t>(n)) + ".runfiles/" + kShimRunfile;
    if (Exists(path)) return path;
  }
  return "";
}

absl::StatusOr<std::unique_ptr<OpenDkimPeer>> OpenDkimPeer::Load(const std::string& shim_path,
                                                                 int64_t fixed_time) {
  std::unique_ptr<OpenDkimPeer> p(new OpenDkimPeer);
  p->dl_ = dlopen(shim_path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  if (p->dl_ == nullptr) {
    return absl::FailedPreconditionError("dlopen " + shim_path + ": " + dlerror() +
                                         " (libopendkim-dev installed? see "
                                         "tools/debian-packages.txt)");
  }
  std::string missing;
  auto sym = [&](const char* name) {
    void* f = dlsym(p->dl_, name);
    if (f == nullptr) missing += std::string(missing.empty() ? "" : ", ") + name;
    return f;
  };
  auto open = reinterpret_cast<mxkit_opendkim_open_fn>(sym("mxkit_opendkim_open"));
  p->close_ = reinterpret_cast<mxkit_opendkim_close_fn>(sym("mxkit_opendkim_close"));
  p->has_ed25519_ = reinterpret_cast<mxkit_opendkim_has_ed25519_fn>(sym("mxkit_opendkim_has_ed25519"));
  p->add_key_ = reinterpret_cast<mxkit_opendkim_add_key_fn>(sym("mxkit_opendkim_add_key"));
  p->sign_ = reinterpret_cast<mxkit_opendkim_sign_fn>(sym("mxkit_opendkim_sign"));
  p->verify_ = reinterpret_cast<mxkit_opendkim_verify_fn>(sym("mxkit_opendkim_verify"));
  p->symbol_origin_ =
      reinterpret_cast<mxkit_opendkim_symbol_origin_fn>(sym("mxkit_opendkim_symbol_origin"));
  if (!missing.empty()) {
    return absl::FailedPreconditionError(shim_path + " does not export " + missing);
  }
  p->peer_ = open(fixed_time);
  if (p->peer_ == nullptr) return absl::InternalError("dkim_init or dkim_options failed");
  return p;
}

OpenDkimPeer::~OpenDkimPeer() {
  if (peer_ != nullptr) close_(peer_);
  if (dl_ != nullptr) dlclose(dl_);
}

bool OpenDkimPeer::HasEd25519() const { return has_ed25519_(peer_) != 0; }

void OpenDkimPeer::AddKey(const std::string& name, const std::string& record) {
  add_key_(peer_, name.c_str(), record.c_str(), MXKIT_OPENDKIM_KEY_RECORD);
}

void OpenDkimPeer::AddTempFailingKey(const std::string& name) {
  add_key_(peer_, name.c_str(), nullptr, MXKIT_OPENDKIM_KEY_TEMPFAIL);
}

absl::StatusOr<std::string> OpenDkimPeer::Sign(std::string_view message,
                                               const std::string& private_key_pem,
                                               const OpenDkimSignOptions& o) {
  std::string sign_headers = Join(o.sign_headers);
  std::string oversign_headers = Join(o.oversign_headers);
  mxkit_opendkim_sign_params params{};
  params.private_key = private_key_pem.data();
  params.private_key_len = private_key_pem.size();
  params.selector = o.selector.c_str();
  params.domain = o.domain.c_str();
  params.identity = o.identity ? o.identity->c_str() : nullptr;
  params.header_relaxed = o.header_relaxed;
  params.body_relaxed = o.body_relaxed;
  params.ed25519 = o.ed25519;
  params.body_length = o.body_length;
  params.sign_headers = sign_headers.c_str();
  params.oversign_headers = oversign_headers.empty() ? nullptr : oversign_headers.c_str();
  params.unfolded = o.unfolded;
  std::string out(kMaxSignatureField, '\0');
  char error[512];
  int st = sign_(peer_, &params, message.data(), message.size(), out.data(), out.size(), error,
                 sizeof error);
  if (st != 0) {
    return absl::InternalError("OpenDKIM signing failed (DKIM_STAT " + std::to_string(st) +
                               "): " + error);
  }
  out.resize(out.find('\0'));
  return out;
}

OpenDkimVerification OpenDkimPeer::Verify(std::string_view message) {
  mxkit_opendkim_sig_result results[kMaxReportedSignatures];
  std::size_t count = 0;
  OpenDkimVerification v;
  v.status = verify_(peer_, message.data(), message.size(), results, kMaxReportedSignatures,
                     &count);
  for (std::size_t i = 0; i < count; ++i) {
    v.signatures.push_back({results[i].flags, results[i].bh, results[i].error,
                            results[i].domain, results[i].error_text});
  }
  return v;
}

OpenDkimPeer::SymbolOrigin OpenDkimPeer::OriginOf(const char* symbol) const {
  char from_opendkim[1024];
  char from_shim[1024];
  symbol_origin_(symbol, from_opendkim, sizeof from_opendkim, from_shim, sizeof from_shim);
  return {from_opendkim, from_shim};
}

}  // namespace mxkit::auth::dkim::testing
