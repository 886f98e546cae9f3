// SPF records (RFC 7208 §4.5, §4.6, §5, §6, §12): version detection and a
// strict parser from the record text to mechanisms and modifiers. Parsing is
// separate from evaluation: the whole record is checked before any mechanism
// is evaluated, because a syntax error anywhere is a permerror (§4.6).

#ifndef MXKIT_AUTH_SPF_RECORD_H_
#define MXKIT_AUTH_SPF_RECORD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/spf/macro.h"

namespace mxkit::auth::spf {

// Bound on terms per record. RFC 7208 sets none, but a TXT RRset of 64 KiB
// cannot hold more than ~32 Ki one-character terms; this keeps a hostile record
// from costing more than it could in DNS while being far above real use.
inline constexpr size_t kMaxTerms = 4096;

// An IPv4 or IPv6 address; IPv4 lives in the first four bytes.
struct IpAddress {
  bool is_v6 = false;
  std::array<uint8_t, 16> bytes{};

  // Parses dotted-quad IPv4 (no leading zeros) or RFC 4291 §2.2 IPv6 text.
  // An IPv4-mapped IPv6 address (::ffff:a.b.c.d) stays IPv6 here; the
  // evaluator maps it to IPv4 (RFC 7208 §5: it MUST be treated as IPv4).
  static std::optional<IpAddress> Parse(std::string_view text);
  // RFC 5952 text (dotted quad for IPv4), as the %{c} macro wants.
  std::string ToString() const;
  bool operator==(const IpAddress& other) const = default;
};

// Strict dotted quad per RFC 7208 §5.6 ip4-network: no leading zeros, no
// missing parts ("1.2.3"), no trailing junk.
std::optional<std::array<uint8_t, 4>> ParseIp4(std::string_view text);

// True when the first `prefix` bits of a and b agree (both v4 or both v6).
bool PrefixMatch(const IpAddress& a, const IpAddress& b, int prefix);

enum class Qualifier : char { kPass = '+', kFail = '-', kSoftFail = '~', kNeutral = '?' };

enum class MechanismKind { kAll, kInclude, kA, kMx, kPtr, kIp4, kIp6, kExists };

// "all", "include", ... as written in records.
std::string_view MechanismName(MechanismKind kind);

struct Mechanism {
  Qualifier qualifier = Qualifier::kPass;
  MechanismKind kind = MechanismKind::kAll;
  // include, exists (required), a, mx, ptr (optional; absent means <domain>).
  std::optional<MacroString> domain_spec;
  // a, mx: dual-cidr-length (§5.3, §5.4); ip4: ip4_cidr; ip6: ip6_cidr.
  int ip4_cidr = 32;
  int ip6_cidr = 128;
  // ip4 / ip6 network.
  IpAddress network;
  // The term as written and where it starts in the record, for messages.
  std::string text;
  size_t offset = 0;

  // True for the mechanisms that count towards the 10-lookup limit (§4.6.4).
  bool does_dns_lookup() const {
    return kind == MechanismKind::kInclude || kind == MechanismKind::kA ||
           kind == MechanismKind::kMx || kind == MechanismKind::kPtr ||
           kind == MechanismKind::kExists;
  }
};

// A modifier other than redirect= and exp= (§6: unknown modifiers are
// syntax-checked and then ignored).
struct UnknownModifier {
  std::string name;
  MacroString value;
  size_t offset = 0;
};

struct Record {
  std::vector<Mechanism> mechanisms;   // in record order
  std::optional<MacroString> redirect; // §6.1
  std::optional<MacroString> exp;      // §6.2
  std::string redirect_text, exp_text; // as written, for messages
  std::vector<UnknownModifier> unknown_modifiers;
};

// True when `txt` (the TXT strings already concatenated, §3.3) is an SPF
// version 1 record: "v=spf1", case-insensitive, followed by SP or the end
// (§4.5: "v=spf10" and "v=spf1mx" are not).
bool IsSpfRecord(std::string_view txt);

// Parses a whole record, version term included. Every term is checked, so an
// error after a term that would match still fails the parse. Offsets in the
// error are into `txt`.
ParseResult<Record> ParseRecord(std::string_view txt);

}  // namespace mxkit::auth::spf

#endif  // MXKIT_AUTH_SPF_RECORD_H_
