// The mxkit command-line tool: SPF, DKIM and DMARC checks in the spirit of
// spfquery and opendkim-testmsg, over a zone file or the system resolver.
// main.cc only wires the process to Run, so tests can call it directly.

#ifndef MXKIT_TOOLS_MXKIT_CLI_H_
#define MXKIT_TOOLS_MXKIT_CLI_H_

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace mxkit::cli {

// Exit codes (also in --help and tools/mxkit/README.md). The result of an
// evaluation never changes the exit code: read it from the output.
inline constexpr int kExitOk = 0;           // evaluated (any result) or signed
inline constexpr int kExitUsage = 2;        // bad subcommand, flag or flag value
inline constexpr int kExitInput = 3;        // unreadable/invalid file, message, key or zone
inline constexpr int kExitEnvironment = 4;  // the system resolver (or trust store) could not be set up
// mxkit probe only: why nothing could be probed. A probe that reached a
// server exits 0 whatever it found (read "red_lock" and the verdicts).
inline constexpr int kExitNameNotFound = 5;  // NXDOMAIN, or no MX and no address
inline constexpr int kExitUnreachable = 6;   // every connection refused or without a route
inline constexpr int kExitTimeout = 7;       // no MX answered and a wait timed out
inline constexpr int kExitDnsFailure = 8;    // the MX or address lookups failed (SERVFAIL, REFUSED, ...)
// A null MX ("MX 0 .", RFC 7505 §3) is the domain saying it takes no mail:
// an answer, not a missing name, so a script can tell it from a typo (5).
inline constexpr int kExitNullMx = 9;

// The message and the key files are bounded so a wrong path (a device, a
// huge log) fails clearly instead of exhausting memory: Postfix's default
// message_size_limit is 10 MB; we allow 64 MiB.
inline constexpr std::size_t kMaxInputBytes = 64u << 20;

// Returns standard input (main reads at most kMaxInputBytes + 1 bytes).
using InputReader = std::function<std::string()>;

// Runs one command line (`args` without the program name). `read_input` is
// called at most once, by the commands that read a message, and only after
// every flag has been checked: a usage error never waits for input that may
// never end.
int Run(const std::vector<std::string>& args, const InputReader& read_input, std::ostream& out,
        std::ostream& err);

// The same with the message already in memory.
int Run(const std::vector<std::string>& args, std::string_view input, std::ostream& out,
        std::ostream& err);

std::string Usage();

// "mxkit <kMxkitVersion>\n", what --version prints.
std::string VersionLine();

}  // namespace mxkit::cli

#endif  // MXKIT_TOOLS_MXKIT_CLI_H_
