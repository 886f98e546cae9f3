#include "auth/spf/evaluator.h"

#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "dns/idna.h"
#include "dns/lookup_task.h"

namespace mxkit::auth::spf {
namespace {

using dns::LookupResult;
using dns::LookupStatus;
using dns::RrType;

using base::Av;
using base::EqualsIgnoreCase;

// `name` is `suffix` or a subdomain of it (§5.5), ignoring case and one
// trailing dot on either.
bool IsSameOrSubdomain(std::string_view name, std::string_view suffix) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (!suffix.empty() && suffix.back() == '.') suffix.remove_suffix(1);
  if (name.size() < suffix.size()) return false;
  if (!EqualsIgnoreCase(name.substr(name.size() - suffix.size()), suffix)) return false;
  return name.size() == suffix.size() || name[name.size() - suffix.size() - 1] == '.';
}

std::string StripDot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return std::string(name);
}

// What a check_host() level hands back: the result and, for a match, the
// matching term and its record (kept alive here) so the reason and the exp=
// of a fail are built once, after the whole check (§6.2: the explanation is
// fetched once, after the result is known), not at every include level.
struct Outcome {
  Result result = Result::kNeutral;
  std::string reason;  // set for errors and defaults; built later for matches
  std::shared_ptr<const ParseResult<Record>> record;
  const Mechanism* matched = nullptr;
  bool defaulted = false;  // no term matched and no redirect= (§4.7)
  std::string domain;      // the domain whose record decided
};

Outcome Make(Result result, std::string reason) {
  Outcome o;
  o.result = result;
  o.reason = std::move(reason);
  return o;
}

