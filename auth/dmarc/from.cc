#include "auth/dmarc/from.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ascii.h"
#include "dns/idna.h"
#include "message/header_block.h"
#include "message/mailbox_list.h"

namespace mxkit::auth::dmarc {
namespace {

// The DNS name DMARC looks up for a mailbox's domain: the domain as
// written, or its A-label form when it holds U-labels (RFC 8616 §6),
// lowercased. Returns why it cannot be one ("" when it can).
std::string AuthorDomain(const message::Mailbox& m, std::string* out) {
  std::string raw = m.domain;
  if (dns::HasNonAscii(raw)) {
    dns::IdnaResult a_labels = dns::ToALabels(raw);
    if (!a_labels.ok()) return "author domain: " + a_labels.error;
    raw = std::move(a_labels.name);
  }
  // A DNS name we can query: ASCII letters, digits, '-' and '_' (the last
  // for names like _dmarc test domains), labels of 1..63, 253 in all.
  if (raw.size() > kMaxDomainLength) return "author domain longer than 253 characters";
  std::size_t label = 0;
  for (char c : raw) {
    if (c == '.') {
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) {
      return ok ? "author domain has a label longer than 63 characters"
                : "author domain has a character DNS names cannot hold";
    }
  }
  for (char& c : raw) c = base::ToLowerAscii(c);
  *out = std::move(raw);
  return "";
}

void AddDomains(FromResult* r) {
  for (const Author& a : r->authors) {
    if (std::find(r->domains.begin(), r->domains.end(), a.domain) == r->domains.end()) {
      r->domains.push_back(a.domain);
    }
  }
}

}  // namespace

std::string_view FromErrorName(FromError error) {
  switch (error) {
    case FromError::kOk: return "Ok";
    case FromError::kNoFromField: return "NoFromField";
    case FromError::kMultipleFromFields: return "MultipleFromFields";
    case FromError::kMultipleMailboxes: return "MultipleMailboxes";
    case FromError::kNoMailbox: return "NoMailbox";
    case FromError::kSyntax: return "Syntax";
    case FromError::kCommentTooDeep: return "CommentTooDeep";
    case FromError::kTooManyMailboxes: return "TooManyMailboxes";
    case FromError::kInvalidDomain: return "InvalidDomain";
  }
  return "Unknown";
}

FromResult ParseFromValue(std::string_view value, const FromOptions& options) {
  FromResult r;
  // The RFC 5322 §3.4 grammar is message/mailbox_list.h's; what DMARC adds
  // is a domain it can look up, checked as each mailbox is read so the
  // first problem in the field is the one reported.
  std::vector<std::string> domains;
  message::MailboxListOptions list_options;
  list_options.allow_domain_literal = false;
  list_options.max_mailboxes = kMaxAuthors;
  list_options.check = [&domains](const message::Mailbox& m) {
    std::string domain;
    std::string why = AuthorDomain(m, &domain);
    if (why.empty()) domains.push_back(std::move(domain));
    return why;
  };
  message::MailboxListResult list = message::ParseMailboxList(value, list_options);
  if (!list.ok()) {
    r.offset = list.offset;
    r.message = list.message;
    switch (list.error) {
      case message::MailboxListError::kCommentTooDeep:
        r.error = FromError::kCommentTooDeep;
        break;
      case message::MailboxListError::kTooManyMailboxes:
        r.error = FromError::kTooManyMailboxes;
        r.message = "more than " + std::to_string(kMaxAuthors) + " mailboxes in From at offset " +
                    std::to_string(list.offset);
        break;
      case message::MailboxListError::kDomainLiteral:
        r.error = FromError::kInvalidDomain;
        r.message = "the author domain is a domain-literal, which has no DMARC policy at offset " +
                    std::to_string(list.offset);
        break;
      case message::MailboxListError::kRejected:
        r.error = FromError::kInvalidDomain;
        break;
      default:
        r.error = FromError::kSyntax;
        break;
    }
    return r;
  }
  if (list.mailboxes.empty()) {
    r.error = FromError::kNoMailbox;
    if (list.saw_group) {
      r.offset = 0;
      r.message = "the From field names no mailbox (an empty group)";
    } else {  // nothing but CFWS
      r.offset = value.size();
      r.message = "the From field names no mailbox at offset " + std::to_string(value.size());
    }
    return r;
  }
  if (list.mailboxes.size() > 1 && options.multiple_mailboxes == MultipleAuthorAction::kReject) {
    const std::size_t second = list.mailboxes[1].offset;
    r.error = FromError::kMultipleMailboxes;
    r.offset = second;
    r.message = "From names " + std::to_string(list.mailboxes.size()) +
                " mailboxes; DMARC needs one author domain (RFC 7489 §6.6.1), second at offset " +
                std::to_string(second);
    return r;
  }
  for (std::size_t i = 0; i < list.mailboxes.size(); ++i) {
    r.authors.push_back(Author{list.mailboxes[i].Address(), std::move(domains[i])});
  }
  AddDomains(&r);
  return r;
}

namespace {

// ExtractAuthorDomains over `parse`, which gives ParseFromValue(value,
// options) for a field's value.
template <typename Parse>
FromResult Extract(const message::HeaderBlock& block, const FromOptions& options, Parse&& parse) {
  FromResult r;
  std::vector<const message::HeaderField*> fields = block.FindAll("From");
  if (fields.empty()) {
    r.error = FromError::kNoFromField;
    r.offset = block.separator_offset;
    r.message = "the message has no From field (RFC 5322 §3.6 requires one; RFC 7489 §6.6.1)";
    return r;
  }
  if (fields.size() > 1 && options.multiple_from_fields == MultipleAuthorAction::kReject) {
    r.error = FromError::kMultipleFromFields;
    r.offset = fields[1]->offset;
    r.message = "the message has " + std::to_string(fields.size()) +
                " From fields (RFC 5322 §3.6 allows one; RFC 7489 §6.6.1), second at offset " +
                std::to_string(fields[1]->offset);
    return r;
  }
  for (const message::HeaderField* field : fields) {
    const FromResult& one = parse(field->raw_value);
    std::size_t base =
        field->offset + static_cast<std::size_t>(field->raw_value.data() - field->raw.data());
    if (!one.ok()) {
      FromResult error = one;
      error.offset += base;
      error.message += " of the From field at offset " + std::to_string(field->offset);
      return error;
    }
    r.authors.insert(r.authors.end(), one.authors.begin(), one.authors.end());
  }
  AddDomains(&r);
  return r;
}

}  // namespace

FromResult ExtractAuthorDomains(const message::HeaderBlock& block, const FromOptions& options) {
  FromResult parsed;
  return Extract(block, options, [&](std::string_view value) -> const FromResult& {
    parsed = ParseFromValue(value, options);
    return parsed;
  });
}

const FromResult& FromValueMemo::Parse(std::string_view value) {
  // Debian's abseil has its own string_view (not std's).
  auto it = results_.find(absl::string_view(value.data(), value.size()));
  if (it != results_.end()) return it->second;
  if (results_.size() >= kMaxRemembered) results_.clear();
  return results_.emplace(std::string(value), ParseFromValue(value, options_)).first->second;
}

FromResult ExtractAuthorDomains(const message::HeaderBlock& block, FromValueMemo& memo) {
  return Extract(block, memo.options(),
                 [&](std::string_view value) -> const FromResult& { return memo.Parse(value); });
}

}  // namespace mxkit::auth::dmarc
