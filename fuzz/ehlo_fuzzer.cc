// Fuzzes ParseEhloReply (RFC 5321 §4.1.1.1) on raw EHLO response bytes.
//
// The input is parsed as one reply (bare LF and 8-bit text accepted, so the
// fuzzer reaches the EHLO layer easily), its code forced to 250 so every
// input exercises the capability parser. Properties, under strict and
// lenient EHLO options:
//   - ParseEhloReply(FormatEhloReply(parse)) gives back the same domain,
//     greeting and capabilities, with no errors beyond those about the domain;
//   - every error names an existing line and an offset within it;
//   - a formatted reply that validates survives the wire unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "smtp/ehlo.h"
#include "smtp/reply.h"

namespace {

using mxkit::smtp::EhloErrorKind;
using mxkit::smtp::EhloLineError;
using mxkit::smtp::EhloParseOptions;
using mxkit::smtp::EhloReply;
using mxkit::smtp::FormatEhloReply;
using mxkit::smtp::FormatReply;
using mxkit::smtp::ParseEhloReply;
using mxkit::smtp::ParseReply;
using mxkit::smtp::Reply;
using mxkit::smtp::ReplyParserOptions;
using mxkit::smtp::ReplyParseResult;
using mxkit::smtp::ValidateReply;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

size_t DomainErrors(const EhloReply& r) {
  size_t n = 0;
  for (const EhloLineError& e : r.errors) n += e.kind == EhloErrorKind::kInvalidDomain;
  return n;
}

void CheckOptions(const Reply& reply, const EhloParseOptions& options) {
  EhloReply first = ParseEhloReply(reply, options);
  for (const EhloLineError& e : first.errors) {
    Check(e.line < reply.lines.size() || (e.line == 0 && reply.lines.empty()));
    Check(reply.lines.empty() || e.offset <= reply.lines[e.line].size());
  }
  Reply formatted = FormatEhloReply(first.domain, first.greeting, first.capabilities);
  Check(formatted.code == 250);

  // "AUTH=" folds into AUTH when formatted, so only the underscore
  // leniency is still needed to read the result back.
  EhloParseOptions reread;
  reread.allow_keyword_underscore = options.allow_keyword_underscore;
  EhloReply second = ParseEhloReply(formatted, reread);
  Check(second.domain == first.domain);
  Check(second.greeting == first.greeting);
  Check(second.capabilities == first.capabilities);
  Check(second.errors.size() == DomainErrors(second));
  Check(DomainErrors(second) == DomainErrors(first));

  ReplyParserOptions eight_bit;
  eight_bit.allow_8bit_text = true;
  if (ValidateReply(formatted, eight_bit).ok()) {
    ReplyParseResult wire = ParseReply(FormatReply(formatted), eight_bit);
    Check(wire.reply.has_value() && *wire.reply == formatted);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ReplyParserOptions lenient;
  lenient.allow_bare_lf = true;
  lenient.allow_8bit_text = true;
  ReplyParseResult parsed =
      ParseReply(std::string_view(reinterpret_cast<const char*>(data), size), lenient);
  if (!parsed.reply) return 0;
  Reply reply = *parsed.reply;
  reply.code = 250;
  CheckOptions(reply, EhloParseOptions{});
  EhloParseOptions all;
  all.allow_auth_equals = true;
  all.allow_keyword_underscore = true;
  CheckOptions(reply, all);
  return 0;
}
