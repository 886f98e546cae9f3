// Fuzzes ParseCommand (RFC 5321 §4.1 commands and ESMTP parameters) on one
// command line without its CRLF.
//
// Every input is parsed under three option sets: strict defaults; every
// leniency plus allow_utf8; and every extension switched off. Properties:
//   - an error's offset lies within the line and it carries a reply code;
//   - a parsed command formats to a canonical line ending in CRLF, with no
//     other CR, LF or NUL, which parses back to the same command under the
//     same options, and formats to the same bytes again (the canonical form
//     is a fixed point).
// Leniencies never matter to the canonical form, except that a path accepted
// without angle brackets gains two octets; the re-parse allows for that.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/command.h"

namespace {

using mxkit::smtp::CommandParseOptions;
using mxkit::smtp::CommandResult;
using mxkit::smtp::FormatCommand;
using mxkit::smtp::ParseCommand;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckOptions(std::string_view line, const CommandParseOptions& options) {
  CommandResult first = ParseCommand(line, options);
  if (!first.ok()) {
    Check(first.error.offset <= line.size());
    Check(first.error.reply_code >= 500 && first.error.reply_code <= 555);
    Check(!first.error.enhanced_status.empty());
    Check(!first.error.message.empty());
    return;
  }
  const std::string wire = FormatCommand(first.command);
  Check(wire.size() >= 2 && wire.compare(wire.size() - 2, 2, "\r\n") == 0);
  const std::string_view canonical(wire.data(), wire.size() - 2);
  Check(canonical.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);

  CommandParseOptions again_options = options;
  if (options.allow_missing_angle_brackets) again_options.max_command_line += 2;
  CommandResult again = ParseCommand(canonical, again_options);
  Check(again.ok());
  Check(again.command == first.command);
  Check(FormatCommand(again.command) == wire);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  CheckOptions(line, CommandParseOptions());

  CommandParseOptions lenient;
  lenient.allow_utf8 = true;
  lenient.allow_space_before_path = true;
  lenient.allow_missing_angle_brackets = true;
  lenient.allow_helo_address_literal = true;
  lenient.allow_long_auth_line = true;
  CheckOptions(line, lenient);

  CommandParseOptions bare;
  bare.extensions = mxkit::smtp::EsmtpExtensions{false, false, false, false,
                                                 false, false, false, false};
  CheckOptions(line, bare);
  return 0;
}
