#include "fakemx/mta_sts_host.h"

#include <array>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "fakemx/http_types.h"
#include "fakemx/server.h"
#include "fakemx/transport.h"
#include "tls/cert_factory.h"
#include "tls/engine.h"

namespace mxkit::fakemx {
namespace {

namespace http = boost::beast::http;
using boost::asio::ip::tcp;
using boost::system::error_code;
using base::Av;

// RFC 9112 §3: "It is RECOMMENDED that all HTTP senders and recipients
// support, at a minimum, request-line lengths of 8000 octets." A longer one
// gets 414 (the target is what makes a request line long).
constexpr size_t kMaxRequestLine = 8000;
// The request line and all header fields. RFC 9110 §5.4 leaves the limit to
// the server and names 431 (RFC 6585 §5) for going past it; 16 KiB holds a
// request line at kMaxRequestLine and the few fields a policy fetch sends.
constexpr uint32_t kMaxRequestHeader = 16 * 1024;
// A GET or HEAD may carry content (RFC 9110 §9.3.1: it has no meaning); we
// read and ignore up to this much, and answer 413 (RFC 9110 §15.5.14) beyond.
constexpr uint64_t kMaxRequestBody = 4 * 1024;
// What a request may leave buffered unparsed: its header (above), or a
// chunk-size line or trailer section, which parse only when whole (RFC 9112
// §7.1). Unbounded, a chunk extension without end grew fakemx by 515 MiB in
// 8 s. Twice the header bound, so the header's own 431 is met first.
constexpr size_t kMaxUnparsed = 2 * kMaxRequestHeader;
// Plaintext read at once from the TLS stream.
constexpr size_t kReadChunk = 4096;
// Sites are named for error messages with their domain, quoted and bounded.
constexpr size_t kMaxQuotedName = 80;

// RFC 8461 §3.3: the policy lives at this path of https://mta-sts.<domain>/.
constexpr std::string_view kPolicyPath = "/.well-known/mta-sts.txt";
constexpr std::string_view kPolicyHostPrefix = "mta-sts.";

// The name a Host header field or an absolute-form authority gives (RFC 9110
// §7.2: uri-host [ ":" port ]), lower-cased and without a trailing dot, so
// it compares with a site's name; "" when there is none.
std::string HostName(std::string_view authority) {
  // userinfo@ is not allowed in an http(s) URI (RFC 9110 §4.2.4); a host with
  // one names no site of ours.
  if (authority.find('@') != std::string_view::npos) return "";
  if (!authority.empty() && authority.front() == '[') {
    // An IP-literal names no site either; keep it whole so it matches nothing.
    return base::AsciiLower(authority);
  }
  if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    authority = authority.substr(0, colon);
  }
  if (!authority.empty() && authority.back() == '.') authority.remove_suffix(1);
  return base::AsciiLower(authority);
}

// The status line's reason phrase: Beast's for the statuses it knows; RFC
// 9112 §4 lets it be empty for the others.
std::string_view ReasonPhrase(int status) {
  const http::status known = http::int_to_status(static_cast<unsigned>(status));
  if (known == http::status::unknown) return "";
  const auto reason = http::obsolete_reason(known);
  return std::string_view(reason.data(), reason.size());
}

// A header value we send: visible ASCII and spaces only, so a site cannot
// split the response (CR, LF) by accident or on purpose.
bool IsFieldValue(std::string_view value) { return base::IsPrintableAscii(value); }

// RFC 9110 §5.6.7 IMF-fixdate, "Sun, 06 Nov 1994 08:49:37 GMT", spelled
// out here: strftime's names follow the locale.
std::string HttpDate(absl::Time now) {
  static constexpr const char* kDays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const absl::CivilSecond t = absl::ToCivilSecond(now, absl::UTCTimeZone());
  // absl::Weekday counts from Monday.
  const int day = static_cast<int>(absl::GetWeekday(t));
  return absl::StrFormat("%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[day], t.day(),
                         kMonths[t.month() - 1], t.year(), t.hour(), t.minute(), t.second());
}

struct Response {
  int status = 200;
  std::string content_type = "text/plain";
  std::string location;
  std::string body;
  bool close = false;
};

// RFC 9112 §4, §6: status line, fields, empty line, content. 204 carries no
// Content-Length (RFC 9110 §8.6) and, like 304, no content (§6.4.1); a
// HEAD response carries the Content-Length a GET would get, without the
// content (RFC 9110 §9.3.2).
// RFC 9110 §6.6.1: an origin server with a clock sends Date in 2xx-4xx
// answers (and may in 5xx); we send it in all.
std::string Serialize(const Response& r, bool head, absl::Time now) {
  std::string out = absl::StrCat("HTTP/1.1 ", r.status, " ", Av(ReasonPhrase(r.status)), "\r\n");
  absl::StrAppend(&out, "Date: ", HttpDate(now), "\r\nServer: fakemx\r\n");
  if (!r.content_type.empty()) absl::StrAppend(&out, "Content-Type: ", r.content_type, "\r\n");
  if (!r.location.empty()) absl::StrAppend(&out, "Location: ", r.location, "\r\n");
  const bool has_content = r.status != 204 && r.status != 304;
  if (has_content) absl::StrAppend(&out, "Content-Length: ", r.body.size(), "\r\n");
  if (r.close) out += "Connection: close\r\n";
  out += "\r\n";
  if (has_content && !head) out += r.body;
  return out;
}

Response Plain(int status, std::string_view text, bool close) {
  Response r;
  r.status = status;
  r.body = absl::StrCat(Av(text), "\n");
  r.close = close;
  return r;
}

// One listening address and the sites behind it.
struct Listener {
  tcp::acceptor acceptor;
  boost::asio::steady_timer retry;  // after an accept error other than abort
  std::shared_ptr<const tls::ServerContext> tls;
  std::vector<size_t> sites;  // indices into Shared::sites; the first one is the default certificate
  explicit Listener(boost::asio::io_context& io) : acceptor(io), retry(io) {}
};

class Connection;

// What the host and its connections share; outlives the host object while
// handlers still run after Stop().
struct Shared {
  std::vector<MtaStsSite> sites;
  std::vector<std::string> policy_hosts;  // "mta-sts.<domain>", lower-cased, per site
  MtaStsHostOptions options;
  std::vector<std::unique_ptr<Listener>> listeners;
  std::unordered_set<Connection*> open;
  bool stopped = false;
};

// One HTTPS connection: TLS handshake, then requests one at a time until
// one asks to close, a limit is hit, or the host stops.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Shared> shared, const Listener& listener, tcp::socket socket)
      : shared_(std::move(shared)),
        listener_(listener),
        transport_(std::move(socket)),
        deadline_(transport_.socket().get_executor()),
        delay_(transport_.socket().get_executor()) {
    shared_->open.insert(this);
  }
  ~Connection() { shared_->open.erase(this); }

