#include "auth/dkim/signature.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "auth/dkim/internal/cat.h"
#include "auth/dkim/tag_list.h"
#include "base/ascii.h"
#include "base/base64.h"

namespace mxkit::auth::dkim {
namespace {

// b= and bh= may hold FWS anywhere (RFC 6376 §3.5); pad bits are not checked,
// as dkimpy, OpenDKIM and BoringSSL do not check them (RFC 4648 §3.5).
constexpr base::Base64DecodeOptions kTagValueBase64{.allow_nonzero_pad_bits = true,
                                                    .skip_folding_whitespace = true};

using internal::Cat;

using base::AsciiLower;
using base::EqualsIgnoreCase;
// RFC 5321 §4.1.2 Let-dig = ALPHA / DIGIT.
constexpr bool IsLetDig(char c) { return base::IsAlnum(c); }

// sub-domain = Let-dig [Ldh-str] (RFC 5321 §4.1.2).
bool IsSubDomain(std::string_view label) {
  if (label.empty() || label.size() > kMaxLabelLength) return false;
  if (!IsLetDig(label.front()) || !IsLetDig(label.back())) return false;
  for (char c : label) {
    if (!IsLetDig(c) && c != '-') return false;
  }
  return true;
}

// Dot-separated sub-domains; at least `min_labels` of them.
bool IsDottedSubDomains(std::string_view name, std::size_t min_labels) {
  if (name.empty() || name.size() > kMaxDomainLength) return false;
  std::size_t labels = 0;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = name.find('.', start);
    std::string_view label =
        name.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (!IsSubDomain(label)) return false;
    ++labels;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return labels >= min_labels;
}

std::string_view TrimFws(std::string_view s) {
  auto ws = [](char c) { return IsWsp(c) || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// Calls fn(element) for each ':'-separated element of `value` with FWS
// trimmed (h= and q= lists), until fn returns false; returns whether every
// call returned true.
template <typename Fn>
bool ForEachColonElement(std::string_view value, Fn fn) {
  std::size_t start = 0;
  for (;;) {
    std::size_t colon = value.find(':', start);
    if (!fn(TrimFws(value.substr(
            start, colon == std::string_view::npos ? std::string_view::npos : colon - start)))) {
      return false;
    }
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
  }
}

// The tags ParseSignature reads, found in one pass over the list.
struct SignatureTags {
  const Tag* v = nullptr;
  const Tag* a = nullptr;
  const Tag* b = nullptr;
  const Tag* bh = nullptr;
  const Tag* c = nullptr;
  const Tag* d = nullptr;
  const Tag* h = nullptr;
  const Tag* i = nullptr;
  const Tag* l = nullptr;
  const Tag* q = nullptr;
  const Tag* s = nullptr;
  const Tag* t = nullptr;
  const Tag* x = nullptr;
};

SignatureTags IndexTags(const TagList& list) {
  SignatureTags t;
  for (const Tag& tag : list.tags) {
    // Tag names are case-sensitive (§3.2) and unique in a valid list.
    if (tag.name.size() == 2) {
      if (tag.name == "bh") t.bh = &tag;
      continue;
    }
    if (tag.name.size() != 1) continue;
    switch (tag.name[0]) {
      case 'v': t.v = &tag; break;
      case 'a': t.a = &tag; break;
      case 'b': t.b = &tag; break;
      case 'c': t.c = &tag; break;
      case 'd': t.d = &tag; break;
      case 'h': t.h = &tag; break;
      case 'i': t.i = &tag; break;
      case 'l': t.l = &tag; break;
      case 'q': t.q = &tag; break;
      case 's': t.s = &tag; break;
      case 't': t.t = &tag; break;
      case 'x': t.x = &tag; break;
      default: break;
    }
  }
  return t;
}

bool ParseDigits(std::string_view s, std::size_t max_digits, uint64_t* out) {
  if (s.empty() || s.size() > max_digits) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    // l= may legally exceed 64 bits (76 digits); saturate, since no body is
    // that long the comparison with the real length stays right.
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      v = std::numeric_limits<uint64_t>::max();
    } else {
      v = v * 10 + d;
    }
  }
  *out = v;
  return true;
}

bool IsFtext(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && c != ':';
}

}  // namespace

absl::StatusOr<DkimMessage> SplitMessage(std::string_view message,
                                         const message::HeaderBlockOptions& options) {
  message::HeaderBlockResult split = message::SplitHeaderBlock(message, options);
  if (!split.ok()) {
    return absl::InvalidArgumentError(
        Cat("message header, offset ", split.offset, ": ", split.message));
  }
  return SplitMessage(split.block);
}

DkimMessage SplitMessage(const message::HeaderBlock& block) {
  DkimMessage out;
  out.headers.reserve(block.fields.size());
  for (const message::HeaderField& f : block.fields) {
    std::string_view raw = f.raw;
    if (raw.size() >= 1 && raw.back() == '\n') raw.remove_suffix(1);
    if (raw.size() >= 1 && raw.back() == '\r') raw.remove_suffix(1);
    out.headers.push_back(HeaderField{f.name, raw});
  }
  out.body = block.body;
  return out;
}

bool IsValidDomainName(std::string_view name) { return IsDottedSubDomains(name, 2); }

std::string_view SignatureAlgorithmName(SignatureAlgorithm a) {
  switch (a) {
    case SignatureAlgorithm::kRsaSha256: return "rsa-sha256";
    case SignatureAlgorithm::kEd25519Sha256: return "ed25519-sha256";
    case SignatureAlgorithm::kRsaSha1: return "rsa-sha1";
  }
  return "unknown";
}

std::string_view SignatureErrorName(SignatureError error) {
  switch (error) {
    case SignatureError::kOk: return "Ok";
    case SignatureError::kSyntax: return "Syntax";
    case SignatureError::kMissingTag: return "MissingTag";
    case SignatureError::kUnsupportedVersion: return "UnsupportedVersion";
    case SignatureError::kUnsupportedAlgorithm: return "UnsupportedAlgorithm";
    case SignatureError::kUnsupportedCanonicalization: return "UnsupportedCanonicalization";
    case SignatureError::kUnsupportedQueryMethod: return "UnsupportedQueryMethod";
    case SignatureError::kIdentityNotInDomain: return "IdentityNotInDomain";
    case SignatureError::kFromNotSigned: return "FromNotSigned";
    case SignatureError::kExpiresBeforeTimestamp: return "ExpiresBeforeTimestamp";
    case SignatureError::kTooManySignedHeaders: return "TooManySignedHeaders";
  }
  return "Unknown";
}

SignatureParseResult ParseSignature(std::string_view raw, const SignatureParseOptions& options) {
  SignatureParseResult r;
  auto fail = [&r](SignatureError e, std::size_t offset, std::string message) {
    r.error = e;
    r.offset = offset;
    r.message = std::move(message);
    return std::move(r);
  };
  std::size_t colon = raw.find(':');
  if (colon == std::string_view::npos) {
    return fail(SignatureError::kSyntax, raw.size(), "header field has no colon");
  }
  const std::size_t base = colon + 1;  // offsets below are into the value
  TagListResult tags = ParseTagList(raw.substr(base));
  if (!tags.ok()) {
    return fail(SignatureError::kSyntax, base + tags.offset, "DKIM-Signature: " + tags.message);
  }
  const SignatureTags found = IndexTags(tags.list);
  Signature& sig = r.signature;

  // §6.1.1: v a b bh d h s are required.
  const std::pair<std::string_view, const Tag*> required[] = {
      {"v", found.v}, {"a", found.a}, {"b", found.b}, {"bh", found.bh},
      {"d", found.d}, {"h", found.h}, {"s", found.s}};
  for (const auto& [name, tag] : required) {
    if (tag == nullptr) {
      return fail(SignatureError::kMissingTag, raw.size(),
                  Cat("required tag ", name, "= is missing (RFC 6376 §6.1.1)"));
    }
  }
  const Tag& v = *found.v;
  if (v.value != "1") {
    return fail(SignatureError::kUnsupportedVersion, base + v.value_offset,
                Cat("v=", v.value, " is not version 1 (RFC 6376 §3.5)"));
  }
  const Tag& a = *found.a;
  if (a.value == "rsa-sha256") {
    sig.algorithm = SignatureAlgorithm::kRsaSha256;
  } else if (a.value == "ed25519-sha256") {
    sig.algorithm = SignatureAlgorithm::kEd25519Sha256;
  } else if (a.value == "rsa-sha1") {
    sig.algorithm = SignatureAlgorithm::kRsaSha1;  // parsed; the verifier refuses it
  } else {
    return fail(SignatureError::kUnsupportedAlgorithm, base + a.value_offset,
                Cat("signing algorithm \"", a.value, "\" is not supported"));
  }

  // b= and bh=: base64 with FWS allowed anywhere (§3.5).
  const Tag& b = *found.b;
  base::Base64Result b_bytes = base::DecodeBase64(b.value, kTagValueBase64);
  if (!b_bytes.ok() || (b_bytes.bytes.empty() && !options.allow_empty_b)) {
    return fail(SignatureError::kSyntax, base + b.value_offset, "b= is not valid base64");
  }
  sig.signature = std::move(b_bytes.bytes);
  {
    // The deleted range: after "b=" up to ";" or the end (§3.7).
    std::size_t eq = raw.find('=', base + b.name_offset);
    sig.b_value_begin = eq + 1;
    std::size_t semi = raw.find(';', base + b.value_offset);
    sig.b_value_end = semi == std::string_view::npos ? raw.size() : semi;
  }
  const Tag& bh = *found.bh;
  base::Base64Result bh_bytes = base::DecodeBase64(bh.value, kTagValueBase64);
  if (!bh_bytes.ok() || bh_bytes.bytes.empty()) {
    return fail(SignatureError::kSyntax, base + bh.value_offset, "bh= is not valid base64");
  }
  sig.body_hash = std::move(bh_bytes.bytes);

  if (const Tag* c = found.c) {
    std::string_view value = c->value;
    std::size_t slash = value.find('/');
    std::string_view head = value.substr(0, slash);
    std::string_view body = slash == std::string_view::npos ? "simple" : value.substr(slash + 1);
    auto parse = [](std::string_view s, Canonicalization* out) {
      if (s == "simple") *out = Canonicalization::kSimple;
      else if (s == "relaxed") *out = Canonicalization::kRelaxed;
      else return false;
      return true;
    };
    if (!parse(head, &sig.header_canonicalization) || !parse(body, &sig.body_canonicalization)) {
      return fail(SignatureError::kUnsupportedCanonicalization, base + c->value_offset,
                  Cat("canonicalization \"", value, "\" is not simple or relaxed (RFC 6376 §3.5)"));
    }
  }

  const Tag& d = *found.d;
  if (!IsValidDomainName(d.value)) {
    return fail(SignatureError::kSyntax, base + d.value_offset,
                Cat("d=", d.value, " is not a domain name (RFC 6376 §3.5)"));
  }
  sig.domain = AsciiLower(d.value);
  const Tag& s = *found.s;
  if (!IsDottedSubDomains(s.value, 1)) {
    return fail(SignatureError::kSyntax, base + s.value_offset,
                Cat("s=", s.value, " is not a selector (RFC 6376 §3.1)"));
  }
  sig.selector = AsciiLower(s.value);

  if (const Tag* q = found.q) {
    bool dns_txt = false;
    bool empty = !ForEachColonElement(q->value, [&dns_txt](std::string_view method) {
      if (method == "dns/txt") dns_txt = true;
      return !method.empty();
    });
    if (empty) {
      return fail(SignatureError::kSyntax, base + q->value_offset, "q= has an empty element");
    }
    if (!dns_txt) {
      return fail(SignatureError::kUnsupportedQueryMethod, base + q->value_offset,
                  Cat("q=", q->value, " names no supported query method (dns/txt, RFC 6376 §3.5)"));
    }
  }

  if (const Tag* i = found.i) {
    std::size_t at = i->value.rfind('@');
    std::string_view idomain =
        at == std::string_view::npos ? std::string_view() : i->value.substr(at + 1);
    if (at == std::string_view::npos || !IsValidDomainName(idomain)) {
      return fail(SignatureError::kSyntax, base + i->value_offset,
                  Cat("i=", i->value, " is not [local-part]@domain (RFC 6376 §3.5)"));
    }
    sig.identity = std::string(i->value);
    sig.identity_domain = AsciiLower(idomain);
    // §3.5: "the domain part of the address MUST be the same as, or a
    // subdomain of, the value of the "d=" tag".
    const std::string& dd = sig.domain;
    const std::string& id = sig.identity_domain;
    bool same_or_below =
        id == dd || (id.size() > dd.size() && id.compare(id.size() - dd.size(), dd.size(), dd) == 0 &&
                     id[id.size() - dd.size() - 1] == '.');
    if (!same_or_below) {
      return fail(SignatureError::kIdentityNotInDomain, base + i->value_offset,
                  Cat("i= domain ", id, " is neither d=", dd,
                      " nor a subdomain of it (RFC 6376 §3.5)"));
    }
  } else {
    sig.identity = "@" + sig.domain;
    sig.identity_domain = sig.domain;
  }

  const Tag& h = *found.h;
  bool from = false;
  sig.signed_headers.reserve(
      std::min<std::size_t>(kMaxSignedHeaderFields,
                            static_cast<std::size_t>(std::count(h.value.begin(), h.value.end(), ':')) + 1));
  std::optional<SignatureParseResult> h_error;
  ForEachColonElement(h.value, [&](std::string_view name) {
    if (name.empty()) {
      h_error = fail(SignatureError::kSyntax, base + h.value_offset, "h= has an empty element");
      return false;
    }
    for (char ch : name) {
      if (!IsFtext(ch)) {
        h_error = fail(SignatureError::kSyntax, base + h.value_offset,
                       Cat("h= element \"", name, "\" is not a header field name"));
        return false;
      }
    }
    if (sig.signed_headers.size() == kMaxSignedHeaderFields) {
      h_error = fail(SignatureError::kTooManySignedHeaders, base + h.value_offset,
                     Cat("h= lists more than ", kMaxSignedHeaderFields, " header fields"));
      return false;
    }
    sig.signed_headers.push_back(AsciiLower(name));
    if (sig.signed_headers.back() == "from") from = true;
    return true;
  });
  if (h_error) return std::move(*h_error);
  if (!from) {
    return fail(SignatureError::kFromNotSigned, base + h.value_offset,
                "h= does not include From (RFC 6376 §5.4, §6.1.1)");
  }

  if (const Tag* l = found.l) {
    uint64_t n = 0;
    if (!ParseDigits(l->value, kMaxBodyLengthDigits, &n)) {
      return fail(SignatureError::kSyntax, base + l->value_offset,
                  Cat("l=", l->value, " is not 1*76DIGIT (RFC 6376 §3.5)"));
    }
    sig.body_length = n;
  }
  for (std::string_view name : {"t", "x"}) {
    if (const Tag* t = name == "t" ? found.t : found.x) {
      uint64_t n = 0;
      if (!ParseDigits(t->value, kMaxTimestampDigits, &n)) {
        return fail(SignatureError::kSyntax, base + t->value_offset,
                    Cat(name, "=", t->value, " is not 1*12DIGIT (RFC 6376 §3.5)"));
      }
      (name == "t" ? sig.timestamp : sig.expiration) = static_cast<int64_t>(n);
    }
  }
  if (sig.timestamp && sig.expiration && !(*sig.expiration > *sig.timestamp)) {
    return fail(SignatureError::kExpiresBeforeTimestamp, base + found.x->value_offset,
                Cat("x=", *sig.expiration, " is not greater than t=", *sig.timestamp,
                    " (RFC 6376 §3.5)"));
  }
  return r;
}

void AppendHeaderHashInput(std::span<const HeaderField> headers, const Signature& sig,
                           std::string_view signature_raw, std::string* out) {
  // Bottom-up selection (§5.4.2): for each h= name, the last instance of the
  // field above the previously taken one of that name.
  // name -> index to search below; h= names rarely exceed a few dozen.
  absl::InlinedVector<std::pair<std::string_view, std::size_t>, 32> next;
  for (const std::string& name : sig.signed_headers) {
    std::size_t* limit = nullptr;
    for (auto& entry : next) {
      if (entry.first == name) limit = &entry.second;
    }
    if (limit == nullptr) {
      next.emplace_back(name, headers.size());
      limit = &next.back().second;
    }
    std::size_t i = *limit;
    while (i > 0) {
      --i;
      const std::string_view field = headers[i].name;
      if (EqualsIgnoreCase(field, name)) {
        AppendCanonicalHeader(sig.header_canonicalization, headers[i].raw, out);
        *limit = i;
        break;
      }
    }
  }
  // The field with its b= value deleted, on the stack when it fits (it does
  // for any RSA-4096 signature with a short h=).
  const std::string_view head = signature_raw.substr(0, sig.b_value_begin);
  const std::string_view tail = signature_raw.substr(sig.b_value_end);
  char stack[2048];
  std::string heap;
  char* joined = stack;
  if (head.size() + tail.size() > sizeof(stack)) {
    heap.resize(head.size() + tail.size());
    joined = heap.data();
  }
  std::memcpy(joined, head.data(), head.size());
  std::memcpy(joined + head.size(), tail.data(), tail.size());
  std::size_t before = out->size();
  AppendCanonicalHeader(sig.header_canonicalization,
                        std::string_view(joined, head.size() + tail.size()), out);
  // §3.7: the signature field itself goes in without its trailing CRLF.
  if (out->size() >= before + 2) out->resize(out->size() - 2);
}

}  // namespace mxkit::auth::dkim
