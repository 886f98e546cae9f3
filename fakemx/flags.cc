#include "fakemx/flags.h"

#include <arpa/inet.h>

#include <charconv>
#include <optional>
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

absl::Status ParseEndpoint(std::string_view flag, std::string_view value, std::string* out_host,
                           uint16_t* out_port) {
  const absl::Status status = ParseHostPort(value, out_host, out_port);
  if (status.ok()) return status;
  const absl::string_view why = status.message();
  return Bad(flag, value, std::string_view(why.data(), why.size()));
}

absl::Status CheckHostname(std::string_view flag, std::string_view value) {
  if (value.empty()) return Bad(flag, value, "must not be empty (omit the flag for the default)");
  const absl::Status status = CheckHostnameValue(value);
  if (status.ok()) return status;
  const absl::string_view why = status.message();
  return Bad(flag, value, std::string_view(why.data(), why.size()));
}

struct BareLineEndingName {
  std::string_view value;
  smtp::BareLineEndingPolicy policy;
};
// The enumerators of smtp/data.h, spelled as flag values.
constexpr BareLineEndingName kBareLineEndingNames[] = {
    {"reject", smtp::BareLineEndingPolicy::kReject},
    {"pass-through", smtp::BareLineEndingPolicy::kPassThrough},
    {"accept-bare-lf-as-line-end", smtp::BareLineEndingPolicy::kAcceptBareLfAsLineEnd},
    {"accept-bare-cr-as-line-end", smtp::BareLineEndingPolicy::kAcceptBareCrAsLineEnd},
    {"accept-bare-cr-or-lf-as-line-end", smtp::BareLineEndingPolicy::kAcceptBareCrOrLfAsLineEnd},
};

struct NulName {
  std::string_view value;
  smtp::NulPolicy policy;
};
constexpr NulName kNulNames[] = {
    {"reject", smtp::NulPolicy::kReject},
    {"pass-through", smtp::NulPolicy::kPassThrough},
};

// Flags that take a value.
const std::set<std::string_view>& ValuedFlags() {
  static const std::set<std::string_view> flags = {
      "--smtp",          "--hostname",       "--maildir",          "--idle-timeout",
      "--session-timeout", "--shutdown-grace", "--max-message-size", "--storage-threads",
      "--data-bare-line-endings", "--data-nul", "--cert", "--tls-versions", "--tls-ciphers",
      "--tls-groups", "--starttls", "--smtps", "--tls-dir", "--cert-seed", "--scenario",
      "--capture-max-sessions", "--capture-max-bytes", "--dns", "--mta-sts-port", "--api"};
  return flags;
}

// The leniencies of smtp/command.h by name: "--NAME" switches here,
// `leniencies: [NAME]` in scenario files (fakemx/scenario.h).
constexpr CommandLeniencyName kLeniencyNames[] = {
    {"allow-space-before-path", &smtp::CommandLeniencies::allow_space_before_path},
    {"allow-missing-angle-brackets", &smtp::CommandLeniencies::allow_missing_angle_brackets},
    {"allow-helo-address-literal", &smtp::CommandLeniencies::allow_helo_address_literal},
    {"allow-long-auth-line", &smtp::CommandLeniencies::allow_long_auth_line},
};

// Switches: present or not, no value. Each points at the member it sets:
// a flag of FakemxFlags or a leniency.
struct Switch {
  std::string_view name;
  bool FakemxFlags::*flag;
  bool smtp::CommandLeniencies::*leniency;
};

// The flags one receiver's settings come from; see PerReceiverFlags.
constexpr std::string_view kPerReceiverFlags[] = {
    "--smtp",
    "--smtps",
    "--hostname",
    "--cert",
    "--starttls",
    "--tls-versions",
    "--tls-ciphers",
    "--tls-groups",
    "--max-message-size",
    "--allow-space-before-path",
    "--allow-missing-angle-brackets",
    "--allow-helo-address-literal",
    "--allow-long-auth-line",
    "--data-bare-line-endings",
    "--data-nul",
};

std::optional<Switch> FindSwitch(std::string_view name) {
  if (name == "--verbose") return Switch{name, &FakemxFlags::verbose, nullptr};
  if (name == "--list-scenarios") return Switch{name, &FakemxFlags::list_scenarios, nullptr};
  if (name.substr(0, 2) != "--") return std::nullopt;
  for (const CommandLeniencyName& n : kLeniencyNames) {
    if (n.name == name.substr(2)) return Switch{name, nullptr, n.member};
  }
  return std::nullopt;
}

