// Fuzzes fakemx's command-line parser (fakemx/flags.h). The input is split at
// NUL bytes into arguments.
//
// Properties:
//   - never crashes; an error is InvalidArgument with a message naming a flag
//     or the argument;
//   - a successful parse, written back as "--flag=value" arguments, parses to
//     the same values (format(parse(x)) round-trips), and every flag recorded
//     as given is given again (the writing back gives at least those).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fakemx/flags.h"

namespace {

using mxkit::fakemx::FakemxFlags;
using mxkit::fakemx::ParseFlags;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// More arguments than fakemx has flags exercise only repetition errors.
constexpr size_t kMaxArgs = 24;

bool Same(const FakemxFlags& a, const FakemxFlags& b) {
  return a.smtp_host == b.smtp_host && a.smtp_port == b.smtp_port && a.hostname == b.hostname &&
         a.maildir == b.maildir && a.idle_timeout_seconds == b.idle_timeout_seconds &&
         a.session_timeout_seconds == b.session_timeout_seconds &&
         a.shutdown_grace_seconds == b.shutdown_grace_seconds &&
         a.max_message_size == b.max_message_size && a.storage_threads == b.storage_threads &&
         a.verbose == b.verbose && a.command_leniencies == b.command_leniencies &&
         a.data_bare_line_endings == b.data_bare_line_endings && a.data_nul == b.data_nul &&
         a.cert == b.cert && a.tls_versions == b.tls_versions && a.tls_ciphers == b.tls_ciphers &&
         a.tls_groups == b.tls_groups && a.starttls == b.starttls && a.smtps == b.smtps &&
         a.smtps_host == b.smtps_host && a.smtps_port == b.smtps_port && a.tls_dir == b.tls_dir &&
         a.cert_seed == b.cert_seed && a.scenario == b.scenario &&
         a.list_scenarios == b.list_scenarios &&
         a.capture_max_sessions == b.capture_max_sessions &&
         a.capture_max_bytes == b.capture_max_bytes && a.dns == b.dns &&
         a.dns_host == b.dns_host && a.dns_port == b.dns_port &&
         a.mta_sts_port_given == b.mta_sts_port_given && a.mta_sts_port == b.mta_sts_port &&
         a.api == b.api && a.api_host == b.api_host && a.api_port == b.api_port &&
         a.help == b.help && a.version == b.version;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> args;
  size_t start = 0;
  while (start <= input.size() && args.size() < kMaxArgs) {
    size_t end = input.find('\0', start);
    if (end == std::string_view::npos) end = input.size();
    args.push_back(input.substr(start, end - start));
    start = end + 1;
  }
  const auto flags = ParseFlags(args);
  if (!flags.ok()) {
    Check(flags.status().code() == absl::StatusCode::kInvalidArgument);
    Check(!flags.status().message().empty());
    return 0;
  }
  if (flags->help || flags->version) return 0;

  const FakemxFlags& f = *flags;
  const bool v6 = f.smtp_host.find(':') != std::string::npos;
  std::vector<std::string> again = {
      "--smtp=" + (v6 ? "[" + f.smtp_host + "]" : f.smtp_host) + ":" + std::to_string(f.smtp_port),
      "--idle-timeout=" + std::to_string(f.idle_timeout_seconds),
      "--session-timeout=" + std::to_string(f.session_timeout_seconds),
      "--shutdown-grace=" + std::to_string(f.shutdown_grace_seconds),
      "--max-message-size=" + std::to_string(f.max_message_size),
      "--storage-threads=" + std::to_string(f.storage_threads),
      "--data-bare-line-endings=" + std::string(mxkit::fakemx::FlagValue(f.data_bare_line_endings)),
      "--data-nul=" + std::string(mxkit::fakemx::FlagValue(f.data_nul)),
      "--cert=" + std::string(mxkit::fakemx::FlagValue(f.cert)),
      "--tls-versions=" + mxkit::fakemx::FlagValue(f.tls_versions),
      "--starttls=" + std::string(mxkit::fakemx::FlagValue(f.starttls)),
      "--cert-seed=" + std::to_string(f.cert_seed),
      "--capture-max-sessions=" + std::to_string(f.capture_max_sessions),
      "--capture-max-bytes=" + std::to_string(f.capture_max_bytes),
  };
  if (!f.scenario.empty()) again.push_back("--scenario=" + f.scenario);
  if (f.list_scenarios) again.push_back("--list-scenarios");
  if (!f.tls_ciphers.empty()) again.push_back("--tls-ciphers=" + f.tls_ciphers);
  if (!f.tls_groups.empty()) again.push_back("--tls-groups=" + f.tls_groups);
  if (!f.tls_dir.empty()) again.push_back("--tls-dir=" + f.tls_dir);
  if (f.smtps) {
    const bool smtps_v6 = f.smtps_host.find(':') != std::string::npos;
    again.push_back("--smtps=" + (smtps_v6 ? "[" + f.smtps_host + "]" : f.smtps_host) + ":" +
                    std::to_string(f.smtps_port));
  }
  if (!f.dns) {
    again.push_back("--dns=off");
  } else {
    const bool dns_v6 = f.dns_host.find(':') != std::string::npos;
    again.push_back("--dns=" + (dns_v6 ? "[" + f.dns_host + "]" : f.dns_host) + ":" +
                    std::to_string(f.dns_port));
  }
  if (!f.api) {
    again.push_back("--api=off");
  } else {
    const bool api_v6 = f.api_host.find(':') != std::string::npos;
    again.push_back("--api=" + (api_v6 ? "[" + f.api_host + "]" : f.api_host) + ":" +
                    std::to_string(f.api_port));
  }
  if (f.mta_sts_port_given) again.push_back("--mta-sts-port=" + std::to_string(f.mta_sts_port));
  if (f.verbose) again.push_back("--verbose");
  const mxkit::smtp::CommandLeniencies& l = f.command_leniencies;
  if (l.allow_space_before_path) again.push_back("--allow-space-before-path");
  if (l.allow_missing_angle_brackets) again.push_back("--allow-missing-angle-brackets");
  if (l.allow_helo_address_literal) again.push_back("--allow-helo-address-literal");
  if (l.allow_long_auth_line) again.push_back("--allow-long-auth-line");
  if (!f.hostname.empty()) again.push_back("--hostname=" + f.hostname);
  if (!f.maildir.empty()) again.push_back("--maildir=" + f.maildir);
  const std::vector<std::string_view> views(again.begin(), again.end());
  const auto reparsed = ParseFlags(views);
  Check(reparsed.ok());
  Check(Same(*reparsed, f));
  Check(std::includes(reparsed->given.begin(), reparsed->given.end(), f.given.begin(),
                      f.given.end()));
  return 0;
}
