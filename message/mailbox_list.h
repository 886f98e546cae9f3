// RFC 5322 §3.4 address lists: the one parser for From, To, Cc, Reply-To and
// Sender bodies. DMARC reads the author domain(s) with it (auth/dmarc/from.h,
// strict), the Mailpit API reads display names and addresses with it
// (message/mime.h ReadAddressList, lenient).
//
//   address-list = (address *("," address)) / obs-addr-list
//   address      = mailbox / group
//   group        = display-name ":" [group-list] ";" [CFWS]
//   mailbox      = name-addr / addr-spec
//   name-addr    = [display-name] angle-addr
//   angle-addr   = [CFWS] "<" addr-spec ">" [CFWS] / obs-angle-addr
//   addr-spec    = local-part "@" domain
//
// with CFWS (nested comments, quoted-pairs, folding; message/cfws.h) wherever
// §3.2.2 allows it, quoted strings, the obsolete forms RFC 5322 §4 says a
// receiver MUST accept (obs-phrase "John Q. Public", obs-local-part and
// obs-domain with CFWS around the dots and the '@', obs-angle-addr's source
// route "<@a,@b:x@y>"), RFC 2047 encoded words (atoms to this grammar) and
// RFC 6532 UTF-8 in atoms. Domain-literals ("[192.0.2.1]") are read unless
// the caller refuses them.
//
// Strict (the default) stops at the first error with its kind and offset.
// Lenient, for display code, never fails: empty list elements (obs-addr-list)
// and stray ';' are skipped, a group may lack its ';' at the end, and an
// element that does not parse ("root", "Jane [Co] <j@x>") is salvaged as well
// as it can be (see Mailbox::salvaged) and parsing goes on after the next ','
// or ';' outside quotes, comments and angle brackets.

#ifndef MXKIT_MESSAGE_MAILBOX_LIST_H_
#define MXKIT_MESSAGE_MAILBOX_LIST_H_

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mxkit::message {

// Mailboxes per list (ours; the grammar is unbounded, real fields name a few
// and a mailing list's To a few hundred).
inline constexpr std::size_t kMaxMailboxesPerList = 1000;

enum class MailboxListError {
  kNone,
  kSyntax,             // not an RFC 5322 §3.4 address-list
  kCommentTooDeep,     // more than kMaxCommentDepth nested comments (message/cfws.h)
  kTooManyMailboxes,   // more than options.max_mailboxes
  kDomainLiteral,      // a domain-literal, and options.allow_domain_literal is false
  kRejected,           // options.check refused a mailbox
};

// The enumerator's name without the 'k' ("TooManyMailboxes").
std::string_view MailboxListErrorName(MailboxListError error);

struct Mailbox {
  // The display name's text: quoted strings unquoted (quoted-pairs
  // resolved, folds removed), each run of CFWS between words one space,
  // encoded words left encoded. "" when there is none.
  std::string display_name;
  // The local-part as written without CFWS (quoted strings keep their quotes).
  std::string local_part;
  // The domain as written without CFWS; a domain-literal keeps its brackets.
  // "" only for a lenient mailbox that had no '@'.
  std::string domain;
  // The text of the first comment inside the mailbox, quoted-pairs resolved
  // and trimmed ("Jane" in "j@example.test (Jane)"); "" when none.
  std::string comment;
  // The display name of the group the mailbox is in; "" when none.
  std::string group;
  std::size_t offset = 0;         // where the mailbox starts in the input
  std::size_t domain_offset = 0;  // where its domain starts (after CFWS)
  bool angle = false;             // written as an angle-addr ("<a@b>")
  // Lenient only: the element did not parse; local_part holds its text with
  // white space and the angle brackets removed (the addr-spec inside "<>"
  // when there is one), display_name the text before "<", domain is "".
  bool salvaged = false;

  // local-part "@" domain, or the local-part alone when there is no domain.
  std::string Address() const;
};

struct MailboxListOptions {
  bool lenient = false;
  bool allow_domain_literal = true;
  std::size_t max_mailboxes = kMaxMailboxesPerList;
  // Strict only: called for each mailbox as it is parsed; a non-empty answer
  // rejects it (kRejected at its domain_offset, the answer as the message), so
  // a caller's check on a mailbox comes before syntax errors after it.
  std::function<std::string(const Mailbox&)> check;
};

struct MailboxListResult {
  MailboxListError error = MailboxListError::kNone;
  // On error: the offset in the input where parsing stopped.
  std::size_t offset = 0;
  std::string message;  // what, why and " at offset N"
  std::vector<Mailbox> mailboxes;
  bool saw_group = false;  // a group was read (it may have been empty)
  bool truncated = false;  // lenient: more than max_mailboxes, the rest dropped

  bool ok() const { return error == MailboxListError::kNone; }
};

// Parses an address-list field body (everything after the ':', folding
// included). Offsets are relative to `value`. An empty or all-CFWS body is
// an empty list, not an error.
MailboxListResult ParseMailboxList(std::string_view value, const MailboxListOptions& options = {});

}  // namespace mxkit::message

#endif  // MXKIT_MESSAGE_MAILBOX_LIST_H_