// One check: the client, the identities, the counters (§4.6.4 limits apply to
// the whole check, includes and redirects included).
class Check {
 public:
  Check(dns::Resolver& resolver, const EvaluatorOptions& options, const Evaluator& evaluator,
        const IpAddress& ip, std::string_view sender, std::string_view helo, int64_t timestamp)
      : resolver_(resolver), options_(options), evaluator_(evaluator), ip_(ip) {
    // §5: an IPv4-mapped IPv6 client is an IPv4 client.
    static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ip_.is_v6 && std::equal(kMapped, kMapped + 12, ip_.bytes.begin())) {
      IpAddress v4;
      std::copy(ip_.bytes.begin() + 12, ip_.bytes.end(), v4.bytes.begin());
      ip_ = v4;
    }
    // §4.3: a <sender> without a local-part gets "postmaster".
    size_t at = sender.rfind('@');
    std::string_view local = at == std::string_view::npos ? std::string_view() : sender.substr(0, at);
    std::string_view domain = at == std::string_view::npos ? sender : sender.substr(at + 1);
    // Views into the caller's strings, which outlive this Check; only the
    // substituted sender needs storage of its own.
    if (local.empty()) {
      sender_storage_ = "postmaster@";
      sender_storage_.append(domain);
      values_.sender = sender_storage_;
      values_.local_part = "postmaster";
    } else {
      values_.sender = sender;
      values_.local_part = local;
    }
    values_.sender_domain = domain;
    values_.ip_version = ip_.is_v6 ? "ip6" : "in-addr";
    values_.helo = helo;
    values_.receiver = options_.receiver;
    timestamp_value_ = timestamp;
    values_.validated_domain = [this] { return ValidatedDomainFor(values_.domain); };
  }

  int lookups() const { return lookups_; }
  int voids() const { return voids_; }

  // check_host() for `domain` (§4); also for include and redirect targets.
  dns::Task<Outcome> CheckHost(std::string_view domain) {
    // §4.3: malformed or single-label domains give "none".
    if (!IsQueryableName(domain) || domain.find('.') == std::string::npos || domain[0] == '[') {
      co_return Make(Result::kNone, absl::StrCat("\"", Av(domain),
                                                 "\" is not a valid multi-label domain name "
                                                 "(RFC 7208 §4.3)"));
    }
    LookupResult txt = co_await dns::AwaitLookup(resolver_, domain, RrType::kTxt);
    if (txt.status == LookupStatus::kTemporaryFailure ||
        txt.status == LookupStatus::kPermanentFailure) {
      co_return Make(Result::kTempError, absl::StrCat("TXT lookup for ", Av(domain), " failed: ", txt.detail,
                                                      " (RFC 7208 §4.4)"));
    }
    if (!txt.ok()) {
      ++pending_void_;
      co_return Make(Result::kNone, absl::StrCat("no TXT records at ", Av(domain), " (RFC 7208 §4.4)"));
    }
    // §4.5: keep the records starting "v=spf1"; the strings of one TXT record
    // are concatenated without separators (§3.3).
    std::string joined;
    std::string_view record_text;
    int found = 0;
    for (const dns::ResourceRecord& rr : txt.records) {
      const auto* data = std::get_if<dns::TxtData>(&rr.data);
      if (data == nullptr) continue;
      std::string_view text;
      if (data->strings.size() == 1) {
        text = data->strings[0];  // most records are one string: no copy
      } else {
        std::string concatenated;
        for (const std::string& s : data->strings) concatenated += s;
        if (!IsSpfRecord(concatenated)) continue;
        joined = std::move(concatenated);
        text = joined;
      }
      if (!IsSpfRecord(text)) continue;
      if (++found > 1) {
        co_return Make(Result::kPermError,
                       absl::StrCat("more than one SPF record at ", Av(domain), " (RFC 7208 §4.5)"));
      }
      record_text = text;
    }
    if (found == 0) {
      co_return Make(Result::kNone, absl::StrCat("no \"v=spf1\" record at ", Av(domain), " (RFC 7208 §4.5)"));
    }
    std::shared_ptr<const ParseResult<Record>> record = evaluator_.ParseCached(record_text);
    if (!record->ok()) {
      co_return Make(Result::kPermError,
                     absl::StrCat("SPF record at ", Av(domain), ": ", record->error().message));
    }
    Outcome outcome = co_await Evaluate(record, domain);
    co_return outcome;
  }

  // The explanation for a fail (§6.2); empty when exp= is absent or unusable.
  dns::Task<std::string> Explain(const Outcome& outcome) {
    if (outcome.record == nullptr || !(*outcome.record)->exp) co_return "";
    std::string name = co_await Expand(*(*outcome.record)->exp, outcome.domain, /*for_domain=*/true);
    if (!IsQueryableName(name)) co_return "";
    LookupResult txt = co_await dns::AwaitLookup(resolver_, name, RrType::kTxt);
    // §6.2: any DNS error, no record or more than one record: ignore exp=.
    if (!txt.ok() || txt.records.size() != 1) co_return "";
    const auto* data = std::get_if<dns::TxtData>(&txt.records[0].data);
    if (data == nullptr) co_return "";
    std::string text;
    for (const std::string& s : data->strings) text += s;
    // §6.2: a syntax error (non-ASCII included, §7.1) also ignores exp=.
    ParseResult<MacroString> explain = ParseMacroString(text, MacroContext::kExplainString);
    if (!explain.ok()) co_return "";
    std::string expanded = co_await Expand(*explain, outcome.domain, /*for_domain=*/false);
    co_return expanded;
  }

  dns::Task<std::string> ExpandDefault(const MacroString& macro, std::string_view domain) {
    std::string expanded = co_await Expand(macro, domain, /*for_domain=*/false);
    co_return expanded;
  }

  // ExpandMacroString with <domain> = `domain`. %{p} needs the validated
  // names of <ip> (§5.5, DNS lookups), so they are fetched first when the
  // string uses it: macro expansion itself stays synchronous and sans-IO.
  // As before the evaluator became asynchronous, the PTR lookup made for a
  // macro does not count as a void lookup (§4.6.4 counts terms' lookups).
  dns::Task<std::string> Expand(const MacroString& macro, std::string_view domain,
                                bool for_domain) {
    if (macro.uses_p && !validated_) {
      bool ignored = co_await ComputeValidatedNames();
      (void)ignored;
    }
    values_.domain = domain;
    PrepareMacroValues(macro);
    co_return ExpandMacroString(macro, values_, for_domain);
  }

 private:
  // Counts the void lookups seen since the last call against the limit.
  std::optional<Outcome> TakeVoids(std::string_view what) {
    voids_ += pending_void_;
    pending_void_ = 0;
    if (voids_ > options_.max_void_lookups) {
      return Make(Result::kPermError,
                  absl::StrCat("more than ", options_.max_void_lookups,
                               " void DNS lookups (RFC 7208 §4.6.4), the last for \"", Av(what), "\""));
    }
    return std::nullopt;
  }

  std::optional<Outcome> CountLookup(std::string_view term) {
    if (++lookups_ > kMaxDnsMechanisms) {
      return Make(Result::kPermError,
                  absl::StrCat("more than ", kMaxDnsMechanisms,
                               " DNS-querying terms (RFC 7208 §4.6.4), at \"", Av(term), "\""));
    }
    return std::nullopt;
  }

  // True when `macro` can be expanded without a lookup: it has no %{p}, or
  // the validated names are already known.
  bool ExpandsNow(const MacroString& macro) const { return !macro.uses_p || validated_.has_value(); }

  // The client's text forms and the time (%{i}, %{c}, %{t}), made on the
  // first expansion that has a macro: most records have none, and making
  // them for every check showed in the suite benchmark's profile.
  void PrepareMacroValues(const MacroString& macro) {
    if (macro_values_ready_) return;
    bool has_macro = false;
    for (const MacroToken& token : macro.tokens) has_macro |= token.is_macro;
    if (has_macro) MakeClientText();
  }

  // client_, i_ and timestamp_, and the macro values that view them. Also
  // what a PTR lookup of <ip> is named from.
  void MakeClientText() {
    if (macro_values_ready_) return;
    macro_values_ready_ = true;
    client_ = ip_.ToString();
    if (ip_.is_v6) {
      // §7.3: "i" for IPv6 is the dot-format nibbles. Upper-case hex, as the
      // RFC 7208 suite's v-macro-ip6 explanation and pyspf expect (DNS
      // ignores the case; only explanation text shows it).
      char nibbles[63];
      for (size_t k = 0; k < 16; ++k) {
        nibbles[4 * k] = base::UpperHexDigit(ip_.bytes[k] >> 4);
        nibbles[4 * k + 2] = base::UpperHexDigit(ip_.bytes[k]);
        nibbles[4 * k + 1] = '.';
        if (k < 15) nibbles[4 * k + 3] = '.';
      }
      i_.assign(nibbles, sizeof nibbles);
    } else {
      i_ = client_;
    }
    timestamp_ = std::to_string(timestamp_value_);
    values_.ip = i_;
    values_.client_ip = client_;
    values_.timestamp = timestamp_;
  }

  // Expand without suspending; only when ExpandsNow(macro).
  std::string ExpandNow(const MacroString& macro, std::string_view domain, bool for_domain) {
    values_.domain = domain;
    PrepareMacroValues(macro);
    return ExpandMacroString(macro, values_, for_domain);
  }

  // The term's target name: its expanded domain-spec, or <domain> itself
  // when it has none. Most terms need no lookup to know it, and a coroutine
  // frame costs an allocation (the suite benchmark's profile): only %{p}
  // goes through Expand.
  dns::Task<std::string> TargetAfterLookups(const Mechanism& m, std::string_view domain) {
    std::string expanded = co_await Expand(*m.domain_spec, domain, /*for_domain=*/true);
    co_return expanded;
  }
  bool TargetNow(const Mechanism& m, std::string_view domain, std::string& out) {
    if (!m.domain_spec) {
      out.assign(domain);
      return true;
    }
    if (!ExpandsNow(*m.domain_spec)) return false;
    out = ExpandNow(*m.domain_spec, domain, /*for_domain=*/true);
    return true;
  }

  // Addresses of `name` in the client's family, or why there are none.
  struct Addresses {
    LookupStatus status = LookupStatus::kNxDomain;
    absl::InlinedVector<IpAddress, 4> list;
    std::string detail;
  };
  dns::Task<Addresses> LookupAddresses(std::string_view name, bool v6) {
    Addresses out;
    if (!IsQueryableName(name)) co_return out;  // 4.3/1 by analogy: no such name
    LookupResult r = co_await dns::AwaitLookup(resolver_, name, v6 ? RrType::kAaaa : RrType::kA);
    out.status = r.status;
    out.detail = r.detail;
    for (const dns::ResourceRecord& rr : r.records) {
      IpAddress ip;
      if (const auto* a = std::get_if<dns::AData>(&rr.data); a && !v6) {
        std::copy(a->address.begin(), a->address.end(), ip.bytes.begin());
        out.list.push_back(ip);
      } else if (const auto* aaaa = std::get_if<dns::AaaaData>(&rr.data); aaaa && v6) {
        ip.is_v6 = true;
        ip.bytes = aaaa->address;
        out.list.push_back(ip);
      }
    }
    if (out.status == LookupStatus::kAnswer && out.list.empty()) out.status = LookupStatus::kNoData;
    co_return out;
  }

  static bool IsFailure(LookupStatus s) {
    return s == LookupStatus::kTemporaryFailure || s == LookupStatus::kPermanentFailure;
  }
  static bool IsVoid(LookupStatus s) {
    return s == LookupStatus::kNxDomain || s == LookupStatus::kNoData;
  }

  // §5.5: names from the PTR records of <ip> (first kMaxPtrNames) whose
  // addresses include <ip>, into validated_. Computed once per check: later
  // calls do no lookup. A failed PTR lookup yields no names; a failed address
  // lookup skips that name. True when this call's PTR lookup was void.
  dns::Task<bool> ComputeValidatedNames() {
    if (validated_) co_return false;
    validated_.emplace();
    std::string reverse;
    if (ip_.is_v6) {
      MakeClientText();
      // i_ is "N.N.N...N": its characters reversed are the ip6.arpa labels.
      reverse.assign(i_.rbegin(), i_.rend());
      reverse.push_back('.');
      reverse += "ip6.arpa";
    } else {
      for (int k = 3; k >= 0; --k) {
        unsigned v = ip_.bytes[k];
        if (v >= 100) reverse.push_back(static_cast<char>('0' + v / 100));
        if (v >= 10) reverse.push_back(static_cast<char>('0' + v / 10 % 10));
        reverse.push_back(static_cast<char>('0' + v % 10));
        reverse.push_back('.');
      }
      reverse += "in-addr.arpa";
    }
    LookupResult ptr = co_await dns::AwaitLookup(resolver_, reverse, RrType::kPtr);
    const bool void_lookup = IsVoid(ptr.status);
    if (!ptr.ok()) co_return void_lookup;
    size_t n = 0;
    for (const dns::ResourceRecord& rr : ptr.records) {
      const auto* name = std::get_if<dns::NameData>(&rr.data);
      if (name == nullptr) continue;
      if (++n > kMaxPtrNames) break;  // §4.6.4: ignore all but the first 10
      std::string candidate = StripDot(name->name);
      Addresses addresses = co_await LookupAddresses(candidate, ip_.is_v6);
      for (const IpAddress& a : addresses.list) {
        if (a == ip_) {
          validated_->push_back(candidate);
          break;
        }
      }
    }
    co_return void_lookup;
  }

  // %{p} (§7.3): <domain> itself if validated, else a validated subdomain of
  // it, else any validated name, else "unknown". Expand computed the names
  // before expanding a string that uses %{p}.
  std::string ValidatedDomainFor(std::string_view domain) {
    static const std::vector<std::string> kNone;
    const std::vector<std::string>& names = validated_ ? *validated_ : kNone;
    for (const std::string& n : names) {
      if (EqualsIgnoreCase(n, domain)) return n;
    }
    for (const std::string& n : names) {
      if (IsSameOrSubdomain(n, domain)) return n;
    }
    return names.empty() ? "unknown" : names.front();
  }

  // `parsed` by value: the coroutine frame keeps the record alive.
  dns::Task<Outcome> Evaluate(std::shared_ptr<const ParseResult<Record>> parsed,
                              std::string_view domain) {
    const Record& record = parsed->value();
    for (const Mechanism& m : record.mechanisms) {
      if (m.does_dns_lookup()) {
        if (auto limit = CountLookup(m.text)) co_return *limit;
      }
      std::optional<bool> matched;
      switch (m.kind) {
        case MechanismKind::kAll:
          matched = true;
          break;
        case MechanismKind::kIp4:
          matched = !ip_.is_v6 && PrefixMatch(ip_, m.network, m.ip4_cidr);
          break;
        case MechanismKind::kIp6:
          matched = ip_.is_v6 && PrefixMatch(ip_, m.network, m.ip6_cidr);
          break;
        case MechanismKind::kA: {
          std::string target;
          if (!TargetNow(m, domain, target)) target = co_await TargetAfterLookups(m, domain);
          Addresses a = co_await LookupAddresses(target, ip_.is_v6);
          if (IsFailure(a.status)) {
            co_return Make(Result::kTempError,
                           absl::StrCat("\"", m.text, "\" in ", Av(domain), ": lookup of ", Av(target),
                                        " failed: ", a.detail, " (RFC 7208 §5)"));
          }
          if (IsVoid(a.status)) ++pending_void_;
          if (auto v = TakeVoids(m.text)) co_return *v;
          matched = false;
          for (const IpAddress& x : a.list) {
            if (PrefixMatch(ip_, x, ip_.is_v6 ? m.ip6_cidr : m.ip4_cidr)) matched = true;
          }
          break;
        }
        case MechanismKind::kMx: {
          std::string target;
          if (!TargetNow(m, domain, target)) target = co_await TargetAfterLookups(m, domain);
          matched = false;
          if (!IsQueryableName(target)) {
            ++pending_void_;
            if (auto v = TakeVoids(m.text)) co_return *v;
            break;
          }
          LookupResult mx = co_await dns::AwaitLookup(resolver_, target, RrType::kMx);
          if (IsFailure(mx.status)) {
            co_return Make(Result::kTempError,
                           absl::StrCat("\"", m.text, "\" in ", Av(domain), ": MX lookup of ", Av(target),
                                        " failed: ", mx.detail, " (RFC 7208 §5)"));
          }
          if (IsVoid(mx.status)) ++pending_void_;
          if (auto v = TakeVoids(m.text)) co_return *v;
          if (mx.records.size() > kMaxMxNames) {
            co_return Make(
                Result::kPermError,
                absl::StrCat("\"", m.text, "\" in ", Av(domain), ": ", Av(target), " has ", mx.records.size(),
                             " MX records, more than ", kMaxMxNames, " (RFC 7208 §4.6.4)"));
          }
          for (const dns::ResourceRecord& rr : mx.records) {
            const auto* data = std::get_if<dns::MxData>(&rr.data);
            if (data == nullptr) continue;
            std::string exchange = StripDot(data->exchange);
            if (exchange.empty()) continue;  // RFC 7505 null MX: no host
            Addresses a = co_await LookupAddresses(exchange, ip_.is_v6);
            if (IsFailure(a.status)) {
              co_return Make(Result::kTempError,
                             absl::StrCat("\"", m.text, "\" in ", Av(domain), ": address lookup of MX host ",
                                          exchange, " failed: ", a.detail, " (RFC 7208 §5)"));
            }
            for (const IpAddress& x : a.list) {
              if (PrefixMatch(ip_, x, ip_.is_v6 ? m.ip6_cidr : m.ip4_cidr)) matched = true;
            }
            if (*matched) break;
          }
          break;
        }
        case MechanismKind::kPtr: {
          std::string target;
          if (!TargetNow(m, domain, target)) target = co_await TargetAfterLookups(m, domain);
          const bool void_lookup = co_await ComputeValidatedNames();
          if (void_lookup) ++pending_void_;
          const std::vector<std::string>& names = *validated_;
          if (auto v = TakeVoids(m.text)) co_return *v;
          matched = false;
          for (const std::string& n : names) {
            if (IsSameOrSubdomain(n, target)) matched = true;
          }
          break;
        }
        case MechanismKind::kExists: {
          std::string target;
          if (!TargetNow(m, domain, target)) target = co_await TargetAfterLookups(m, domain);
          // §5.7: always an A query, whatever the client's family.
          Addresses a = co_await LookupAddresses(target, /*v6=*/false);
          if (IsFailure(a.status)) {
            co_return Make(Result::kTempError,
                           absl::StrCat("\"", m.text, "\" in ", Av(domain), ": lookup of ", Av(target),
                                        " failed: ", a.detail, " (RFC 7208 §5.7)"));
          }
          if (IsVoid(a.status)) ++pending_void_;
          if (auto v = TakeVoids(m.text)) co_return *v;
          matched = !a.list.empty();
          break;
        }
        case MechanismKind::kInclude: {
          std::string target;
          if (!TargetNow(m, domain, target)) target = co_await TargetAfterLookups(m, domain);
          Outcome inner = co_await CheckHost(target);
          if (auto v = TakeVoids(m.text)) co_return *v;
          // §5.2 table.
          switch (inner.result) {
            case Result::kPass:
              matched = true;
              break;
            case Result::kFail:
            case Result::kSoftFail:
            case Result::kNeutral:
              matched = false;
              break;
            case Result::kTempError:
              co_return Make(Result::kTempError,
                             absl::StrCat("\"", m.text, "\" in ", Av(domain), ": ", inner.reason));
            case Result::kPermError:
              co_return Make(Result::kPermError,
                             absl::StrCat("\"", m.text, "\" in ", Av(domain), ": ", inner.reason));
            case Result::kNone:
              co_return Make(Result::kPermError, absl::StrCat("\"", m.text, "\" in ", Av(domain),
                                                              ": included domain has no SPF record: ",
                                                              inner.reason, " (RFC 7208 §5.2)"));
          }
          break;
        }
      }
      if (*matched) {
        Outcome o;
        switch (m.qualifier) {
          case Qualifier::kPass: o.result = Result::kPass; break;
          case Qualifier::kFail: o.result = Result::kFail; break;
          case Qualifier::kSoftFail: o.result = Result::kSoftFail; break;
          case Qualifier::kNeutral: o.result = Result::kNeutral; break;
        }
        o.record = parsed;
        o.matched = &m;
        o.domain = domain;
        co_return o;
      }
    }
    if (record.redirect) {
      if (auto limit = CountLookup(record.redirect_text)) co_return *limit;
      std::string target;
      if (ExpandsNow(*record.redirect)) {
        target = ExpandNow(*record.redirect, domain, /*for_domain=*/true);
      } else {
        target = co_await Expand(*record.redirect, domain, /*for_domain=*/true);
      }
      Outcome inner = co_await CheckHost(target);
      if (auto v = TakeVoids(record.redirect_text)) co_return *v;
      // §6.1: a target without an SPF record (or a malformed one) is a permerror.
      if (inner.result == Result::kNone) {
        co_return Make(Result::kPermError, absl::StrCat("\"", record.redirect_text, "\" in ", Av(domain),
                                                        ": ", inner.reason, " (RFC 7208 §6.1)"));
      }
      co_return inner;
    }
    Outcome o;
    o.result = Result::kNeutral;
    o.defaulted = true;  // reason built only if this is the final result
    o.domain = domain;
    co_return o;
  }

  dns::Resolver& resolver_;
  const EvaluatorOptions& options_;
  const Evaluator& evaluator_;
  IpAddress ip_;
  std::string sender_storage_, client_, i_, timestamp_;
  int64_t timestamp_value_ = 0;
  bool macro_values_ready_ = false;  // client_, i_, timestamp_ made (MakeClientText)
  MacroValues values_;
  int lookups_ = 0;
  int voids_ = 0;
  int pending_void_ = 0;
  std::optional<std::vector<std::string>> validated_;
};

}  // namespace

