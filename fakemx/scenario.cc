#include "fakemx/scenario.h"

#include <arpa/inet.h>
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_join.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "base/status_macros.h"
#include "base/utf8.h"
#include "dns/zone.h"
#include "fakemx/flags.h"
#include "smtp/reply.h"
#include "tls/cert_factory.h"
#include "tls/version.h"

namespace mxkit::fakemx {
namespace {

using Ms = std::chrono::milliseconds;

// How much of a user's value an error message repeats.
constexpr size_t kQuoteOctets = 64;

std::string Quote(std::string_view s) { return base::QuoteForMessage(s, kQuoteOctets); }

// The verbs a rule or a chaos stage may name (RFC 5321 §4.1.1, RFC 3207,
// RFC 4954, RFC 3030), and the stages that are not commands.
constexpr std::string_view kVerbs[] = {"HELO", "EHLO", "MAIL", "RCPT", "DATA", "BDAT",     "RSET",
                                       "NOOP", "VRFY", "EXPN", "HELP", "QUIT", "STARTTLS", "AUTH"};
constexpr std::string_view kPseudoStages[] = {"connect", "message", "any"};

std::string StageNameList() {
  std::vector<std::string_view> all(std::begin(kVerbs), std::end(kVerbs));
  all.insert(all.end(), std::begin(kPseudoStages), std::end(kPseudoStages));
  return absl::StrJoin(all, ", ", base::AppendStdView);
}

// The canonical stage for `text` (verbs upper-cased, the others lower), or
// "" when it is none.
std::string CanonicalStage(std::string_view text) {
  const std::string upper = base::AsciiUpper(text);
  for (std::string_view v : kVerbs) {
    if (v == upper) return upper;
  }
  const std::string lower = base::AsciiLower(text);
  for (std::string_view p : kPseudoStages) {
    if (p == lower) return lower;
  }
  return "";
}

struct ActionName {
  RuleAction action;
  std::string_view name;
};
constexpr ActionName kActionNames[] = {
    {RuleAction::kReply, "reply"},      {RuleAction::kReject, "reject"},
    {RuleAction::kAccept, "accept"},    {RuleAction::kUnknown, "unknown"},
    {RuleAction::kNoReply, "no-reply"}, {RuleAction::kDisconnect, "disconnect"},
    {RuleAction::kDrop, "drop"},        {RuleAction::kReset, "reset"},
};

// EHLO keywords the session implements (smtp::ServerExtensions); any other
// word is advertised as given.
constexpr std::string_view kKnownEhloKeywords[] = {"PIPELINING", "SIZE",     "8BITMIME",
                                                   "SMTPUTF8",   "STARTTLS", "CHUNKING",
                                                   "BINARYMIME", "DSN",      "ENHANCEDSTATUSCODES",
                                                   "AUTH"};

// RFC 4954 mechanisms the session's AUTH exchange speaks.
constexpr std::string_view kAuthMechanisms[] = {"PLAIN", "LOGIN", "CRAM-MD5"};

constexpr std::string_view kListenerModes[] = {"smtp", "smtps"};

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return base::IsCtl(c); });
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), base::IsDigit);
}

// RFC 3463 §2: class "." subject "." detail, as the reply parser reads it.
bool IsEnhancedCode(std::string_view s) { return smtp::ParseEnhancedStatusCode(s).has_value(); }

// A parsed value with where it came from.
struct Field {
  std::string path;  // "receivers[0].greeting.code", for messages
  YAML::Node node;
  YAML::Mark key_mark;  // the key's (or the list's) position
  // Where to point at: the value, unless it is empty (yaml-cpp then marks
  // the next token, often on the next line).
  YAML::Mark mark() const {
    if (!node.IsDefined() || node.IsNull() || node.Mark().is_null()) return key_mark;
    return node.Mark();
  }
};

std::string Kind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "the value " + Quote(node.Scalar());
    default:
      return "nothing";
  }
}

// Durations: "250ms", "2s", "1.5s", "3m", "1h", or "0". A number without a
// unit is refused: "delay: 2" could be seconds or milliseconds, and a typo
// here must not silently wait a thousand times too long.
bool ParseDuration(std::string_view text, Ms* out) {
  if (text == "0") {
    *out = Ms(0);
    return true;
  }
  size_t digits = 0;
  while (digits < text.size() && (base::IsDigit(text[digits]) || text[digits] == '.')) ++digits;
  const std::string_view number = text.substr(0, digits);
  const std::string_view unit = text.substr(digits);
  uint64_t unit_ms = 0;
  if (unit == "ms") {
    unit_ms = 1;
  } else if (unit == "s") {
    unit_ms = 1000;
  } else if (unit == "m") {
    unit_ms = 60 * 1000;
  } else if (unit == "h") {
    unit_ms = 60 * 60 * 1000;
  } else {
    return false;
  }
  const size_t dot = number.find('.');
  const std::string_view whole = number.substr(0, dot);
  const std::string_view fraction =
      dot == std::string_view::npos ? std::string_view() : number.substr(dot + 1);
  if (!AllDigits(whole) || whole.size() > 9) return false;
  if (dot != std::string_view::npos && (!AllDigits(fraction) || fraction.size() > 6)) return false;
  uint64_t w = 0, f = 0, scale = 1;
  std::from_chars(whole.data(), whole.data() + whole.size(), w);
  if (!fraction.empty()) std::from_chars(fraction.data(), fraction.data() + fraction.size(), f);
  for (size_t i = 0; i < fraction.size(); ++i) scale *= 10;
  // Finer than a millisecond is refused, not rounded.
  if ((f * unit_ms) % scale != 0) return false;
  *out = Ms(static_cast<int64_t>(w * unit_ms + f * unit_ms / scale));
  return true;
}

std::string FormatDuration(Ms d) {
  const int64_t ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// Decodes a raw reply: each character is one octet (U+0000-U+00FF), so
// "\x00\xff" in a YAML double-quoted string is the two octets 00 FF and not
// the UTF-8 encoding of U+00FF. Returns false (with the offending code
// point's offset) for a character above U+00FF.
bool DecodeOctets(std::string_view text, std::string* out, size_t* bad_offset) {
  out->clear();
  for (size_t i = 0; i < text.size();) {
    const size_t n = base::Utf8SequenceLength(text, i);
    const unsigned char b0 = static_cast<unsigned char>(text[i]);
    if (n == 1) {
      out->push_back(text[i]);
    } else if (n == 2 && (b0 == 0xC2 || b0 == 0xC3)) {
      const unsigned char b1 = static_cast<unsigned char>(text[i + 1]);
      out->push_back(static_cast<char>(((b0 & 0x03) << 6) | (b1 & 0x3F)));
    } else {
      *bad_offset = i;
      return false;
    }
    i += n;
  }
  return true;
}

// The record types a fault may name.
constexpr dns::RrType kFaultTypes[] = {dns::RrType::kA,   dns::RrType::kNs,   dns::RrType::kCname,
                                       dns::RrType::kSoa, dns::RrType::kPtr,  dns::RrType::kMx,
                                       dns::RrType::kTxt, dns::RrType::kAaaa, dns::RrType::kTlsa};
constexpr dns::ServeFault kServeFaults[] = {dns::ServeFault::kNxDomain, dns::ServeFault::kNoData,
                                            dns::ServeFault::kServfail, dns::ServeFault::kRefused,
                                            dns::ServeFault::kTimeout,  dns::ServeFault::kTruncate};

constexpr std::string_view kMtaStsModes[] = {"enforce", "testing", "none"};
constexpr std::string_view kDkimAlgorithms[] = {"ed25519", "rsa"};

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}
  // The whole file, for positions inside zone text.
  void set_text(std::string_view text) { text_ = text; }

  absl::Status Fail(const YAML::Mark& mark, std::string_view what) const {
    const int line = mark.is_null() ? 1 : mark.line + 1;
    const int column = mark.is_null() ? 1 : mark.column + 1;
    return absl::InvalidArgumentError(std::string(source_) + ":" + std::to_string(line) + ":" +
                                      std::to_string(column) + ": " + std::string(what));
  }

  absl::StatusOr<Scenario> ParseDocument(const YAML::Node& root);

 private:
  using Handler = std::function<absl::Status(const Field&)>;

  // Every node the walk touches passes here: the alias-bomb bound.
  absl::Status Visit(const Field& f) {
    if (++nodes_ > kMaxScenarioNodes) {
      return Fail(f.mark(), "more than " + std::to_string(kMaxScenarioNodes) +
                                " YAML values to read (aliases count at every use); is this "
                                "an alias bomb?");
    }
    return absl::OkStatus();
  }

  absl::Status Mapping(const Field& f, std::string_view what,
                       std::initializer_list<std::string_view> keys, const Handler& handle);
  absl::Status List(const Field& f, size_t max, std::string_view what, const Handler& handle);

  absl::Status Scalar(const Field& f, std::string_view expected, std::string* out) {
    MXKIT_RETURN_IF_ERROR(Visit(f));
    if (!f.node.IsDefined() || f.node.IsNull()) {
      return Fail(f.mark(), f.path + ": needs a value (" + std::string(expected) + ")");
    }
    if (!f.node.IsScalar()) {
      return Fail(f.mark(),
                  f.path + ": expected " + std::string(expected) + ", got " + Kind(f.node));
    }
    *out = f.node.Scalar();
    return absl::OkStatus();
  }

  // A one-line string: UTF-8 without control characters, 1..max octets
  // (or printable ASCII only).
  absl::Status String(const Field& f, size_t max, bool ascii_only, std::string* out) {
    MXKIT_RETURN_IF_ERROR(Scalar(f, "a string", out));
    if (out->empty()) return Fail(f.mark(), f.path + ": must not be empty");
    if (out->size() > max) {
      return Fail(f.mark(), f.path + ": longer than " + std::to_string(max) + " octets");
    }
    if (ascii_only ? !base::IsPrintableAscii(*out) : HasControl(*out)) {
      return Fail(f.mark(), f.path + ": " + Quote(*out) +
                                (ascii_only ? " has a character that is not printable ASCII"
                                            : " has a control character"));
    }
    return absl::OkStatus();
  }

  absl::Status Bool(const Field& f, bool* out) {
    std::string text;
    MXKIT_RETURN_IF_ERROR(Scalar(f, "true or false", &text));
    if (text == "true" || text == "True" || text == "TRUE") {
      *out = true;
    } else if (text == "false" || text == "False" || text == "FALSE") {
      *out = false;
    } else {
      return Fail(f.mark(), f.path + ": expected true or false, got " + Quote(text));
    }
    return absl::OkStatus();
  }

  absl::Status Unsigned(const Field& f, uint64_t min, uint64_t max, std::string_view unit,
                        uint64_t* out) {
    std::string text;
    MXKIT_RETURN_IF_ERROR(Scalar(f, "a whole number", &text));
    uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (!AllDigits(text) || end != text.data() + text.size() || ec == std::errc::invalid_argument) {
      return Fail(f.mark(), f.path + ": expected a whole number" +
                                (unit.empty() ? "" : " of " + std::string(unit)) + ", got " +
                                Quote(text));
    }
    if (ec == std::errc::result_out_of_range || n < min || n > max) {
      return Fail(f.mark(), f.path + ": " + Quote(text) + " is out of range (" +
                                std::to_string(min) + " to " + std::to_string(max) +
                                (unit.empty() ? "" : " " + std::string(unit)) + ")");
    }
    *out = n;
    return absl::OkStatus();
  }

  absl::Status Duration(const Field& f, Ms min, Ms max, Ms* out) {
    std::string text;
    MXKIT_RETURN_IF_ERROR(Scalar(f, "a duration such as 250ms, 2s, 1.5s, 3m, 1h", &text));
    Ms d{0};
    if (!ParseDuration(text, &d)) {
      return Fail(f.mark(), f.path + ": " + Quote(text) +
                                " is not a duration: write a number and a unit (ms, s, m, h), "
                                "e.g. 250ms, 2s, 1.5s; at most millisecond precision");
    }
    if (d < min || d > max) {
      return Fail(f.mark(), f.path + ": " + Quote(text) + " is out of range (" +
                                FormatDuration(min) + " to " + FormatDuration(max) + ")");
    }
    *out = d;
    return absl::OkStatus();
  }

  absl::Status Probability(const Field& f, double* out) {
    std::string text;
    MXKIT_RETURN_IF_ERROR(Scalar(f, "a probability from 0 to 1", &text));
    const size_t dot = text.find('.');
    const bool shape = dot == std::string::npos
                           ? AllDigits(text)
                           : AllDigits(text.substr(0, dot)) && AllDigits(text.substr(dot + 1));
    double p = -1;
    if (shape && text.size() <= 20) {
      std::from_chars(text.data(), text.data() + text.size(), p);
    }
    if (!(p >= 0.0 && p <= 1.0)) {
      return Fail(f.mark(),
                  f.path + ": expected a probability from 0 to 1 (e.g. 0.25), got " + Quote(text));
    }
    *out = p;
    return absl::OkStatus();
  }

  // One of `names` (case as given), or an error listing them.
  absl::Status Choice(const Field& f, absl::Span<const std::string_view> names,
                      std::string_view what, std::string* out) {
    MXKIT_RETURN_IF_ERROR(Scalar(f, what, out));
    for (std::string_view n : names) {
      if (n == *out) return absl::OkStatus();
    }
    return Fail(f.mark(), f.path + ": " + Quote(*out) + " is not " + std::string(what) +
                              "; expected one of: " + absl::StrJoin(names, ", ", base::AppendStdView));
  }

  absl::Status ReplyKey(const Field& f, std::string_view key, ScenarioReply* reply);
  absl::Status CheckReply(const YAML::Mark& mark, const std::string& path,
                          const ScenarioReply& reply);
  absl::Status Reply(const Field& f, ScenarioReply* out);
  absl::Status Listener(const Field& f, ListenerSpec* out);
  absl::Status Greeting(const Field& f, GreetingSpec* out);
  absl::Status Ehlo(const Field& f, EhloSpec* out);
  absl::Status EhloKeywords(const Field& f, std::vector<std::string>* out);
  absl::Status Tls(const Field& f, TlsSpec* out, std::set<std::string>* keys_given);
  absl::Status Auth(const Field& f, AuthSpec* out);
  absl::Status OneRule(const Field& f, size_t index, Rule* out);
  absl::Status Greylist(const Field& f, GreylistSpec* out);
  absl::Status Tarpit(const Field& f, TarpitSpec* out);
  absl::Status Disconnect(const Field& f, DisconnectSpec* out);
  absl::Status Chaos(const Field& f, ChaosSpec* out);
  absl::Status Limits(const Field& f, smtp::SessionLimits* out);
  absl::Status OneReceiver(const Field& f, Receiver* out);
  absl::Status TextSetting(const Field& f, DnsTextSetting* out);
  absl::Status RecordText(const Field& f, const std::string& text, std::string* out);
  absl::Status Dns(const Field& f, ReceiverDns* out);
  absl::Status MtaSts(const Field& f, MtaStsSpec* out, std::set<std::string>* keys_given);
  absl::Status Verdicts(const Field& f, VerdictSpec* out);
  YAML::Mark ZoneMark(const YAML::Node& node, const dns::ZoneError& error) const;
  absl::Status OneZone(const Field& f, ExtraZone* out);

  std::string_view source_;
  std::string_view text_;
  size_t nodes_ = 0;
};

