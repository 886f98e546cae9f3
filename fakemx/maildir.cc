#include "fakemx/maildir.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>


namespace mxkit::fakemx {
namespace {

// absl::StrCat takes absl::string_view, a distinct type from std::string_view
// in Debian's abseil; this concatenates std::string_view pieces.
template <typename... Pieces>
std::string Cat(const Pieces&... pieces) {
  std::string out;
  (out.append(std::string_view(pieces)), ...);
  return out;
}

// A name collision should be impossible (pid + process-wide counter +
// microseconds); the retry bound only keeps a broken clock or a foreign
// writer using our names from looping forever.
constexpr int kMaxNameAttempts = 8;

absl::Status ErrnoStatus(int err, std::string_view what) {
  const std::string message = Cat(what, ": ", std::string_view(std::strerror(err)));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

absl::Status MakeDirectory(const std::string& path) {
  if (mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) {
    struct stat st;
    if (stat(path.c_str(), &st) != 0) return ErrnoStatus(errno, Cat("stat ", path));
    if (!S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(Cat(path, " exists and is not a directory"));
    }
    return absl::OkStatus();
  }
  return ErrnoStatus(errno, Cat("mkdir ", path));
}

absl::Status WriteAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "write");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Creates dir_fd/name exclusively, writes `bytes`, fdatasync()s and closes.
// fdatasync suffices: it flushes the data and the metadata needed to read it
// back (size, block map), which is what "the file is complete" needs. On
// error the file is removed.
absl::Status WriteSynced(int dir_fd, const std::string& name, std::string_view bytes,
                         bool* exists) {
  *exists = false;
  const int fd = openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) *exists = true;
    return ErrnoStatus(errno, Cat("create tmp/", name));
  }
  absl::Status status = WriteAll(fd, bytes);
  if (status.ok() && fdatasync(fd) != 0) status = ErrnoStatus(errno, "fdatasync");
  if (close(fd) != 0 && status.ok()) status = ErrnoStatus(errno, "close");
  if (!status.ok()) {
    unlinkat(dir_fd, name.c_str(), 0);
    const std::string_view detail(status.message().data(), status.message().size());
    return absl::Status(status.code(), Cat("tmp/", name, ": ", detail));
  }
  return absl::OkStatus();
}

// rename() silently replaces an existing target; a Maildir must never lose
// a delivered message to a collision, so the rename refuses to replace.
int RenameNoReplace(int from_dir, const std::string& from, int to_dir, const std::string& to) {
  if (renameat2(from_dir, from.c_str(), to_dir, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // A filesystem without RENAME_NOREPLACE: the spec's original link()+unlink(),
  // which fails with EEXIST instead of replacing.
  if (linkat(from_dir, from.c_str(), to_dir, to.c_str(), 0) != 0) return -1;
  unlinkat(from_dir, from.c_str(), 0);
  return 0;
}

}  // namespace

std::string Maildir::SafeHostname(std::string_view hostname) {
  std::string out;
  out.reserve(hostname.size());
  for (char c : hostname) {
    if (c == '/') {
      out += "\\057";
    } else if (c == ':') {
      out += "\\072";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Maildir::UniqueName(int64_t unix_micros, long pid, uint64_t counter,
                                std::string_view safe_hostname) {
  return Cat(std::to_string(unix_micros / 1000000), ".M", std::to_string(unix_micros % 1000000),
             "P", std::to_string(pid), "Q", std::to_string(counter), ".", safe_hostname);
}

absl::StatusOr<std::unique_ptr<Maildir>> Maildir::Open(std::string root, MaildirOptions options) {
  if (root.empty()) return absl::InvalidArgumentError("Maildir path is empty");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::string hostname = options.hostname;
  if (hostname.empty()) {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return ErrnoStatus(errno, "gethostname");
    hostname = buf;
  }
  for (const std::string& dir : {root, root + "/tmp", root + "/new", root + "/cur",
                                 root + "/envelopes"}) {
    if (absl::Status s = MakeDirectory(dir); !s.ok()) return s;
  }
  std::unique_ptr<Maildir> maildir(
      new Maildir(std::move(root), std::move(options), SafeHostname(hostname)));
  const auto open_dir = [&](const char* sub, int* fd) -> absl::Status {
    const std::string path = Cat(maildir->root_, "/", sub);
    *fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) return ErrnoStatus(errno, Cat("open ", path));
    return absl::OkStatus();
  };
  if (absl::Status s = open_dir("tmp", &maildir->tmp_fd_); !s.ok()) return s;
  if (absl::Status s = open_dir("new", &maildir->new_fd_); !s.ok()) return s;
  if (absl::Status s = open_dir("envelopes", &maildir->envelopes_fd_); !s.ok()) return s;
  return maildir;
}

Maildir::Maildir(std::string root, MaildirOptions options, std::string safe_hostname)
    : root_(std::move(root)), options_(std::move(options)),
      safe_hostname_(std::move(safe_hostname)) {}

Maildir::~Maildir() {
  for (int fd : {tmp_fd_, new_fd_, envelopes_fd_}) {
    if (fd >= 0) close(fd);
  }
}

absl::StatusOr<std::string> Maildir::Deliver(const Delivery& delivery, std::string_view message) {
  std::string name;
  absl::Status status;
  for (int attempt = 0; attempt < kMaxNameAttempts; ++attempt) {
    name = UniqueName(delivery.received_at_us, static_cast<long>(getpid()),
                      counter_.fetch_add(1, std::memory_order_relaxed), safe_hostname_);
    bool exists = false;
    status = WriteSynced(tmp_fd_, name, message, &exists);
    if (status.ok() || !exists) break;
  }
  if (!status.ok()) return status;

  const std::string sidecar = name + ".json";
  bool exists = false;
  status = WriteSynced(tmp_fd_, sidecar, DeliveryToJson(delivery, name, message.size()), &exists);
  if (!status.ok()) {
    unlinkat(tmp_fd_, name.c_str(), 0);
    return status;
  }
  // The sidecar first: whoever sees new/<name> can rely on envelopes/<name>.json.
  if (RenameNoReplace(tmp_fd_, sidecar, envelopes_fd_, sidecar) != 0) {
    status = ErrnoStatus(errno, Cat("rename tmp/", sidecar, " to envelopes/"));
    unlinkat(tmp_fd_, sidecar.c_str(), 0);
    unlinkat(tmp_fd_, name.c_str(), 0);
    return status;
  }
  if (RenameNoReplace(tmp_fd_, name, new_fd_, name) != 0) {
    status = ErrnoStatus(errno, Cat("rename tmp/", name, " to new/"));
    unlinkat(envelopes_fd_, sidecar.c_str(), 0);
    unlinkat(tmp_fd_, name.c_str(), 0);
    return status;
  }
  if (options_.sync_directories) {
    for (int fd : {envelopes_fd_, new_fd_}) {
      if (fsync(fd) != 0) return ErrnoStatus(errno, "fsync directory");
    }
  }
  return name;
}

}  // namespace mxkit::fakemx
