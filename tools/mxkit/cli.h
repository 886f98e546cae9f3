// The mxkit command-line tool: SPF, DKIM and DMARC checks in the spirit of
// spfquery and opendkim-testmsg, over a zone file or the system resolver.
// main.cc only wires the process to Run, so tests can call it directly.

#ifndef MXKIT_TOOLS_MXKIT_CLI_H_
#define MXKIT_TOOLS_MXKIT_CLI_H_

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
inline constexpr int kExitEnvironment = 4;  // the system resolver could not be set up

// The message and the key files are bounded so a wrong path (a device, a
// huge log) fails clearly instead of exhausting memory: Postfix's default
// message_size_limit is 10 MB; we allow 64 MiB.
inline constexpr std::size_t kMaxInputBytes = 64u << 20;

// Runs one command line (`args` without the program name). `input` is the
// message for the commands that read one from standard input.
int Run(const std::vector<std::string>& args, std::string_view input, std::ostream& out,
        std::ostream& err);

// Whether the command line needs standard input (so main reads it only then).
bool NeedsInput(const std::vector<std::string>& args);

std::string Usage();

}  // namespace mxkit::cli

#endif  // MXKIT_TOOLS_MXKIT_CLI_H_
