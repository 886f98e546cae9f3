// Fuzz target for //message:mime, the display reader behind fakemx's
// Mailpit-compatible API: every message a client sends reaches it.
//
// Input: the whole message. Properties checked (a violation traps, naming it):
//  1. The text and HTML bodies, every file name, every decoded header text
//     and every display name and address are well-formed UTF-8 (they go into
//     JSON, RFC 8259 §8.1).
//  2. The reader stays within its bounds: at most kMaxMimeWarnings warnings
//     and kMaxMimeParts parts, part IDs are dotted decimal numbers.
//  3. At most kMaxAddressesPerField addresses per field.
//  4. Quoted-printable decoding never more than doubles the input (a bare LF
//     becomes CRLF; nothing else grows).
//  5. A parsed date is a time between the years 0 and 9999.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/utf8.h"
#include "fuzz/property_check.h"
#include "message/mime.h"

namespace {

using namespace mxkit::message;  // NOLINT: a fuzz target names many of them

bool Utf8(std::string_view s) { return mxkit::base::FindInvalidUtf8(s) == s.size(); }

bool DottedDecimal(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  for (char c : s) {
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  }
  return s.find("..") == std::string_view::npos;
}

void CheckAttachments(const std::vector<MimeAttachment>& list) {
  for (const MimeAttachment& a : list) {
    MXKIT_FUZZ_CHECK(Utf8(a.file_name));
    MXKIT_FUZZ_CHECK(DottedDecimal(a.part_id));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const MimeContent c = ReadMimeContent(input);
  MXKIT_FUZZ_CHECK(Utf8(c.text));
  MXKIT_FUZZ_CHECK(Utf8(c.html));
  MXKIT_FUZZ_CHECK(c.warnings.size() <= kMaxMimeWarnings);
  MXKIT_FUZZ_CHECK(c.attachments.size() + c.inlines.size() <= kMaxMimeParts);
  CheckAttachments(c.attachments);
  CheckAttachments(c.inlines);

  MXKIT_FUZZ_CHECK(Utf8(DecodeHeaderText(input)));
  const std::vector<DisplayAddress> addresses = ReadAddressList(input);
  MXKIT_FUZZ_CHECK(addresses.size() <= kMaxAddressesPerField);
  for (const DisplayAddress& a : addresses) {
    MXKIT_FUZZ_CHECK(Utf8(a.name));
    MXKIT_FUZZ_CHECK(Utf8(a.address));
    MXKIT_FUZZ_CHECK(!a.name.empty() || !a.address.empty());
  }

  MXKIT_FUZZ_CHECK(DecodeQuotedPrintable(input).size() <= 2 * input.size());

  if (const std::optional<int64_t> t = ParseRfc5322Date(input)) {
    MXKIT_FUZZ_CHECK(*t >= -62167219200 - 86400 && *t <= 253402300799 + 86400);
  }
  const MimeHeaderValue v = ParseMimeHeaderValue(input);
  for (const auto& [name, value] : v.params) MXKIT_FUZZ_CHECK(!name.empty());
  return 0;
}