std::string_view ResultName(Result result) {
  switch (result) {
    case Result::kNone: return "none";
    case Result::kNeutral: return "neutral";
    case Result::kPass: return "pass";
    case Result::kFail: return "fail";
    case Result::kSoftFail: return "softfail";
    case Result::kTempError: return "temperror";
    case Result::kPermError: return "permerror";
  }
  return "?";
}

bool IsQueryableName(std::string_view name) {
  if (name.empty() || name.size() > kMaxDomainLength) return false;
  size_t label = 0;
  for (char c : name) {
    if (c != '.') {
      if (++label > kMaxLabelLength) return false;
    } else {
      if (label == 0) return false;
      label = 0;
    }
  }
  return label > 0;
}

Evaluator::Evaluator(dns::Resolver& resolver, EvaluatorOptions options)
    : resolver_(&resolver), options_(std::move(options)) {
  ParseResult<MacroString> parsed =
      ParseMacroString(options_.default_explanation, MacroContext::kExplainString);
  if (parsed.ok()) {
    default_explanation_ = std::move(parsed.value());
  } else {
    MacroToken literal;
    literal.literal = "SPF fail: the sender's domain does not designate this host";
    default_explanation_.tokens.push_back(std::move(literal));
  }
}

std::shared_ptr<const ParseResult<Record>> Evaluator::ParseCached(std::string_view text) const {
  if (options_.record_cache_size == 0) {
    return std::make_shared<const ParseResult<Record>>(ParseRecord(text));
  }
  absl::string_view key(text.data(), text.size());  // this abseil predates std::string_view interop
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto found = cache_.find(key);
    if (found != cache_.end()) return found->second;
  }
  auto parsed = std::make_shared<const ParseResult<Record>>(ParseRecord(text));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= options_.record_cache_size) cache_.clear();
  cache_.emplace(std::string(text), parsed);
  return parsed;
}

