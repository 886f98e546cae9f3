// MTA-STS (RFC 8461), sans-IO: the _mta-sts TXT record (§3.1), the policy
// text (§3.2), MX pattern matching (§4.1) and the policy cache (§5.1). No
// sockets and no clock: the fetch is policy/mta_sts_fetcher.h, and the cache
// takes the time from its caller.

#ifndef MXKIT_POLICY_MTA_STS_H_
#define MXKIT_POLICY_MTA_STS_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace mxkit::policy {

// RFC 8461 §3.1: sts-id = %s"id=" 1*32(ALPHA / DIGIT).
inline constexpr size_t kMaxStsIdLength = 32;
// RFC 8461 §3.1 sts-ext-name and §3.2 sts-policy-ext-name:
// (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".").
inline constexpr size_t kMaxStsExtensionNameLength = 32;
// RFC 8461 §3.2: "max_age: ... maximum value of 31557600" (one year).
inline constexpr uint32_t kMaxStsMaxAge = 31557600;
// RFC 8461 §3.2: sts-policy-max-age-value = 1*10(DIGIT).
inline constexpr size_t kMaxStsMaxAgeDigits = 10;
// RFC 1035 §2.3.4 (and RFC 8461 §3.2 sts-policy-mx-value = ["*."] Domain):
// a domain name is at most 253 octets in text, 63 per label.
inline constexpr size_t kMaxDomainNameLength = 253;
inline constexpr size_t kMaxDomainLabelLength = 63;
// A policy is what one HTTP body holds, and policy/mta_sts_fetcher.h bounds
// that body (RFC 8461 leaves the limit to the sender; real policies are a few
// hundred octets, 64 KiB leaves room for any). The parser applies the same
// bound so a caller that got text elsewhere cannot hand it more.
inline constexpr size_t kMaxStsPolicySize = 64 * 1024;

// ---------------------------------------------------------------------------
// §3.1 The TXT record at _mta-sts.<domain>.

struct StsTxtRecord {
  std::string id;  // 1-32 letters and digits
  // Extension fields, in order (RFC 8461 §3.1 sts-extension), ignored by
  // senders but kept so a tool can show them.
  std::vector<std::pair<std::string, std::string>> extensions;
};

// Parses one TXT record (its character-strings already concatenated, RFC
// 8461 §3.1 "the TXT record ... MUST be concatenated"). Strict to the ABNF:
// "v=STSv1" first and case-sensitive, fields separated by *WSP ";" *WSP, an
// optional trailing separator, exactly one id. InvalidArgument names the
// field and offset and quotes the input (escaped, bounded).
absl::StatusOr<StsTxtRecord> ParseStsTxtRecord(std::string_view txt);

// RFC 8461 §3.1 discovery from the TXT RRset of _mta-sts.<domain> (each entry
// one record, strings concatenated): records not beginning with "v=STSv1"
// *WSP ";" are discarded; if not exactly one remains, or it does not parse,
// the domain has no available policy. NotFound when none remain; InvalidArgument (saying
// which) when several remain or the one does not parse. Either error means
// "no MTA-STS"; the distinction is for messages.
absl::StatusOr<StsTxtRecord> DiscoverStsTxtRecord(absl::Span<const std::string> txt_records);

// ---------------------------------------------------------------------------
// §3.2 The policy text at https://mta-sts.<domain>/.well-known/mta-sts.txt.

enum class StsMode { kEnforce, kTesting, kNone };

// "enforce", "testing", "none".
std::string_view StsModeName(StsMode mode);

struct StsPolicy {
  StsMode mode = StsMode::kNone;
  uint32_t max_age = 0;  // seconds, <= kMaxStsMaxAge
  // MX patterns as written ("mx.example.com", "*.example.net"), in order.
  std::vector<std::string> mx;
  // Unknown keys (RFC 8461 §3.2 sts-policy-extension), ignored by senders.
  std::vector<std::pair<std::string, std::string>> extensions;
};

// Where and why a policy text is invalid. Lines and columns count from 1;
// columns are octets.
struct StsPolicyError {
  size_t line = 0;
  size_t column = 0;
  std::string message;  // "mode: \"enfrce\" is not enforce, testing or none"
  // "line 2, column 7: mode: ..."
  std::string ToString() const;
};

// The outcome of ParseStsPolicy: a policy or an error, never both.
class StsPolicyResult {
 public:
  explicit StsPolicyResult(StsPolicy policy) : policy_(std::move(policy)) {}
  explicit StsPolicyResult(StsPolicyError error) : error_(std::move(error)) {}
  bool ok() const { return policy_.has_value(); }
  // Only when ok().
  const StsPolicy& policy() const { return *policy_; }
  // Only when !ok().
  const StsPolicyError& error() const { return *error_; }
  // OK, or InvalidArgument with error().ToString().
  absl::Status status() const;