  void Start() {
    ArmDeadline(shared_->options.header_timeout);
    transport_.AsyncServerHandshake(
        listener_.tls, [self = shared_from_this()](const std::optional<tls::EngineError>& error) {
          // A failed handshake (garbage, an alert, a client that refused
          // our certificate) has sent its alert already; nothing to answer.
          if (error || self->finished_) return self->Finish();
          self->NextRequest();
        });
  }

  // Closes at once: Stop() and timeouts.
  void Finish() {
    if (finished_) return;
    finished_ = true;
    ++deadline_generation_;
    deadline_.cancel();
    delay_.cancel();
    transport_.Close();
    // Closing posts the aborted handlers of the TLS stream's own writes
    // (alerts) ahead of this; keep the stream alive until they have run.
    boost::asio::post(transport_.socket().get_executor(), [self = shared_from_this()] {});
  }

 private:
  void ArmDeadline(std::chrono::milliseconds timeout) {
    // A wait that expired while its handler was queued cannot be cancelled
    // any more; the generation tells that handler it was re-armed since.
    const uint64_t generation = ++deadline_generation_;
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = shared_from_this(), generation](error_code ec) {
      if (!ec && generation == self->deadline_generation_) self->Finish();
    });
  }

  void NextRequest() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestHeader);
    parser_->body_limit(kMaxRequestBody);
    // A kept-alive connection waits for its next request under the idle
    // timeout; its first byte starts the header timeout.
    if (requests_ > 0) ArmDeadline(in_.empty() ? shared_->options.idle_timeout
                                               : shared_->options.header_timeout);
    Parse();
  }

  // Feeds what is buffered to the parser; reads more when it needs more.
  void Parse() {
    if (!in_.empty()) {
      if (!request_line_seen_) {
        const size_t eol = in_.find('\n');
        if (eol == std::string::npos ? in_.size() > kMaxRequestLine : eol > kMaxRequestLine) {
          return Answer(Plain(414, "request line too long", true), false);
        }
        request_line_seen_ = eol != std::string::npos;
      }
      error_code ec;
      size_t used = 0;
      try {
        used = parser_->put(boost::asio::buffer(in_), ec);
      } catch (const std::exception&) {
        // basic_fields allocates; bad_alloc is the only exception it throws.
        return Answer(Plain(500, "out of memory parsing the request", true), false);
      }
      in_.erase(0, used);
      if (ec && ec != http::error::need_more) return AnswerParseError(ec);
      if (parser_->is_done()) return Respond();
      if (used > 0 && !in_.empty()) return Parse();
      if (in_.size() > kMaxUnparsed) {
        return Answer(Plain(400,
                            absl::StrCat("bad request: chunk-size line or trailer section over ",
                                         kMaxUnparsed, " octets"),
                            true),
                      false);
      }
    }
    Read();
  }

  void Read() {
    transport_.AsyncReadSome(
        buffer_.data(), buffer_.size(), [self = shared_from_this()](error_code ec, size_t n) {
          if (self->finished_) return;
          if (ec) return self->Finish();  // EOF, reset, TLS failure: nothing to answer
          const bool first_byte = self->in_.empty() && self->requests_ > 0 &&
                                  !self->request_line_seen_;
          self->in_.append(self->buffer_.data(), n);
          if (first_byte) self->ArmDeadline(self->shared_->options.header_timeout);
          self->Parse();
        });
  }

  void AnswerParseError(error_code ec) {
    if (ec == http::error::header_limit) {
      return Answer(Plain(431, "request header fields too large", true), false);
    }
    if (ec == http::error::body_limit) return Answer(Plain(413, "content too large", true), false);
    return Answer(Plain(400, absl::StrCat("bad request: ", ec.message()), true), false);
  }

  // The site a request is for: RFC 9112 §3.2.2, an absolute-form target's
  // authority over the Host field; else Host; without either (HTTP/1.0) the
  // TLS server_name. Only sites behind this address count.
  std::optional<size_t> FindSite(std::string_view name) const {
    for (size_t index : listener_.sites) {
      if (shared_->policy_hosts[index] == name) return index;
    }
    return std::nullopt;
  }

  void Respond() {
    ++requests_;
    request_line_seen_ = false;
    ++deadline_generation_;
    deadline_.cancel();
    const auto& request = parser_->get();
    const bool head = request.method() == http::verb::head;
    const bool http11 = request.version() == 11;
    // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; an HTTP/1.0 client
    // gets one answer and the close that ends its content.
    const bool close = !http11 || !request.keep_alive();

    size_t host_fields = 0;
    std::string_view host_field;
    std::string transfer_encoding;
    for (const auto& field : request) {
      if (field.name() == http::field::host) {
        ++host_fields;
        host_field = std::string_view(field.value().data(), field.value().size());
      } else if (field.name() == http::field::transfer_encoding) {
        if (!transfer_encoding.empty()) transfer_encoding += ',';
        transfer_encoding += field.value();
      }
    }
    // What follows a body of unknown length cannot be read as a request.
    if (auto refusal = CheckRequestTransferEncoding(transfer_encoding)) {
      return Answer(Plain(refusal->status, "bad request: " + refusal->reason, true), head);
    }
    // RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request) status
    // code to any HTTP/1.1 request message that lacks a Host header field and
    // to any request message that contains more than one Host header field".
    if (host_fields > 1 || (http11 && host_fields == 0)) {
      return Answer(Plain(400, "bad request: exactly one Host header field is required", true),
                    head);
    }
    // RFC 9110 §15.5.6: a 405 names the methods there are.
    if (request.method() != http::verb::get && !head) {
      Response r = Plain(405, "method not allowed", close);
      Answer(std::move(r), head, "Allow: GET, HEAD\r\n");
      return;
    }

    std::string_view target(request.target().data(), request.target().size());
    std::string name = host_fields == 1 ? HostName(host_field) : "";
    if (base::StartsWithIgnoreCase(target, "https://") ||
        base::StartsWithIgnoreCase(target, "http://")) {
      target.remove_prefix(target.find("//") + 2);
      const size_t slash = target.find_first_of("/?");
      name = HostName(target.substr(0, slash));
      target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
    }
    if (host_fields == 0 && name.empty()) name = base::AsciiLower(SniName());
    const std::string_view path = target.substr(0, target.find('?'));

    const std::optional<size_t> site = FindSite(name);
    if (!site || path != kPolicyPath) {
      return Answer(Plain(404, "not found", close), head);
    }
    const MtaStsSite& s = shared_->sites[*site];
    Response r;
    r.status = s.status;
    r.content_type = s.content_type;
    r.location = s.location;
    r.body = s.body;
    r.close = close;
    if (s.delay.count() > 0) {
      // Nothing is read meanwhile: a policy fetch sends one request.
      delay_.expires_after(s.delay);
      delay_.async_wait([self = shared_from_this(), r = std::move(r), head](error_code ec) mutable {
        if (ec || self->finished_) return;
        self->Answer(std::move(r), head);
      });
      return;
    }
    Answer(std::move(r), head);
  }

  std::string SniName() const {
    const tls::Engine* engine = transport_.engine();
    return engine != nullptr ? engine->info().sni : "";
  }

  void Answer(Response response, bool head, std::string_view extra_fields = "") {
    std::string wire = Serialize(response, head, absl::Now());
    if (!extra_fields.empty()) wire.insert(wire.find("\r\n") + 2, extra_fields);
    const bool close = response.close;
    ArmDeadline(shared_->options.write_timeout);
    transport_.AsyncWrite(wire, [self = shared_from_this(), close](error_code ec) {
      if (self->finished_) return;
      if (ec) return self->Finish();
      if (!close) return self->NextRequest();
      // close_notify, then the socket; bounded by the write deadline.
      self->transport_.AsyncClose([self] { self->Finish(); });
    });
  }

  std::shared_ptr<Shared> shared_;
  const Listener& listener_;
  Transport transport_;
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer delay_;
  std::array<char, kReadChunk> buffer_;
  std::string in_;  // received, not yet parsed (the start of the next request, when pipelined)
  std::optional<http::request_parser<http::string_body>> parser_;
  bool request_line_seen_ = false;
  size_t requests_ = 0;
  bool finished_ = false;
  uint64_t deadline_generation_ = 0;
};