dns::Task<CheckResult> Evaluator::Run(dns::Resolver& resolver, IpAddress ip, std::string domain,
                                      std::string sender, std::string helo,
                                      int64_t timestamp) const {
  std::string_view name = domain;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  // RFC 8616 §4: an SMTPUTF8 MAIL FROM or HELO may carry U-labels; SPF
  // looks them up, and expands %{d} %{o} %{s}, as A-labels. A name that is
  // not a valid IDN is malformed, which §4.3 makes "none". %{h} gets the
  // HELO name's A-labels too, so every macro expands to a queryable name.
  std::string name_a_labels;
  if (dns::HasNonAscii(name)) {
    dns::IdnaResult converted = dns::ToALabels(name);
    if (!converted.ok()) {
      CheckResult out;
      out.domain = std::string(name);
      out.reason = absl::StrCat("\"", out.domain, "\" is not a valid domain name: ", converted.error,
                                " (RFC 7208 §4.3, RFC 8616 §4)");
      co_return out;
    }
    name_a_labels = std::move(converted.name);
    name = name_a_labels;
  }
  const size_t sender_at = sender.rfind('@');
  if (sender_at != std::string::npos && dns::HasNonAscii(std::string_view(sender).substr(sender_at + 1))) {
    dns::IdnaResult converted = dns::ToALabels(std::string_view(sender).substr(sender_at + 1));
    // An unconvertible sender domain stays as written: it is then only
    // macro text, and a name built from it fails IsQueryableName.
    if (converted.ok()) sender = sender.substr(0, sender_at + 1) + converted.name;
  }
  if (dns::HasNonAscii(helo)) {
    dns::IdnaResult converted = dns::ToALabels(helo);
    if (converted.ok()) helo = std::move(converted.name);
  }
  // `sender` and `helo` live in this frame, which outlives `check`.
  Check check(resolver, options_, *this, ip, sender, helo, timestamp);
  Outcome outcome = co_await check.CheckHost(name);
  CheckResult out;
  out.result = outcome.result;
  out.domain = std::string(name);
  if (outcome.matched != nullptr) {
    out.mechanism = outcome.matched->text;
    out.reason =
        absl::StrCat("\"", outcome.matched->text, "\" matched in the SPF record of ", outcome.domain);
  } else if (outcome.defaulted) {
    out.reason = absl::StrCat("no mechanism matched in the SPF record of ", outcome.domain,
                              " and it has no redirect= (RFC 7208 §4.7)");
  } else {
    out.reason = std::move(outcome.reason);
  }
  if (out.result == Result::kFail) {
    out.explanation = co_await check.Explain(outcome);
    if (out.explanation.empty()) {
      const std::string explained_domain = outcome.domain.empty() ? std::string(name) : outcome.domain;
      out.explanation = co_await check.ExpandDefault(default_explanation_, explained_domain);
    }
  }
  out.dns_lookups = check.lookups();
  out.void_lookups = check.voids();
  co_return out;
}

