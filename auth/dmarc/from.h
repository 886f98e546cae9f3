// The RFC5322.From author domain(s) DMARC evaluates (RFC 7489 §3.1, §6.6.1).
//
// ExtractAuthorDomains reads the From field(s) of a split header block and
// parses them with the RFC 5322 §3.4 address grammar (message/mailbox_list.h,
// strict, domain-literals refused): mailbox-list, each mailbox a name-addr
// ("Display <a@b>") or an addr-spec ("a@b"), with CFWS (nested comments,
// quoted-pairs, folding) anywhere §3.2.2 allows it, quoted display names and
// local-parts, the obs-phrase "John Q. Public" (§4.1), the obs-route
// "<@a:x@y>" (§4.4), RFC 2047 encoded words (which are atoms to this
// grammar, so they need no decoding to find the domain), RFC 6532 UTF-8 in
// display names, and the group syntax RFC 6854 allows in From ("Team: a@b,
// c@d;"). An RFC 6532
// author domain written in U-labels is evaluated in its A-label form, as
// RFC 8616 §6 asks ("Jörg <j@bücher.example>" has the DMARC domain
// "xn--bcher-kva.example").
//
// RFC 7489 §6.6.1 leaves two cases to the receiver, and so do we:
//  - more than one From field (RFC 5322 §3.6 allows exactly one);
//  - one From field naming several mailboxes.
// MultipleAuthorAction::kReject reports them as errors (the usual choice:
// "Messages bearing a single RFC5322.From field containing multiple addresses
// ... are typically rejected"); kEvaluateAll returns every distinct domain so
// the caller applies DMARC to each and keeps the strictest policy, the
// process §6.6.1 describes for multi-valued From.

#ifndef MXKIT_AUTH_DMARC_FROM_H_
#define MXKIT_AUTH_DMARC_FROM_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "message/cfws.h"
#include "message/header_block.h"

namespace mxkit::auth::dmarc {

// Nesting depth of RFC 5322 §3.2.2 comments we follow (message/cfws.h).
inline constexpr std::size_t kMaxCommentDepth = message::kMaxCommentDepth;
// Mailboxes per From field (ours; real messages have one).
inline constexpr std::size_t kMaxAuthors = 64;
// RFC 1035 §2.3.4: a domain name is at most 253 characters as text.
inline constexpr std::size_t kMaxDomainLength = 253;

enum class MultipleAuthorAction { kReject, kEvaluateAll };

struct FromOptions {
  MultipleAuthorAction multiple_from_fields = MultipleAuthorAction::kReject;
  MultipleAuthorAction multiple_mailboxes = MultipleAuthorAction::kReject;
};

enum class FromError {
  kOk,
  kNoFromField,          // §6.6.1: "Messages that have no RFC5322.From field at all"
  kMultipleFromFields,   // more than one, and multiple_from_fields == kReject
  kMultipleMailboxes,    // several mailboxes, and multiple_mailboxes == kReject
  kNoMailbox,            // an empty field or an empty group ("undisclosed:;")
  kSyntax,               // not an RFC 5322 §3.4 mailbox-list / address-list
  kCommentTooDeep,       // more than kMaxCommentDepth nested comments
  kTooManyMailboxes,     // more than kMaxAuthors
  kInvalidDomain,        // a domain-literal, an empty label, an invalid IDN, too long
};

// The enumerator's name without the 'k' ("MultipleFromFields").
std::string_view FromErrorName(FromError error);

struct Author {
  std::string address;  // local-part "@" domain as written (quotes kept, CFWS removed)
  std::string domain;   // lowercased; U-labels converted to A-labels (RFC 8616 §6)
};

struct FromResult {
  FromError error = FromError::kOk;
  // On error: the offset in the message (the header block's input) where
  // parsing stopped.
  std::size_t offset = 0;
  std::string message;
  std::vector<Author> authors;       // every mailbox, in order
  std::vector<std::string> domains;  // distinct author domains, in first-seen order

  bool ok() const { return error == FromError::kOk; }
};

// Finds the From field(s) of `block` and returns the author domain(s).
FromResult ExtractAuthorDomains(const message::HeaderBlock& block, const FromOptions& options = {});

// Parses one From field body (everything after "From:", folding included).
// Offsets in the result are relative to `value`. Applies
// options.multiple_mailboxes; options.multiple_from_fields is not consulted.
FromResult ParseFromValue(std::string_view value, const FromOptions& options = {});

// ParseFromValue's results kept by value, for a caller that reads the same
// From again and again (fakemx judges every message a test sends):
// ParseFromValue is a function of the value and the options alone, so a kept
// result is the one parsing again would give. At most kMaxRemembered values
// are kept; the memo is emptied when full. Not thread-safe.
class FromValueMemo {
 public:
  static constexpr std::size_t kMaxRemembered = 4096;

  explicit FromValueMemo(FromOptions options = {}) : options_(options) {}
  const FromOptions& options() const { return options_; }

  // ParseFromValue(value, options()); valid until the next call.
  const FromResult& Parse(std::string_view value);

 private:
  FromOptions options_;
  absl::flat_hash_map<std::string, FromResult> results_;
};

// ExtractAuthorDomains(block, memo.options()), each From value parsed
// through `memo`.
FromResult ExtractAuthorDomains(const message::HeaderBlock& block, FromValueMemo& memo);

}  // namespace mxkit::auth::dmarc

#endif  // MXKIT_AUTH_DMARC_FROM_H_
