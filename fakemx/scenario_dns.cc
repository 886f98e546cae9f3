#include "fakemx/scenario_dns.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "auth/dkim/signer.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "policy/chain.h"
#include "policy/dane.h"
#include "tls/cert_factory.h"
#include "tls/key_derivation.h"

namespace mxkit::fakemx {
namespace {

using base::Av;

// Short, so a sender that caches answers sees a changed scenario soon
// after fakemx restarts with it.
constexpr uint32_t kRecordTtl = 300;
// RFC 8301 §3.2 asks signers for at least 1024 bits and recommends 2048.
constexpr int kDkimRsaBits = 2048;
// Hex digits of the policy text's SHA-256 used as the default MTA-STS id
// (RFC 8461 §3.1 allows 32 alphanumerics): enough that a changed policy
// gets a new id.
constexpr size_t kDerivedIdHexDigits = 20;
// RFC 7672 §2.2.3 (via RFC 6698 §3): SMTP senders look for TLSA records at
// _25._tcp.<MX host>.
constexpr uint16_t kSmtpPort = 25;

// What every error starts with: the scenario and the receiver at fault.
std::string Owner(const Scenario& scenario, const Receiver& r) {
  std::string where;
  if (r.position.line > 0) {
    where = absl::StrCat(scenario.source, ":", r.position.line, ":", r.position.column, ": ");
  }
  return absl::StrCat(where, "scenario ", scenario.name, ", receiver ", r.name);
}

std::optional<std::array<uint8_t, 4>> Ipv4(const std::string& text) {
  std::array<uint8_t, 4> a{};
  if (inet_pton(AF_INET, text.c_str(), a.data()) != 1) return std::nullopt;
  return a;
}
std::optional<std::array<uint8_t, 16>> Ipv6(const std::string& text) {
  std::array<uint8_t, 16> a{};
  if (inet_pton(AF_INET6, text.c_str(), a.data()) != 1) return std::nullopt;
  return a;
}

// A listener bound to every address (0.0.0.0, ::) is reached at loopback;
// DNS cannot publish "any address".
std::string Reachable(const std::string& host) {
  if (auto v4 = Ipv4(host); v4 && *v4 == std::array<uint8_t, 4>{}) return "127.0.0.1";
  if (auto v6 = Ipv6(host); v6 && *v6 == std::array<uint8_t, 16>{}) return "::1";
  return host;
}

// The listener a sender's SMTP reaches: the first smtp (STARTTLS) one, else
// the first.
const ListenerSpec& SmtpListener(const Receiver& r) {
  for (const ListenerSpec& l : r.listeners) {
    if (l.mode == ListenerMode::kSmtp) return l;
  }
  return r.listeners.front();
}

dns::ResourceRecord AddressRecord(const std::string& name, const std::string& address) {
  if (auto v4 = Ipv4(address)) return {name, dns::RrType::kA, kRecordTtl, dns::AData{*v4}};
  return {name, dns::RrType::kAaaa, kRecordTtl, dns::AaaaData{*Ipv6(address)}};
}

dns::ResourceRecord TxtRecord(const std::string& name, std::string_view text) {
  return {name, dns::RrType::kTxt, kRecordTtl, dns::SplitIntoCharacterStrings(text)};
}

// "ip4:127.0.0.1" or "ip6:::1" (RFC 7208 §5.6).
std::string SpfMechanism(const std::string& address) {
  return (Ipv4(address) ? "ip4:" : "ip6:") + address;
}

std::string Sha256Hex(std::string_view bytes) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), digest);
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
}

// The first certificate of `pem` as DER (a CA the factory made).
absl::StatusOr<std::string> FirstCertificateDer(const std::string& pem) {
  absl::StatusOr<std::vector<std::string>> der = policy::PemCertificatesToDer(pem);
  if (!der.ok()) return der.status();
  return std::move(der->front());
}

// RFC 6698 §2.1: the TLSA data for `cert_der` (policy/dane's computation,
// the one a verifying sender makes), complemented when the scenario asks
// for a record that matches nothing.
absl::StatusOr<std::string> TlsaAssociationData(std::string_view cert_der, const TlsaSpec& spec) {
  absl::StatusOr<std::string> data =
      policy::TlsaAssociationData(cert_der, spec.selector, spec.matching);
  if (!data.ok()) return data.status();
  if (spec.mismatch) {
    for (char& c : *data) c = static_cast<char>(~static_cast<unsigned char>(c));
  }
  return data;
}