namespace {

// §2.4: the MAIL FROM identity's domain, or the HELO identity for "".
// Views into `mail_from` and `helo` (CheckHost copies them into the
// evaluation); only the null reverse-path's postmaster@<helo> needs storage.
struct Identity {
  std::string_view domain, sender;
  std::string storage;
};
void MailFromIdentity(std::string_view mail_from, std::string_view helo, Identity& id) {
  if (mail_from.empty()) {
    id.storage = "postmaster@";
    id.storage.append(helo);
    id.domain = helo;
    id.sender = id.storage;
    return;
  }
  size_t at = mail_from.rfind('@');
  id.domain = at == std::string_view::npos ? mail_from : mail_from.substr(at + 1);
  id.sender = mail_from;
}

}  // namespace

void Evaluator::CheckHostAsync(const IpAddress& ip, std::string_view domain,
                               std::string_view sender, std::string_view helo, int64_t timestamp,
                               std::function<void(CheckResult)> done) const {
  dns::StartTask(Run(*resolver_, ip, std::string(domain), std::string(sender), std::string(helo),
                     timestamp),
                 std::move(done));
}

void Evaluator::CheckMailFromAsync(const IpAddress& ip, std::string_view mail_from,
                                   std::string_view helo, int64_t timestamp,
                                   std::function<void(CheckResult)> done) const {
  Identity id;
  MailFromIdentity(mail_from, helo, id);
  CheckHostAsync(ip, id.domain, id.sender, helo, timestamp, std::move(done));
}

void Evaluator::CheckHeloAsync(const IpAddress& ip, std::string_view helo, int64_t timestamp,
                               std::function<void(CheckResult)> done) const {
  CheckHostAsync(ip, helo, "postmaster@" + std::string(helo), helo, timestamp, std::move(done));
}

CheckResult Evaluator::CheckHost(const IpAddress& ip, std::string_view domain,
                                 std::string_view sender, std::string_view helo,
                                 int64_t timestamp) const {
  dns::SyncLookupResolver sync(*resolver_);
  return dns::RunInline(Run(sync, ip, std::string(domain), std::string(sender), std::string(helo),
                            timestamp));
}

CheckResult Evaluator::CheckMailFrom(const IpAddress& ip, std::string_view mail_from,
                                     std::string_view helo, int64_t timestamp) const {
  Identity id;
  MailFromIdentity(mail_from, helo, id);
  return CheckHost(ip, id.domain, id.sender, helo, timestamp);
}

CheckResult Evaluator::CheckHelo(const IpAddress& ip, std::string_view helo,
                                 int64_t timestamp) const {
  return CheckHost(ip, helo, "postmaster@" + std::string(helo), helo, timestamp);
}

}  // namespace mxkit::auth::spf