absl::Status Parser::Mapping(const Field& f, std::string_view what,
                             std::initializer_list<std::string_view> keys, const Handler& handle) {
  MXKIT_RETURN_IF_ERROR(Visit(f));
  const std::string context = f.path.empty() ? "the top level" : f.path;
  if (!f.node.IsMap()) {
    return Fail(f.mark(), context + ": expected " + std::string(what) +
                              " (a mapping of keys to values), got " + Kind(f.node));
  }
  std::map<std::string, YAML::Mark> seen;
  for (auto it = f.node.begin(); it != f.node.end(); ++it) {
    const YAML::Node key = it->first;
    Field key_field{f.path, key, f.mark()};
    MXKIT_RETURN_IF_ERROR(Visit(key_field));
    if (!key.IsScalar()) {
      return Fail(key_field.mark(), context + ": a key must be a word, got " + Kind(key));
    }
    const std::string name = key.Scalar();
    if (std::find(keys.begin(), keys.end(), name) == keys.end()) {
      return Fail(key.Mark(),
                  "unknown key " + Quote(name) + " in " + context +
                      "; expected one of: " + absl::StrJoin(keys, ", ", base::AppendStdView));
    }
    if (auto [first, inserted] = seen.emplace(name, key.Mark()); !inserted) {
      return Fail(key.Mark(), "duplicate key " + Quote(name) + " in " + context +
                                  " (first given on line " +
                                  std::to_string(first->second.line + 1) + ")");
    }
    const std::string path = f.path.empty() ? name : f.path + "." + name;
    MXKIT_RETURN_IF_ERROR(handle(Field{path, it->second, key.Mark()}));
  }
  return absl::OkStatus();
}

absl::Status Parser::List(const Field& f, size_t max, std::string_view what,
                          const Handler& handle) {
  MXKIT_RETURN_IF_ERROR(Visit(f));
  if (!f.node.IsSequence()) {
    return Fail(f.mark(),
                f.path + ": expected a list of " + std::string(what) + ", got " + Kind(f.node));
  }
  if (f.node.size() > max) {
    return Fail(f.mark(), f.path + ": " + std::to_string(f.node.size()) + " entries, more than " +
                              std::to_string(max));
  }
  size_t i = 0;
  for (auto it = f.node.begin(); it != f.node.end(); ++it, ++i) {
    MXKIT_RETURN_IF_ERROR(handle(Field{f.path + "[" + std::to_string(i) + "]", *it, f.mark()}));
  }
  return absl::OkStatus();
}

absl::Status Parser::ReplyKey(const Field& f, std::string_view key, ScenarioReply* reply) {
  if (key == "code") {
    uint64_t code = 0;
    MXKIT_RETURN_IF_ERROR(Unsigned(f, 200, 599, "", &code));
    reply->code = static_cast<int>(code);
  } else if (key == "enhanced") {
    MXKIT_RETURN_IF_ERROR(String(f, 11, true, &reply->enhanced));
    if (!IsEnhancedCode(reply->enhanced)) {
      return Fail(f.mark(), f.path + ": " + Quote(reply->enhanced) +
                                " is not an enhanced status code (RFC 3463 §2: class.subject."
                                "detail, class 2, 4 or 5, e.g. 5.1.1)");
    }
  } else if (key == "text") {
    std::string text;
    MXKIT_RETURN_IF_ERROR(Scalar(f, "a string", &text));
    reply->lines = {text};
  } else if (key == "lines") {
    MXKIT_RETURN_IF_ERROR(List(f, kMaxReplyLines, "reply lines", [&](const Field& item) {
      std::string line;
      MXKIT_RETURN_IF_ERROR(Scalar(item, "a string", &line));
      reply->lines.push_back(std::move(line));
      return absl::OkStatus();
    }));
    if (reply->lines.empty()) return Fail(f.mark(), f.path + ": must not be empty");
  } else if (key == "raw") {
    std::string text;
    MXKIT_RETURN_IF_ERROR(Scalar(f, "a string", &text));
    size_t bad = 0;
    if (!DecodeOctets(text, &reply->raw, &bad)) {
      return Fail(f.mark(), f.path + ": raw is octets, one per character; " +
                                Quote(text.substr(bad, base::Utf8SequenceLength(text, bad))) +
                                " is above U+00FF (write octets as \\xNN in a double-quoted "
                                "string)");
    }
    if (reply->raw.empty()) return Fail(f.mark(), f.path + ": must not be empty");
    if (reply->raw.size() > kMaxRawReplyBytes) {
      return Fail(f.mark(),
                  f.path + ": longer than " + std::to_string(kMaxRawReplyBytes) + " octets");
    }
  }
  return absl::OkStatus();
}

absl::Status Parser::CheckReply(const YAML::Mark& mark, const std::string& path,
                                const ScenarioReply& reply) {
  if (!reply.raw.empty()) {
    if (reply.code != 0 || !reply.enhanced.empty() || !reply.lines.empty()) {
      return Fail(mark, path +
                            ": raw is sent exactly as given; it cannot be combined with "
                            "code, enhanced, text or lines");
    }
    return absl::OkStatus();
  }
  if (reply.code == 0) {
    return Fail(mark, path + ": a reply needs a code (200-599) or raw");
  }
  if (!reply.enhanced.empty() && reply.enhanced[0] - '0' != reply.code / 100) {
    return Fail(mark, path + ": enhanced code " + reply.enhanced + " does not match the class of " +
                          std::to_string(reply.code) + " (RFC 3463 §2)");
  }
  for (const std::string& line : reply.lines) {
    if (!base::IsPrintableAscii(line)) {
      return Fail(mark, path + ": reply text " + Quote(line) +
                            " has a character that is not printable ASCII (RFC 5321 §4.2: "
                            "textstring)");
    }
    // "550 " + enhanced + " " + text + CRLF within the reply line limit.
    const size_t length =
        4 + (reply.enhanced.empty() ? 0 : reply.enhanced.size() + 1) + line.size() + 2;
    if (length > smtp::kMaxReplyLine) {
      return Fail(mark, path + ": a reply line of " + std::to_string(length) +
                            " octets, more than " + std::to_string(smtp::kMaxReplyLine) +
                            " (RFC 5321 §4.5.3.1.5)");
    }
  }
  return absl::OkStatus();
}

// `reply: "550 5.1.1 No such user"` or `reply: {code: 550, ...}`.
absl::Status Parser::Reply(const Field& f, ScenarioReply* out) {
  *out = ScenarioReply{};
  if (f.node.IsScalar()) {
    std::string text;
    MXKIT_RETURN_IF_ERROR(Scalar(f, "a reply", &text));
    const bool code_shape =
        text.size() >= 3 && AllDigits(text.substr(0, 3)) && (text.size() == 3 || text[3] == ' ');
    uint64_t code = 0;
    if (code_shape) std::from_chars(text.data(), text.data() + 3, code);
    if (!code_shape || code < 200 || code > 599) {
      return Fail(f.mark(), f.path + ": " + Quote(text) +
                                " is not a reply: write \"CODE [ENHANCED] TEXT\" with a code "
                                "from 200 to 599, e.g. \"550 5.1.1 No such user\", or a "
                                "mapping {code, enhanced, text, lines, raw}");
    }
    out->code = static_cast<int>(code);
    std::string_view rest = std::string_view(text).substr(std::min<size_t>(4, text.size()));
    const size_t space = rest.find(' ');
    const std::string_view first = rest.substr(0, space);
    if (IsEnhancedCode(first)) {
      out->enhanced = std::string(first);
      rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
    }
    if (!rest.empty()) out->lines = {std::string(rest)};
    return CheckReply(f.mark(), f.path, *out);
  }
  MXKIT_RETURN_IF_ERROR(
      Mapping(f, "a reply", {"code", "enhanced", "text", "lines", "raw"}, [&](const Field& v) {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "lines" && !out->lines.empty()) {
          return Fail(v.key_mark, f.path +
                                      ": text and lines are "
                                      "exclusive; give one");
        }
        if (key == "text" && !out->lines.empty()) {
          return Fail(v.key_mark, f.path +
                                      ": text and lines are "
                                      "exclusive; give one");
        }
        return ReplyKey(v, key, out);
      }));
  return CheckReply(f.mark(), f.path, *out);
}

