// Fuzzes the RFC 5321 §4.1.2 path grammar (ParsePath, ParsePathPrefix,
// ParseMailbox, ParseHost) on raw bytes.
//
// Each input is tried as a reverse-path and a forward-path, strict and with
// allow_utf8 + allow_missing_angle_brackets. Properties:
//   - error offsets lie within the input; a prefix parse consumes at most
//     the input and agrees with the whole-input parse when it consumes all;
//   - a parsed path formats to a canonical form that parses back to the same
//     MailPath (parse(format(p)) == p) and is a fixed point of formatting;
//   - the canonical form respects the §4.5.3.1 limits;
//   - the same holds for ParseMailbox / FormatMailbox.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/address.h"
#include "smtp/limits.h"

namespace {

using mxkit::smtp::AddressParseOptions;
using mxkit::smtp::FormatMailbox;
using mxkit::smtp::FormatPath;
using mxkit::smtp::HostResult;
using mxkit::smtp::MailboxResult;
using mxkit::smtp::PathResult;
using mxkit::smtp::PathRole;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

void CheckPath(std::string_view input, PathRole role, const AddressParseOptions& options) {
  PathResult prefix = mxkit::smtp::ParsePathPrefix(input, role, options);
  PathResult whole = mxkit::smtp::ParsePath(input, role, options);
  if (!prefix.ok()) {
    Check(prefix.error.offset <= input.size());
    Check(!whole.ok());
  } else {
    Check(prefix.consumed <= input.size());
    if (prefix.consumed == input.size()) {
      Check(whole.ok() && whole.path == prefix.path);
    }
  }
  if (!whole.ok()) {
    Check(whole.error.offset <= input.size());
    Check(!whole.error.message.empty());
    return;
  }
  const std::string canonical = FormatPath(whole.path);
  Check(canonical.size() <= mxkit::smtp::kMaxPath);
  AddressParseOptions strict_brackets = options;
  strict_brackets.allow_missing_angle_brackets = false;
  PathResult again = mxkit::smtp::ParsePath(canonical, role, strict_brackets);
  Check(again.ok());
  Check(again.path == whole.path);
  Check(FormatPath(again.path) == canonical);
}

void CheckMailbox(std::string_view input, const AddressParseOptions& options) {
  MailboxResult first = mxkit::smtp::ParseMailbox(input, options);
  if (!first.ok()) {
    Check(first.error.offset <= input.size());
    return;
  }
  Check(first.mailbox.local_part.size() <= mxkit::smtp::kMaxLocalPart);
  Check(first.mailbox.domain.size() <= mxkit::smtp::kMaxDomain + 2 + 5 + 1);
  const std::string canonical = FormatMailbox(first.mailbox);
  MailboxResult again = mxkit::smtp::ParseMailbox(canonical, options);
  Check(again.ok());
  Check(again.mailbox == first.mailbox);
  HostResult host = mxkit::smtp::ParseHost(first.mailbox.domain, true, options);
  Check(host.ok() && host.kind == first.mailbox.domain_kind);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  AddressParseOptions strict;
  AddressParseOptions lenient;
  lenient.allow_utf8 = true;
  lenient.allow_missing_angle_brackets = true;
  for (const AddressParseOptions* options : {&strict, &lenient}) {
    CheckPath(input, PathRole::kReverse, *options);
    CheckPath(input, PathRole::kForward, *options);
    CheckMailbox(input, *options);
    HostResult host = mxkit::smtp::ParseHost(input, true, *options);
    if (!host.ok()) Check(host.error.offset <= input.size());
  }
  return 0;
}