 private:
  std::optional<StsPolicy> policy_;
  std::optional<StsPolicyError> error_;
};

// Parses a policy text (RFC 8461 §3.2). Lines end in LF or CRLF (a bare CR
// is an error), the last terminator is optional, empty lines are errors (the
// ABNF has none); each line is "key:" *WSP value *WSP. Keys are
// case-sensitive as the ABNF's %s strings: "version" ("STSv1"), "mode"
// (enforce, testing, none), "max_age" (1-10 digits, <= kMaxStsMaxAge), "mx"
// (repeatable; ["*."] Domain as RFC 5321 §4.1.2, LDH labels). version, mode
// and max_age must each appear exactly once (RFC 8461 leaves a repeat
// undefined; taking either copy would let an appended line change the
// policy); at least one mx is required unless mode is none. Other keys that
// fit the extension grammar are kept and ignored (their values: VCHAR and
// UTF-8, no controls); a line that fits no grammar is an error. Texts longer
// than kMaxStsPolicySize are refused at line 1, column 1; a missing field is
// reported just past the end of the text.
StsPolicyResult ParseStsPolicy(std::string_view text);

// OK when `name` is an RFC 5321 §4.1.2 Domain (LDH labels, no trailing dot,
// RFC 1035 §2.3.4 lengths), the syntax of a policy's mx values and of a
// policy domain; otherwise InvalidArgument saying what is wrong.
absl::Status CheckDomainSyntax(std::string_view name);

// The policy as RFC 8461 §3.2 text: version, mode, each mx, max_age, then
// the extensions, one "key: value" per CRLF-terminated line. For a policy
// ParseStsPolicy returned, ParseStsPolicy(FormatStsPolicy(p)) gives p back.
std::string FormatStsPolicy(const StsPolicy& policy);

// ---------------------------------------------------------------------------
// §4.1 MX host validation.

// True when the MX host name `mx_host` (one trailing dot ignored) matches the
// policy's `pattern`: equal ignoring ASCII case, or the pattern is "*." +
// suffix and mx_host is exactly one non-empty label followed by "." + suffix
// (RFC 8461 §4.1: "*.example.com" matches "mx1.example.com" but neither
// "example.com" nor "foo.mx1.example.com").
bool MxPatternMatches(std::string_view pattern, std::string_view mx_host);

// True when any of `policy.mx` matches `mx_host`.
bool StsPolicyAllowsMx(const StsPolicy& policy, std::string_view mx_host);

// ---------------------------------------------------------------------------
// §5.1 The policy cache.

// A sender's cache of fetched policies, keyed by policy domain (ASCII
// case-folded, one trailing dot ignored). It decides, for a domain, whether
// the sender must fetch, may use what it has, or has no policy; the caller
// fetches and reports back. Not thread-safe; bounded by max_entries (the
// entry that expires first is evicted to make room).
class StsPolicyCache {
 public:
  static constexpr size_t kDefaultMaxEntries = 10000;

  struct Entry {
    std::string id;  // the TXT id the policy was fetched under
    StsPolicy policy;
    absl::Time fetched_at;
    absl::Time expires_at;  // fetched_at + policy.max_age
  };

  enum class Action {
    kFetch,      // fetch the policy (none cached, expired, or the TXT id changed)
    kUseCached,  // apply `entry` (TXT id unchanged, or TXT gone / failing while the entry lives)
    kNoPolicy,   // no TXT record and nothing (unexpired) cached: no MTA-STS
  };

  struct Decision {
    Action action = Action::kNoPolicy;
    const Entry* entry = nullptr;  // for kUseCached; also for kFetch when a live entry
                                   // can serve if the fetch fails (RFC 8461 §5.1)
    std::string reason;            // "TXT id changed from 20240101 to 20240202"
  };

  explicit StsPolicyCache(size_t max_entries = kDefaultMaxEntries);

  // What to do for `domain` at `now`, given the id of the valid TXT record
  // found (nullopt when discovery found none or failed; RFC 8461 §5.1: a
  // cached, unexpired policy still applies then). Pointers stay valid until
  // the next non-const call.
  Decision Decide(std::string_view domain, const std::optional<std::string>& txt_id,
                  absl::Time now) const;

  // Records a successful fetch under `txt_id`, replacing any entry: expiry is
  // now + policy.max_age (a max_age of 0 stores nothing and removes the
  // entry, so a receiver can withdraw a policy, RFC 8461 §8.3).
  void Store(std::string_view domain, std::string_view txt_id, StsPolicy policy, absl::Time now);

  // The unexpired entry for `domain`, or nullptr.
  const Entry* Find(std::string_view domain, absl::Time now) const;
  void Erase(std::string_view domain);
  // Drops every entry expired at `now`.
  void ExpireOld(absl::Time now);
  size_t size() const { return entries_.size(); }

 private:
  size_t max_entries_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace mxkit::policy

#endif  // MXKIT_POLICY_MTA_STS_H_