absl::Status Parser::Listener(const Field& f, ListenerSpec* out) {
  *out = ListenerSpec{};
  out->position = {f.mark().line + 1, f.mark().column + 1};
  std::string address;
  YAML::Mark address_mark = f.mark();
  if (f.node.IsMap()) {
    std::string mode = "smtp";
    MXKIT_RETURN_IF_ERROR(Mapping(f, "a listener", {"address", "mode"}, [&](const Field& v) {
      if (v.path.ends_with(".mode")) return Choice(v, kListenerModes, "a listener mode", &mode);
      address_mark = v.mark();
      return String(v, 64, true, &address);
    }));
    if (address.empty()) {
      return Fail(f.mark(), f.path +
                                ": needs an address, e.g. {address: \"127.0.0.2:465\", "
                                "mode: smtps}");
    }
    out->mode = mode == "smtps" ? ListenerMode::kSmtps : ListenerMode::kSmtp;
  } else {
    MXKIT_RETURN_IF_ERROR(String(f, 64, true, &address));
  }
  const absl::Status status = ParseHostPort(address, &out->host, &out->port);
  if (!status.ok()) {
    return Fail(address_mark, f.path + ": " + Quote(address) + ": " + base::StatusText(status));
  }
  return absl::OkStatus();
}

absl::Status Parser::Greeting(const Field& f, GreetingSpec* out) {
  if (f.node.IsScalar()) {
    ScenarioReply reply;
    MXKIT_RETURN_IF_ERROR(Reply(f, &reply));
    out->reply = reply;
    return absl::OkStatus();
  }
  ScenarioReply reply;
  bool has_reply = false;
  bool lines_given = false;
  MXKIT_RETURN_IF_ERROR(Mapping(
      f, "a greeting", {"code", "enhanced", "text", "lines", "raw", "delay", "drop", "reset"},
      [&](const Field& v) {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "delay") return Duration(v, Ms(0), kMaxScenarioDelay, &out->delay);
        if (key == "drop") return Bool(v, &out->drop);
        if (key == "reset") return Bool(v, &out->reset);
        if ((key == "text" || key == "lines") && lines_given) {
          return Fail(v.key_mark, f.path + ": text and lines are exclusive; give one");
        }
        lines_given = lines_given || key == "text" || key == "lines";
        has_reply = true;
        return ReplyKey(v, key, &reply);
      }));
  if (out->drop && out->reset) {
    return Fail(f.mark(), f.path + ": drop and reset are exclusive (reset is a drop with RST)");
  }
  if (has_reply) {
    if (out->drop || out->reset) {
      return Fail(f.mark(), f.path +
                                ": a greeting that is dropped or reset sends no reply; "
                                "remove code/text/lines/raw or drop/reset");
    }
    MXKIT_RETURN_IF_ERROR(CheckReply(f.mark(), f.path, reply));
    out->reply = reply;
  }
  return absl::OkStatus();
}

absl::Status Parser::EhloKeywords(const Field& f, std::vector<std::string>* out) {
  out->clear();
  return List(f, kMaxEhloKeywords, "EHLO keywords", [&](const Field& item) {
    std::string line;
    // RFC 5321 §4.1.1.1: ehlo-line = ehlo-keyword *( SP ehlo-param ).
    MXKIT_RETURN_IF_ERROR(String(item, smtp::kMaxReplyLine - 6, true, &line));
    const std::string keyword = line.substr(0, line.find(' '));
    const bool keyword_ok = base::IsAlnum(keyword[0]) &&
                            std::all_of(keyword.begin(), keyword.end(),
                                        [](char c) { return base::IsAlnum(c) || c == '-'; });
    if (!keyword_ok) {
      return Fail(item.mark(), item.path + ": " + Quote(keyword) +
                                   " is not an EHLO keyword (RFC 5321 §4.1.1.1: letters, digits "
                                   "and '-')");
    }
    const std::string upper = base::AsciiUpper(keyword);
    const bool known = std::find(std::begin(kKnownEhloKeywords), std::end(kKnownEhloKeywords),
                                 upper) != std::end(kKnownEhloKeywords);
    if (known && keyword.size() != line.size()) {
      return Fail(item.mark(),
                  item.path + ": list " + upper +
                      " alone: its parameters come from the receiver's settings (SIZE from "
                      "limits.max_message_size, AUTH from auth.mechanisms)");
    }
    const std::string stored = known ? upper : line;
    for (const std::string& earlier : *out) {
      if (base::EqualsIgnoreCase(earlier.substr(0, earlier.find(' ')), keyword)) {
        return Fail(item.mark(), item.path + ": " + Quote(keyword) + " is listed twice");
      }
    }
    out->push_back(stored);
    return absl::OkStatus();
  });
}

absl::Status Parser::Ehlo(const Field& f, EhloSpec* out) {
  return Mapping(f, "the EHLO settings", {"esmtp", "before_tls", "after_tls"}, [&](const Field& v) {
    if (v.path.ends_with(".esmtp")) return Bool(v, &out->esmtp);
    std::vector<std::string> words;
    MXKIT_RETURN_IF_ERROR(EhloKeywords(v, &words));
    if (v.path.ends_with(".before_tls")) {
      out->before_tls = std::move(words);
    } else {
      out->after_tls = std::move(words);
    }
    return absl::OkStatus();
  });
}

absl::Status Parser::Tls(const Field& f, TlsSpec* out, std::set<std::string>* keys_given) {
  return Mapping(
      f, "the STARTTLS settings",
      {"enabled", "behaviour", "certificate", "versions", "ciphers", "groups", "reply", "switch"},
      [&](const Field& v) {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        keys_given->insert(key);
        std::string text;
        if (key == "enabled") return Bool(v, &out->enabled);
        if (key == "switch") return Bool(v, &out->switch_to_tls);
        if (key == "reply") {
          ScenarioReply reply;
          MXKIT_RETURN_IF_ERROR(Reply(v, &reply));
          out->reply = reply;
          return absl::OkStatus();
        }
        // Printable ASCII first: the tls/ parsers repeat the value in errors.
        MXKIT_RETURN_IF_ERROR(String(v, kMaxTlsListFlag, true, &text));
        if (key == "behaviour") {
          absl::StatusOr<tls::StartTlsBehaviour> b = tls::ParseStartTlsBehaviour(text);
          if (!b.ok()) {
            return Fail(v.mark(), v.path + ": " + Quote(text) +
                                      " is not a STARTTLS behaviour; expected one of: " +
                                      tls::StartTlsBehaviourNameList());
          }
          out->profile.starttls = *b;
        } else if (key == "certificate") {
          absl::StatusOr<tls::CertVariant> c = tls::ParseCertVariant(text);
          if (!c.ok()) {
            return Fail(v.mark(), v.path + ": " + Quote(text) +
                                      " is not a certificate variant; expected one of: " +
                                      tls::CertVariantNameList());
          }
          out->profile.certificate = *c;
        } else if (key == "versions") {
          absl::StatusOr<tls::VersionRange> r = tls::ParseVersionRange(text);
          if (!r.ok()) {
            return Fail(v.mark(), v.path + ": " + base::StatusText(r.status()));
          }
          out->profile.versions = *r;
        } else {
          const absl::Status status = CheckTlsListValue(text);
          if (!status.ok()) {
            return Fail(v.mark(), v.path + ": " + Quote(text) + ": " + base::StatusText(status));
          }
          (key == "ciphers" ? out->profile.cipher_list : out->profile.groups) = text;
        }
        return absl::OkStatus();
      });
}

absl::Status Parser::Auth(const Field& f, AuthSpec* out) {
  MXKIT_RETURN_IF_ERROR(Mapping(
      f, "the AUTH settings", {"mechanisms", "credentials", "required", "tls_only"},
      [&](const Field& v) {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "required") return Bool(v, &out->required);
        if (key == "tls_only") return Bool(v, &out->tls_only);
        if (key == "mechanisms") {
          return List(v, std::size(kAuthMechanisms), "SASL mechanisms", [&](const Field& item) {
            std::string name;
            MXKIT_RETURN_IF_ERROR(Scalar(item, "a SASL mechanism", &name));
            name = base::AsciiUpper(name);
            if (std::find(std::begin(kAuthMechanisms), std::end(kAuthMechanisms), name) ==
                std::end(kAuthMechanisms)) {
              return Fail(item.mark(), item.path + ": " + Quote(name) +
                                           " is not a mechanism fakemx speaks; expected one "
                                           "of: " +
                                           absl::StrJoin(kAuthMechanisms, ", ", base::AppendStdView));
            }
            if (std::find(out->mechanisms.begin(), out->mechanisms.end(), name) !=
                out->mechanisms.end()) {
              return Fail(item.mark(), item.path + ": " + name + " is listed twice");
            }
            out->mechanisms.push_back(name);
            return absl::OkStatus();
          });
        }
        return List(v, kMaxCredentials, "credentials", [&](const Field& item) {
          Credential c;
          bool has_user = false, has_password = false;
          MXKIT_RETURN_IF_ERROR(
              Mapping(item, "a credential", {"user", "password"}, [&](const Field& u) {
                if (u.path.ends_with(".user")) {
                  has_user = true;
                  return String(u, kMaxCredentialBytes, false, &c.user);
                }
                has_password = true;
                return String(u, kMaxCredentialBytes, false, &c.password);
              }));
          if (!has_user || !has_password) {
            return Fail(item.mark(), item.path + ": a credential needs user and password");
          }
          out->credentials.push_back(std::move(c));
          return absl::OkStatus();
        });
      }));
  if (out->mechanisms.empty() && (out->required || out->tls_only || !out->credentials.empty())) {
    return Fail(f.mark(), f.path +
                              ": required, tls_only and credentials need mechanisms "
                              "(e.g. mechanisms: [PLAIN, LOGIN])");
  }
  return absl::OkStatus();
}

