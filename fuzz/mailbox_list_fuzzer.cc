// Fuzzes the RFC 5322 §3.4 address-list parser (message/mailbox_list.h) that
// DMARC's From (strict) and the Mailpit API's addresses (lenient) share.
// Properties (a violation traps, naming it):
//  1. Strict: an error stays inside the input, has a message naming its
//     offset and returns no mailboxes; success is bounded by max_mailboxes.
//  2. Every mailbox's offsets lie inside the input, domain after start.
//  3. A strictly valid list reads the same leniently (lenient only adds
//     salvage for what strict refuses).
//  4. Strict mailboxes re-joined as "addr, addr" parse to the same addresses.
//  5. Lenient never fails, stays within max_mailboxes, and each mailbox has
//     something to show (an address, a name or a comment).
//  6. Refusing domain-literals changes a success only into kDomainLiteral.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/property_check.h"
#include "message/mailbox_list.h"

namespace {

using mxkit::message::Mailbox;
using mxkit::message::MailboxListError;
using mxkit::message::MailboxListOptions;
using mxkit::message::MailboxListResult;
using mxkit::message::ParseMailboxList;

// Small, so the bound is reached by fuzzed inputs.
constexpr std::size_t kMax = 8;

void CheckOffsets(const MailboxListResult& r, std::string_view text) {
  for (const Mailbox& m : r.mailboxes) {
    MXKIT_FUZZ_CHECK(m.offset <= text.size());
    MXKIT_FUZZ_CHECK(m.salvaged || (m.domain_offset > m.offset && m.domain_offset <= text.size()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  MailboxListOptions strict_options;
  strict_options.max_mailboxes = kMax;
  const MailboxListResult strict = ParseMailboxList(text, strict_options);
  if (!strict.ok()) {
    MXKIT_FUZZ_CHECK(strict.offset <= text.size());
    MXKIT_FUZZ_CHECK(strict.message.find("at offset " + std::to_string(strict.offset)) !=
                     std::string::npos);
    MXKIT_FUZZ_CHECK(strict.mailboxes.empty());
  } else {
    MXKIT_FUZZ_CHECK(strict.mailboxes.size() <= kMax);
    CheckOffsets(strict, text);
    std::string joined;
    for (const Mailbox& m : strict.mailboxes) {
      MXKIT_FUZZ_CHECK(!m.salvaged && !m.local_part.empty() && !m.domain.empty());
      if (!joined.empty()) joined += ", ";
      joined += m.Address();
    }
    const MailboxListResult again = ParseMailboxList(joined, strict_options);
    MXKIT_FUZZ_CHECK(again.ok());
    MXKIT_FUZZ_CHECK(again.mailboxes.size() == strict.mailboxes.size());
    for (std::size_t i = 0; i < again.mailboxes.size(); ++i) {
      MXKIT_FUZZ_CHECK(again.mailboxes[i].Address() == strict.mailboxes[i].Address());
    }
  }

  MailboxListOptions lenient_options = strict_options;
  lenient_options.lenient = true;
  const MailboxListResult lenient = ParseMailboxList(text, lenient_options);
  MXKIT_FUZZ_CHECK(lenient.ok());
  MXKIT_FUZZ_CHECK(lenient.mailboxes.size() <= kMax);
  CheckOffsets(lenient, text);
  for (const Mailbox& m : lenient.mailboxes) {
    MXKIT_FUZZ_CHECK(!m.Address().empty() || !m.display_name.empty() || !m.comment.empty());
  }
  if (strict.ok()) {
    MXKIT_FUZZ_CHECK(lenient.mailboxes.size() == strict.mailboxes.size());
    for (std::size_t i = 0; i < strict.mailboxes.size(); ++i) {
      const Mailbox& a = strict.mailboxes[i];
      const Mailbox& b = lenient.mailboxes[i];
      MXKIT_FUZZ_CHECK(!b.salvaged && a.Address() == b.Address() &&
                       a.display_name == b.display_name && a.comment == b.comment &&
                       a.group == b.group && a.offset == b.offset);
    }
  }

  MailboxListOptions no_literals = strict_options;
  no_literals.allow_domain_literal = false;
  const MailboxListResult refused = ParseMailboxList(text, no_literals);
  if (strict.ok() && !refused.ok()) {
    MXKIT_FUZZ_CHECK(refused.error == MailboxListError::kDomainLiteral);
  }
  if (!strict.ok()) MXKIT_FUZZ_CHECK(!refused.ok());
  return 0;
}
