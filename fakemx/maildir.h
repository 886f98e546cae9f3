// A Maildir writer (https://cr.yp.to/proto/maildir.html) that stores each
// message byte-exact and its envelope as a JSON sidecar, with the guarantee
// fakemx's "250 only once stored" rests on: when Deliver() returns OK the
// message is complete in new/, under a name no other delivery has used, and
// its sidecar is complete in envelopes/.
//
// Layout under the root DIR:
//   DIR/tmp/                 files being written (never read by a client)
//   DIR/new/<name>           each message, exactly the octets received after
//                            dot-unstuffing (CRLF line ends kept)
//   DIR/cur/                 created empty for Maildir readers
//   DIR/envelopes/<name>.json  the sidecar (fakemx/delivery.h), outside new/
//                            because readers treat every file in new/ as mail

#ifndef MXKIT_FAKEMX_MAILDIR_H_
#define MXKIT_FAKEMX_MAILDIR_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <span>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fakemx/delivery.h"

namespace mxkit::fakemx {

struct MaildirOptions {
  // The host part of unique names (spec: "the hostname ... with / replaced by
  // \057 and : by \072"). Empty = gethostname().
  std::string hostname;
  // The Maildir spec only requires the message file to be fsync()ed before
  // it is linked into new/, so a crash never shows a partial message. It
  // does not fsync the directory, so after a power loss a delivered name may
  // be missing; set this for that stronger (and slower) guarantee.
  bool sync_directories = false;
};

class Maildir {
 public:
  // Opens the Maildir at `root`, creating it and tmp/, new/, cur/ and
  // envelopes/ (mode 0700) when missing. Errors name the path and errno text.
  static absl::StatusOr<std::unique_ptr<Maildir>> Open(std::string root,
                                                       MaildirOptions options = {});
  ~Maildir();
  Maildir(const Maildir&) = delete;
  Maildir& operator=(const Maildir&) = delete;

  // Stores `message` and the sidecar for `delivery`, returning the unique
  // name (the file is new/<name>). Order: tmp/<name> and tmp/<name>.json are
  // written and fdatasync()ed; the sidecar is renamed into envelopes/, then
  // the message into new/. Renames never replace an existing
  // file (RENAME_NOREPLACE), so a name collision cannot overwrite a stored
  // message. On any error everything this call created is removed, new/ gains
  // nothing, and the status says which step failed (kUnavailable for I/O and
  // permission errors, kResourceExhausted for ENOSPC/EDQUOT).
  // Safe to call from several threads at once.
  absl::StatusOr<std::string> Deliver(const Delivery& delivery, std::string_view message);

  // One message of a DeliverBatch() call.
  struct DeliveryRequest {
    const Delivery* delivery;
    std::string_view message;
  };
  // Deliver() for several messages at once, with the same guarantees for
  // each and one result per request, in order. All files are written and
  // their writeback started before any is synced, so the I/O overlaps.
  std::vector<absl::StatusOr<std::string>> DeliverBatch(
      std::span<const DeliveryRequest> requests);

  const std::string& root() const { return root_; }

  // A Maildir unique name "<seconds>.M<usec>P<pid>Q<counter>.<host>" (the
  // spec's modern form). Exposed for tests.
  static std::string UniqueName(int64_t unix_micros, long pid, uint64_t counter,
                                std::string_view safe_hostname);
  // `hostname` with "/" and ":" replaced as the spec requires.
  static std::string SafeHostname(std::string_view hostname);

 private:
  Maildir(std::string root, MaildirOptions options, std::string safe_hostname);

  std::string root_;
  MaildirOptions options_;
  std::string safe_hostname_;
  int tmp_fd_ = -1;
  int new_fd_ = -1;
  int envelopes_fd_ = -1;
  std::atomic<uint64_t> counter_{0};
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_MAILDIR_H_