// The DKIM key for `domain` and its record, from the seed. The label keeps
// each (domain, selector, algorithm) its own key.
struct MadeDkimKey {
  DkimKey key;
  std::string record_text;
};

absl::StatusOr<MadeDkimKey> MakeDkimKey(uint64_t seed, const std::string& domain,
                                        const DkimSpec& spec) {
  const std::string label = absl::StrCat("dkim/", domain, "/", spec.selector);
  absl::StatusOr<bssl::UniquePtr<EVP_PKEY>> pkey =
      spec.algorithm == DkimAlgorithm::kRsa ? tls::DeriveRsaKey(seed, label, kDkimRsaBits)
                                            : tls::DeriveEd25519Key(seed, label);
  if (!pkey.ok()) return pkey.status();
  absl::StatusOr<std::string> pem = tls::PrivateKeyToPkcs8Pem(pkey->get());
  if (!pem.ok()) return pem.status();
  // auth/dkim's signer writes the key record: one home for its format.
  absl::StatusOr<auth::dkim::SigningKey> signing;
  if (spec.algorithm == DkimAlgorithm::kRsa) {
    signing = auth::dkim::SigningKey::RsaFromPem(*pem);
  } else {
    std::array<uint8_t, 32> seed_bytes{};
    size_t seed_len = seed_bytes.size();
    if (!EVP_PKEY_get_raw_private_key(pkey->get(), seed_bytes.data(), &seed_len) ||
        seed_len != seed_bytes.size()) {
      return absl::InternalError("cannot read the Ed25519 key's seed");
    }
    signing = auth::dkim::SigningKey::Ed25519FromSeed(
        std::string_view(reinterpret_cast<const char*>(seed_bytes.data()), seed_len));
  }
  if (!signing.ok()) return signing.status();
  MadeDkimKey out;
  out.key.domain = domain;
  out.key.selector = spec.selector;
  out.key.algorithm = std::string(DkimAlgorithmName(spec.algorithm));
  out.key.private_pem = *std::move(pem);
  out.record_text = signing->KeyRecordText();
  return out;
}

// The MTA-STS policy text (RFC 8461 §3.2: "key: value" lines ending in
// CRLF).
std::string PolicyText(const MtaStsSpec& spec, const std::vector<std::string>& mx) {
  std::string text =
      absl::StrCat("version: STSv1\r\nmode: ", Av(MtaStsModeName(spec.mode)), "\r\n");
  for (const std::string& pattern : mx) absl::StrAppend(&text, "mx: ", pattern, "\r\n");
  absl::StrAppend(&text, "max_age: ", spec.max_age, "\r\n");
  return text;
}

// Zones by apex, filled as records are made.
class ZoneSet {
 public:
  // A new zone for `apex`; null when there is one already.
  dns::ServedZone* Add(const std::string& apex, bool authenticated) {
    auto [it, inserted] = index_.emplace(apex, zones_.size());
    if (!inserted) return nullptr;
    zones_.push_back(dns::ServedZone{apex, authenticated, {}, {}});
    return &zones_.back();
  }
  dns::ServedZone* Find(const std::string& apex) {
    auto it = index_.find(apex);
    return it == index_.end() ? nullptr : &zones_[it->second];
  }
  // The zone holding `name`: the one with the longest apex at or above it.
  dns::ServedZone* Holding(std::string_view name) {
    dns::ServedZone* best = nullptr;
    for (dns::ServedZone& z : zones_) {
      if (NameAtOrBelow(name, z.apex) && (best == nullptr || z.apex.size() > best->apex.size())) {
        best = &z;
      }
    }
    return best;
  }
  // Places `record` in the zone holding it, or in a new zone at its owner
  // (a receiver hostname outside every served domain) with `authenticated`.
  void Place(dns::ResourceRecord record, bool authenticated) {
    dns::ServedZone* z = Holding(record.name);
    if (z == nullptr) z = Add(record.name, authenticated);
    z->records.push_back(std::move(record));
  }
  std::vector<dns::ServedZone> Take() { return std::move(zones_); }

 private:
  std::vector<dns::ServedZone> zones_;
  std::map<std::string, size_t> index_;
};

}  // namespace

