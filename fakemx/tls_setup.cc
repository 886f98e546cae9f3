#include "fakemx/tls_setup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "tls/cert_factory.h"

namespace mxkit::fakemx {
namespace {

absl::Status FileError(int err, const std::string& what) {
  return absl::UnavailableError(what + ": " + std::strerror(err));
}

// NAME_MAX (255) less the longest suffix we add and the ".tmp" of WriteOutputFile.
constexpr size_t kMaxReceiverFileStem = 255 - 16;

// ServerContext and CertificateSet name what failed ("cipher_list: ...");
// the user knows the flag, when a flag gave the setting, and otherwise the
// scenario and receiver that did.
std::string Owner(std::string_view message, size_t index, const Scenario& scenario,
                  const FakemxFlags& flags) {
  const Receiver& r = scenario.receivers[index];
  // Flags only ever set the only receiver (fakemx/scenario_flags.h).
  if (index == 0 && scenario.receivers.size() == 1) {
    struct Map {
      std::string_view option;
      std::string_view flag;
      std::string value;
    };
    const Map map[] = {
        {"cipher_list", "--tls-ciphers", flags.tls_ciphers},
        {"groups", "--tls-groups", flags.tls_groups},
        {"versions", "--tls-versions", FlagValue(flags.tls_versions)},
        {"certificate", "--cert", std::string(FlagValue(flags.cert))},
    };
    for (const Map& m : map) {
      if (absl::StartsWith(base::Av(message), base::Av(m.option)) && flags.Given(m.flag)) {
        return std::string(m.flag) + "=" + m.value;
      }
    }
  }
  std::string owner;
  if (r.position.line > 0) {
    owner = scenario.source + ":" + std::to_string(r.position.line) + ":" +
            std::to_string(r.position.column) + ": ";
  }
  return owner + "scenario " + scenario.name + ", receiver " + r.name;
}

// A receiver's name becomes part of a file name in --tls-dir: a domain is
// fine, anything that could leave the directory or hide the file is not.
absl::Status CheckReceiverFileStem(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxReceiverFileStem && name.front() != '.';
  for (char c : name) {
    ok = ok && (base::IsAlnum(c) || c == '.' || c == '-' || c == '_');
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "receiver " + base::QuoteForMessage(name, 64) +
      ": its name cannot name the files of its certificate in --tls-dir (letters, digits, "
      "'.', '-' and '_' only, not starting with '.', at most " +
      std::to_string(kMaxReceiverFileStem) + " octets)");
}

}  // namespace

absl::Status MakeOutputDirectory(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) == 0) return absl::OkStatus();
  const int err = errno;
  struct stat st;
  if (err == EEXIST && stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::OkStatus();
  }
  return FileError(err == EEXIST ? ENOTDIR : err, "cannot create " + dir);
}

absl::Status WriteOutputFile(const std::string& dir, std::string_view name, std::string_view bytes,
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

std::string CertificateHostname(std::string_view hostname) {
  // The factory's own rule (one home): a lower-cased --hostname it accepts is
  // used as it is, anything else falls back.
  std::string lower = base::AsciiLower(hostname);
  if (!tls::ValidateCertHostname(lower).ok()) return std::string(kFallbackCertificateHostname);
  return lower;
}

absl::StatusOr<ScenarioTls> SetUpScenarioTls(const Scenario& scenario, const FakemxFlags& flags,
                                             const std::string& dir) {
  ScenarioTls out;
  out.dir = dir;
  out.cert_seed = flags.cert_seed;
  // Which variants each certificate name needs: one CertificateSet per name.
  std::map<std::string, std::vector<tls::CertVariant>> variants_by_host;
  for (const Receiver& r : scenario.receivers) {
    ReceiverTls rt;
    rt.receiver = r.name;
    if (r.tls.enabled) {
      if (absl::Status s = CheckReceiverFileStem(r.name); !s.ok()) return s;
      rt.certificate_hostname = CertificateHostname(r.hostname);
      rt.certificate_variant = std::string(FlagValue(r.tls.profile.certificate));
      rt.chain_file = dir + "/" + r.name + std::string(kReceiverChainSuffix);
      rt.key_file = dir + "/" + r.name + std::string(kReceiverKeySuffix);
      variants_by_host[rt.certificate_hostname].push_back(r.tls.profile.certificate);
    }
    out.receivers.push_back(std::move(rt));
  }

  tls::CertFactoryOptions factory;
  factory.seed = flags.cert_seed;
  std::map<std::string, tls::CertificateSet> sets;
  for (const auto& [host, variants] : variants_by_host) {
    factory.hostname = host;
    absl::StatusOr<tls::CertificateSet> certs = tls::CertificateSet::Generate(factory, variants);
    if (!certs.ok()) {
      // The first receiver under this name that asked for a variant.
      size_t index = 0;
      while (out.receivers[index].certificate_hostname != host) ++index;
      return absl::Status(certs.status().code(),
                          Owner("certificate", index, scenario, flags) + ": certificate for " +
                              host + ": " + base::StatusText(certs.status()));
    }
    if (!sets.empty() && certs->root_pem() != sets.begin()->second.root_pem()) {
      // One ca.pem for every receiver rests on the factory deriving its CAs
      // from the seed alone; say so loudly if that ever changes.
      return absl::InternalError("the test root for " + host + " differs from the one for " +
                                 sets.begin()->first +
                                 "; one ca.pem cannot serve both (tls/cert_factory.h)");
    }
    sets.emplace(host, *std::move(certs));
  }

  for (size_t i = 0; i < scenario.receivers.size(); ++i) {
    const Receiver& r = scenario.receivers[i];
    if (!r.tls.enabled) continue;
    const tls::CertificateSet& certs = sets.at(out.receivers[i].certificate_hostname);
    absl::StatusOr<std::shared_ptr<const tls::ServerContext>> context =
        tls::BuildServerContext(r.tls.profile, certs);
    if (!context.ok()) {
      const std::string message = base::StatusText(context.status());
      return absl::Status(context.status().code(),
                          Owner(message, i, scenario, flags) + ": " + message);
    }
    out.receivers[i].context = *std::move(context);
  }

  if (absl::Status s = MakeOutputDirectory(dir); !s.ok()) return s;
  if (!sets.empty()) {
    if (absl::Status s = WriteOutputFile(dir, kCaFile, sets.begin()->second.root_pem(), 0644);
        !s.ok()) {
      return s;
    }
  }
  for (size_t i = 0; i < scenario.receivers.size(); ++i) {
    const ReceiverTls& rt = out.receivers[i];
    if (rt.context == nullptr) continue;
    absl::StatusOr<const tls::ServedCertificate*> served =
        sets.at(rt.certificate_hostname).Get(scenario.receivers[i].tls.profile.certificate);
    if (!served.ok()) return served.status();
    const std::string stem = scenario.receivers[i].name;
    if (absl::Status s = WriteOutputFile(dir, stem + std::string(kReceiverChainSuffix),
                                         (*served)->chain_pem, 0644);
        !s.ok()) {
      return s;
    }
    if (absl::Status s =
            WriteOutputFile(dir, stem + std::string(kReceiverKeySuffix), (*served)->key_pem, 0600);
        !s.ok()) {
      return s;
    }
    if (i == 0) {
      if (absl::Status s = WriteOutputFile(dir, kChainFile, (*served)->chain_pem, 0644); !s.ok()) {
        return s;
      }
      if (absl::Status s = WriteOutputFile(dir, kKeyFile, (*served)->key_pem, 0600); !s.ok())
        return s;
    }
  }
  return out;
}

}  // namespace mxkit::fakemx