absl::Status Parser::OneRule(const Field& f, size_t index, Rule* out) {
  *out = Rule{};
  out->name = "rules[" + std::to_string(index) + "]";
  out->position = {f.mark().line + 1, f.mark().column + 1};
  bool has_at = false, has_action = false;
  MXKIT_RETURN_IF_ERROR(Mapping(
      f, "a rule",
      {"name", "at", "match", "tls", "after_recipients", "size_over", "nth", "action", "reply",
       "delay"},
      [&](const Field& v) {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "name") return String(v, kMaxScenarioName, true, &out->name);
        if (key == "at") {
          std::string text;
          MXKIT_RETURN_IF_ERROR(Scalar(v, "a stage", &text));
          out->at = CanonicalStage(text);
          if (out->at.empty()) {
            return Fail(v.mark(), v.path + ": " + Quote(text) +
                                      " is not a stage; expected one of: " + StageNameList());
          }
          has_at = true;
          return absl::OkStatus();
        }
        if (key == "match") {
          std::string glob;
          MXKIT_RETURN_IF_ERROR(String(v, smtp::kMaxCommandLine, false, &glob));
          out->match = glob;
          return absl::OkStatus();
        }
        if (key == "tls") {
          bool b = false;
          MXKIT_RETURN_IF_ERROR(Bool(v, &b));
          out->tls = b;
          return absl::OkStatus();
        }
        if (key == "after_recipients") {
          uint64_t n = 0;
          MXKIT_RETURN_IF_ERROR(Unsigned(v, 0, kMaxScenarioRecipients, "recipients", &n));
          out->after_recipients = static_cast<size_t>(n);
          return absl::OkStatus();
        }
        if (key == "size_over") {
          uint64_t n = 0;
          MXKIT_RETURN_IF_ERROR(Unsigned(v, 0, kMaxScenarioMessageSize, "octets", &n));
          out->size_over = n;
          return absl::OkStatus();
        }
        if (key == "nth") {
          uint64_t n = 0;
          MXKIT_RETURN_IF_ERROR(Unsigned(v, 1, UINT32_MAX, "", &n));
          out->nth = n;
          return absl::OkStatus();
        }
        if (key == "action") {
          std::string text;
          MXKIT_RETURN_IF_ERROR(Scalar(v, "an action", &text));
          for (const ActionName& a : kActionNames) {
            if (a.name == text) {
              out->action = a.action;
              has_action = true;
              return absl::OkStatus();
            }
          }
          std::vector<std::string_view> names;
          for (const ActionName& a : kActionNames) names.push_back(a.name);
          return Fail(v.mark(), v.path + ": " + Quote(text) +
                                    " is not an action; expected one of: " + absl::StrJoin(names, ", ", base::AppendStdView));
        }
        if (key == "reply") {
          ScenarioReply reply;
          MXKIT_RETURN_IF_ERROR(Reply(v, &reply));
          out->reply = reply;
          return absl::OkStatus();
        }
        return Duration(v, Ms(0), kMaxScenarioDelay, &out->delay);
      }));
  const std::string& path = f.path;
  const YAML::Mark mark = f.mark();
  if (!has_at) {
    return Fail(mark, path + ": a rule needs at: (one of " + StageNameList() + ")");
  }
  if (!has_action && !out->reply) {
    return Fail(mark, path + ": a rule needs an action or a reply");
  }
  const bool is_command = out->at != "connect" && out->at != "message";
  if (out->match && !is_command) {
    return Fail(mark,
                path + ": match applies to a command's argument; at: " + out->at + " has none");
  }
  if (out->after_recipients && out->at != "RCPT") {
    return Fail(mark, path + ": after_recipients applies only at: RCPT");
  }
  if (out->size_over && out->at != "MAIL" && out->at != "message") {
    return Fail(mark, path + ": size_over applies only at: MAIL (its SIZE=) or at: message");
  }
  const std::string action(RuleActionName(out->action));
  switch (out->action) {
    case RuleAction::kReply:
      if (!out->reply) return Fail(mark, path + ": action reply needs a reply");
      break;
    case RuleAction::kReject:
      if (!out->reply) return Fail(mark, path + ": action reject needs a reply (4xx or 5xx)");
      if (out->reply->raw.empty() && out->reply->code < 400) {
        return Fail(mark, path + ": action reject with a " + std::to_string(out->reply->code) +
                              " reply; a refusal is 4xx or 5xx (or use action: reply)");
      }
      break;
    case RuleAction::kAccept:
      if (out->reply && out->reply->raw.empty() && out->reply->code >= 400) {
        return Fail(mark, path + ": action accept with a " + std::to_string(out->reply->code) +
                              " reply; an acceptance is 2xx or 3xx (or use action: reject)");
      }
      break;
    case RuleAction::kUnknown:
      if (!is_command) {
        return Fail(mark, path + ": action unknown answers a command as unknown; at: " + out->at +
                              " is not a command");
      }
      [[fallthrough]];
    case RuleAction::kNoReply:
    case RuleAction::kDrop:
    case RuleAction::kReset:
      if (out->reply) {
        return Fail(mark, path + ": action " + action + " sends no reply; remove reply");
      }
      break;
    case RuleAction::kDisconnect:
      break;
  }
  return absl::OkStatus();
}

absl::Status Parser::Greylist(const Field& f, GreylistSpec* out) {
  out->reply = ScenarioReply{451, "4.7.1", {"Greylisted, try again later"}, ""};
  MXKIT_RETURN_IF_ERROR(
      Mapping(f, "the greylist settings", {"delay", "reply", "max_entries"}, [&](const Field& v) {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "delay") {
          return Duration(v, Ms(0), kMaxScenarioDelay, &out->delay);
        }
        if (key == "reply") return Reply(v, &out->reply);
        uint64_t n = 0;
        MXKIT_RETURN_IF_ERROR(Unsigned(v, 1, kMaxGreylistEntries, "triplets", &n));
        out->max_entries = static_cast<size_t>(n);
        return absl::OkStatus();
      }));
  if (out->delay == Ms(0)) {
    return Fail(f.mark(), f.path +
                              ": a delay of 0 lets every retry through at once; greylisting "
                              "needs a delay (e.g. 2s)");
  }
  if (out->reply.raw.empty() && out->reply.code / 100 != 4) {
    return Fail(f.mark(), f.path + ": a greylisting reply is temporary (4xx); " +
                              std::to_string(out->reply.code) + " would refuse for good");
  }
  return absl::OkStatus();
}

absl::Status Parser::Tarpit(const Field& f, TarpitSpec* out) {
  return Mapping(f, "the tarpit settings", {"per_reply", "per_byte"}, [&](const Field& v) {
    return Duration(v, Ms(0), kMaxScenarioDelay,
                    v.path.ends_with(".per_reply") ? &out->per_reply : &out->per_byte);
  });
}

absl::Status Parser::Verdicts(const Field& f, VerdictSpec* out) {
  return Mapping(
      f, "the verdict settings",
      {"enabled", "client_ip", "authserv_id", "add_authentication_results"},
      [&](const Field& v) -> absl::Status {
        if (v.path.ends_with(".enabled")) return Bool(v, &out->enabled);
        if (v.path.ends_with(".add_authentication_results")) {
          return Bool(v, &out->add_authentication_results);
        }
        std::string text;
        // An IPv6 address is at most 45 characters (RFC 4291 §2.2 with an
        // embedded IPv4 address); a host name at most 253 (RFC 1035 §2.3.4).
        const bool ip = v.path.ends_with(".client_ip");
        MXKIT_RETURN_IF_ERROR(String(v, ip ? 45 : smtp::kMaxDomain, true, &text));
        if (ip) {
          unsigned char addr[16];
          if (inet_pton(AF_INET, text.c_str(), addr) != 1 &&
              inet_pton(AF_INET6, text.c_str(), addr) != 1) {
            return Fail(v.mark(), v.path + ": " + Quote(text) +
                                      " is not an IPv4 or IPv6 address (SPF checks an address, "
                                      "RFC 7208 §4.1)");
          }
          out->client_ip = text;
          return absl::OkStatus();
        }
        // RFC 8601 §2.5: the authserv-id is usually the host's name, which
        // is what fakemx accepts: letters, digits, '-', '_' and '.', so it is
        // a token (RFC 2045 §5.1) no field needs to quote.
        if (text.empty()) return Fail(v.mark(), v.path + ": must not be empty");
        for (char c : text) {
          if (!base::IsAlnum(c) && c != '-' && c != '_' && c != '.') {
            return Fail(v.mark(), v.path + ": " + Quote(text) +
                                      ": a host name has only letters, digits, '-', '_' and '.'");
          }
        }
        out->authserv_id = text;
        return absl::OkStatus();
      });
}

absl::Status Parser::Disconnect(const Field& f, DisconnectSpec* out) {
  MXKIT_RETURN_IF_ERROR(Mapping(f, "the disconnect settings",
                             {"after_data", "mid_data_after_bytes", "reset"}, [&](const Field& v) {
                               if (v.path.ends_with(".after_data"))
                                 return Bool(v, &out->after_data);
                               if (v.path.ends_with(".reset")) return Bool(v, &out->reset);
                               uint64_t n = 0;
                               MXKIT_RETURN_IF_ERROR(
                                   Unsigned(v, 0, kMaxScenarioMessageSize, "octets", &n));
                               out->mid_data_after_bytes = n;
                               return absl::OkStatus();
                             }));
  if (out->reset && !out->after_data && !out->mid_data_after_bytes) {
    return Fail(f.mark(), f.path +
                              ": reset applies to after_data or mid_data_after_bytes; give "
                              "one of them");
  }
  return absl::OkStatus();
}

absl::Status Parser::Chaos(const Field& f, ChaosSpec* out) {
  bool has_stages = false;
  MXKIT_RETURN_IF_ERROR(
      Mapping(f, "the chaos settings", {"seed", "stages", "replies"}, [&](const Field& v) {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "seed") return Unsigned(v, 0, UINT64_MAX, "", &out->seed);
        if (key == "replies") {
          return List(v, kMaxChaosReplies, "replies", [&](const Field& item) {
            ScenarioReply reply;
            MXKIT_RETURN_IF_ERROR(Reply(item, &reply));
            if (reply.raw.empty() && reply.code < 400) {
              return Fail(item.mark(),
                          item.path + ": a fault is 4xx or 5xx, not " + std::to_string(reply.code));
            }
            out->replies.push_back(std::move(reply));
            return absl::OkStatus();
          });
        }
        has_stages = true;
        MXKIT_RETURN_IF_ERROR(Visit(v));
        if (!v.node.IsMap()) {
          return Fail(v.mark(), v.path +
                                    ": expected a mapping of stage to probability, e.g. "
                                    "{MAIL: 0.1, RCPT: 0.2}, got " +
                                    Kind(v.node));
        }
        for (auto it = v.node.begin(); it != v.node.end(); ++it) {
          Field key_field{v.path, it->first, v.mark()};
          std::string text;
          MXKIT_RETURN_IF_ERROR(Scalar(key_field, "a stage", &text));
          const std::string stage = CanonicalStage(text);
          if (stage.empty()) {
            return Fail(key_field.mark(),
                        v.path + ": " + Quote(text) +
                            " is not a stage; expected one of: " + StageNameList());
          }
          for (const auto& [earlier, p] : out->stages) {
            if (earlier == stage) {
              return Fail(key_field.mark(), v.path + ": stage " + stage + " is given twice");
            }
          }
          double p = 0;
          MXKIT_RETURN_IF_ERROR(
              Probability(Field{v.path + "." + stage, it->second, it->first.Mark()}, &p));
          out->stages.emplace_back(stage, p);
        }
        return absl::OkStatus();
      }));
  if (!has_stages || out->stages.empty()) {
    return Fail(f.mark(), f.path + ": chaos needs stages, e.g. {MAIL: 0.1, RCPT: 0.2}");
  }
  return absl::OkStatus();
}

absl::Status Parser::Limits(const Field& f, smtp::SessionLimits* out) {
  return Mapping(
      f, "the limits", {"max_message_size", "max_recipients", "max_command_line", "max_text_line"},
      [&](const Field& v) {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        uint64_t n = 0;
        if (key == "max_message_size") {
          // RFC 5321 §4.5.3.1.7: at least 64K octets.
          MXKIT_RETURN_IF_ERROR(
              Unsigned(v, smtp::kMinMessageContent, kMaxScenarioMessageSize, "octets", &n));
          out->max_message_size = n;
        } else if (key == "max_recipients") {
          // §4.5.3.1.8 asks for at least 100; a receiver that allows fewer is
          // a misbehaviour worth testing (its 452 is §4.5.3.1.10's).
          MXKIT_RETURN_IF_ERROR(Unsigned(v, 1, kMaxScenarioRecipients, "recipients", &n));
          out->max_recipients = static_cast<size_t>(n);
        } else if (key == "max_command_line") {
          // §4.5.3.1.4: at least 512 octets.
          MXKIT_RETURN_IF_ERROR(
              Unsigned(v, smtp::kMaxCommandLine, kMaxScenarioCommandLine, "octets", &n));
          out->max_command_line = static_cast<size_t>(n);
        } else {
          // §4.5.3.1.6: at least 1000 octets.
          MXKIT_RETURN_IF_ERROR(Unsigned(v, smtp::kMaxTextLine, kMaxScenarioTextLine, "octets", &n));
          out->max_text_line = static_cast<size_t>(n);
        }
        return absl::OkStatus();
      });
}