absl::Status CheckTlsList(std::string_view flag, std::string_view value) {
  if (value.empty()) return Bad(flag, value, "must not be empty (omit the flag for the default)");
  const absl::Status status = CheckTlsListValue(value);
  if (status.ok()) return status;
  const absl::string_view why = status.message();
  const std::string shown = value.size() > kMaxTlsListFlag
                                ? std::string(value.substr(0, 32)) + "..."
                                : std::string(value);
  return Bad(flag, shown, std::string_view(why.data(), why.size()));
}

// `words` joined by ", ", wrapped for --help at 80 columns under the
// description column.
std::string WrapForUsage(const std::string& words) {
  constexpr size_t kIndent = 28, kWidth = 80;
  std::string out(kIndent, ' ');
  size_t column = kIndent;
  size_t start = 0;
  while (start < words.size()) {
    size_t end = words.find(' ', start);
    if (end == std::string::npos) end = words.size();
    const std::string_view word = std::string_view(words).substr(start, end - start);
    if (column > kIndent && column + 1 + word.size() > kWidth) {
      out += "\n" + std::string(kIndent, ' ');
      column = kIndent;
    } else if (column > kIndent) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    start = end + 1;
  }
  return out + "\n";
}

template <typename Name, size_t N>
std::string Choices(const Name (&names)[N]) {
  std::string out;
  for (const Name& n : names) {
    if (!out.empty()) out += ", ";
    out += n.value;
  }
  return out;
}

}  // namespace

absl::Status ParseHostPort(std::string_view value, std::string* out_host, uint16_t* out_port) {
  std::string_view host, port;
  if (!value.empty() && value.front() == '[') {
    const size_t close = value.find(']');
    if (close == std::string_view::npos) {
      return absl::InvalidArgumentError("'[' without a closing ']'");
    }
    host = value.substr(1, close - 1);
    if (close + 1 >= value.size() || value[close + 1] != ':') {
      return absl::InvalidArgumentError("expected HOST:PORT, e.g. [::1]:2525");
    }
    port = value.substr(close + 2);
    in6_addr addr6;
    if (inet_pton(AF_INET6, std::string(host).c_str(), &addr6) != 1) {
      return absl::InvalidArgumentError("'" + std::string(host) + "' is not an IPv6 address");
    }
  } else {
    const size_t colon = value.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(
          "expected HOST:PORT, e.g. 127.0.0.1:2525 (port 0 = any free port)");
    }
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return absl::InvalidArgumentError("an IPv6 address needs brackets, e.g. [::1]:2525");
    }
    in_addr addr4;
    if (inet_pton(AF_INET, std::string(host).c_str(), &addr4) != 1) {
      return absl::InvalidArgumentError("'" + std::string(host) +
                                        "' is not an IPv4 address (names are not resolved)");
    }
  }
  uint64_t p = 0;
  if (!ParseUnsigned(port, &p) || p > 65535) {
    return absl::InvalidArgumentError("port '" + std::string(port) +
                                      "' is not a number from 0 to 65535");
  }
  *out_host = std::string(host);
  *out_port = static_cast<uint16_t>(p);
  return absl::OkStatus();
}

// RFC 1035 §2.3.4 / RFC 5321 §2.3.5: what we announce in 220/250 must be a
// domain a client can parse; we only refuse what would break the reply line.
absl::Status CheckHostnameValue(std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError("must not be empty");
  if (value.size() > smtp::kMaxDomain) {
    return absl::InvalidArgumentError("longer than 255 octets (RFC 5321 §4.5.3.1.2)");
  }
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      return absl::InvalidArgumentError("contains a space, control or non-ASCII character");
    }
  }
  return absl::OkStatus();
}


