#include "tools/mxkit/cli.h"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "auth/authentication_results.h"
#include "auth/authentication_results_builder.h"
#include "auth/dkim/signature.h"
#include "auth/dkim/signer.h"
#include "auth/dkim/verifier.h"
#include "auth/dmarc/evaluator.h"
#include "auth/dmarc/from.h"
#include "auth/dmarc/record.h"
#include "auth/spf/evaluator.h"
#include "auth/spf/record.h"
#include "base/absl_interop.h"
#include "base/base64.h"
#include "base/utf8.h"
#include "base/version.h"
#include "boost/asio/io_context.hpp"
#include "boost/json.hpp"
#include "dns/ares_resolver.h"
#include "dns/static_resolver.h"
#include "message/header_block.h"
#include "policy/tlsrpt.h"
#include "probe/probe.h"
#include "tls/engine.h"
#include "tools/mxkit/probe_output.h"

namespace mxkit::cli {
namespace {

namespace json = boost::json;
namespace spf = ::mxkit::auth::spf;
namespace dkim = ::mxkit::auth::dkim;
namespace dmarc = ::mxkit::auth::dmarc;

// A usage or input error on its way to an exit code.
struct Failure {
  int code;
  std::string message;
};

// --name=value / --name value / --flag, each at most once. In the
// two-argument form a value starting with "--" is refused: it is almost
// always a forgotten value ("--zone --json" would read a zone named
// "--json" and lose the flag). "--name=--odd" passes such a value.
class Flags {
 public:
  // `with_value`: flags that take a value; `boolean`: flags that do not.
  // `positional`: when given, arguments that are not flags are collected
  // there instead of being refused.
  static std::variant<Flags, Failure> Parse(const std::vector<std::string>& args, std::size_t first,
                                            const std::set<std::string>& with_value,
                                            const std::set<std::string>& boolean,
                                            std::vector<std::string>* positional = nullptr) {
    Flags f;
    for (std::size_t i = first; i < args.size(); ++i) {
      const std::string& a = args[i];
      if (positional != nullptr && (a.rfind("--", 0) != 0 || a.size() == 2)) {
        positional->push_back(a);
        continue;
      }
      if (a.rfind("--", 0) != 0 || a.size() == 2) {
        return Failure{kExitUsage, "unexpected argument \"" + a + "\" (flags start with --)"};
      }
      std::size_t eq = a.find('=');
      std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      std::optional<std::string> value;
      if (eq != std::string::npos) value = a.substr(eq + 1);
      if (boolean.count(name)) {
        if (value) return Failure{kExitUsage, "--" + name + " takes no value"};
        value = "";
      } else if (with_value.count(name)) {
        if (!value) {
          if (i + 1 >= args.size()) return Failure{kExitUsage, "--" + name + " needs a value"};
          const std::string& next = args[i + 1];
          if (next.rfind("--", 0) == 0) {
            return Failure{kExitUsage, "--" + name + " needs a value, but the next argument \"" +
                                           next + "\" is a flag (write --" + name + "=" + next +
                                           " to pass a value that starts with --)"};
          }
          value = args[++i];
        }
      } else {
        return Failure{kExitUsage, "unknown flag --" + name + " for this command (see --help)"};
      }
      if (!f.values_.emplace(name, *value).second) {
        return Failure{kExitUsage, "--" + name + " given twice"};
      }
    }
    return f;
  }

  bool Has(const std::string& name) const { return values_.count(name) != 0; }
  std::optional<std::string> Get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::map<std::string, std::string> values_;
};

std::variant<std::string, Failure> ReadFile(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Failure{kExitInput, "--" + flag + "=" + path + ": cannot open the file"};
  std::string data;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<std::size_t>(in.gcount()));
    if (data.size() > kMaxInputBytes) {
      return Failure{kExitInput, "--" + flag + "=" + path + ": larger than " +
                                     std::to_string(kMaxInputBytes) + " bytes"};
    }
  }
  return data;
}

// Every LF not preceded by CR becomes CRLF (messages stored with Unix line
// endings; DKIM and the header splitter want CRLF, RFC 5322 §2.2).
std::string LfToCrlf(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 32);
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) out.push_back('\r');
    out.push_back(s[i]);
  }
  return out;
}

// The resolver chosen by --zone / --dns-server, with what keeps it alive.
struct ResolverHolder {
  std::unique_ptr<boost::asio::io_context> io;
  std::unique_ptr<dns::Resolver> resolver;
};

std::variant<ResolverHolder, Failure> MakeResolver(const Flags& flags) {
  ResolverHolder h;
  if (auto zone = flags.Get("zone")) {
    if (flags.Has("dns-server")) {
      return Failure{kExitUsage, "--zone and --dns-server exclude each other"};
    }
    auto text = ReadFile("zone", *zone);
    if (auto* f = std::get_if<Failure>(&text)) return *f;
    auto r = std::make_unique<dns::StaticResolver>();
    absl::Status s = r->LoadZone(std::get<std::string>(text), *zone);
    if (!s.ok()) return Failure{kExitInput, "--zone: " + std::string(s.message())};
    h.resolver = std::move(r);
    return h;
  }
  dns::AresOptions options;
  if (auto servers = flags.Get("dns-server")) {
    std::stringstream ss(*servers);
    std::string one;
    while (std::getline(ss, one, ',')) {
      if (!one.empty()) options.servers.push_back(one);
    }
  }
  h.io = std::make_unique<boost::asio::io_context>();
  auto r = dns::AresResolver::Create(*h.io, options);
  if (!r.ok()) {
    return Failure{flags.Has("dns-server") ? kExitUsage : kExitEnvironment,
                   "cannot set up the DNS resolver: " + std::string(r.status().message())};
  }
  h.resolver = std::move(*r);
  return h;
}