void Accept(const std::shared_ptr<Shared>& shared, Listener& listener) {
  listener.acceptor.async_accept([shared, &listener](error_code ec, tcp::socket socket) {
    if (shared->stopped) return;
    if (ec) {
      if (ec == boost::asio::error::operation_aborted) return;
      // EMFILE and friends: try again shortly rather than spin.
      listener.retry.expires_after(std::chrono::milliseconds(50));
      listener.retry.async_wait([shared, &listener](error_code ec) {
        if (!ec && !shared->stopped) Accept(shared, listener);
      });
      return;
    }
    if (shared->open.size() >= shared->options.max_connections) {
      error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Connection>(shared, listener, std::move(socket))->Start();
    }
    Accept(shared, listener);
  });
}

std::string SiteLabel(size_t index, const MtaStsSite& site) {
  return absl::StrCat("MTA-STS site ", index + 1, " (",
                      base::QuoteForMessage(site.domain, kMaxQuotedName), ")");
}

absl::Status ValidateSite(size_t index, const MtaStsSite& site) {
  const std::string label = SiteLabel(index, site);
  if (absl::Status s = tls::ValidateCertHostname(absl::StrCat(Av(kPolicyHostPrefix), site.domain));
      !s.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": the domain is no host name: ", base::StatusText(s)));
  }
  if (site.status < 200 || site.status > 599) {
    return absl::InvalidArgumentError(
        absl::StrCat(label, ": HTTP status ", site.status, " is not a final status (200-599)"));
  }
  if (!IsFieldValue(site.content_type)) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": content_type ", base::QuoteForMessage(site.content_type, kMaxQuotedName),
        " holds a control character"));
  }
  if (!IsFieldValue(site.location)) {
    return absl::InvalidArgumentError(absl::StrCat(
        label, ": location ", base::QuoteForMessage(site.location, kMaxQuotedName),
        " holds a control character"));
  }
  if (site.delay.count() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(label, ": negative delay"));
  }
  return absl::OkStatus();
}