// A list handed to BoringSSL as a C string at start, where an unknown name
// is caught (main.cc); here only what cannot be a list of names.
absl::Status CheckTlsListValue(std::string_view value) {
  if (value.empty()) return absl::InvalidArgumentError("must not be empty");
  if (value.size() > kMaxTlsListFlag) {
    return absl::InvalidArgumentError("longer than " + std::to_string(kMaxTlsListFlag) +
                                      " characters");
  }
  for (char c : value) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      return absl::InvalidArgumentError("contains a space, control or non-ASCII character");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<smtp::BareLineEndingPolicy> ParseBareLineEndingPolicy(std::string_view name) {
  for (const BareLineEndingName& n : kBareLineEndingNames) {
    if (n.value == name) return n.policy;
  }
  return absl::InvalidArgumentError("not a policy; one of " + BareLineEndingPolicyNameList());
}

std::string BareLineEndingPolicyNameList() { return Choices(kBareLineEndingNames); }

absl::StatusOr<smtp::NulPolicy> ParseNulPolicy(std::string_view name) {
  for (const NulName& n : kNulNames) {
    if (n.value == name) return n.policy;
  }
  return absl::InvalidArgumentError("not a policy; one of " + NulPolicyNameList());
}

std::string NulPolicyNameList() { return Choices(kNulNames); }

absl::Span<const CommandLeniencyName> CommandLeniencyNames() { return kLeniencyNames; }

std::string CommandLeniencyNameList() {
  std::string out;
  for (const CommandLeniencyName& n : kLeniencyNames) {
    if (!out.empty()) out += ", ";
    out += n.name;
  }
  return out;
}

std::string_view FlagValue(smtp::BareLineEndingPolicy policy) {
  for (const BareLineEndingName& n : kBareLineEndingNames) {
    if (n.policy == policy) return n.value;
  }
  return "reject";
}

std::string_view FlagValue(smtp::NulPolicy policy) {
  for (const NulName& n : kNulNames) {
    if (n.policy == policy) return n.value;
  }
  return "reject";
}

std::string_view FlagValue(tls::CertVariant variant) { return tls::CertVariantName(variant); }

std::string_view FlagValue(tls::StartTlsBehaviour behaviour) {
  return tls::StartTlsBehaviourName(behaviour);
}

std::string FlagValue(const tls::VersionRange& range) { return tls::FormatVersionRange(range); }

std::string FlagsUsage() {
  return "usage: fakemx [flags]\n"
         "\n"
         "A fake MX server: plays one or more receivers (fake MX hosts) as a scenario\n"
         "says, accepts SMTP, and records every session and every message it\n"
         "acknowledges in memory, and with --maildir in a Maildir (see\n"
         "fakemx/README.md and docs/scenarios.md).\n"
         "\n"
         "  --scenario=NAME|FILE      what to play: a built-in scenario (--list-scenarios)\n"
         "                            or a YAML file (default good: accepts everything,\n"
         "                            STARTTLS with a good certificate, on 127.0.0.1:2525)\n"
         "  --list-scenarios          print the built-in scenarios and exit\n"
         "  --smtp=HOST:PORT          the receiver's (first) SMTP listener, replacing the\n"
         "                            scenario's (default: the scenario's; port 0 picks a\n"
         "                            free port, printed at start). IPv6: [::1]:2525\n"
         "  --hostname=NAME           our name in the greeting and replies (default: the\n"
         "                            scenario's, mx.example.test for the built-in ones)\n"
         "  --maildir=DIR             also spool each message into this Maildir, fsynced\n"
         "                            before its 250 (default: none, messages are captured\n"
         "                            in memory only)\n"
         "  --capture-max-sessions=N  sessions the in-memory capture keeps; the oldest\n"
         "                            are evicted beyond it (default 10000; 0 keeps none)\n"
         "  --capture-max-bytes=BYTES message and transcript bytes the capture keeps,\n"
         "                            about (default 268435456, 256 MiB)\n"
         "\n"
         "With a scenario of one receiver, --smtp, --smtps, --hostname, --cert,\n"
         "--starttls, --tls-*, --max-message-size, the leniencies and --data-* override\n"
         "its settings when given. With several receivers they are an error (set them\n"
         "in the scenario file); the other flags apply to any scenario.\n"
         "\n"
         "  --idle-timeout=SECONDS    close a connection silent for this long with 421\n"
         "                            (default 300, RFC 5321 §4.5.3.2.7; when given, also\n"
         "                            for receivers whose scenario sets its own)\n"
         "  --session-timeout=SECONDS close any connection after this long with 421\n"
         "                            (default 3600)\n"
         "  --shutdown-grace=SECONDS  on SIGINT/SIGTERM, how long in-flight transactions\n"
         "                            may take to finish (default 30)\n"
         "  --max-message-size=BYTES  largest message accepted, advertised with SIZE\n"
         "                            (default 10485760; at least 65536,\n"
         "                            RFC 5321 §4.5.3.1.7)\n"
         "  --storage-threads=N       threads writing and fsyncing messages into\n"
         "                            --maildir (default 16); 0 stores on the network\n"
         "                            thread (for tmpfs: a slow disk then stalls every\n"
         "                            connection)\n"
         "  --dns=HOST:PORT|off       serve the scenario's DNS (MX, A, SPF, DKIM, DMARC,\n"
         "                            MTA-STS, TLS-RPT, TLSA records and its faults) over\n"
         "                            UDP and TCP on this address (default\n"
         "                            127.0.0.1:5353; port 0 picks a free port, printed\n"
         "                            at start); off: no DNS server\n"
         "  --api=HOST:PORT|off       serve the HTTP API (JSON, Mailpit's subset,\n"
         "                            /metrics; docs/api.md) on this address (default\n"
         "                            127.0.0.1:8025; port 0 picks a free port, printed\n"
         "                            at start); off: no API\n"
         "  --mta-sts-port=N          the HTTPS port of every MTA-STS policy host,\n"
         "                            replacing the scenario's (443 by default); 0 picks\n"
         "                            a free one, printed at start\n"
         "  --verbose                 log to stderr one line per connection and per reply\n"
         "                            sent (time, client address:port, reply code and\n"
         "                            text), and the TLS outcome of each handshake\n"
         "  --help                    this text\n"
         "  --version                 print the version and exit\n"
         "\n"
         "Leniencies (all off: fakemx is strict unless told otherwise):\n"
         "  --allow-space-before-path     accept \"MAIL FROM: <a@b>\" (RFC 5321 §4.1.2\n"
         "                                says no space; Postfix and Exim accept it)\n"
         "  --allow-missing-angle-brackets\n"
         "                                accept \"MAIL FROM:a@b\" (RFC 5321 §4.1.2\n"
         "                                requires the brackets; RFC 821-era clients\n"
         "                                omit them)\n"
         "  --allow-helo-address-literal  accept \"HELO [192.0.2.1]\" (RFC 5321 §4.1.1.1\n"
         "                                allows a literal only after EHLO)\n"
         "  --allow-long-auth-line        frame an AUTH command up to 12288 octets\n"
         "                                (RFC 4954 §4 keeps it within 512; XOAUTH2\n"
         "                                clients exceed it)\n"
         "  --data-bare-line-endings=POLICY\n"
         "                            bare CR / bare LF in DATA (RFC 5321 §2.3.8), one of\n"
         "                            the policies of smtp/data.h:\n"
         "      reject                      refuse the message with 550 (default)\n"
         "      pass-through                keep them as message bytes; only CRLF.CRLF\n"
         "                                  ends the data\n"
         "      accept-bare-lf-as-line-end  a bare LF ends a line, so \"\\n.\\n\" ends the\n"
         "                                  data (CVE-2023-51764/51765/51766)\n"
         "      accept-bare-cr-as-line-end  a bare CR ends a line, so \"\\r.\\r\\n\" ends\n"
         "                                  the data\n"
         "      accept-bare-cr-or-lf-as-line-end  both\n"
         "                            WARNING: the accept-* policies make fakemx\n"
         "                            VULNERABLE to SMTP smuggling on purpose, to\n"
         "                            reproduce such a receiver in tests. Never put it in\n"
         "                            front of real mail.\n"
         "  --data-nul=POLICY         NUL in DATA (RFC 5321 §4.1.1.4): reject (default,\n"
         "                            550) or pass-through (stored as sent)\n"
         "BDAT is not offered; its content would be counted octets, to which neither\n"
         "DATA policy applies.\n"
         "\n"
         "TLS (STARTTLS, RFC 3207; implicit TLS, RFC 8314). At start fakemx makes a test\n"
         "PKI from --cert-seed and writes ca.pem (the root to trust), chain.pem (what the\n"
         "first receiver serves) and key.pem (its key, mode 0600) into --tls-dir, and\n"
         "NAME.chain.pem and NAME.key.pem for every receiver NAME. A certificate is\n"
         "issued for its receiver's hostname when that is a DNS name of at least two\n"
         "labels, else for mx.test; the first receiver's is printed at start. The\n"
         "defaults below are the built-in scenarios'; a scenario file sets its own.\n"
         "  --cert=VARIANT            the certificate served (default good):\n" +
         WrapForUsage(tls::CertVariantNameList()) +
         "  --tls-versions=RANGE      protocol versions, \"1.2-1.3\" (default) or \"1.0\";\n"
         "                            1.0, 1.1, 1.2, 1.3\n"
         "  --tls-ciphers=LIST        TLS 1.0-1.2 cipher suites in BoringSSL's syntax,\n"
         "                            \"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-SHA\"\n"
         "                            (default: BoringSSL's; TLS 1.3 suites are fixed)\n"
         "  --tls-groups=LIST         key exchange groups, \"X25519:P-256\" (default:\n"
         "                            BoringSSL's)\n"
         "  --starttls=BEHAVIOUR      how STARTTLS is handled (default offer):\n"
         "      offer                 advertise it, 220, handshake\n"
         "      hide                  do not advertise it (STARTTLS gets 502)\n"
         "      refuse-454            advertise it, answer 454 4.7.0\n"
         "      refuse-502            advertise it, answer 502 5.5.1\n"
         "      abort-after-220       220, then close before any handshake byte\n"
         "      alert-after-220       220, then a fatal handshake_failure alert\n"
         "      stall-handshake       220, then never answer the ClientHello (until\n"
         "                            --idle-timeout)\n"
         "      inject-after-220      220 followed in the same write by plaintext replies\n"
         "                            (tests a client for response injection)\n"
         "  --smtps=HOST:PORT         also listen for implicit TLS (handshake first, then\n"
         "                            the greeting; no STARTTLS), as on port 465,\n"
         "                            replacing the scenario's smtps listener. Off unless\n"
         "                            given or in the scenario\n"
         "  --tls-dir=DIR             where the PEM files go (default: a\n"
         "                            fresh temporary directory, printed at start)\n"
         "  --cert-seed=N             seed of the test PKI (default 1): the same seed\n"
         "                            gives the same keys and certificates\n";
}

absl::Span<const std::string_view> PerReceiverFlags() { return kPerReceiverFlags; }

std::vector<std::string_view> GivenPerReceiverFlags(const FakemxFlags& flags) {
  std::vector<std::string_view> given;
  for (std::string_view name : kPerReceiverFlags) {
    if (flags.Given(name)) given.push_back(name);
  }
  return given;
}

absl::StatusOr<FakemxFlags> ParseFlags(const std::vector<std::string_view>& args) {
  FakemxFlags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--help" || arg == "-h") {
      flags.help = true;
      return flags;
    }
    if (arg == "--version") {
      flags.version = true;
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
    const std::optional<Switch> is_switch = FindSwitch(name);
    if (!is_switch && ValuedFlags().count(name) == 0) {
      return absl::InvalidArgumentError("unknown flag " + std::string(name) + " (see --help)");
    }
    if (is_switch && has_value) {
      return absl::InvalidArgumentError(std::string(arg) + ": " + std::string(name) +
                                        " is a switch and takes no value");
    }
    if (!is_switch && !has_value) {
      if (i + 1 >= args.size()) {
        return absl::InvalidArgumentError(std::string(name) + " needs a value: " +
                                          std::string(name) + "=VALUE");
      }
      // "--maildir --smtp=..." forgot the maildir; taking the next flag as
      // the value would create a directory named "--smtp=...".
      if (args[i + 1].substr(0, 2) == "--") {
        return absl::InvalidArgumentError(
            std::string(name) + " needs a value, but the next argument " +
            std::string(args[i + 1]) + " is a flag; write " + std::string(name) +
            "=VALUE to give a value that starts with --");
      }
      value = args[++i];
    }
    if (!flags.given.insert(std::string(name)).second) {
      return absl::InvalidArgumentError(std::string(name) +
                                        " given more than once; give each flag once");
    }
    absl::Status status;
    if (is_switch) {
      if (is_switch->flag != nullptr) {
        flags.*(is_switch->flag) = true;
      } else {
        flags.command_leniencies.*(is_switch->leniency) = true;
      }
    } else if (name == "--scenario") {
      // Which name or file it is, and whether it parses, is decided at
      // start (fakemx/scenario.h); here only what cannot be either.
      if (value.empty()) {
        status = Bad(name, value, "must not be empty (omit it for the default, good)");
      } else if (value.size() > kMaxScenarioFlag) {
        status = Bad(name, std::string(value.substr(0, 32)) + "...",
                     "longer than " + std::to_string(kMaxScenarioFlag) + " characters");
      } else {
        flags.scenario = std::string(value);
      }
    } else if (name == "--capture-max-sessions") {
      if (!ParseUnsigned(value, &flags.capture_max_sessions)) {
        status = Bad(name, value, "not a whole number of sessions");
      }
    } else if (name == "--capture-max-bytes") {
      if (!ParseUnsigned(value, &flags.capture_max_bytes)) {
        status = Bad(name, value, "not a whole number of bytes");
      }
    } else if (name == "--data-bare-line-endings") {
      absl::StatusOr<smtp::BareLineEndingPolicy> policy = ParseBareLineEndingPolicy(value);
      if (policy.ok()) {
        flags.data_bare_line_endings = *policy;
      } else {
        status = Bad(name, value, "not a policy; one of " + BareLineEndingPolicyNameList());
      }
    } else if (name == "--data-nul") {
      absl::StatusOr<smtp::NulPolicy> policy = ParseNulPolicy(value);
      if (policy.ok()) {
        flags.data_nul = *policy;
      } else {
        status = Bad(name, value, "not a policy; one of " + NulPolicyNameList());
      }
    } else if (name == "--smtp") {
      status = ParseEndpoint(name, value, &flags.smtp_host, &flags.smtp_port);
    } else if (name == "--smtps") {
      status = ParseEndpoint(name, value, &flags.smtps_host, &flags.smtps_port);
      flags.smtps = status.ok();
    } else if (name == "--dns") {
      if (value == "off") {
        flags.dns = false;
      } else {
        status = ParseEndpoint(name, value, &flags.dns_host, &flags.dns_port);
      }
    } else if (name == "--api") {
      if (value == "off") {
        flags.api = false;
      } else {
        status = ParseEndpoint(name, value, &flags.api_host, &flags.api_port);
      }
    } else if (name == "--mta-sts-port") {
      uint64_t n = 0;
      if (!ParseUnsigned(value, &n) || n > 65535) {
        status = Bad(name, value, "not a port number from 0 to 65535");
      } else {
        flags.mta_sts_port_given = true;
        flags.mta_sts_port = static_cast<uint16_t>(n);
      }
    } else if (name == "--cert") {
      absl::StatusOr<tls::CertVariant> variant = tls::ParseCertVariant(value);
      if (variant.ok()) {
        flags.cert = *variant;
      } else {
        status = Bad(name, value,
                     "not a certificate variant; one of " + tls::CertVariantNameList());
      }
    } else if (name == "--starttls") {
      absl::StatusOr<tls::StartTlsBehaviour> behaviour = tls::ParseStartTlsBehaviour(value);
      if (behaviour.ok()) {
        flags.starttls = *behaviour;
      } else {
        status = Bad(name, value,
                     "not a STARTTLS behaviour; one of " + tls::StartTlsBehaviourNameList());
      }
    } else if (name == "--tls-versions") {
      absl::StatusOr<tls::VersionRange> range = tls::ParseVersionRange(value);
      if (range.ok()) {
        flags.tls_versions = *range;
      } else {
        const absl::string_view why = range.status().message();
        status = Bad(name, value, std::string(why.data(), why.size()));
      }
    } else if (name == "--tls-ciphers") {
      status = CheckTlsList(name, value);
      flags.tls_ciphers = std::string(value);
    } else if (name == "--tls-groups") {
      status = CheckTlsList(name, value);
      flags.tls_groups = std::string(value);
    } else if (name == "--tls-dir") {
      if (value.empty()) status = Bad(name, value, "must not be empty (omit it for a temporary one)");
      flags.tls_dir = std::string(value);
    } else if (name == "--cert-seed") {
      if (!ParseUnsigned(value, &flags.cert_seed)) {
        status = Bad(name, value, "not a whole number from 0 to 18446744073709551615");
      }
    } else if (name == "--hostname") {
      status = CheckHostname(name, value);
      flags.hostname = std::string(value);
    } else if (name == "--maildir") {
      if (value.empty()) {
        status = Bad(name, value, "must not be empty (omit it to capture in memory only)");
      }
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