absl::StatusOr<ScenarioDns> BuildScenarioDns(const Scenario& scenario, const ScenarioTls& tls,
                                             const std::string& key_dir) {
  ScenarioDns out;
  ZoneSet zones;
  const uint64_t seed = tls.cert_seed;

  // Every receiver's domain is a zone, so records placed later (an MX host
  // under another receiver's domain) land in the right one.
  for (const Receiver& r : scenario.receivers) {
    const std::string domain = base::AsciiLower(r.name);
    absl::Status valid = CheckDnsName(domain, "the name");
    if (valid.ok() && domain.find('*') != std::string::npos) {
      valid = absl::InvalidArgumentError("the name has a '*'; a domain cannot be a wildcard");
    }
    if (!valid.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          Owner(scenario, r), ": fakemx's DNS cannot serve this domain: ",
          Av(base::StatusText(valid)), " (give the receiver a DNS name, or run with --dns=off)"));
    }
    if (zones.Add(domain, r.dns.authenticated) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(Owner(scenario, r), ": another receiver has the domain ", domain,
                       " in another case; DNS names are case-insensitive (RFC 4343)"));
    }
  }
  for (const ExtraZone& z : scenario.zones) {
    if (dns::ServedZone* existing = zones.Find(z.apex)) {
      existing->records.insert(existing->records.end(), z.records.begin(), z.records.end());
      existing->faults.insert(existing->faults.end(), z.faults.begin(), z.faults.end());
      continue;
    }
    dns::ServedZone* added = zones.Add(z.apex, z.authenticated.value_or(false));
    added->records = z.records;
    added->faults = z.faults;
  }

  for (size_t i = 0; i < scenario.receivers.size(); ++i) {
    const Receiver& r = scenario.receivers[i];
    const ReceiverDns& d = r.dns;
    const std::string domain = base::AsciiLower(r.name);
    const std::string host = base::AsciiLower(r.hostname);
    const ListenerSpec& listener = SmtpListener(r);
    const std::string listener_address = Reachable(listener.host);
    const bool authenticated = d.authenticated;

    // MX (RFC 5321 §5.1): without one, senders use the domain's address
    // records, which fakemx does not publish unless a zone does.
    std::vector<MxSpec> mx = d.mx.value_or(std::vector<MxSpec>{MxSpec{10, host}});
    for (const MxSpec& m : mx) {
      zones.Place({domain, dns::RrType::kMx, kRecordTtl, dns::MxData{m.preference, m.host}},
                  authenticated);
    }
    const std::string address = d.address.value_or(listener_address);
    if (!address.empty()) zones.Place(AddressRecord(host, address), authenticated);

    if (d.spf.publish) {
      std::string text;
      if (d.spf.text) {
        text = *d.spf.text;
      } else {
        // The listener's address, and 127.0.0.1 where tests connect from.
        text = "v=spf1 " + SpfMechanism(listener_address);
        if (listener_address != "127.0.0.1") text += " ip4:127.0.0.1";
        text += " -all";
      }
      zones.Place(TxtRecord(domain, text), authenticated);
    }

    if (d.dkim.publish) {
      absl::StatusOr<MadeDkimKey> made = MakeDkimKey(seed, domain, d.dkim);
      if (!made.ok()) {
        return absl::Status(
            made.status().code(),
            absl::StrCat(Owner(scenario, r), ": DKIM key: ", Av(base::StatusText(made.status()))));
      }
      const std::string file = absl::StrCat(domain, ".", d.dkim.selector, ".dkim.pem");
      if (absl::Status s = MakeOutputDirectory(key_dir); !s.ok()) return s;
      if (absl::Status s = WriteOutputFile(key_dir, file, made->key.private_pem, 0600); !s.ok()) {
        return s;
      }
      made->key.key_file = key_dir + "/" + file;
      // RFC 6376 §3.6.2.1: SELECTOR._domainkey.DOMAIN.
      zones.Place(TxtRecord(absl::StrCat(d.dkim.selector, "._domainkey.", domain),
                            d.dkim.text.value_or(made->record_text)),
                  authenticated);
      out.dkim_keys.push_back(std::move(made->key));
    }

    if (d.dmarc.publish) {
      // RFC 7489 §6.1: _dmarc.DOMAIN.
      zones.Place(
          TxtRecord("_dmarc." + domain,
                    d.dmarc.text.value_or("v=DMARC1; p=reject; rua=mailto:dmarc@" + domain)),
          authenticated);
    }
    if (d.tls_rpt.publish) {
      // RFC 8460 §3: _smtp._tls.DOMAIN.
      zones.Place(TxtRecord("_smtp._tls." + domain,
                            d.tls_rpt.text.value_or("v=TLSRPTv1; rua=mailto:tlsrpt@" + domain)),
                  authenticated);
    }

    if (!d.tlsa.empty()) {
      if (i >= tls.receivers.size() || tls.receivers[i].certificate_hostname.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(Owner(scenario, r),
                         ": dns.tlsa needs the receiver's certificate, "
                         "and it has none (TLS is off)"));
      }
      // The certificate the receiver serves, made again from the seed: the
      // factory is deterministic, so these are the same bytes.
      tls::CertFactoryOptions options;
      options.seed = seed;
      options.hostname = tls.receivers[i].certificate_hostname;
      const tls::CertVariant variant = r.tls.profile.certificate;
      absl::StatusOr<tls::CertificateSet> set = tls::CertificateSet::Generate(options, {variant});
      if (!set.ok()) return set.status();
      absl::StatusOr<const tls::ServedCertificate*> served = set->Get(variant);
      if (!served.ok()) return served.status();
      const std::string& leaf = (*served)->leaf_der;
      // DANE-TA (usage 2) names the CA that issued the leaf.
      absl::StatusOr<std::string> issuer =
          variant == tls::CertVariant::kSelfSigned  ? leaf
          : variant == tls::CertVariant::kUnknownCa ? FirstCertificateDer(set->unknown_root_pem())
                                                    : FirstCertificateDer(set->intermediate_pem());
      if (!issuer.ok()) return issuer.status();
      std::vector<std::string> owners = {absl::StrCat("_", kSmtpPort, "._tcp.", host)};
      if (listener.port != 0 && listener.port != kSmtpPort) {
        owners.push_back(absl::StrCat("_", listener.port, "._tcp.", host));
      }
      for (const TlsaSpec& t : d.tlsa) {
        absl::StatusOr<std::string> data =
            TlsaAssociationData(t.usage == 3 ? leaf : *issuer, t);
        if (!data.ok()) return data.status();
        for (const std::string& owner : owners) {
          zones.Place({owner, dns::RrType::kTlsa, kRecordTtl,
                       dns::TlsaData{t.usage, t.selector, t.matching, *data}},
                      authenticated);
        }
      }
    }

    if (r.mta_sts) {
      const MtaStsSpec& m = *r.mta_sts;
      std::vector<std::string> patterns;
      if (m.mx) {
        patterns = *m.mx;
      } else {
        for (const MxSpec& x : mx) {
          if (!x.host.empty()) patterns.push_back(x.host);
        }
      }
      MtaStsSite site;
      site.domain = domain;
      // Bound as given (0.0.0.0 listens everywhere); published reachable.
      site.host = m.host.value_or(r.listeners.front().host);
      site.port = m.port;
      site.status = m.status;
      site.body = m.body.value_or(PolicyText(m, patterns));
      site.content_type = m.content_type;
      site.location = m.location;
      site.delay = m.delay;
      tls::CertFactoryOptions options;
      options.seed = seed;
      options.hostname = "mta-sts." + domain;
      absl::StatusOr<tls::CertificateSet> set =
          tls::CertificateSet::Generate(options, {m.certificate});
      if (!set.ok()) {
        return absl::Status(set.status().code(),
                            absl::StrCat(Owner(scenario, r), ": mta_sts certificate: ",
                                         Av(base::StatusText(set.status()))));
      }
      absl::StatusOr<const tls::ServedCertificate*> served = set->Get(m.certificate);
      if (!served.ok()) return served.status();
      site.chain_pem = (*served)->chain_pem;
      site.key_pem = (*served)->key_pem;
      // RFC 8461 §3.1: _mta-sts.DOMAIN "v=STSv1; id=...".
      if (m.txt.publish) {
        const std::string id = m.id.value_or(Sha256Hex(site.body).substr(0, kDerivedIdHexDigits));
        zones.Place(TxtRecord("_mta-sts." + domain, m.txt.text.value_or("v=STSv1; id=" + id)),
                    authenticated);
      }
      zones.Place(AddressRecord("mta-sts." + domain, Reachable(site.host)), authenticated);
      out.policy_sites.push_back(std::move(site));
    }

    for (const DnsFaultSpec& f : d.faults) {
      dns::ServedZone* z = zones.Holding(f.name);
      if (z == nullptr) {
        return absl::InvalidArgumentError(
            absl::StrCat(scenario.source, ":", f.position.line, ":", f.position.column,
                         ": scenario ", scenario.name, ", receiver ", r.name, ": the fault on ",
                         f.name, " is outside every zone fakemx serves"));
      }
      z->faults.push_back(dns::ServedFault{f.name, f.type, f.fault});
    }
  }
  out.zones = zones.Take();
  return out;
}

}  // namespace mxkit::fakemx