class HostImpl final : public MtaStsHost {
 public:
  explicit HostImpl(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
  ~HostImpl() override { Stop(); }

  std::vector<tcp::endpoint> endpoints() const override { return endpoints_; }

  void Stop() override {
    if (shared_->stopped) return;
    shared_->stopped = true;
    for (auto& listener : shared_->listeners) {
      error_code ignored;
      listener->acceptor.close(ignored);
      listener->retry.cancel();
    }
    // Finish() leaves the set untouched (the destructor erases), but take a
    // copy all the same: a connection may die while this loop runs.
    const std::vector<Connection*> open(shared_->open.begin(), shared_->open.end());
    for (Connection* c : open) c->Finish();
  }

  std::vector<tcp::endpoint> endpoints_;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<MtaStsHost>> MtaStsHost::Listen(boost::asio::io_context& io,
                                                               std::vector<MtaStsSite> sites) {
  return Listen(io, std::move(sites), MtaStsHostOptions());
}

absl::StatusOr<std::unique_ptr<MtaStsHost>> MtaStsHost::Listen(
    boost::asio::io_context& io, std::vector<MtaStsSite> sites,
    const MtaStsHostOptions& options) {
  auto shared = std::make_shared<Shared>();
  shared->options = options;
  if (shared->options.max_connections == 0) {
    return absl::InvalidArgumentError("MTA-STS host: max_connections must be at least 1");
  }

  // Group the sites by listening address, in `sites` order.
  std::vector<tcp::endpoint> wanted(sites.size());
  std::map<std::pair<std::string, uint16_t>, size_t> listener_of;  // (address, port) -> listener
  std::vector<size_t> site_listener(sites.size());
  for (size_t i = 0; i < sites.size(); ++i) {
    const MtaStsSite& site = sites[i];
    if (absl::Status s = ValidateSite(i, site); !s.ok()) return s;
    error_code ec;
    const boost::asio::ip::address address = boost::asio::ip::make_address(site.host, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat(SiteLabel(i, site), ": host ",
                       base::QuoteForMessage(site.host, kMaxQuotedName),
                       " is no IPv4 or IPv6 address"));
    }
    shared->policy_hosts.push_back(base::AsciiLower(absl::StrCat(Av(kPolicyHostPrefix), site.domain)));
    // Sites with the same address and port share a listener; port 0 too
    // (they then share the one free port it gets).
    const auto key = std::make_pair(address.to_string(), site.port);
    auto found = listener_of.find(key);
    if (found == listener_of.end()) {
      wanted[i] = tcp::endpoint(address, site.port);
      site_listener[i] = shared->listeners.size();
      listener_of.emplace(key, shared->listeners.size());
      shared->listeners.push_back(std::make_unique<Listener>(io));
    } else {
      site_listener[i] = found->second;
    }
    Listener& listener = *shared->listeners[site_listener[i]];
    for (size_t other : listener.sites) {
      if (shared->policy_hosts[other] == shared->policy_hosts[i]) {
        return absl::InvalidArgumentError(absl::StrCat(
            SiteLabel(i, site), ": ", shared->policy_hosts[i], " is already served at ",
            FormatEndpoint(tcp::endpoint(address, site.port)), " by ",
            SiteLabel(other, sites[other])));
      }
    }
    listener.sites.push_back(i);
  }

  // One TLS context per address: the first site's chain by default, the
  // others' chosen by server_name.
  for (size_t l = 0; l < shared->listeners.size(); ++l) {
    Listener& listener = *shared->listeners[l];
    const MtaStsSite& first = sites[listener.sites.front()];
    tls::ServerContextOptions tls_options;
    tls_options.certificate_chain_pem = first.chain_pem;
    tls_options.private_key_pem = first.key_pem;
    for (size_t k = 1; k < listener.sites.size(); ++k) {
      const size_t index = listener.sites[k];
      tls_options.sni_certificates.push_back(
          {shared->policy_hosts[index], sites[index].chain_pem, sites[index].key_pem});
    }
    auto context = tls::ServerContext::Create(tls_options);
    if (!context.ok()) {
      // Name the site whose certificate failed: the default, or the entry.
      std::string message = base::StatusText(context.status());
      size_t culprit = listener.sites.front();
      for (size_t k = 1; k < listener.sites.size(); ++k) {
        if (message.rfind(absl::StrCat("sni_certificates[", k - 1, "]"), 0) == 0) {
          culprit = listener.sites[k];
        }
      }
      return absl::InvalidArgumentError(absl::StrCat(
          SiteLabel(culprit, sites[culprit]), ": certificate or key refused: ", message));
    }
    listener.tls = *std::move(context);
  }

  // Bind everything before accepting anything: all or none.
  for (size_t i = 0; i < sites.size(); ++i) {
    Listener& listener = *shared->listeners[site_listener[i]];
    if (listener.acceptor.is_open()) continue;
    const tcp::endpoint endpoint = wanted[i];
    error_code ec;
    listener.acceptor.open(endpoint.protocol(), ec);
    if (!ec) listener.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) listener.acceptor.bind(endpoint, ec);
    if (!ec) listener.acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
    if (ec) {
      return absl::UnavailableError(absl::StrCat(SiteLabel(i, sites[i]), ": cannot listen on ",
                                                 FormatEndpoint(endpoint), ": ", ec.message()));
    }
  }

  shared->sites = std::move(sites);
  auto host = std::make_unique<HostImpl>(shared);
  for (size_t i = 0; i < shared->sites.size(); ++i) {
    error_code ec;
    host->endpoints_.push_back(shared->listeners[site_listener[i]]->acceptor.local_endpoint(ec));
  }
  for (auto& listener : shared->listeners) Accept(shared, *listener);
  return std::unique_ptr<MtaStsHost>(std::move(host));
}

}  // namespace mxkit::fakemx
