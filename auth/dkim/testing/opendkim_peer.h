// OpenDkimPeer: libopendkim (OpenDKIM 2.11, Debian's libopendkim-dev) as a
// test peer, reached only through libopendkim_peer_shim.so loaded with
// dlopen(RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND), so OpenDKIM's OpenSSL 3
// calls never land in the BoringSSL the rest of the binary uses
// (opendkim_peer_shim.h says why). Test-only; one instance is one OpenDKIM
// library handle, not thread-safe.

#ifndef MXKIT_AUTH_DKIM_TESTING_OPENDKIM_PEER_H_
#define MXKIT_AUTH_DKIM_TESTING_OPENDKIM_PEER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "auth/dkim/testing/opendkim_peer_shim.h"

namespace mxkit::auth::dkim::testing {

// The shim's path in the runfiles of the running test or binary
// ($MXKIT_OPENDKIM_SHIM, else $TEST_SRCDIR, $RUNFILES_DIR, or
// /proc/self/exe.runfiles), or "" when none has it.
std::string FindOpenDkimShim();

struct OpenDkimSignOptions {
  std::string domain;
  std::string selector;
  std::optional<std::string> identity;
  bool header_relaxed = true;
  bool body_relaxed = true;
  bool ed25519 = false;
  bool body_length = false;
  std::vector<std::string> sign_headers = {"from", "to", "subject", "date", "message-id"};
  std::vector<std::string> oversign_headers;
  // The library folds the field at 75 columns unless told not to
  // (dkim_set_margin(0)).
  bool unfolded = false;
};

// One signature as OpenDKIM judged it.
struct OpenDkimSignatureResult {
  unsigned flags = 0;  // DKIM_SIGFLAG_*
  int bh = -1;         // DKIM_SIGBH_*
  int error = 0;       // DKIM_SIGERROR_*
  std::string domain;
  std::string error_text;
  // DKIM_SIG_CHECK: signature verified and body hash matched.
  bool passed() const;
};

struct OpenDkimVerification {
  int status = 0;  // DKIM_STAT of dkim_eom (or the call that failed first)
  std::vector<OpenDkimSignatureResult> signatures;
};

class OpenDkimPeer {
 public:
  // Loads the shim at `shim_path` and opens a library handle whose clock
  // reads `fixed_time`. An error says what failed (dlopen's message, a
  // missing symbol, dkim_init).
  static absl::StatusOr<std::unique_ptr<OpenDkimPeer>> Load(const std::string& shim_path,
                                                            int64_t fixed_time);
  ~OpenDkimPeer();
  OpenDkimPeer(const OpenDkimPeer&) = delete;
  OpenDkimPeer& operator=(const OpenDkimPeer&) = delete;

  bool HasEd25519() const;
  // Serves `record` at `name` to OpenDKIM's key lookups; unknown names are
  // NXDOMAIN. AddTempFailingKey makes `name`'s lookup fail transiently.
  void AddKey(const std::string& name, const std::string& record);
  void AddTempFailingKey(const std::string& name);

  // The DKIM-Signature field (CRLF-terminated) OpenDKIM makes for `message`
  // with `private_key_pem`, or the DKIM_STAT and dkim_geterror text.
  absl::StatusOr<std::string> Sign(std::string_view message, const std::string& private_key_pem,
                                   const OpenDkimSignOptions& options);
  OpenDkimVerification Verify(std::string_view message);

  // Where `symbol` resolves inside the shim: from libopendkim's lookup scope
  // and from the shim's own default scope (file paths; "" when not found).
  struct SymbolOrigin {
    std::string from_opendkim;
    std::string from_shim;
  };
  SymbolOrigin OriginOf(const char* symbol) const;

 private:
  OpenDkimPeer() = default;
  void* dl_ = nullptr;
  mxkit_opendkim* peer_ = nullptr;
  mxkit_opendkim_close_fn close_ = nullptr;
  mxkit_opendkim_has_ed25519_fn has_ed25519_ = nullptr;
  mxkit_opendkim_add_key_fn add_key_ = nullptr;
  mxkit_opendkim_sign_fn sign_ = nullptr;
  mxkit_opendkim_verify_fn verify_ = nullptr;
  mxkit_opendkim_symbol_origin_fn symbol_origin_ = nullptr;
};

}  // namespace mxkit::auth::dkim::testing

#endif  // MXKIT_AUTH_DKIM_TESTING_OPENDKIM_PEER_H_
