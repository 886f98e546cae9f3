// Fuzz target for //message:header_block (SplitHeaderBlock).
//
// Input: byte 0 selects the options, the rest is the message.
// Properties checked (a violation traps):
//  1. On success the fields' raw ranges, the separator and the body
//     reassemble the input exactly, each at its stated offset, and every
//     field's name and raw_value are views inside its raw.
//  2. Names are 1*ftext (RFC 5322 §3.6.8) unless WSP before the colon is
//     allowed, and raw_value never ends inside the field's line ending.
//  3. Leniencies only widen: whatever the strict splitter accepts, the
//     splitter with every leniency on accepts with identical fields.
//  4. On failure the offset lies within the input.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "message/header_block.h"

namespace {

using mxkit::message::HeaderBlockOptions;
using mxkit::message::HeaderBlockResult;
using mxkit::message::HeaderField;
using mxkit::message::SplitHeaderBlock;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

bool Inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

void CheckSplit(std::string_view message, const HeaderBlockOptions& options,
                const HeaderBlockResult& r) {
  if (!r.ok()) {
    Check(r.offset <= message.size());
    Check(!r.message.empty());
    return;
  }
  Check(r.block.fields.size() <= options.max_fields);
  std::string joined;
  for (const HeaderField& f : r.block.fields) {
    Check(f.offset == joined.size());
    Check(f.raw.data() == message.data() + f.offset);
    Check(!f.name.empty());
    Check(f.name.data() == f.raw.data());
    Check(Inside(f.raw_value, f.raw));
    Check(f.raw.size() <= options.max_field_bytes);
    for (char c : f.name) {
      const unsigned char u = static_cast<unsigned char>(c);
      Check(u >= 33 && u <= 126 && u != ':');
    }
    // raw = name [WSP] ":" raw_value line-ending
    const std::size_t value_end = static_cast<std::size_t>(f.raw_value.data() - f.raw.data()) +
                                  f.raw_value.size();
    const std::string_view ending = f.raw.substr(value_end);
    Check(ending == "\r\n" || (options.allow_bare_lf && ending == "\n") ||
          (options.allow_unterminated_last_field && ending.empty()));
    Check(f.raw[f.raw_value.data() - f.raw.data() - 1] == ':');
    joined += f.raw;
  }
  Check(r.block.separator_offset == joined.size());
  joined += r.block.separator;
  Check(r.block.body_offset == joined.size());
  joined += r.block.body;
  Check(joined == message);
  Check(r.block.separator.empty() || r.block.separator == "\r\n" ||
        (options.allow_bare_lf && r.block.separator == "\n"));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view message(reinterpret_cast<const char*>(data) + 1, size - 1);

  HeaderBlockOptions options;
  options.allow_bare_lf = selector & 1;
  options.allow_wsp_before_colon = selector & 2;
  options.allow_unterminated_last_field = selector & 4;
  if (selector & 8) options.max_fields = (selector >> 4);
  if (selector & 16) options.max_field_bytes = 1 + (selector >> 5) * 9;

  const HeaderBlockResult r = SplitHeaderBlock(message, options);
  CheckSplit(message, options, r);

  const HeaderBlockResult strict = SplitHeaderBlock(message);
  CheckSplit(message, HeaderBlockOptions{}, strict);
  HeaderBlockOptions lenient;
  lenient.allow_bare_lf = true;
  lenient.allow_wsp_before_colon = true;
  lenient.allow_unterminated_last_field = true;
  const HeaderBlockResult wide = SplitHeaderBlock(message, lenient);
  CheckSplit(message, lenient, wide);
  if (strict.ok()) {
    Check(wide.ok());
    Check(wide.block.fields.size() == strict.block.fields.size());
    for (std::size_t i = 0; i < strict.block.fields.size(); ++i) {
      Check(wide.block.fields[i].raw.data() == strict.block.fields[i].raw.data());
      Check(wide.block.fields[i].raw.size() == strict.block.fields[i].raw.size());
      Check(wide.block.fields[i].name == strict.block.fields[i].name);
      Check(wide.block.fields[i].raw_value.data() == strict.block.fields[i].raw_value.data());
      Check(wide.block.fields[i].raw_value.size() == strict.block.fields[i].raw_value.size());
    }
    Check(wide.block.body_offset == strict.block.body_offset);
  }
  return 0;
}