// An optional "-" and at least one digit, in [min, max]. "-", "+5", "" and
// values past int64 are usage errors naming the flag.
std::variant<int64_t, Failure> ParseInt(const Flags& flags, const std::string& name,
                                        int64_t fallback, int64_t min, int64_t max) {
  auto v = flags.Get(name);
  if (!v) return fallback;
  const std::string& text = *v;
  auto failure = [&](const std::string& why) {
    return Failure{kExitUsage, "--" + name + "=" + text + ": " + why};
  };
  const std::string range =
      "must be between " + std::to_string(min) + " and " + std::to_string(max);
  if (text.empty()) return failure("empty; a whole number is needed (" + range + ")");
  const bool negative = text[0] == '-';
  const std::size_t first_digit = negative ? 1 : 0;
  if (first_digit == text.size()) return failure("not a whole number: no digits after \"-\"");
  // Magnitudes up to 2^63 fit; anything larger is out of every int64 range.
  constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;
  uint64_t magnitude = 0;
  for (std::size_t i = first_digit; i < text.size(); ++i) {
    const char c = text[i];
    if (c < '0' || c > '9') {
      return failure("not a whole number (\"" + std::string(1, c) + "\" at position " +
                     std::to_string(i + 1) + ")");
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (kMaxMagnitude - digit) / 10) return failure("out of range: " + range);
    magnitude = magnitude * 10 + digit;
  }
  if (!negative && magnitude == kMaxMagnitude) return failure("out of range: " + range);
  const int64_t n =
      negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  if (n < min || n > max) return failure("out of range: " + range);
  return n;
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// JSON text must be UTF-8 (RFC 8259 §8.1) and Boost.JSON copies string bytes
// as they are, so bytes from the command line or a message that are not
// UTF-8 ("b\xFFcher.example") become U+FFFD rather than unparseable output.
void ReplaceInvalidUtf8(json::value& v) {
  if (v.is_object()) {
    for (auto& member : v.get_object()) ReplaceInvalidUtf8(member.value());
  } else if (v.is_array()) {
    for (json::value& element : v.get_array()) ReplaceInvalidUtf8(element);
  } else if (v.is_string()) {
    std::string_view s(v.get_string().data(), v.get_string().size());
    if (base::FindInvalidUtf8(s) != s.size()) {
      std::string fixed;
      base::AppendUtf8Replacing(fixed, s);
      v = json::string(fixed);
    }
  }
}

void PrintJson(std::ostream& out, const json::object& o) {
  json::value v = o;
  ReplaceInvalidUtf8(v);
  out << json::serialize(v) << "\n";
}

// ---- SPF ----

struct SpfRun {
  spf::CheckResult result;
  std::string identity;  // "mailfrom" or "helo"
  std::string value;     // the address or HELO name checked
};

json::object SpfJson(const SpfRun& run, const std::string& ip) {
  json::object o;
  o["method"] = "spf";
  o["identity"] = run.identity;
  o[run.identity == "helo" ? "helo" : "sender"] = run.value;
  // The domain check_host() used: U-labels already turned into A-labels.
  o["domain"] = run.result.domain;
  o["ip"] = ip;
  o["result"] = std::string(spf::ResultName(run.result.result));
  o["reason"] = run.result.reason;
  if (!run.result.mechanism.empty()) o["mechanism"] = run.result.mechanism;
  if (!run.result.explanation.empty()) o["explanation"] = run.result.explanation;
  o["dns_lookups"] = run.result.dns_lookups;
  o["void_lookups"] = run.result.void_lookups;
  return o;
}

// Whether --sender/--helo name an identity RunSpf can check; for dmarc it
// runs before the message is read.
std::optional<Failure> CheckSpfIdentityFlags(const Flags& flags) {
  std::optional<std::string> sender = flags.Get("sender");
  std::string helo = flags.Get("helo").value_or("");
  if (!sender && helo.empty()) {
    return Failure{kExitUsage, "give --sender=ADDRESS (MAIL FROM) and/or --helo=NAME"};
  }
  if (sender && sender->empty() && helo.empty()) {
    return Failure{kExitUsage, "--sender= (the null reverse-path) needs --helo (RFC 7208 §2.4)"};
  }
  return std::nullopt;
}

// Runs the MAIL FROM check when --sender is given (an empty --sender= is the
// null reverse-path, checked as postmaster@<helo>, RFC 7208 §2.4) and the
// HELO check when only --helo is given or `also_helo`.
std::variant<std::vector<SpfRun>, Failure> RunSpf(const Flags& flags, dns::Resolver& resolver,
                                                  const spf::IpAddress& ip, bool also_helo) {
  if (std::optional<Failure> f = CheckSpfIdentityFlags(flags)) return *f;
  std::optional<std::string> sender = flags.Get("sender");
  std::string helo = flags.Get("helo").value_or("");
  spf::Evaluator evaluator(resolver);
  int64_t now = NowSeconds();
  std::vector<SpfRun> runs;
  if (sender) {
    SpfRun run;
    run.identity = "mailfrom";
    run.value = *sender;
    run.result = evaluator.CheckMailFrom(ip, *sender, helo, now);
    runs.push_back(std::move(run));
  }
  if (!helo.empty() && (!sender || also_helo)) {
    SpfRun run;
    run.identity = "helo";
    run.value = helo;
    run.result = evaluator.CheckHelo(ip, helo, now);
    runs.push_back(std::move(run));
  }
  return runs;
}

std::variant<spf::IpAddress, Failure> ParseIp(const Flags& flags) {
  auto ip_text = flags.Get("ip");
  if (!ip_text) return Failure{kExitUsage, "--ip=ADDRESS is required"};
  std::optional<spf::IpAddress> ip = spf::IpAddress::Parse(*ip_text);
  if (!ip) return Failure{kExitUsage, "--ip=" + *ip_text + ": not an IPv4 or IPv6 address"};
  return *ip;
}

int CmdSpf(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  auto parsed = Flags::Parse(args, 1, {"ip", "sender", "helo", "zone", "dns-server"}, {"json"});
  if (auto* f = std::get_if<Failure>(&parsed)) throw *f;
  const Flags& flags = std::get<Flags>(parsed);
  auto ip = ParseIp(flags);
  if (auto* f = std::get_if<Failure>(&ip)) throw *f;
  auto holder = MakeResolver(flags);
  if (auto* f = std::get_if<Failure>(&holder)) throw *f;
  auto runs = RunSpf(flags, *std::get<ResolverHolder>(holder).resolver, std::get<spf::IpAddress>(ip),
                     /*also_helo=*/true);
  if (auto* f = std::get_if<Failure>(&runs)) throw *f;
  for (const SpfRun& run : std::get<std::vector<SpfRun>>(runs)) {
    if (flags.Has("json")) {
      PrintJson(out, SpfJson(run, *flags.Get("ip")));
    } else {
      out << "spf " << run.identity << "=" << run.value << ": "
          << spf::ResultName(run.result.result) << " (" << run.result.reason << ")\n";
      if (!run.result.explanation.empty()) out << "  explanation: " << run.result.explanation << "\n";
    }
  }
  (void)err;
  return kExitOk;
}

// ---- DKIM ----

// Reads standard input through `read_input`; callers come here only after
// every flag has been checked, so a usage error never waits for input.
std::variant<std::string, Failure> ReadMessage(const Flags& flags, const InputReader& read_input) {
  const std::string input = read_input();
  if (input.size() > kMaxInputBytes) {
    return Failure{kExitInput, "message larger than " + std::to_string(kMaxInputBytes) + " bytes"};
  }
  if (input.empty()) return Failure{kExitInput, "no message on standard input"};
  return flags.Has("crlf") ? LfToCrlf(input) : std::string(input);
}

Failure MessageFailure(const message::HeaderBlockResult& r) {
  return Failure{kExitInput, "the message's header cannot be parsed: " + r.message +
                                 (r.error == message::HeaderBlockError::kBareLf
                                      ? " (for a file with Unix line endings add --crlf)"
                                      : "")};
}

json::object DkimJson(const dkim::SignatureResult& r) {
  json::object o;
  o["method"] = "dkim";
  o["result"] = std::string(dkim::DkimResultKeyword(r.result));
  o["reason"] = r.reason;
  o["header_index"] = r.header_index;
  if (r.signature) {
    o["domain"] = r.signature->domain;
    o["selector"] = r.signature->selector;
    o["identity"] = r.signature->identity;
    o["algorithm"] = std::string(dkim::SignatureAlgorithmName(r.signature->algorithm));
  }
  if (r.key_bits) o["key_bits"] = r.key_bits;
  o["key_testing"] = r.key_testing;
  return o;
}

json::object DkimNoneJson() {
  json::object o;
  o["method"] = "dkim";
  o["result"] = "none";
  o["reason"] = "the message has no DKIM-Signature field";
  return o;
}

// The flags every DKIM-verifying command takes: --now, --allow-rsa-sha1,
// --min-rsa-bits. Checked before any input is read.
struct DkimVerifyFlags {
  int64_t now = 0;
  dkim::VerifierOptions options;
};

std::variant<DkimVerifyFlags, Failure> ParseDkimVerifyFlags(const Flags& flags) {
  DkimVerifyFlags f;
  auto now = ParseInt(flags, "now", NowSeconds(), 0, INT64_C(253402300799));
  if (auto* fail = std::get_if<Failure>(&now)) return *fail;
  f.now = std::get<int64_t>(now);
  f.options.allow_rsa_sha1 = flags.Has("allow-rsa-sha1");
  auto bits = ParseInt(flags, "min-rsa-bits", dkim::kMinRsaKeyBits, dkim::kLowestMinRsaKeyBits,
                       dkim::kMaxRsaKeyBits);
  if (auto* fail = std::get_if<Failure>(&bits)) return *fail;
  f.options.min_rsa_bits = static_cast<unsigned>(std::get<int64_t>(bits));
  absl::Status valid = dkim::ValidateVerifierOptions(f.options);
  if (!valid.ok()) return Failure{kExitUsage, "--min-rsa-bits: " + std::string(valid.message())};
  return f;
}

std::variant<std::vector<dkim::SignatureResult>, Failure> VerifyDkim(
    const DkimVerifyFlags& verify_flags, dns::Resolver& resolver, const std::string& message) {
  message::HeaderBlockResult block = message::SplitHeaderBlock(message);
  if (!block.ok()) return MessageFailure(block);
  absl::StatusOr<dkim::Verifier> verifier = dkim::Verifier::Create(&resolver, verify_flags.options);
  if (!verifier.ok()) return Failure{kExitUsage, std::string(verifier.status().message())};
  absl::StatusOr<std::vector<dkim::SignatureResult>> results =
      verifier->VerifyMessage(message, verify_flags.now);
  if (!results.ok()) {
    return Failure{kExitInput, "the message cannot be split for DKIM: " +
                                   std::string(results.status().message())};
  }
  return *std::move(results);
}

int CmdDkimVerify(const std::vector<std::string>& args, const InputReader& read_input,
                  std::ostream& out) {
  auto parsed = Flags::Parse(args, 2, {"zone", "dns-server", "now", "min-rsa-bits"},
                             {"json", "crlf", "allow-rsa-sha1"});
  if (auto* f = std::get_if<Failure>(&parsed)) throw *f;
  const Flags& flags = std::get<Flags>(parsed);
  auto verify_flags = ParseDkimVerifyFlags(flags);
  if (auto* f = std::get_if<Failure>(&verify_flags)) throw *f;
  auto holder = MakeResolver(flags);
  if (auto* f = std::get_if<Failure>(&holder)) throw *f;
  auto message = ReadMessage(flags, read_input);
  if (auto* f = std::get_if<Failure>(&message)) throw *f;
  auto results = VerifyDkim(std::get<DkimVerifyFlags>(verify_flags),
                            *std::get<ResolverHolder>(holder).resolver,
                            std::get<std::string>(message));
  if (auto* f = std::get_if<Failure>(&results)) throw *f;
  const auto& list = std::get<std::vector<dkim::SignatureResult>>(results);
  if (list.empty()) {
    if (flags.Has("json")) {
      PrintJson(out, DkimNoneJson());
    } else {
      out << "dkim: none (the message has no DKIM-Signature field)\n";
    }
  }
  for (const dkim::SignatureResult& r : list) {
    if (flags.Has("json")) {
      PrintJson(out, DkimJson(r));
      continue;
    }
    out << "dkim";
    if (r.signature) out << " d=" << r.signature->domain << " s=" << r.signature->selector;
    out << ": " << dkim::DkimResultKeyword(r.result);
    if (!r.reason.empty()) out << " (" << r.reason << ")";
    out << "\n";
  }
  return kExitOk;
}

std::variant<dkim::SigningKey, Failure> LoadKey(const std::string& path,
                                                dkim::SignatureAlgorithm algorithm) {
  auto data = ReadFile("key", path);
  if (auto* f = std::get_if<Failure>(&data)) return *f;
  const std::string& text = std::get<std::string>(data);
  absl::StatusOr<dkim::SigningKey> key = absl::InvalidArgumentError("unset");
  if (algorithm == dkim::SignatureAlgorithm::kEd25519Sha256) {
    // The 32-byte RFC 8032 seed, raw or base64 (the RFC 8463 Appendix A form).
    std::string seed = text;
    if (text.size() != 32) {
      // Line breaks and blanks anywhere, pad bits unchecked: what the
      // BoringSSL decoder used here before accepted.
      base::Base64Result b64 = base::DecodeBase64(
          text, {.allow_nonzero_pad_bits = true, .skip_folding_whitespace = true});
      if (!b64.ok()) {
        return Failure{kExitInput, "--key=" + path +
                                       ": not a 32-byte Ed25519 seed, raw or base64"};
      }
      seed = std::move(b64.bytes);
    }
    key = dkim::SigningKey::Ed25519FromSeed(seed);
  } else {
    key = dkim::SigningKey::RsaFromPem(text);
  }
  if (!key.ok()) return Failure{kExitInput, "--key=" + path + ": " + std::string(key.status().message())};
  return *std::move(key);
}

int CmdDkimSign(const std::vector<std::string>& args, const InputReader& read_input,
                std::ostream& out) {
  auto parsed = Flags::Parse(args, 2,
                             {"selector", "domain", "key", "algorithm", "identity", "headers",
                              "timestamp", "expiration"},
                             {"json", "crlf", "oversign"});
  if (auto* f = std::get_if<Failure>(&parsed)) throw *f;
  const Flags& flags = std::get<Flags>(parsed);
  for (const char* required : {"selector", "domain", "key"}) {
    if (!flags.Has(required)) throw Failure{kExitUsage, std::string("--") + required + " is required"};
  }
  std::string alg = flags.Get("algorithm").value_or("rsa-sha256");
  dkim::SignatureAlgorithm algorithm;
  if (alg == "rsa-sha256") {
    algorithm = dkim::SignatureAlgorithm::kRsaSha256;
  } else if (alg == "ed25519-sha256") {
    algorithm = dkim::SignatureAlgorithm::kEd25519Sha256;
  } else {
    throw Failure{kExitUsage, "--algorithm=" + alg +
                                  ": use rsa-sha256 or ed25519-sha256 (rsa-sha1 is forbidden "
                                  "by RFC 8301 §3.1)"};
  }
  dkim::SignerOptions options;
  options.domain = *flags.Get("domain");
  options.selector = *flags.Get("selector");
  if (auto id = flags.Get("identity")) options.identity = *id;
  if (auto h = flags.Get("headers")) {
    options.signed_headers.clear();
    std::stringstream ss(*h);
    std::string name;
    while (std::getline(ss, name, ':')) {
      if (!name.empty()) options.signed_headers.push_back(name);
    }
  }
  options.oversign = flags.Has("oversign");
  auto ts = ParseInt(flags, "timestamp", -1, 0, INT64_C(999999999999));
  if (auto* f = std::get_if<Failure>(&ts)) throw *f;
  if (std::get<int64_t>(ts) >= 0) options.timestamp = std::get<int64_t>(ts);
  auto exp = ParseInt(flags, "expiration", -1, 0, INT64_C(999999999999));
  if (auto* f = std::get_if<Failure>(&exp)) throw *f;
  if (std::get<int64_t>(exp) >= 0) options.expiration = std::get<int64_t>(exp);

  auto key = LoadKey(*flags.Get("key"), algorithm);
  if (auto* f = std::get_if<Failure>(&key)) throw *f;
  auto message = ReadMessage(flags, read_input);
  if (auto* f = std::get_if<Failure>(&message)) throw *f;
  const std::string& msg = std::get<std::string>(message);
  message::HeaderBlockResult block = message::SplitHeaderBlock(msg);
  if (!block.ok()) throw MessageFailure(block);
  absl::StatusOr<std::string> field =
      dkim::SignMessage(msg, std::get<dkim::SigningKey>(key), options);
  if (!field.ok()) {
    throw Failure{absl::IsInvalidArgument(field.status()) ? kExitUsage : kExitInput,
                  "cannot sign: " + std::string(field.status().message())};
  }
  if (flags.Has("json")) {
    json::object o;
    o["method"] = "dkim-sign";
    o["domain"] = options.domain;
    o["selector"] = options.selector;
    o["algorithm"] = alg;
    o["dkim_signature"] = *field;
    o["key_record"] = std::get<dkim::SigningKey>(key).KeyRecordText();
    PrintJson(out, o);
  } else {
    out << *field << msg;
  }
  return kExitOk;
}

// ---- DMARC ----

json::object DmarcJson(const dmarc::Evaluation& ev) {
  json::object o;
  o["method"] = "dmarc";
  o["result"] = std::string(dmarc::DmarcResultKeyword(ev.result));
  o["disposition"] = std::string(dmarc::PolicyName(ev.disposition));
  o["author_domain"] = ev.author_domain;
  o["reason"] = ev.reason;
  if (!ev.policy_domain.empty()) o["policy_domain"] = ev.policy_domain;
  if (!ev.organizational_domain.empty()) o["organizational_domain"] = ev.organizational_domain;
  if (ev.requested_policy) o["requested_policy"] = std::string(dmarc::PolicyName(*ev.requested_policy));
  if (ev.record) o["record"] = dmarc::FormatRecord(*ev.record);
  o["spf_aligned"] = ev.spf_aligned;
  o["dkim_aligned"] = ev.dkim_aligned;
  if (!ev.aligned_dkim_domain.empty()) o["aligned_dkim_domain"] = ev.aligned_dkim_domain;
  o["sampled_out"] = ev.sampled_out;
  o["testing"] = ev.testing;
  o["dns_queries"] = ev.dns_queries;
  return o;
}

int CmdDmarc(const std::vector<std::string>& args, const InputReader& read_input,
             std::ostream& out) {
  auto parsed = Flags::Parse(args, 1,
                             {"ip", "sender", "helo", "zone", "dns-server", "now", "authserv-id",
                              "psl", "pct-sample", "multiple-from", "discovery", "min-rsa-bits"},
                             {"json", "crlf", "allow-rsa-sha1"});
  if (auto* f = std::get_if<Failure>(&parsed)) throw *f;
  const Flags& flags = std::get<Flags>(parsed);
  auto ip = ParseIp(flags);
  if (auto* f = std::get_if<Failure>(&ip)) throw *f;
  if (!flags.Has("sender") && !flags.Has("helo")) {
    throw Failure{kExitUsage, "give --sender=ADDRESS (MAIL FROM; empty for <>) and --helo=NAME"};
  }
  if (std::optional<Failure> f = CheckSpfIdentityFlags(flags)) throw *f;
  const std::string authserv_id = flags.Get("authserv-id").value_or("mxkit.invalid");
  {
    // An authserv-id no Authentication-Results field can carry is a flag
    // error: found now, not after the message has been read.
    auth::AuthenticationResults probe;
    probe.authserv_id = authserv_id;
    absl::StatusOr<std::string> formatted = auth::FormatAuthenticationResults(probe);
    if (!formatted.ok()) {
      throw Failure{kExitUsage, "--authserv-id: " + std::string(formatted.status().message())};
    }
  }
  dmarc::EvaluatorOptions eval_options;
  std::string discovery = flags.Get("discovery").value_or("rfc7489");
  if (discovery == "rfc7489") {
    eval_options.method = dmarc::DiscoveryMethod::kRfc7489;
  } else if (discovery == "tree-walk") {
    eval_options.method = dmarc::DiscoveryMethod::kTreeWalk;
  } else {
    throw Failure{kExitUsage, "--discovery=" + discovery + ": use rfc7489 or tree-walk"};
  }
  dmarc::FromOptions from_options;
  std::string multiple = flags.Get("multiple-from").value_or("reject");
  if (multiple == "evaluate") {
    from_options.multiple_from_fields = dmarc::MultipleAuthorAction::kEvaluateAll;
    from_options.multiple_mailboxes = dmarc::MultipleAuthorAction::kEvaluateAll;
  } else if (multiple != "reject") {
    throw Failure{kExitUsage, "--multiple-from=" + multiple + ": use reject or evaluate"};
  }
  std::random_device random;
  auto sample = ParseInt(flags, "pct-sample", static_cast<int64_t>(random() % 100), 0, 99);
  if (auto* f = std::get_if<Failure>(&sample)) throw *f;
  auto verify_flags = ParseDkimVerifyFlags(flags);
  if (auto* f = std::get_if<Failure>(&verify_flags)) throw *f;
  if (eval_options.method == dmarc::DiscoveryMethod::kRfc7489) {
    std::string path = flags.Get("psl").value_or(dmarc::kDefaultPublicSuffixListPath);
    auto psl = dmarc::PublicSuffixList::Load(path);
    if (!psl.ok()) throw Failure{kExitInput, "--psl: " + std::string(psl.status().message())};
    eval_options.psl = *psl;
  } else if (flags.Has("psl")) {
    throw Failure{kExitUsage, "--psl is for --discovery=rfc7489; the tree walk uses no list"};
  }
  auto holder = MakeResolver(flags);
  if (auto* f = std::get_if<Failure>(&holder)) throw *f;
  dns::Resolver& resolver = *std::get<ResolverHolder>(holder).resolver;
  auto message = ReadMessage(flags, read_input);
  if (auto* f = std::get_if<Failure>(&message)) throw *f;
  const std::string& msg = std::get<std::string>(message);
  message::HeaderBlockResult block = message::SplitHeaderBlock(msg);
  if (!block.ok()) throw MessageFailure(block);

  // SPF: the MAIL FROM identity (or HELO for the null reverse-path), which
  // is what DMARC aligns (RFC 7489 §3.1.2).
  auto spf_runs = RunSpf(flags, resolver, std::get<spf::IpAddress>(ip), /*also_helo=*/false);
  if (auto* f = std::get_if<Failure>(&spf_runs)) throw *f;
  const SpfRun& spf_run = std::get<std::vector<SpfRun>>(spf_runs).front();

  auto dkim_results = VerifyDkim(std::get<DkimVerifyFlags>(verify_flags), resolver, msg);
  if (auto* f = std::get_if<Failure>(&dkim_results)) throw *f;
  const auto& sigs = std::get<std::vector<dkim::SignatureResult>>(dkim_results);

  auto evaluator = dmarc::Evaluator::Create(resolver, eval_options);
  if (!evaluator.ok()) throw Failure{kExitUsage, std::string(evaluator.status().message())};
  dmarc::FromResult from = dmarc::ExtractAuthorDomains(block.block, from_options);
  std::vector<dmarc::Evaluation> evaluations;
  if (!from.ok()) {
    // RFC 7489 §6.6.1: no usable author domain; reported as permerror.
    dmarc::Evaluation ev;
    ev.result = dmarc::DmarcResult::kPermError;
    ev.reason = "RFC5322.From: " + from.message;
    evaluations.push_back(std::move(ev));
  } else {
    dmarc::EvaluationInput in;
    in.spf_result = spf_run.result.result;
    in.spf_domain = spf_run.result.domain;
    for (const dkim::SignatureResult& s : sigs) {
      if (s.signature) in.dkim.push_back({s.result, s.signature->domain});
    }
    in.pct_sample = static_cast<uint32_t>(std::get<int64_t>(sample));
    for (const std::string& domain : from.domains) {
      in.author_domain = domain;
      evaluations.push_back(evaluator->Evaluate(in));
    }
  }
  const dmarc::Evaluation& decisive = dmarc::Strictest(evaluations);

  auth::AuthResInput ar_in;
  ar_in.authserv_id = authserv_id;
  ar_in.spf.push_back({spf_run.result.result, spf_run.identity, spf_run.value, spf_run.result.reason});
  ar_in.dkim = sigs;
  ar_in.dmarc = decisive;
  absl::StatusOr<std::string> field =
      auth::FormatAuthenticationResultsField(auth::BuildAuthenticationResults(ar_in));
  if (!field.ok()) {
    throw Failure{kExitUsage, "cannot write Authentication-Results: " +
                                  std::string(field.status().message())};
  }
  if (!flags.Has("json")) {
    out << *field;
    return kExitOk;
  }
  PrintJson(out, SpfJson(spf_run, *flags.Get("ip")));
  if (sigs.empty()) PrintJson(out, DkimNoneJson());
  for (const dkim::SignatureResult& s : sigs) PrintJson(out, DkimJson(s));
  for (const dmarc::Evaluation& ev : evaluations) {
    json::object o = DmarcJson(ev);
    if (&ev == &decisive) o["authentication_results"] = *field;
    PrintJson(out, o);
  }
  return kExitOk;
}


// ---- probe ----

// Debian's ca-certificates bundle: the roots a sending MTA on this system
// trusts (Postfix's smtp_tls_CAfile is commonly set to it).
constexpr const char* kSystemRootsPath = "/etc/ssl/certs/ca-certificates.crt";

int ExitForProbeFailure(probe::ProbeFailure f) {
  switch (f) {
    case probe::ProbeFailure::kNone: return kExitOk;
    case probe::ProbeFailure::kNameNotFound: return kExitNameNotFound;
    case probe::ProbeFailure::kNullMx: return kExitNullMx;
    case probe::ProbeFailure::kDnsFailure: return kExitDnsFailure;
    case probe::ProbeFailure::kUnreachable: return kExitUnreachable;
    case probe::ProbeFailure::kTimeout: return kExitTimeout;
  }
  return kExitEnvironment;
}

int CmdProbe(const std::vector<std::string>& args, std::ostream& out) {
  std::vector<std::string> positional;
  auto parsed = Flags::Parse(args, 1,
                             {"zone", "dns-server", "port", "trust", "timeout", "helo",
                              "mta-sts-port"},
                             {"json"}, &positional);
  if (auto* f = std::get_if<Failure>(&parsed)) throw *f;
  const Flags& flags = std::get<Flags>(parsed);
  if (positional.empty()) throw Failure{kExitUsage, "probe needs a DOMAIN or HOST[:PORT]"};
  if (positional.size() > 1) {
    throw Failure{kExitUsage, "probe takes one DOMAIN or HOST[:PORT], got \"" + positional[0] +
                                  "\" and \"" + positional[1] + "\""};
  }
  absl::StatusOr<probe::ProbeTarget> target = probe::ParseProbeTarget(positional[0]);
  if (!target.ok()) {
    throw Failure{kExitUsage, "\"" + positional[0] + "\": " + base::StatusText(target.status())};
  }
  probe::ProbeOptions options;
  auto port = ParseInt(flags, "port", 25, 1, 65535);
  if (auto* f = std::get_if<Failure>(&port)) throw *f;
  options.port = static_cast<uint16_t>(std::get<int64_t>(port));
  auto timeout = ParseInt(flags, "timeout", 30, 1, 3600);
  if (auto* f = std::get_if<Failure>(&timeout)) throw *f;
  options.timeout = std::chrono::seconds(std::get<int64_t>(timeout));
  if (auto helo = flags.Get("helo")) {
    absl::StatusOr<probe::ProbeTarget> name = probe::ParseProbeTarget(*helo);
    if (!name.ok() || name->port || name->is_ip) {
      throw Failure{kExitUsage, "--helo=" + *helo + ": not a host name"};
    }
    options.helo_domain = name->name;
  }
  auto sts_port = ParseInt(flags, "mta-sts-port", 443, 1, 65535);
  if (auto* f = std::get_if<Failure>(&sts_port)) throw *f;

  std::string roots;
  if (auto trust = flags.Get("trust")) {
    auto data = ReadFile("trust", *trust);
    if (auto* f = std::get_if<Failure>(&data)) throw *f;
    roots = std::move(std::get<std::string>(data));
  } else {
    std::ifstream in(kSystemRootsPath, std::ios::binary);
    if (!in) {
      throw Failure{kExitEnvironment, std::string("no --trust=CA.pem and the system roots (") +
                                          kSystemRootsPath +
                                          ") cannot be read: install ca-certificates or pass --trust"};
    }
    roots.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  tls::ClientContextOptions tls_options;
  // A sending MTA offers every version it has (Postfix: smtp_tls_protocols
  // >=TLSv1), so a receiver stuck on TLS 1.0 is seen encrypted, on TLS 1.0.
  tls_options.versions = {tls::TlsVersion::kTls10, tls::TlsVersion::kTls13};
  tls_options.verify = tls::ClientVerify::kRecord;
  tls_options.trusted_roots_pem = roots;
  auto context = tls::ClientContext::Create(tls_options);
  if (!context.ok()) {
    throw Failure{flags.Has("trust") ? kExitInput : kExitEnvironment,
                  std::string(flags.Has("trust") ? "--trust=" + *flags.Get("trust")
                                                 : std::string(kSystemRootsPath)) +
                      ": " + base::StatusText(context.status())};
  }
  options.tls_context = *context;
  options.trusted_roots_pem = roots;
  options.mta_sts_port = static_cast<uint16_t>(std::get<int64_t>(sts_port));

  auto holder = MakeResolver(flags);
  if (auto* f = std::get_if<Failure>(&holder)) throw *f;
  ResolverHolder& h = std::get<ResolverHolder>(holder);
  if (!h.io) h.io = std::make_unique<boost::asio::io_context>();
  probe::ProbeReport report = probe::RunProbe(*h.io, *h.resolver, *target, options);
  if (flags.Has("json")) {
    PrintJson(out, ProbeReportJson(report));
  } else {
    PrintProbeReport(out, report);
  }
  return ExitForProbeFailure(report.failure);
}

// ---- tlsrpt ----

int CmdTlsRpt(const std::vector<std::string>& args, const InputReader& read_input,
              std::ostream& out) {
  std::vector<std::string> positional;
  auto parsed = Flags::Parse(args, 1, {}, {"json"}, &positional);
  if (auto* f = std::get_if<Failure>(&parsed)) throw *f;
  const Flags& flags = std::get<Flags>(parsed);
  if (positional.size() != 1) {
    throw Failure{kExitUsage, "tlsrpt takes one FILE (or - for standard input)"};
  }
  std::string text;
  if (positional[0] == "-") {
    text = read_input();
    if (text.size() > kMaxInputBytes) {
      throw Failure{kExitInput, "report larger than " + std::to_string(kMaxInputBytes) + " bytes"};
    }
  } else {
    std::ifstream in(positional[0], std::ios::binary);
    if (!in) throw Failure{kExitInput, positional[0] + ": cannot open the file"};
    char buf[65536];
    while (in.read(buf, sizeof buf) || in.gcount() > 0) {
      text.append(buf, static_cast<std::size_t>(in.gcount()));
      if (text.size() > policy::kMaxTlsReportSize) {
        throw Failure{kExitInput, positional[0] + ": larger than " +
                                      std::to_string(policy::kMaxTlsReportSize) + " bytes"};
      }
    }
  }
  const std::string source = positional[0] == "-" ? "standard input" : positional[0];
  absl::StatusOr<policy::TlsReport> report = policy::ParseTlsReport(text);
  if (!report.ok()) throw Failure{kExitInput, source + ": " + base::StatusText(report.status())};
  if (flags.Has("json")) {
    json::object o;
    o["method"] = "tlsrpt";
    o["organization_name"] = report->organization_name;
    o["report_id"] = report->report_id;
    o["start_datetime"] = report->start_datetime;
    o["end_datetime"] = report->end_datetime;
    o["contact_info"] = report->contact_info;
    json::array policies;
    for (const policy::TlsRptPolicyResult& p : report->policies) {
      json::object po;
      po["policy_type"] = std::string(policy::TlsRptPolicyTypeName(p.policy.policy_type));
      po["policy_domain"] = p.policy.policy_domain;
      json::array mx;
      for (const std::string& m : p.policy.mx_host) mx.emplace_back(m);
      po["mx_host"] = std::move(mx);
      po["successful_sessions"] = p.total_successful_session_count;
      po["failed_sessions"] = p.total_failure_session_count;
      // Failures by result type, summed over the failure-details entries.
      std::map<std::string, uint64_t> by_type;
      for (const policy::TlsRptFailureDetails& d : p.failure_details) {
        by_type[d.result_type] += d.failed_session_count;
      }
      json::object failures;
      for (const auto& [type, count] : by_type) failures[type] = count;
      po["failures_by_result_type"] = std::move(failures);
      policies.emplace_back(std::move(po));
    }
    o["policies"] = std::move(policies);
    PrintJson(out, o);
    return kExitOk;
  }
  out << "report " << report->report_id << " from " << report->organization_name << ", "
      << report->start_datetime << " to " << report->end_datetime << " (contact "
      << report->contact_info << ")\n";
  for (const policy::TlsRptPolicyResult& p : report->policies) {
    out << "policy " << policy::TlsRptPolicyTypeName(p.policy.policy_type) << " "
        << p.policy.policy_domain;
    if (!p.policy.mx_host.empty()) {
      out << " (mx";
      for (const std::string& m : p.policy.mx_host) out << " " << m;
      out << ")";
    }
    out << ": " << p.total_successful_session_count << " successful, "
        << p.total_failure_session_count << " failed\n";
    std::map<std::string, uint64_t> by_type;
    for (const policy::TlsRptFailureDetails& d : p.failure_details) {
      by_type[d.result_type] += d.failed_session_count;
    }
    for (const auto& [type, count] : by_type) {
      policy::TlsRptFailureDetails probe_type;
      probe_type.result_type = type;
      out << "  " << type << ": " << count << " session" << (count == 1 ? "" : "s")
          << (probe_type.known_result_type() ? "" : " (a result type RFC 8460 does not define)")
          << "\n";
    }
    for (const policy::TlsRptFailureDetails& d : p.failure_details) {
      if (d.receiving_mx_hostname.empty() && d.receiving_ip.empty()) continue;
      out << "    " << d.result_type << " at " << d.receiving_mx_hostname
          << (d.receiving_ip.empty() ? "" : " [" + d.receiving_ip + "]") << ": "
          << d.failed_session_count << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

std::string Usage() {
  return R"(usage: mxkit <command> [flags]

Commands:
  spf --ip=IP [--sender=ADDRESS] [--helo=NAME]
      SPF (RFC 7208) for the MAIL FROM identity (--sender; --sender= is the
      null reverse-path, checked as postmaster@HELO) and/or the HELO identity.
  dkim verify [--now=UNIXTIME] [--allow-rsa-sha1] [--min-rsa-bits=N] [--crlf] < message
      Verifies every DKIM-Signature (RFC 6376, RFC 8301, RFC 8463). rsa-sha1
      signatures and RSA keys under 1024 bits are "policy" (RFC 8301) unless
      --allow-rsa-sha1 / --min-rsa-bits=N (512..8192) opt in, for archived
      mail: SHA-1 collides and 512-bit keys are factored, so such a pass
      proves little.
  dkim sign --selector=S --domain=D --key=FILE [--algorithm=rsa-sha256|ed25519-sha256]
            [--identity=I] [--headers=from:to:...] [--oversign]
            [--timestamp=T] [--expiration=X] [--crlf] < message
      Prints the message with a DKIM-Signature prepended. FILE is a PEM RSA
      key, or for ed25519-sha256 the 32-byte seed (raw or base64).
  dmarc --ip=IP --sender=ADDRESS --helo=NAME [--authserv-id=ID]
        [--discovery=rfc7489|tree-walk] [--psl=FILE] [--pct-sample=0..99]
        [--multiple-from=reject|evaluate] [--now=UNIXTIME] [--allow-rsa-sha1]
        [--min-rsa-bits=N] [--crlf] < message
      Runs SPF, DKIM and DMARC (RFC 7489; --discovery=tree-walk for the
      RFC 9989 DNS tree walk) and prints an Authentication-Results field.
      --psl defaults to /usr/share/publicsuffix/public_suffix_list.dat.
      --pct-sample defaults to a random number (pct= sampling).

  probe DOMAIN|HOST[:PORT] [--port=25] [--trust=CA.pem] [--timeout=SECONDS]
        [--helo=NAME] [--mta-sts-port=443]
      Connects as a sending MTA would: MX lookup (preference order; no MX:
      the domain itself; "MX 0 ." (RFC 7505): no mail), each MX in turn,
      EHLO, STARTTLS, TLS (verified under --trust, default the system
      roots, but never refused for it), EHLO again, QUIT. No mail is sent.
      Prints banner, capabilities before and after TLS, the STARTTLS reply,
      protocol, cipher, the served chain, reply injection after STARTTLS,
      and whether the hop is a "red lock" (mail would travel unencrypted).
      An IP literal or a HOST:PORT skips the MX lookup. --timeout (1..3600,
      default 30) bounds every wait, and 5 x --timeout each MX's session.
  tlsrpt FILE|-
      Parses an SMTP TLS report (RFC 8460 §4, JSON) and prints, per policy,
      the successful and failed sessions and the failures by result type.
      A report that does not parse is an input error naming the JSON path.

Common flags:
  --zone=FILE         answer DNS from an RFC 1035 zone file (with $SERVFAIL and
                      $TIMEOUT fault directives) instead of the network
  --dns-server=H:P,.. ask these servers instead of /etc/resolv.conf's
  --json              one JSON object per line and per evaluation, with the RFC
                      result keyword in "result" (dkim sign prints one object
                      with the signature; signing is not an evaluation)
  --crlf              convert bare LF line endings of the message to CRLF
  --help              this text
  --version           print "mxkit <version>"

A flag's value is --name=VALUE or --name VALUE; in the second form a VALUE
starting with -- is refused as a forgotten value (write --name=--VALUE).
Every flag is checked before the message is read from standard input.

Exit codes (the result of an evaluation never changes them; read "result"):
  0  evaluated (pass, fail, none, temperror, ... alike) or signed
  2  usage error: unknown command or flag, missing or malformed flag value,
     a flag given twice
  3  input error: unreadable file, bad zone file, bad key, unparseable message
  4  the system resolver or the system trust store could not be set up
  5  probe: no such name (NXDOMAIN, no MX and no address)
  6  probe: every connection was refused or had no route
  7  probe: no MX answered and a wait timed out
  8  probe: the DNS lookups failed (SERVFAIL, REFUSED, timeout)
  9  probe: the domain publishes a null MX (RFC 7505): it accepts no mail
A probe that reached a server exits 0 whatever it found: read "red_lock".
)";
}

std::string VersionLine() { return std::string("mxkit ") + kMxkitVersion + "\n"; }

int Run(const std::vector<std::string>& args, const InputReader& read_input, std::ostream& out,
        std::ostream& err) {
  bool help = !args.empty() && args[0] == "help";
  for (const std::string& a : args) help = help || a == "--help" || a == "-h";
  if (help) {
    out << Usage();
    return kExitOk;
  }
  for (const std::string& a : args) {
    if (a == "--version") {
      out << VersionLine();
      return kExitOk;
    }
  }
  try {
    if (args.empty()) throw Failure{kExitUsage, "no command given"};
    const std::string& cmd = args[0];
    if (cmd == "spf") return CmdSpf(args, out, err);
    if (cmd == "dmarc") return CmdDmarc(args, read_input, out);
    if (cmd == "probe") return CmdProbe(args, out);
    if (cmd == "tlsrpt") return CmdTlsRpt(args, read_input, out);
    if (cmd == "dkim") {
      if (args.size() < 2) throw Failure{kExitUsage, "dkim needs a subcommand: verify or sign"};
      if (args[1] == "verify") return CmdDkimVerify(args, read_input, out);
      if (args[1] == "sign") return CmdDkimSign(args, read_input, out);
      throw Failure{kExitUsage, "unknown dkim subcommand \"" + args[1] + "\" (verify or sign)"};
    }
    throw Failure{kExitUsage, "unknown command \"" + cmd + "\""};
  } catch (const Failure& f) {
    err << "mxkit: " << f.message << "\n";
    if (f.code == kExitUsage) err << "run 'mxkit --help' for usage\n";
    return f.code;
  }
}

int Run(const std::vector<std::string>& args, std::string_view input, std::ostream& out,
        std::ostream& err) {
  return Run(args, [input] { return std::string(input); }, out, err);
}

}  // namespace mxkit::cli
