#include "fakemx/maildir.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <span>
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

// Creates dir_fd/name exclusively and writes `bytes`; returns the open fd
// (-1 on error, with the file removed). `*exists` reports a name collision.
int CreateAndWrite(int dir_fd, const std::string& name, std::string_view bytes, bool* exists,
                   absl::Status* status) {
  *exists = false;
  const int fd = openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) *exists = true;
    *status = ErrnoStatus(errno, Cat("create tmp/", name));
    return -1;
  }
  if (absl::Status s = WriteAll(fd, bytes); !s.ok()) {
    const std::string_view detail(s.message().data(), s.message().size());
    *status = absl::Status(s.code(), Cat("tmp/", name, ": ", detail));
    close(fd);
    unlinkat(dir_fd, name.c_str(), 0);
    return -1;
  }
  return fd;
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
  const DeliveryRequest request{&delivery, message};
  return std::move(DeliverBatch({&request, 1})[0]);
}

std::vector<absl::StatusOr<std::string>> Maildir::DeliverBatch(
    std::span<const DeliveryRequest> requests) {
  struct Item {
    std::string name;
    int message_fd = -1;
    int sidecar_fd = -1;
    absl::Status status;
  };
  std::vector<Item> items(requests.size());
  const auto sidecar_of = [](const Item& item) { return item.name + ".json"; };
  const auto discard = [&](Item& item, absl::Status status) {
    for (int* fd : {&item.message_fd, &item.sidecar_fd}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
    unlinkat(tmp_fd_, item.name.c_str(), 0);
    unlinkat(tmp_fd_, sidecar_of(item).c_str(), 0);
    item.status = std::move(status);
  };

  // 1. Write every file of the batch into tmp/.
  for (size_t i = 0; i < requests.size(); ++i) {
    Item& item = items[i];
    const Delivery& delivery = *requests[i].delivery;
    const std::string_view message = requests[i].message;
    for (int attempt = 0; attempt < kMaxNameAttempts; ++attempt) {
      item.name = UniqueName(delivery.received_at_us, static_cast<long>(getpid()),
                             counter_.fetch_add(1, std::memory_order_relaxed), safe_hostname_);
      bool exists = false;
      item.message_fd = CreateAndWrite(tmp_fd_, item.name, message, &exists, &item.status);
      if (item.message_fd >= 0 || !exists) break;
    }
    if (item.message_fd < 0) continue;
    bool exists = false;
    item.sidecar_fd = CreateAndWrite(tmp_fd_, sidecar_of(item),
                                     DeliveryToJson(delivery, item.name, message.size()), &exists,
                                     &item.status);
    if (item.sidecar_fd < 0) discard(item, item.status);
  }
  // 2. Start writeback of all of them before waiting on any, so the data
  // writes of the batch overlap and the first fdatasync's journal commit
  // covers their block allocations.
  for (const Item& item : items) {
    for (int fd : {item.message_fd, item.sidecar_fd}) {
      if (fd >= 0) sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    }
  }
  // 3. fdatasync each file (the Maildir rule: the file is complete on disk
  // before its name appears in new/).
  for (Item& item : items) {
    if (item.message_fd < 0) continue;
    absl::Status status;
    for (int* fd : {&item.message_fd, &item.sidecar_fd}) {
      if (status.ok() && fdatasync(*fd) != 0) {
        status = ErrnoStatus(errno, Cat("fdatasync tmp/", item.name));
      }
      if (close(*fd) != 0 && status.ok()) status = ErrnoStatus(errno, Cat("close tmp/", item.name));
      *fd = -1;
    }
    if (!status.ok()) discard(item, std::move(status));
  }
  // 4. The sidecar first: whoever sees new/<name> can rely on
  // envelopes/<name>.json. Renames never replace (RenameNoReplace).
  bool renamed_any = false;
  for (Item& item : items) {
    if (!item.status.ok()) continue;
    const std::string sidecar = sidecar_of(item);
    if (RenameNoReplace(tmp_fd_, sidecar, envelopes_fd_, sidecar) != 0) {
      discard(item, ErrnoStatus(errno, Cat("rename tmp/", sidecar, " to envelopes/")));
      continue;
    }
    if (RenameNoReplace(tmp_fd_, item.name, new_fd_, item.name) != 0) {
      absl::Status status = ErrnoStatus(errno, Cat("rename tmp/", item.name, " to new/"));
      unlinkat(envelopes_fd_, sidecar.c_str(), 0);
      discard(item, std::move(status));
      continue;
    }
    renamed_any = true;
  }
  // A failure here leaves the messages in new/ yet reports an error: the
  // client retries and may deliver twice, which is SMTP's answer to an
  // uncertain outcome (RFC 5321 §6.1), never a lost 250.
  if (options_.sync_directories && renamed_any) {
    for (int fd : {envelopes_fd_, new_fd_}) {
      if (fsync(fd) != 0) {
        const absl::Status status = ErrnoStatus(errno, "fsync directory");
        for (Item& item : items) {
          if (item.status.ok()) item.status = status;
        }
        break;
      }
    }
  }

  std::vector<absl::StatusOr<std::string>> results;
  results.reserve(items.size());
  for (Item& item : items) {
    if (item.status.ok()) {
      results.emplace_back(std::move(item.name));
    } else {
      results.emplace_back(std::move(item.status));
    }
  }
  return results;
}

}  // namespace mxkit::fakemx