// `true` (generated), `false` (none) or the record's text. A quoted "true"
// is text: yaml-cpp tags a quoted scalar "!". An unquoted YAML 1.1 boolean
// word (yes, no, on, off) is refused rather than published as text: it is
// far likelier a switch written another way than a record.
absl::Status Parser::TextSetting(const Field& f, DnsTextSetting* out) {
  std::string text;
  MXKIT_RETURN_IF_ERROR(Scalar(f, "true, false or the record's text", &text));
  if (f.node.Tag() != "!") {
    const std::string lower = base::AsciiLower(text);
    if (lower == "true" || lower == "false") {
      MXKIT_RETURN_IF_ERROR(Bool(f, &out->publish));
      out->text.reset();
      return absl::OkStatus();
    }
    for (std::string_view word : {"yes", "no", "on", "off", "y", "n"}) {
      if (lower == word) {
        return Fail(f.mark(), f.path + ": " + Quote(text) +
                                  " is ambiguous; write true or false, or quote it to publish "
                                  "it as text");
      }
    }
  }
  return RecordText(f, text, &out->text.emplace());
}

absl::Status Parser::RecordText(const Field& f, const std::string& text, std::string* out) {
  if (text.size() > kMaxDnsTextBytes) {
    return Fail(f.mark(), f.path + ": longer than " + std::to_string(kMaxDnsTextBytes) + " octets");
  }
  if (HasControl(text)) {
    return Fail(f.mark(), f.path + ": " + Quote(text) + " has a control character");
  }
  *out = text;
  return absl::OkStatus();
}

absl::Status Parser::Dns(const Field& f, ReceiverDns* out) {
  return Mapping(
      f, "the receiver's DNS",
      {"mx", "address", "spf", "dkim", "dmarc", "tls_rpt", "tlsa", "authenticated", "faults"},
      [&](const Field& v) -> absl::Status {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "spf") return TextSetting(v, &out->spf);
        if (key == "dmarc") return TextSetting(v, &out->dmarc);
        if (key == "tls_rpt") return TextSetting(v, &out->tls_rpt);
        if (key == "authenticated") return Bool(v, &out->authenticated);
        if (key == "mx") {
          if (v.node.IsScalar()) {
            bool on = true;
            MXKIT_RETURN_IF_ERROR(Bool(v, &on));
            if (on) {
              return Fail(v.mark(), v.path +
                                        ": true is the default; write false for no MX or a "
                                        "list such as [{preference: 10, host: mx.example.test}]");
            }
            out->mx.emplace();
            return absl::OkStatus();
          }
          std::vector<MxSpec> mx;
          MXKIT_RETURN_IF_ERROR(List(v, kMaxMxRecords, "MX records", [&](const Field& item) {
            MxSpec m;
            bool has_host = false;
            MXKIT_RETURN_IF_ERROR(
                Mapping(item, "an MX record", {"preference", "host"}, [&](const Field& w) {
                  if (w.path.ends_with(".preference")) {
                    uint64_t n = 0;
                    MXKIT_RETURN_IF_ERROR(Unsigned(w, 0, 65535, "", &n));
                    m.preference = static_cast<uint16_t>(n);
                    return absl::OkStatus();
                  }
                  has_host = true;
                  std::string host;
                  MXKIT_RETURN_IF_ERROR(String(w, 254, true, &host));
                  if (host == ".") {
                    m.host.clear();  // RFC 7505 null MX
                    return absl::OkStatus();
                  }
                  if (host.ends_with('.')) host.pop_back();
                  const absl::Status status = CheckDnsName(host, "the host");
                  if (!status.ok()) {
                    return Fail(w.mark(),
                                w.path + ": " + Quote(host) + ": " + base::StatusText(status));
                  }
                  m.host = host;
                  return absl::OkStatus();
                }));
            if (!has_host) {
              return Fail(item.mark(), item.path +
                                           ": an MX record needs a host (\".\" for a "
                                           "null MX, RFC 7505)");
            }
            mx.push_back(std::move(m));
            return absl::OkStatus();
          }));
          if (mx.empty()) {
            return Fail(v.mark(), v.path + ": an empty list; write mx: false for no MX");
          }
          out->mx = std::move(mx);
          return absl::OkStatus();
        }
        if (key == "address") {
          std::string text;
          MXKIT_RETURN_IF_ERROR(Scalar(v, "false or an IPv4 or IPv6 address", &text));
          if (base::AsciiLower(text) == "false" && v.node.Tag() != "!") {
            bool on = true;
            MXKIT_RETURN_IF_ERROR(Bool(v, &on));
            out->address = "";
            return absl::OkStatus();
          }
          unsigned char addr[16];
          if (text.size() > 64 || (inet_pton(AF_INET, text.c_str(), addr) != 1 &&
                                   inet_pton(AF_INET6, text.c_str(), addr) != 1)) {
            return Fail(v.mark(), v.path + ": " + Quote(text) +
                                      " is not an IPv4 or IPv6 address (or false for none)");
          }
          out->address = text;
          return absl::OkStatus();
        }
        if (key == "dkim") {
          if (v.node.IsScalar()) {
            bool on = true;
            MXKIT_RETURN_IF_ERROR(Bool(v, &on));
            if (on) {
              return Fail(v.mark(), v.path +
                                        ": true is the default; write false for no key, or "
                                        "{selector, algorithm, text}");
            }
            out->dkim.publish = false;
            return absl::OkStatus();
          }
          return Mapping(v, "a DKIM key", {"selector", "algorithm", "text"}, [&](const Field& w) {
            const std::string k = w.path.substr(w.path.rfind('.') + 1);
            if (k == "selector") {
              MXKIT_RETURN_IF_ERROR(String(w, 63, true, &out->dkim.selector));
              // RFC 6376 §3.1: selector = sub-domain *( "." sub-domain ).
              const absl::Status status = CheckDnsName(out->dkim.selector, "the selector");
              if (!status.ok() || out->dkim.selector.find_first_of("_*") != std::string::npos) {
                return Fail(w.mark(), w.path + ": " + Quote(out->dkim.selector) +
                                          " is not a selector (RFC 6376 §3.1: letters, "
                                          "digits and '-' in dot-separated labels)");
              }
              return absl::OkStatus();
            }
            if (k == "algorithm") {
              std::string name;
              MXKIT_RETURN_IF_ERROR(Choice(w, kDkimAlgorithms, "a DKIM key algorithm", &name));
              out->dkim.algorithm = name == "rsa" ? DkimAlgorithm::kRsa : DkimAlgorithm::kEd25519;
              return absl::OkStatus();
            }
            std::string text;
            MXKIT_RETURN_IF_ERROR(Scalar(w, "the key record's text", &text));
            return RecordText(w, text, &out->dkim.text.emplace());
          });
        }
        if (key == "tlsa") {
          return List(v, kMaxTlsaRecords, "TLSA records", [&](const Field& item) {
            TlsaSpec t;
            MXKIT_RETURN_IF_ERROR(Mapping(
                item, "a TLSA record", {"usage", "selector", "matching", "mismatch"},
                [&](const Field& w) {
                  const std::string k = w.path.substr(w.path.rfind('.') + 1);
                  if (k == "mismatch") return Bool(w, &t.mismatch);
                  uint64_t n = 0;
                  if (k == "usage") {
                    MXKIT_RETURN_IF_ERROR(Unsigned(w, 0, 255, "", &n));
                    if (n != 2 && n != 3) {
                      return Fail(w.mark(), w.path + ": usage " + std::to_string(n) +
                                                " is not one SMTP uses; RFC 7672 §3.1 allows 2 "
                                                "(DANE-TA) and 3 (DANE-EE)");
                    }
                    t.usage = static_cast<uint8_t>(n);
                  } else if (k == "selector") {
                    MXKIT_RETURN_IF_ERROR(Unsigned(w, 0, 1, "", &n));
                    t.selector = static_cast<uint8_t>(n);
                  } else {
                    MXKIT_RETURN_IF_ERROR(Unsigned(w, 0, 2, "", &n));
                    t.matching = static_cast<uint8_t>(n);
                  }
                  return absl::OkStatus();
                }));
            out->tlsa.push_back(t);
            return absl::OkStatus();
          });
        }
        // faults
        return List(v, kMaxDnsFaults, "DNS faults", [&](const Field& item) {
          DnsFaultSpec spec;
          spec.position = {item.mark().line + 1, item.mark().column + 1};
          bool has_name = false, has_fault = false;
          MXKIT_RETURN_IF_ERROR(
              Mapping(item, "a DNS fault", {"name", "type", "fault"}, [&](const Field& w) {
                const std::string k = w.path.substr(w.path.rfind('.') + 1);
                std::string text;
                MXKIT_RETURN_IF_ERROR(String(w, 254, true, &text));
                if (k == "name") {
                  has_name = true;
                  // Resolved against the receiver's name once it is known.
                  const std::string bare =
                      text.ends_with('.') ? text.substr(0, text.size() - 1) : text;
                  if (text != "@") {
                    const absl::Status status = CheckDnsName(bare, "the name");
                    if (!status.ok()) {
                      return Fail(w.mark(),
                                  w.path + ": " + Quote(text) + ": " + base::StatusText(status));
                    }
                  }
                  spec.name = text;
                } else if (k == "type") {
                  const std::string upper = base::AsciiUpper(text);
                  for (dns::RrType t : kFaultTypes) {
                    if (dns::RrTypeName(t) == upper) spec.type = t;
                  }
                  if (!spec.type) {
                    std::vector<std::string> names;
                    for (dns::RrType t : kFaultTypes) names.push_back(dns::RrTypeName(t));
                    return Fail(w.mark(), w.path + ": " + Quote(text) +
                                              " is not a record type; expected one of: " +
                                              absl::StrJoin(names, ", "));
                  }
                } else {
                  has_fault = true;
                  bool found = false;
                  for (dns::ServeFault sf : kServeFaults) {
                    if (dns::ServeFaultName(sf) == text) {
                      spec.fault = sf;
                      found = true;
                    }
                  }
                  if (!found) {
                    std::vector<std::string_view> names;
                    for (dns::ServeFault sf : kServeFaults)
                      names.push_back(dns::ServeFaultName(sf));
                    return Fail(w.mark(), w.path + ": " + Quote(text) +
                                              " is not a fault; expected one of: " +
                                              absl::StrJoin(names, ", ", base::AppendStdView));
                  }
                }
                return absl::OkStatus();
              }));
          if (!has_name || !has_fault) {
            return Fail(item.mark(), item.path +
                                         ": a fault needs a name and a fault, e.g. {name: "
                                         "_dmarc, type: TXT, fault: timeout}");
          }
          out->faults.push_back(std::move(spec));
          return absl::OkStatus();
        });
      });
}

