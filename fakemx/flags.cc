#include "fakemx/flags.h"

#include <arpa/inet.h>

#include <charconv>
#include <set>
#include <string>

#include "absl/status/status.h"

namespace mxkit::fakemx {
namespace {

absl::Status Bad(std::string_view flag, std::string_view value, std::string_view why) {
  std::string message(flag);
  message += '=';
  message += value;
  message += ": ";
  message += why;
  return absl::InvalidArgumentError(message);
}

bool ParseUnsigned(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

absl::Status ParseSeconds(std::string_view flag, std::string_view value, int64_t* out) {
  uint64_t n = 0;
  if (!ParseUnsigned(value, &n)) return Bad(flag, value, "not a whole number of seconds");
  if (n == 0) return Bad(flag, value, "must be at least 1 second");
  if (n > static_cast<uint64_t>(kMaxTimeoutSeconds)) {
    return Bad(flag, value, "more than a day (" + std::to_string(kMaxTimeoutSeconds) +
                                " seconds); is that a typo?");
  }
  *out = static_cast<int64_t>(n);
  return absl::OkStatus();
}

absl::Status ParseEndpoint(std::string_view flag, std::string_view value, FakemxFlags* flags) {
  std::string_view host, port;
  if (!value.empty() && value.front() == '[') {
    const size_t close = value.find(']');
    if (close == std::string_view::npos) return Bad(flag, value, "'[' without a closing ']'");
    host = value.substr(1, close - 1);
    if (close + 1 >= value.size() || value[close + 1] != ':') {
      return Bad(flag, value, "expected HOST:PORT, e.g. [::1]:2525");
    }
    port = value.substr(close + 2);
    in6_addr addr6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &addr6) != 1) {
      return Bad(flag, value, "'" + std::string(host) + "' is not an IPv6 address");
    }
  } else {
    const size_t colon = value.rfind(':');
    if (colon == std::string_view::npos) {
      return Bad(flag, value, "expected HOST:PORT, e.g. 127.0.0.1:2525 (port 0 = any free port)");
    }
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Bad(flag, value, "an IPv6 address needs brackets, e.g. [::1]:2525");
    }
    in_addr addr4;
    if (inet_pton(AF_INET, std::string(host).c_str(), &addr4) != 1) {
      return Bad(flag, value,
                 "'" + std::string(host) + "' is not an IPv4 address (names are not resolved)");
    }
  }
  uint64_t p = 0;
  if (!ParseUnsigned(port, &p) || p > 65535) {
    return Bad(flag, value, "port '" + std::string(port) + "' is not a number from 0 to 65535");
  }
  flags->smtp_host = std::string(host);
  flags->smtp_port = static_cast<uint16_t>(p);
  return absl::OkStatus();
}

// RFC 1035 §2.3.4 / RFC 5321 §2.3.5: what we announce in 220/250 must be a
// domain a client can parse; we only refuse what would break the reply line.
absl::Status CheckHostname(std::string_view flag, std::string_view value) {
  if (value.empty()) return Bad(flag, value, "must not be empty (omit the flag for the default)");
  if (value.size() > smtp::kMaxDomain) {
    return Bad(flag, value, "longer than 255 octets (RFC 5321 §4.5.3.1.2)");
  }
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      return Bad(flag, value, "contains a space, control or non-ASCII character");
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string FlagsUsage() {
  return "usage: fakemx [flags]\n"
         "\n"
         "A fake MX server: accepts SMTP on --smtp and stores every message it\n"
         "acknowledges with 250 in a Maildir (see fakemx/README.md).\n"
         "\n"
         "  --smtp=HOST:PORT          listen address (default 127.0.0.1:2525; port 0 picks\n"
         "                            a free port, printed at start). IPv6: [::1]:2525\n"
         "  --hostname=NAME           our name in the greeting and replies (default: the\n"
         "                            machine's hostname)\n"
         "  --maildir=DIR             where messages go (default: a fresh temporary\n"
         "                            directory, printed at start)\n"
         "  --idle-timeout=SECONDS    close a connection silent for this long with 421\n"
         "                            (default 300, RFC 5321 §4.5.3.2.7)\n"
         "  --session-timeout=SECONDS close any connection after this long with 421\n"
         "                            (default 3600)\n"
         "  --shutdown-grace=SECONDS  on SIGINT/SIGTERM, how long in-flight transactions\n"
         "                            may take to finish (default 30)\n"
         "  --max-message-size=BYTES  largest message accepted, advertised with SIZE\n"
         "                            (default 10485760; at least 65536, RFC 5321 §4.5.3.1.7)\n"
         "  --storage-threads=N       threads writing and fsyncing messages (default 16);\n"
         "                            0 stores on the network thread (for tmpfs: a slow\n"
         "                            disk then stalls every connection)\n"
         "  --help                    this text\n";
}

absl::StatusOr<FakemxFlags> ParseFlags(const std::vector<std::string_view>& args) {
  FakemxFlags flags;
  std::set<std::string, std::less<>> seen;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      return flags;
    }
    if (arg.substr(0, 2) != "--" || arg.size() == 2) {
      return absl::InvalidArgumentError("unexpected argument '" + std::string(arg) +
                                        "': fakemx takes only --flags (see --help)");
    }
    std::string_view name = arg, value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    static const std::set<std::string_view> kKnown = {
        "--smtp",         "--hostname",        "--maildir",          "--idle-timeout",
        "--session-timeout", "--shutdown-grace", "--max-message-size",
        "--storage-threads"};
    if (kKnown.count(name) == 0) {
      return absl::InvalidArgumentError("unknown flag " + std::string(name) + " (see --help)");
    }
    if (!has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(std::string(name) + " needs a value: " +
                                          std::string(name) + "=VALUE");
      }
      value = args[++i];
    }
    if (!seen.insert(std::string(name)).second) {
      return absl::InvalidArgumentError(std::string(name) +
                                        " given more than once; give each flag once");
    }
    absl::Status status;
    if (name == "--smtp") {
      status = ParseEndpoint(name, value, &flags);
    } else if (name == "--hostname") {
      status = CheckHostname(name, value);
      flags.hostname = std::string(value);
    } else if (name == "--maildir") {
      if (value.empty()) status = Bad(name, value, "must not be empty (omit it for a temporary one)");
      flags.maildir = std::string(value);
    } else if (name == "--idle-timeout") {
      status = ParseSeconds(name, value, &flags.idle_timeout_seconds);
    } else if (name == "--session-timeout") {
      status = ParseSeconds(name, value, &flags.session_timeout_seconds);
    } else if (name == "--shutdown-grace") {
      status = ParseSeconds(name, value, &flags.shutdown_grace_seconds);
    } else if (name == "--storage-threads") {
      uint64_t n = 0;
      if (!ParseUnsigned(value, &n) || n > static_cast<uint64_t>(kMaxStorageThreads)) {
        status = Bad(name, value, "not a number of threads from 0 to " +
                                      std::to_string(kMaxStorageThreads));
      } else {
        flags.storage_threads = static_cast<int64_t>(n);
      }
    } else if (name == "--max-message-size") {
      uint64_t n = 0;
      if (!ParseUnsigned(value, &n)) {
        status = Bad(name, value, "not a whole number of bytes");
      } else if (n < smtp::kMinMessageContent) {
        status = Bad(name, value,
                     "below 65536; RFC 5321 §4.5.3.1.7 requires accepting at least 64K octets");
      } else {
        flags.max_message_size = n;
      }
    }
    if (!status.ok()) return status;
  }
  return flags;
}

}  // namespace mxkit::fakemx
