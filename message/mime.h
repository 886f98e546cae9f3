// Reading a MIME message for display: its text and HTML bodies, its
// attachments, its address fields and its date, as a mail client (or
// Mailpit's API) shows them. Sans-IO and bounded; nothing here is used to
// judge mail (DKIM and DMARC read message/header_block directly), so the
// reader is lenient where display code must be: a malformed part is shown as
// well as it can be and noted in `warnings`, never refused.
//
// What is understood:
//  - multipart/* bodies split at their boundary delimiters (RFC 2046 §5.1.1),
//    nested up to kMaxMimeDepth, at most kMaxMimeParts parts in all;
//  - Content-Transfer-Encoding base64 and quoted-printable (RFC 2045 §6.7,
//    §6.8), 7bit/8bit/binary as is;
//  - charsets: UTF-8 and US-ASCII pass through, ISO-8859-1 (and its aliases)
//    is converted to UTF-8; any other charset's bytes are passed through with
//    ill-formed UTF-8 replaced by U+FFFD (noted in warnings);
//  - RFC 2047 encoded words in unstructured fields and display names, and
//    RFC 2231 §4 extended parameters (filename*=utf-8''...) in Content-Type
//    and Content-Disposition.
// What is not: RFC 2231 §3 parameter continuations (name*0=), charsets
// beyond those above, uuencode, TNEF.

#ifndef MXKIT_MESSAGE_MIME_H_
#define MXKIT_MESSAGE_MIME_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mxkit::message {

// Nesting of multiparts we follow (ours: real mail nests 3 or 4 deep;
// deeper is a message built to exhaust a recursive reader).
inline constexpr std::size_t kMaxMimeDepth = 16;
// Parts, leaves and multiparts together, per message (ours).
inline constexpr std::size_t kMaxMimeParts = 1000;
// RFC 2046 §5.1.1: "boundary := 0*69<bchars> bcharsnospace", 1 to 70 chars.
inline constexpr std::size_t kMaxBoundaryLength = 70;
// Addresses returned per field (ours; a longer list is cut and noted).
inline constexpr std::size_t kMaxAddressesPerField = 1000;
// RFC 2047 §2: "An 'encoded-word' may not be more than 75 characters long".
// Senders exceed it (long UTF-8 names in one word), so we read words up to
// this many bytes; the bound keeps a field full of "=?" linear to scan.
inline constexpr std::size_t kMaxEncodedWordBytes = 256;
// Warnings kept per message (ours; the count goes on).
inline constexpr std::size_t kMaxMimeWarnings = 32;

// A Content-Type or Content-Disposition value: the lowercased value
// ("text/plain", "attachment") and its parameters, names lowercased, values
// unquoted (RFC 2045 §5.1 quoted-string) and RFC 2231 §4 extended values
// decoded to UTF-8.
struct MimeHeaderValue {
  std::string value;
  std::vector<std::pair<std::string, std::string>> params;

  // The first parameter named `name` (lowercase), or nullopt.
  std::optional<std::string_view> Param(std::string_view name) const;
};
MimeHeaderValue ParseMimeHeaderValue(std::string_view raw_value);

struct MimeAttachment {
  std::string part_id;       // "2", "1.2": the part's position, as Mailpit numbers parts
  std::string content_type;  // lowercased, "image/png"
  std::string file_name;     // decoded; "" when the part names none
  std::string content_id;    // without the angle brackets
  std::string content;       // the decoded bytes
};

struct MimeContent {
  std::string text;  // the first text/plain part that is not an attachment, as UTF-8
  std::string html;  // the first text/html part that is not an attachment, as UTF-8
  // Parts with Content-Disposition: attachment, or a file name, or a type
  // that is neither text nor multipart, and that are not inline.
  std::vector<MimeAttachment> attachments;
  // Parts referenced from the HTML (inline disposition or a Content-ID,
  // not text): Mailpit's "Inline".
  std::vector<MimeAttachment> inlines;
  // What could not be read as it claims to be, for humans ("part 1.2:
  // invalid base64 at offset 10; shown undecoded").
  std::vector<std::string> warnings;
};

// Reads `message` (an RFC 5322 message, CRLF or LF line ends). Never fails:
// a message that does not split into header and body is read as a body
// without header fields, and every such leniency adds a warning.
MimeContent ReadMimeContent(std::string_view message);

// An RFC 5322 §3.4 mailbox for display: the decoded display name ("" when
// none) and the addr-spec as written without CFWS.
struct DisplayAddress {
  std::string name;
  std::string address;
};

// Reads an address-list field body (To, Cc, From, Reply-To) with the lenient
// mode of message/mailbox_list.h: name-addr
// and addr-spec mailboxes, quoted and encoded-word names, comments (an
// addr-spec's comment becomes its name, the old "a@b (Name)" form), and
// groups (their members are listed, the group name dropped). Items with
// neither name nor address are skipped; at most kMaxAddressesPerField.
std::vector<DisplayAddress> ReadAddressList(std::string_view raw_value);

// An unstructured field body (Subject, a display name) for display: unfolded
// (RFC 5322 §2.2.3), RFC 2047 encoded words decoded (whitespace between two
// adjacent encoded words dropped, §6.2), converted to UTF-8.
std::string DecodeHeaderText(std::string_view raw_value);

// `bytes` in `charset` (an RFC 2278 name, any case), as UTF-8; see the file
// comment for the charsets understood. `known` (when given) is set to
// whether the charset was one of them.
std::string ToUtf8(std::string_view bytes, std::string_view charset, bool* known = nullptr);

// RFC 2045 §6.7 quoted-printable decoding, lenient as §6.7 (1) advises: an
// "=" not followed by two hex digits or a line break is kept as it is.
std::string DecodeQuotedPrintable(std::string_view text);

// An RFC 5322 §3.3 date-time (with the obsolete forms of §4.3: two-digit
// years, zone names, no seconds) as Unix seconds; nullopt when it does not
// parse or names an impossible date.
std::optional<int64_t> ParseRfc5322Date(std::string_view raw_value);

}  // namespace mxkit::message

#endif  // MXKIT_MESSAGE_MIME_H_
