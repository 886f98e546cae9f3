#include "fakemx/tls_setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "smtp/address.h"
#include "tls/cert_factory.h"

namespace mxkit::fakemx {
namespace {

absl::Status FileError(int err, const std::string& what) {
  return absl::UnavailableError(what + ": " + std::strerror(err));
}

absl::Status MakeDirectory(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) == 0) return absl::OkStatus();
  const int err = errno;
  struct stat st;
  if (err == EEXIST && stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::OkStatus();
  }
  return FileError(err == EEXIST ? ENOTDIR : err, "cannot create " + dir);
}

// Writes `bytes` to dir/name with `mode`, through a temporary name and a
// rename, so a client reading the file while fakemx starts again never sees
// half a key; the mode is set before any byte is written.
absl::Status WriteFile(const std::string& dir, std::string_view name, std::string_view bytes,
                       mode_t mode) {
  const std::string path = dir + "/" + std::string(name);
  const std::string tmp = path + ".tmp";
  const int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return FileError(errno, "cannot create " + tmp);
  absl::Status status;
  if (fchmod(fd, mode) != 0) status = FileError(errno, "cannot chmod " + tmp);
  size_t done = 0;
  while (status.ok() && done < bytes.size()) {
    const ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      status = FileError(errno, "cannot write " + tmp);
    } else {
      done += static_cast<size_t>(n);
    }
  }
  if (close(fd) != 0 && status.ok()) status = FileError(errno, "cannot write " + tmp);
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    status = FileError(errno, "cannot rename " + tmp + " to " + path);
  }
  if (!status.ok()) unlink(tmp.c_str());
  return status;
}

// ServerContext names its option ("cipher_list: ..."); a user knows the flag.
std::string FlagForContextError(std::string_view message, const FakemxFlags& flags) {
  struct Map {
    std::string_view option;
    std::string flag;
  };
  const std::vector<Map> map = {
      {"cipher_list", "--tls-ciphers=" + flags.tls_ciphers},
      {"groups", "--tls-groups=" + flags.tls_groups},
      {"versions", "--tls-versions=" + FlagValue(flags.tls_versions)},
      {"certificate", "--cert=" + std::string(FlagValue(flags.cert))},
  };
  for (const Map& m : map) {
    if (absl::StartsWith(base::Av(message), base::Av(m.option))) return m.flag;
  }
  return "--cert=" + std::string(FlagValue(flags.cert));
}

}  // namespace

std::string CertificateHostname(std::string_view hostname) {
  const std::string lower = base::AsciiLower(hostname);
  const size_t last_dot = lower.rfind('.');
  if (last_dot == std::string::npos || last_dot + 1 >= lower.size()) {
    return std::string(kFallbackCertificateHostname);
  }
  const std::string_view last_label = std::string_view(lower).substr(last_dot + 1);
  bool all_digits = true;
  for (char c : last_label) all_digits = all_digits && base::IsDigit(c);
  if (all_digits || !smtp::ParseHost(lower, /*allow_literal=*/false).ok()) {
    return std::string(kFallbackCertificateHostname);
  }
  return lower;
}

tls::ReceiverProfile ProfileFromFlags(const FakemxFlags& flags) {
  tls::ReceiverProfile profile;
  profile.versions = flags.tls_versions;
  profile.cipher_list = flags.tls_ciphers;
  profile.groups = flags.tls_groups;
  profile.certificate = flags.cert;
  profile.starttls = flags.starttls;
  return profile;
}

absl::StatusOr<TlsSetup> SetUpTls(const FakemxFlags& flags, std::string_view certificate_hostname,
                                  const std::string& dir) {
  tls::CertFactoryOptions factory;
  factory.seed = flags.cert_seed;
  factory.hostname = std::string(certificate_hostname);
  const tls::CertVariant variants[] = {flags.cert};
  absl::StatusOr<tls::CertificateSet> certs = tls::CertificateSet::Generate(factory, variants);
  if (!certs.ok()) {
    return absl::Status(certs.status().code(),
                        "--cert=" + std::string(FlagValue(flags.cert)) + " for " +
                            factory.hostname + ": " + base::StatusText(certs.status()));
  }
  const tls::ReceiverProfile profile = ProfileFromFlags(flags);
  absl::StatusOr<std::shared_ptr<const tls::ServerContext>> context =
      tls::BuildServerContext(profile, *certs);
  if (!context.ok()) {
    const std::string message = base::StatusText(context.status());
    return absl::Status(context.status().code(),
                        FlagForContextError(message, flags) + ": " + message);
  }
  absl::StatusOr<const tls::ServedCertificate*> served = certs->Get(flags.cert);
  if (!served.ok()) return served.status();

  if (absl::Status s = MakeDirectory(dir); !s.ok()) return s;
  if (absl::Status s = WriteFile(dir, kCaFile, certs->root_pem(), 0644); !s.ok()) return s;
  if (absl::Status s = WriteFile(dir, kChainFile, (*served)->chain_pem, 0644); !s.ok()) return s;
  if (absl::Status s = WriteFile(dir, kKeyFile, (*served)->key_pem, 0600); !s.ok()) return s;

  TlsSetup setup;
  setup.context = std::move(*context);
  setup.certificate_variant = std::string(FlagValue(flags.cert));
  setup.certificate_hostname = factory.hostname;
  setup.dir = dir;
  return setup;
}

}  // namespace mxkit::fakemx