absl::Status Parser::MtaSts(const Field& f, MtaStsSpec* out, std::set<std::string>* keys_given) {
  bool status_given = false;
  YAML::Mark status_mark;
  MXKIT_RETURN_IF_ERROR(Mapping(
      f, "an MTA-STS policy",
      {"mode", "mx", "max_age", "id", "body", "status", "redirect", "content_type", "delay",
       "certificate", "listen", "txt"},
      [&](const Field& v) -> absl::Status {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        keys_given->insert(key);
        if (key == "mode") {
          std::string name;
          MXKIT_RETURN_IF_ERROR(Choice(v, kMtaStsModes, "an MTA-STS mode", &name));
          out->mode = name == "enforce"   ? MtaStsMode::kEnforce
                      : name == "testing" ? MtaStsMode::kTesting
                                          : MtaStsMode::kNone;
          return absl::OkStatus();
        }
        if (key == "mx") {
          std::vector<std::string> patterns;
          MXKIT_RETURN_IF_ERROR(List(v, kMaxMtaStsPatterns, "MX patterns", [&](const Field& item) {
            std::string p;
            MXKIT_RETURN_IF_ERROR(String(item, 254, true, &p));
            if (p.find(' ') != std::string::npos) {
              return Fail(item.mark(), item.path + ": " + Quote(p) +
                                           " has a space; a policy's mx value is one name "
                                           "(RFC 8461 §3.2)");
            }
            patterns.push_back(std::move(p));
            return absl::OkStatus();
          }));
          out->mx = std::move(patterns);
          return absl::OkStatus();
        }
        if (key == "max_age") {
          return Unsigned(v, 0, kMaxMtaStsMaxAge, "seconds (RFC 8461 §3.2)", &out->max_age);
        }
        if (key == "id") {
          std::string id;
          MXKIT_RETURN_IF_ERROR(String(v, kMaxMtaStsId, true, &id));
          if (!std::all_of(id.begin(), id.end(), base::IsAlnum)) {
            return Fail(v.mark(), v.path + ": " + Quote(id) +
                                      " is not a policy id (RFC 8461 §3.1: 1 to 32 letters and "
                                      "digits)");
          }
          out->id = id;
          return absl::OkStatus();
        }
        if (key == "body") {
          std::string text;
          MXKIT_RETURN_IF_ERROR(Scalar(v, "the policy text", &text));
          if (text.size() > kMaxMtaStsBodyBytes) {
            return Fail(v.mark(), v.path + ": longer than " + std::to_string(kMaxMtaStsBodyBytes) +
                                      " octets");
          }
          out->body = text;
          return absl::OkStatus();
        }
        if (key == "status") {
          status_given = true;
          status_mark = v.mark();
          uint64_t n = 0;
          MXKIT_RETURN_IF_ERROR(Unsigned(v, 100, 599, "", &n));
          out->status = static_cast<int>(n);
          return absl::OkStatus();
        }
        if (key == "redirect") {
          MXKIT_RETURN_IF_ERROR(String(v, 2048, true, &out->location));
          if (out->location.find(' ') != std::string::npos) {
            return Fail(v.mark(), v.path + ": a Location is a URI, without spaces");
          }
          return absl::OkStatus();
        }
        if (key == "content_type") {
          return String(v, 200, true, &out->content_type);
        }
        if (key == "delay") return Duration(v, Ms(0), kMaxScenarioDelay, &out->delay);
        if (key == "certificate") {
          std::string text;
          MXKIT_RETURN_IF_ERROR(String(v, 64, true, &text));
          absl::StatusOr<tls::CertVariant> c = tls::ParseCertVariant(text);
          if (!c.ok()) {
            return Fail(v.mark(), v.path + ": " + Quote(text) +
                                      " is not a certificate variant; expected one of: " +
                                      tls::CertVariantNameList());
          }
          out->certificate = *c;
          return absl::OkStatus();
        }
        if (key == "listen") {
          std::string address;
          MXKIT_RETURN_IF_ERROR(String(v, 64, true, &address));
          std::string host;
          uint16_t port = 0;
          const absl::Status status = ParseHostPort(address, &host, &port);
          if (!status.ok()) {
            return Fail(v.mark(), v.path + ": " + Quote(address) + ": " + base::StatusText(status));
          }
          out->host = host;
          out->port = port;
          return absl::OkStatus();
        }
        return TextSetting(v, &out->txt);
      }));
  if (!out->location.empty()) {
    if (!status_given) {
      out->status = 301;
    } else if (out->status < 300 || out->status > 399) {
      return Fail(status_mark, f.path + ".status: redirect needs a 3xx status, not " +
                                   std::to_string(out->status));
    }
  } else if (status_given && out->status >= 300 && out->status <= 399) {
    return Fail(status_mark, f.path + ".status: a 3xx status needs redirect: (the Location)");
  }
  if (out->body) {
    for (const char* k : {"mode", "mx", "max_age"}) {
      if (keys_given->count(k) != 0) {
        return Fail(f.mark(), f.path + ": body replaces the generated policy, so " +
                                  std::string(k) + " has no effect; remove one of them");
      }
    }
  }
  return absl::OkStatus();
}

// Maps a position in zone text to the scenario file: exact for a literal
// block scalar (`text: |`), whose lines are the file's lines after the
// indicator, and for a one-line plain or quoted scalar without escapes;
// otherwise the value's own position.
YAML::Mark Parser::ZoneMark(const YAML::Node& node, const dns::ZoneError& error) const {
  const YAML::Mark m = node.Mark();
  YAML::Mark out = m;
  if (m.is_null() || m.pos < 0 || static_cast<size_t>(m.pos) >= text_.size()) return out;
  const char first = text_[static_cast<size_t>(m.pos)];
  if (first == '|') {
    // The content starts on the line after the indicator, at the block's
    // indentation: that of its first non-empty line.
    size_t line_start = text_.find('\n', static_cast<size_t>(m.pos));
    if (line_start == std::string_view::npos) return out;
    ++line_start;
    size_t indent = 0;
    for (size_t p = line_start; p < text_.size();) {
      size_t spaces = 0;
      while (p + spaces < text_.size() && text_[p + spaces] == ' ') ++spaces;
      if (p + spaces < text_.size() && text_[p + spaces] != '\n' && text_[p + spaces] != '\r') {
        indent = spaces;
        break;
      }
      const size_t nl = text_.find('\n', p);
      if (nl == std::string_view::npos) break;
      p = nl + 1;
    }
    out.line = m.line + static_cast<int>(error.line);
    out.column = static_cast<int>(indent + (error.column > 0 ? error.column - 1 : 0));
    return out;
  }
  const std::string& scalar = node.Scalar();
  const size_t quote = (first == '"' || first == '\'') ? 1 : 0;
  const std::string_view raw = text_.substr(static_cast<size_t>(m.pos) + quote, scalar.size());
  if (error.line == 1 && raw == scalar) {
    out.column = m.column + static_cast<int>(quote + (error.column > 0 ? error.column - 1 : 0));
  }
  return out;
}

absl::Status Parser::OneZone(const Field& f, ExtraZone* out) {
  *out = ExtraZone{};
  out->position = {f.mark().line + 1, f.mark().column + 1};
  std::string text;
  YAML::Node text_node;
  bool has_apex = false, has_text = false;
  MXKIT_RETURN_IF_ERROR(
      Mapping(f, "a zone", {"apex", "authenticated", "text"}, [&](const Field& v) -> absl::Status {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "apex") {
          has_apex = true;
          MXKIT_RETURN_IF_ERROR(String(v, 254, true, &out->apex));
          if (out->apex.ends_with('.')) out->apex.pop_back();
          out->apex = base::AsciiLower(out->apex);
          const absl::Status status = CheckDnsName(out->apex, "the apex");
          if (!status.ok()) {
            return Fail(v.mark(), v.path + ": " + base::StatusText(status));
          }
          return absl::OkStatus();
        }
        if (key == "authenticated") {
          bool a = false;
          MXKIT_RETURN_IF_ERROR(Bool(v, &a));
          out->authenticated = a;
          return absl::OkStatus();
        }
        has_text = true;
        MXKIT_RETURN_IF_ERROR(Scalar(v, "zone file text", &text));
        if (text.size() > kMaxZoneTextBytes) {
          return Fail(v.mark(),
                      v.path + ": longer than " + std::to_string(kMaxZoneTextBytes) + " octets");
        }
        text_node = v.node;
        return absl::OkStatus();
      }));
  if (!has_apex || !has_text) {
    return Fail(f.mark(), f.path +
                              ": a zone needs an apex and its text, e.g. {apex: "
                              "other.test, text: \"@ 300 IN A 192.0.2.1\"}");
  }
  dns::ZoneError error;
  absl::StatusOr<dns::Zone> zone = dns::ParseZone(text, source_, out->apex, &error);
  if (!zone.ok()) {
    return Fail(ZoneMark(text_node, error),
                f.path + ".text: line " + std::to_string(error.line) + ": " + error.message);
  }
  for (const dns::ResourceRecord& r : zone->records) {
    if (!NameAtOrBelow(r.name, out->apex)) {
      return Fail(text_node.Mark(), f.path + ".text: the " + dns::RrTypeName(r.type) +
                                        " record of " + Quote(r.name) + " is outside the zone " +
                                        out->apex);
    }
  }
  for (const dns::ZoneFault& zf : zone->faults) {
    if (!NameAtOrBelow(zf.name, out->apex)) {
      return Fail(text_node.Mark(), f.path + ".text: the fault on " + Quote(zf.name) +
                                        " is outside the zone " + out->apex);
    }
    out->faults.push_back(dns::ServedFault{
        zf.name, zf.type,
        zf.fault == dns::Fault::kTimeout ? dns::ServeFault::kTimeout : dns::ServeFault::kServfail});
  }
  out->records = std::move(zone->records);
  return absl::OkStatus();
}

