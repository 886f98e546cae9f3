// Fuzzes the RFC5322.From parser DMARC uses (auth/dmarc/from.h). Properties:
// errors stay inside the input; author domains are lowercase ASCII (U-labels
// become A-labels), non-empty and distinct; the mailboxes re-joined as "addr, addr" parse to the same
// authors; rejecting multiple authors only ever turns a success with several
// mailboxes into kMultipleMailboxes; a FromValueMemo that has seen every
// earlier input gives what parsing gives.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dmarc/from.h"

namespace {

using mxkit::auth::dmarc::FromError;
using mxkit::auth::dmarc::FromOptions;
using mxkit::auth::dmarc::FromResult;
using mxkit::auth::dmarc::FromValueMemo;
using mxkit::auth::dmarc::MultipleAuthorAction;
using mxkit::auth::dmarc::ParseFromValue;

void Check(bool property) {
  if (!property) __builtin_trap();
}

bool Same(const FromResult& a, const FromResult& b) {
  if (a.error != b.error || a.offset != b.offset || a.message != b.message ||
      a.domains != b.domains || a.authors.size() != b.authors.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.authors.size(); ++i) {
    if (a.authors[i].address != b.authors[i].address ||
        a.authors[i].domain != b.authors[i].domain) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  FromOptions all;
  all.multiple_mailboxes = MultipleAuthorAction::kEvaluateAll;
  FromResult r = ParseFromValue(text, all);
  FromResult strict = ParseFromValue(text);
  // Kept across inputs, so hits, misses and the emptying when full all occur.
  static FromValueMemo memo(all);
  Check(Same(memo.Parse(text), r));
  Check(Same(memo.Parse(text), r));
  if (!r.ok()) {
    Check(r.offset <= text.size());
    Check(!r.message.empty());
    Check(strict.error == r.error && strict.offset == r.offset);
    return 0;
  }
  Check(!r.authors.empty());
  if (r.authors.size() == 1) {
    Check(strict.ok() && strict.domains == r.domains);
  } else {
    Check(strict.error == FromError::kMultipleMailboxes);
  }
  for (std::size_t i = 0; i < r.domains.size(); ++i) {
    Check(!r.domains[i].empty());
    // Lowercase, and ASCII: U-labels were converted (RFC 8616 §6).
    for (char c : r.domains[i]) Check(!(c >= 'A' && c <= 'Z') && static_cast<unsigned char>(c) < 0x80);
    for (std::size_t j = 0; j < i; ++j) Check(r.domains[i] != r.domains[j]);
  }
  std::string joined;
  for (const auto& a : r.authors) {
    if (!joined.empty()) joined += ", ";
    joined += a.address;
  }
  FromResult again = ParseFromValue(joined, all);
  Check(again.ok());
  Check(again.authors.size() == r.authors.size());
  for (std::size_t i = 0; i < r.authors.size(); ++i) {
    Check(again.authors[i].address == r.authors[i].address);
    Check(again.authors[i].domain == r.authors[i].domain);
  }
  return 0;
}