absl::Status Parser::OneReceiver(const Field& f, Receiver* out) {
  *out = Receiver{};
  out->position = {f.mark().line + 1, f.mark().column + 1};
  bool has_name = false, has_listeners = false;
  std::set<std::string> tls_keys, mta_sts_keys;
  YAML::Mark ehlo_mark, auth_mark, tls_mark, dns_mark, mta_sts_mark;
  MXKIT_RETURN_IF_ERROR(Mapping(
      f, "a receiver", {"name",         "hostname",
                        "listeners",    "greeting",
                        "ehlo",         "starttls",
                        "auth",         "rules",
                        "greylist",     "tarpit",
                        "disconnect",   "chaos",
                        "leniencies",   "data_bare_line_endings",
                        "data_nul",     "limits",
                        "idle_timeout", "max_protocol_errors",
                        "dns",          "mta_sts",
                        "verdicts"},
      [&](const Field& v) -> absl::Status {
        const std::string key = v.path.substr(v.path.rfind('.') + 1);
        if (key == "verdicts") return Verdicts(v, &out->verdicts);
        if (key == "dns") {
          dns_mark = v.mark();
          return Dns(v, &out->dns);
        }
        if (key == "mta_sts") {
          mta_sts_mark = v.mark();
          return MtaSts(v, &out->mta_sts.emplace(), &mta_sts_keys);
        }
        if (key == "name" || key == "hostname") {
          std::string name;
          MXKIT_RETURN_IF_ERROR(String(v, smtp::kMaxDomain, true, &name));
          const absl::Status status = CheckHostnameValue(name);
          if (!status.ok()) {
            return Fail(v.mark(), v.path + ": " + Quote(name) + ": " + base::StatusText(status));
          }
          (key == "name" ? out->name : out->hostname) = name;
          has_name = has_name || key == "name";
          return absl::OkStatus();
        }
        if (key == "listeners") {
          has_listeners = true;
          return List(v, kMaxListenersPerReceiver, "listeners", [&](const Field& item) {
            ListenerSpec l;
            MXKIT_RETURN_IF_ERROR(Listener(item, &l));
            out->listeners.push_back(std::move(l));
            return absl::OkStatus();
          });
        }
        if (key == "greeting") return Greeting(v, &out->greeting);
        if (key == "ehlo") {
          ehlo_mark = v.mark();
          return Ehlo(v, &out->ehlo);
        }
        if (key == "starttls") {
          tls_mark = v.mark();
          return Tls(v, &out->tls, &tls_keys);
        }
        if (key == "auth") {
          auth_mark = v.mark();
          return Auth(v, &out->auth);
        }
        if (key == "rules") {
          std::map<std::string, int> names;
          return List(v, kMaxRulesPerReceiver, "rules", [&](const Field& item) {
            Rule rule;
            MXKIT_RETURN_IF_ERROR(OneRule(item, out->rules.size(), &rule));
            if (auto [first, inserted] = names.emplace(rule.name, rule.position.line); !inserted) {
              return Fail(item.mark(), item.path + ": another rule is named " + Quote(rule.name) +
                                           " (line " + std::to_string(first->second) + ")");
            }
            out->rules.push_back(std::move(rule));
            return absl::OkStatus();
          });
        }
        if (key == "greylist") {
          GreylistSpec g;
          MXKIT_RETURN_IF_ERROR(Greylist(v, &g));
          out->greylist = g;
          return absl::OkStatus();
        }
        if (key == "tarpit") return Tarpit(v, &out->tarpit);
        if (key == "disconnect") return Disconnect(v, &out->disconnect);
        if (key == "chaos") {
          ChaosSpec c;
          MXKIT_RETURN_IF_ERROR(Chaos(v, &c));
          out->chaos = c;
          return absl::OkStatus();
        }
        if (key == "leniencies") {
          return List(v, CommandLeniencyNames().size(), "leniencies", [&](const Field& item) {
            std::string name;
            MXKIT_RETURN_IF_ERROR(Scalar(item, "a leniency", &name));
            for (const CommandLeniencyName& l : CommandLeniencyNames()) {
              if (l.name == name) {
                if (out->leniencies.*(l.member)) {
                  return Fail(item.mark(), item.path + ": " + name + " is listed twice");
                }
                out->leniencies.*(l.member) = true;
                return absl::OkStatus();
              }
            }
            return Fail(item.mark(),
                        item.path + ": " + Quote(name) +
                            " is not a leniency; expected one of: " + CommandLeniencyNameList());
          });
        }
        if (key == "data_bare_line_endings" || key == "data_nul") {
          std::string name;
          MXKIT_RETURN_IF_ERROR(Scalar(v, "a policy", &name));
          if (key == "data_nul") {
            absl::StatusOr<smtp::NulPolicy> p = ParseNulPolicy(name);
            if (!p.ok()) {
              return Fail(v.mark(),
                          v.path + ": " + Quote(name) + " is " + base::StatusText(p.status()));
            }
            out->data_nul = *p;
          } else {
            absl::StatusOr<smtp::BareLineEndingPolicy> p = ParseBareLineEndingPolicy(name);
            if (!p.ok()) {
              return Fail(v.mark(),
                          v.path + ": " + Quote(name) + " is " + base::StatusText(p.status()));
            }
            out->data_bare_line_endings = *p;
          }
          return absl::OkStatus();
        }
        if (key == "limits") return Limits(v, &out->limits);
        if (key == "idle_timeout") {
          Ms d{0};
          MXKIT_RETURN_IF_ERROR(
              Duration(v, std::chrono::seconds(1), std::chrono::seconds(kMaxTimeoutSeconds), &d));
          if (d.count() % 1000 != 0) {
            return Fail(v.mark(), v.path + ": the idle timeout is whole seconds");
          }
          out->idle_timeout = std::chrono::duration_cast<std::chrono::seconds>(d);
          return absl::OkStatus();
        }
        uint64_t n = 0;
        MXKIT_RETURN_IF_ERROR(Unsigned(v, 1, smtp::kMaxProtocolErrorsCeiling, "errors", &n));
        out->max_protocol_errors = static_cast<int>(n);
        return absl::OkStatus();
      }));
  const YAML::Mark mark = f.mark();
  if (!has_name) {
    return Fail(mark, f.path +
                          ": a receiver needs a name (the domain it plays, e.g. "
                          "example.test)");
  }
  if (out->hostname.empty()) {
    out->hostname = "mx." + out->name;
    const absl::Status status = CheckHostnameValue(out->hostname);
    if (!status.ok()) {
      return Fail(mark, f.path + ": the default hostname mx." + out->name + ": " +
                            base::StatusText(status) + "; give hostname:");
    }
  }
  // Fault names relative to the receiver's domain, now that it is known.
  std::set<std::pair<std::string, std::optional<dns::RrType>>> faulted;
  for (DnsFaultSpec& fault : out->dns.faults) {
    const std::string given = fault.name;
    if (fault.name == "@") {
      fault.name = out->name;
    } else if (fault.name.ends_with('.')) {
      fault.name.pop_back();
    } else {
      fault.name += "." + out->name;
    }
    fault.name = base::AsciiLower(fault.name);
    YAML::Mark fmark;
    fmark.line = fault.position.line - 1;
    fmark.column = fault.position.column - 1;
    if (fault.name.size() > 253) {
      return Fail(fmark, f.path + ".dns.faults: " + Quote(given) + " under " + out->name +
                             " is longer than 253 octets (RFC 1035 §2.3.4)");
    }
    if (!faulted.emplace(fault.name, fault.type).second) {
      return Fail(fmark, f.path + ".dns.faults: " + fault.name + " " +
                             (fault.type ? dns::RrTypeName(*fault.type) : "(every type)") +
                             " has two faults; give one");
    }
  }
  if (!out->dns.tlsa.empty() && !out->tls.enabled) {
    return Fail(dns_mark, f.path +
                              ".dns.tlsa: TLSA records describe the receiver's "
                              "certificate, but starttls.enabled is false");
  }
  if (out->mta_sts && !out->mta_sts->mx && !out->mta_sts->body && out->dns.mx &&
      out->dns.mx->empty()) {
    return Fail(mta_sts_mark, f.path +
                                  ".mta_sts: the default mx patterns are the receiver's MX "
                                  "hosts, and dns.mx is false; give mta_sts.mx");
  }
  if (has_listeners && out->listeners.empty()) {
    return Fail(mark, f.path + ": listeners is empty; omit it for the default 127.0.0.1:2525");
  }
  // Contradictions between sections.
  const TlsSpec& t = out->tls;
  if (!t.enabled) {
    for (const std::string& key : tls_keys) {
      if (key != "enabled") {
        return Fail(tls_mark, f.path + ".starttls: enabled is false, so " + key +
                                  " has no effect; remove one of them");
      }
    }
    if (out->auth.tls_only) {
      return Fail(auth_mark, f.path +
                                 ".auth: tls_only with starttls.enabled false: AUTH would "
                                 "never be offered");
    }
  }
  if (t.reply && (t.profile.starttls == tls::StartTlsBehaviour::kHide ||
                  t.profile.starttls == tls::StartTlsBehaviour::kRefuse454 ||
                  t.profile.starttls == tls::StartTlsBehaviour::kRefuse502)) {
    return Fail(tls_mark, f.path + ".starttls: behaviour " +
                              std::string(tls::StartTlsBehaviourName(t.profile.starttls)) +
                              " has its own answer to STARTTLS; reply applies with offer and "
                              "the *-after-220 behaviours");
  }
  if (!t.switch_to_tls && t.profile.starttls != tls::StartTlsBehaviour::kOffer) {
    return Fail(tls_mark, f.path + ".starttls: switch: false applies with behaviour offer; " +
                              std::string(tls::StartTlsBehaviourName(t.profile.starttls)) +
                              " decides itself what follows STARTTLS");
  }
  const EhloSpec& e = out->ehlo;
  if (!e.esmtp && (e.before_tls || e.after_tls)) {
    return Fail(ehlo_mark, f.path +
                               ".ehlo: esmtp false answers EHLO as unknown, so "
                               "before_tls/after_tls are never sent; remove one");
  }
  for (const auto* list : {&e.before_tls, &e.after_tls}) {
    if (!*list) continue;
    for (const std::string& word : **list) {
      if (word == "STARTTLS" && list == &e.before_tls &&
          (!t.enabled || t.profile.starttls == tls::StartTlsBehaviour::kHide)) {
        return Fail(ehlo_mark, f.path + ".ehlo: before_tls lists STARTTLS, but starttls " +
                                   (t.enabled ? "behaviour is hide" : "is disabled"));
      }
      if (word == "AUTH" && out->auth.mechanisms.empty()) {
        return Fail(ehlo_mark, f.path + ".ehlo: AUTH is listed but auth has no mechanisms");
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Scenario> Parser::ParseDocument(const YAML::Node& root) {
  Scenario scenario;
  scenario.source = std::string(source_);
  if (!root.IsDefined() || root.IsNull()) {
    return Fail(YAML::Mark(), "the file is empty; a scenario needs at least receivers: [...]");
  }
  bool has_receivers = false;
  YAML::Mark receivers_mark;
  MXKIT_RETURN_IF_ERROR(Mapping(
      Field{"", root, YAML::Mark()}, "the scenario", {"name", "description", "receivers", "zones"},
      [&](const Field& v) -> absl::Status {
        if (v.path == "zones") {
          return List(v, kMaxExtraZones, "zones", [&](const Field& item) {
            ExtraZone z;
            MXKIT_RETURN_IF_ERROR(OneZone(item, &z));
            scenario.zones.push_back(std::move(z));
            return absl::OkStatus();
          });
        }
        if (v.path == "name") {
          MXKIT_RETURN_IF_ERROR(String(v, kMaxScenarioName, true, &scenario.name));
          const bool word = std::all_of(scenario.name.begin(), scenario.name.end(), [](char c) {
            return base::IsAlnum(c) || c == '-' || c == '_' || c == '.';
          });
          if (!word) {
            return Fail(v.mark(), "name: " + Quote(scenario.name) +
                                      " is not a scenario name (letters, digits, '-', '_', '.')");
          }
          return absl::OkStatus();
        }
        if (v.path == "description") {
          return String(v, kMaxScenarioDescription, false, &scenario.description);
        }
        has_receivers = true;
        receivers_mark = v.mark();
        return List(v, kMaxReceivers, "receivers", [&](const Field& item) {
          Receiver r;
          MXKIT_RETURN_IF_ERROR(OneReceiver(item, &r));
          scenario.receivers.push_back(std::move(r));
          return absl::OkStatus();
        });
      }));
  if (!has_receivers || scenario.receivers.empty()) {
    return Fail(has_receivers ? receivers_mark : YAML::Mark(),
                "a scenario needs at least one receiver: receivers: [{name: example.test}]");
  }
  // Across receivers: names and listeners are unique.
  std::map<std::string, const Receiver*> names;
  std::map<std::pair<std::string, uint16_t>, std::pair<const Receiver*, SourcePosition>> bound;
  for (Receiver& r : scenario.receivers) {
    YAML::Mark mark;
    mark.line = r.position.line - 1;
    mark.column = r.position.column - 1;
    if (auto [first, inserted] = names.emplace(r.name, &r); !inserted) {
      return Fail(mark, "receiver " + Quote(r.name) + " is given twice (first on line " +
                            std::to_string(first->second->position.line) + ")");
    }
    if (r.listeners.empty()) {
      if (scenario.receivers.size() > 1) {
        return Fail(mark, "receiver " + Quote(r.name) +
                              " has no listeners; only a scenario's single receiver gets the "
                              "default 127.0.0.1:2525");
      }
      r.listeners.push_back(ListenerSpec{"127.0.0.1", 2525, ListenerMode::kSmtp, {}});
    }
    for (const ListenerSpec& l : r.listeners) {
      YAML::Mark lmark;
      lmark.line = l.position.line - 1;
      lmark.column = l.position.column - 1;
      if (l.mode == ListenerMode::kSmtps && !r.tls.enabled) {
        return Fail(lmark, "receiver " + Quote(r.name) +
                               ": an smtps listener is implicit TLS, but starttls.enabled is "
                               "false");
      }
      if (l.port == 0) continue;
      // Compare addresses, not spellings: "::1" and "0::1" are one socket.
      std::string canonical = l.host;
      unsigned char addr[16];
      char text[INET6_ADDRSTRLEN];
      const int family = l.host.find(':') == std::string::npos ? AF_INET : AF_INET6;
      if (inet_pton(family, l.host.c_str(), addr) == 1 &&
          inet_ntop(family, addr, text, sizeof text) != nullptr) {
        canonical = text;
      }
      if (auto [first, inserted] =
              bound.emplace(std::make_pair(canonical, l.port), std::make_pair(&r, l.position));
          !inserted) {
        const std::string shown = family == AF_INET6 ? "[" + l.host + "]" : l.host;
        return Fail(lmark, "listener " + shown + ":" + std::to_string(l.port) +
                               " is already used by receiver " + Quote(first->second.first->name) +
                               " (line " + std::to_string(first->second.second.line) +
                               "); each address and port can be bound once (port 0 excepted)");
      }
    }
  }
  // Zones: one per apex; one at a receiver's domain adds to its zone, whose
  // AD bit the receiver's dns.authenticated sets.
  std::map<std::string, SourcePosition> apexes;
  for (const ExtraZone& z : scenario.zones) {
    YAML::Mark mark;
    mark.line = z.position.line - 1;
    mark.column = z.position.column - 1;
    if (auto [first, inserted] = apexes.emplace(z.apex, z.position); !inserted) {
      return Fail(mark, "zones: the apex " + z.apex + " is given twice (first on line " +
                            std::to_string(first->second.line) + ")");
    }
    for (const Receiver& r : scenario.receivers) {
      if (base::AsciiLower(r.name) == z.apex && z.authenticated) {
        return Fail(mark, "zones: " + z.apex + " is receiver " + Quote(r.name) +
                              "'s zone, whose AD bit is its dns.authenticated; remove "
                              "authenticated here");
      }
    }
  }
  return scenario;
}

// A first pass over the YAML events, before any node is built: it counts
// the values (yaml-cpp spends ~10 us building each node, so a 1 MiB file of
// "x," would take seconds; events cost a tenth of that) and stops at
// kMaxScenarioNodes, which a file the walk accepts never exceeds; and it
// finds where a second document (or content no document can hold) starts:
// the mark of its first event, else of its start.
class Prescan : public YAML::EventHandler {
 public:
  struct TooManyValues {
    YAML::Mark mark;
  };

  YAML::Mark second_document() const { return content_ ? *content_ : start_; }

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ == 2) start_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Note(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Note(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Note(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Note(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Note(mark);
  }
  void OnMapEnd() override {}

 private:
  void Note(const YAML::Mark& mark) {
    if (documents_ >= 2 && !content_) content_ = mark;
    if (++values_ > kMaxScenarioNodes) throw TooManyValues{mark};
  }
  int documents_ = 0;
  size_t values_ = 0;
  YAML::Mark start_;
  std::optional<YAML::Mark> content_;
};

// Line and column (1-based, in octets) of offset `pos` in `text`.
YAML::Mark MarkAt(std::string_view text, size_t pos) {
  YAML::Mark mark;
  mark.pos = static_cast<int>(pos);
  mark.line = 0;
  mark.column = 0;
  for (size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++mark.line;
      mark.column = 0;
    } else {
      ++mark.column;
    }
  }
  return mark;
}

std::string FileStem(std::string_view source) {
  std::string_view stem = source.substr(source.find_last_of('/') + 1);
  for (std::string_view ext : {".yaml", ".yml"}) {
    if (stem.size() > ext.size() && stem.ends_with(ext)) {
      stem.remove_suffix(ext.size());
      break;
    }
  }
  return std::string(stem);
}

#undef MXKIT_RETURN_IF_ERROR

}  // namespace

absl::Status CheckDnsName(std::string_view name, std::string_view what) {
  if (name.empty()) return absl::InvalidArgumentError(std::string(what) + " is empty");
  if (name.size() > 253) {
    return absl::InvalidArgumentError(std::string(what) +
                                      " is longer than 253 octets (RFC 1035 §2.3.4)");
  }
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    const std::string_view label = name.substr(start, dot - start);
    if (label.empty()) {
      return absl::InvalidArgumentError(std::string(what) +
                                        " has an empty label (a leading dot or two dots)");
    }
    if (label.size() > 63) {
      return absl::InvalidArgumentError(std::string(what) + " has the label " + Quote(label) +
                                        " of more than 63 octets (RFC 1035 §2.3.4)");
    }
    for (char c : label) {
      if (!(base::IsAlnum(c) || c == '-' || c == '_' || c == '*')) {
        return absl::InvalidArgumentError(
            std::string(what) + " has " + base::DescribeOctet(c) +
            " in a label; labels are letters, digits, '-', '_' and '*'");
      }
    }
    start = dot + 1;
  }
  return absl::OkStatus();
}

bool NameAtOrBelow(std::string_view name, std::string_view apex) {
  if (apex.empty()) return true;
  const std::string n = base::AsciiLower(name);
  const std::string a = base::AsciiLower(apex);
  return n == a || (n.size() > a.size() && n.ends_with(a) && n[n.size() - a.size() - 1] == '.');
}

std::string_view DkimAlgorithmName(DkimAlgorithm algorithm) {
  return algorithm == DkimAlgorithm::kRsa ? "rsa" : "ed25519";
}

std::string_view MtaStsModeName(MtaStsMode mode) {
  switch (mode) {
    case MtaStsMode::kEnforce:
      return "enforce";
    case MtaStsMode::kTesting:
      return "testing";
    case MtaStsMode::kNone:
      return "none";
  }
  return "enforce";
}

std::string_view RuleActionName(RuleAction action) {
  for (const ActionName& a : kActionNames) {
    if (a.action == action) return a.name;
  }
  return "reply";
}

absl::StatusOr<Scenario> ParseScenario(std::string_view yaml, std::string_view source) {
  Parser parser(source);
  parser.set_text(yaml);
  if (yaml.size() > kMaxScenarioFileBytes) {
    return parser.Fail(YAML::Mark(),
                       "the file is " + std::to_string(yaml.size()) + " octets, more than the " +
                           std::to_string(kMaxScenarioFileBytes) + " a scenario may have");
  }
  // YAML 1.2 §5.2: a YAML stream is Unicode; we take UTF-8 only.
  if (const size_t bad = base::FindInvalidUtf8(yaml); bad != yaml.size()) {
    return parser.Fail(MarkAt(yaml, bad), "octet " + base::DescribeOctet(yaml[bad]) +
                                              " is not UTF-8; a scenario file is UTF-8 text");
  }
  // YAML 1.2 §5.1 (c-printable): no C0 control characters but TAB, LF, CR,
  // and no DEL. yaml-cpp does not refuse them all (a NUL ends its input).
  for (size_t i = 0; i < yaml.size(); ++i) {
    if ((base::IsCtl(yaml[i]) && yaml[i] != '\t' && yaml[i] != '\n' && yaml[i] != '\r')) {
      return parser.Fail(MarkAt(yaml, i), "control character " + base::DescribeOctet(yaml[i]) +
                                              " is not allowed in YAML (YAML 1.2 §5.1); write "
                                              "it as an escape in a double-quoted string");
    }
  }
  try {
    const std::string text(yaml);
    // Not YAML::LoadAll: on input such as "," (a token no document can
    // start with) it returns an empty document without consuming the token,
    // forever, allocating as it goes (found by the fuzzer). Two steps of the
    // event parser at most tell whether anything follows the first document.
    std::istringstream stream(text);
    YAML::Parser events(stream);
    Prescan prescan;
    try {
      if (events.HandleNextDocument(prescan) && events.HandleNextDocument(prescan)) {
        return parser.Fail(prescan.second_document(),
                           "a scenario file holds one YAML document; this is more");
      }
    } catch (const Prescan::TooManyValues& e) {
      return parser.Fail(e.mark, "more than " + std::to_string(kMaxScenarioNodes) +
                                     " YAML values; a scenario has far fewer");
    }
    absl::StatusOr<Scenario> scenario = parser.ParseDocument(YAML::Load(text));
    if (scenario.ok() && scenario->name.empty()) scenario->name = FileStem(source);
    return scenario;
  } catch (const YAML::DeepRecursion& e) {
    return parser.Fail(e.mark, "YAML nested more than " + std::to_string(e.depth()) +
                                   " levels deep; yaml-cpp refuses it");
  } catch (const YAML::Exception& e) {
    // yaml-cpp's messages may repeat input (an anchor's name).
    return parser.Fail(e.mark,
                       "YAML syntax error: " + (base::IsPrintableAscii(e.msg) ? e.msg : Quote(e.msg)));
  } catch (const std::exception& e) {
    return parser.Fail(YAML::Mark(), std::string("could not read the YAML: ") + e.what());
  } catch (...) {
    return parser.Fail(YAML::Mark(), "could not read the YAML");
  }
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(path + ": cannot open the scenario file: " + std::strerror(errno));
  }
  std::string text(kMaxScenarioFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) return absl::InvalidArgumentError(path + ": cannot read the scenario file");
  text.resize(static_cast<size_t>(in.gcount()));
  return ParseScenario(text, path);
}

namespace {

// The built-in catalogue: fakemx/scenarios/*.yaml, embedded by
// //fakemx:scenario_catalogue in --list-scenarios order.
constexpr CatalogueEntry kCatalogue[] = {
#include "fakemx/scenario_catalogue.inc"
};

std::string CatalogueNames() {
  std::vector<std::string_view> names;
  for (const CatalogueEntry& e : kCatalogue) names.push_back(e.name);
  return absl::StrJoin(names, ", ", base::AppendStdView);
}

}  // namespace

absl::Span<const CatalogueEntry> ScenarioCatalogue() { return kCatalogue; }

absl::StatusOr<Scenario> CatalogueScenario(std::string_view name) {
  for (const CatalogueEntry& e : kCatalogue) {
    if (e.name != name) continue;
    absl::StatusOr<Scenario> scenario = ParseScenario(e.yaml, std::string(name) + ".yaml");
    if (scenario.ok()) {
      scenario->name = std::string(name);
      scenario->source = "<catalogue>";
    }
    return scenario;
  }
  return absl::NotFoundError("no scenario named " + Quote(name) + " in the catalogue; one of: " +
                             CatalogueNames() + " (or a file: a path with '/' or ending in .yaml)");
}

absl::StatusOr<Scenario> ResolveScenario(std::string_view name_or_path) {
  const bool is_path = name_or_path.find('/') != std::string_view::npos ||
                       name_or_path.ends_with(".yaml") || name_or_path.ends_with(".yml");
  if (is_path) return LoadScenarioFile(std::string(name_or_path));
  return CatalogueScenario(name_or_path);
}

}  // namespace mxkit::fakemx
