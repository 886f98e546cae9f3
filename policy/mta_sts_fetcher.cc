#include "policy/mta_sts_fetcher.h"

#include <array>
#include <memory>
#include <utility>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/absl_interop.h"
#include "base/ascii.h"
#include "tls/asio_stream.h"
#include "tls/engine.h"

namespace mxkit::policy {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

// One socket read's worth of ciphertext-turned-plaintext.
constexpr size_t kReadChunk = 16 * 1024;

// RFC 8461 §3.2: "the policy ... with a media type of "text/plain"";
// parameters such as charset are allowed (RFC 2045 §5.1).
bool IsTextPlain(std::string_view content_type) {
  const size_t semicolon = content_type.find(';');
  std::string_view type = content_type.substr(0, semicolon);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return base::EqualsIgnoreCase(type, "text/plain");
}

class Fetch : public std::enable_shared_from_this<Fetch> {
 public:
  Fetch(asio::io_context& io, StsFetchRequest request, std::function<void(StsFetchResult)> done)
      : io_(io),
        request_(std::move(request)),
        done_(std::move(done)),
        host_(absl::StrCat(kStsPolicyHostPrefix, base::AsciiLower(request_.policy_domain))),
        socket_(io),
        timer_(io) {
    parser_.header_limit(static_cast<std::uint32_t>(kMaxStsResponseHeaderSize));
    parser_.body_limit(request_.max_body_size);
  }

  void Start() {
    if (absl::Status s = CheckDomainSyntax(request_.policy_domain); !s.ok()) {
      return Fail(TlsResultType::kStsPolicyFetchError,
                  absl::StrCat("policy domain: ", base::StatusText(s)));
    }
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(request_.connect_address, ec);
    if (ec) {
      return Fail(TlsResultType::kStsPolicyFetchError,
                  absl::StrCat("connect address ",
                               base::QuoteForMessage(request_.connect_address, 64),
                               " is not an IP address"));
    }
    endpoint_ = tcp::endpoint(address, request_.connect_port);
    tls::ClientContextOptions options;
    options.verify = tls::ClientVerify::kRequire;
    options.trusted_roots_pem = request_.trusted_roots_pem;
    auto context = tls::ClientContext::Create(options);
    if (!context.ok()) {
      return Fail(TlsResultType::kStsWebpkiInvalid,
                  absl::StrCat("trust roots: ", base::StatusText(context.status())));
    }
    // RFC 8461 §3.3: the certificate must be valid for mta-sts.<domain>;
    // SNI and the Host header name it too.
    auto engine = tls::Engine::NewClient(*context, {.sni = host_, .verify_hostname = host_});
    if (!engine.ok()) {
      return Fail(TlsResultType::kStsPolicyFetchError,
                  absl::StrCat("TLS client: ", base::StatusText(engine.status())));
    }
    engine_.emplace(std::move(*engine));

    phase_ = "connecting";
    timer_.expires_after(request_.timeout);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code wait_ec) {
      if (wait_ec || self->finished_) return;
      self->Fail(TlsResultType::kStsPolicyFetchError,
                 absl::StrCat("timeout after ", self->request_.timeout.count(), " ms while ",
                              self->phase_));
    });
    socket_.async_connect(endpoint_, [self = shared_from_this()](boost::system::error_code c) {
      self->OnConnect(c);
    });
  }

 private:
  std::string Where() const {
    return absl::StrCat(host_, " at ", endpoint_.address().to_string(), ":", endpoint_.port());
  }

  void OnConnect(boost::system::error_code ec) {
    if (finished_) return;
    if (ec) {
      return Fail(TlsResultType::kStsPolicyFetchError,
                  absl::StrCat("connect to ", Where(), ": ", ec.message()));
    }
    phase_ = "in the TLS handshake";
    stream_ = std::make_unique<tls::AsioTlsStream>(socket_, std::move(*engine_));
    engine_.reset();
    stream_->AsyncHandshake([self = shared_from_this()](const std::optional<tls::EngineError>& e) {
      self->OnHandshake(e);
    });
  }

  void OnHandshake(const std::optional<tls::EngineError>& error) {
    if (finished_) return;
    result_.peer_certificate_der = stream_->engine().info().peer_certificate_der;
    if (error.has_value()) {
      // RFC 8460 §4.3.2: a certificate the policy host's PKIX check refuses
      // is sts-webpki-invalid; anything else failing the fetch is a fetch error.
      const bool certificate = error->kind == tls::EngineError::Kind::kCertificate;
      return Fail(certificate ? TlsResultType::kStsWebpkiInvalid
                              : TlsResultType::kStsPolicyFetchError,
                  absl::StrCat(certificate ? "certificate verification failed for "
                                           : "TLS with ",
                               Where(), ": ", error->ToString()));
    }
    phase_ = "sending the request";
    const std::string request =
        absl::StrCat("GET ", kStsPolicyPath, " HTTP/1.1\r\nHost: ", host_,
                     "\r\nUser-Agent: mxkit\r\nAccept: text/plain\r\nConnection: close\r\n\r\n");
    stream_->AsyncWrite(request, [self = shared_from_this()](boost::system::error_code ec) {
      if (self->finished_) return;
      if (ec) {
        return self->Fail(TlsResultType::kStsPolicyFetchError,
                          absl::StrCat("sending the request: ", ec.message()));
      }
      self->phase_ = "reading the response";
      self->Read();
    });
  }

  void Read() {
    stream_->AsyncReadSome(buffer_.data(), buffer_.size(),
                           [self = shared_from_this()](boost::system::error_code ec, size_t n) {
                             self->OnRead(ec, n);
                           });
  }

  void OnRead(boost::system::error_code ec, size_t n) {
    if (finished_) return;
    if (ec == asio::error::eof) {
      boost::system::error_code eof_ec;
      if (!pending_.empty()) Feed();
      if (finished_) return;
      // A body that only the connection's end delimits (no Content-Length,
      // not chunked) is complete only with the peer's close_notify: a bare
      // TCP EOF may be a truncation attack (RFC 8446 §6.1).
      const bool close_delimited = parser_.is_header_done() && !parser_.is_done();
      if (close_delimited && !stream_->engine().peer_sent_close_notify()) {
        return Fail(TlsResultType::kStsPolicyFetchError,
                    "body ended by a TCP close without TLS close_notify (possible truncation, "
                    "RFC 8446 §6.1)");
      }
      parser_.put_eof(eof_ec);
      if (eof_ec || !parser_.is_done()) {
        return Fail(TlsResultType::kStsPolicyFetchError,
                    absl::StrCat("connection closed before the response was complete",
                                 eof_ec ? absl::StrCat(" (", eof_ec.message(), ")") : ""));
      }
      return Complete();
    }
    if (ec) {
      return Fail(TlsResultType::kStsPolicyFetchError,
                  absl::StrCat("reading the response: ", ec.message()));
    }
    pending_.append(buffer_.data(), n);
    Feed();
    if (finished_) return;
    if (parser_.is_done()) return Complete();
    Read();
  }

  // Hands the buffered plaintext to Beast's parser, checking status and
  // media type as soon as the header is complete so a 3xx or an HTML page
  // is refused without reading its body.
  void Feed() {
    while (!pending_.empty() && !parser_.is_done()) {
      boost::system::error_code ec;
      const size_t used = parser_.put(asio::buffer(pending_.data(), pending_.size()), ec);
      pending_.erase(0, used);
      if (ec == http::error::need_more) return;
      if (ec == http::error::body_limit) {
        // Beast refuses a Content-Length over the limit while parsing the
        // header; the status line is already known then.
        result_.http_status = static_cast<int>(parser_.get().result_int());
        return Fail(TlsResultType::kStsPolicyFetchError,
                    absl::StrCat("policy body exceeds ", request_.max_body_size, " octets"));
      }
      if (ec == http::error::header_limit) {
        return Fail(TlsResultType::kStsPolicyFetchError,
                    absl::StrCat("response header exceeds ", kMaxStsResponseHeaderSize, " octets"));
      }
      if (ec) {
        return Fail(TlsResultType::kStsPolicyFetchError,
                    absl::StrCat("malformed HTTP response: ", ec.message()));
      }
      if (parser_.is_header_done() && !header_checked_) {
        header_checked_ = true;
        if (!CheckHeader()) return;
        parser_.eager(true);
      }
      if (used == 0) return;
    }
  }

  bool CheckHeader() {
    const auto& response = parser_.get();
    result_.http_status = static_cast<int>(response.result_int());
    const auto content_type = response[http::field::content_type];
    result_.content_type = std::string(content_type.data(), content_type.size());
    if (result_.http_status >= 300 && result_.http_status < 400) {
      const auto location = response[http::field::location];
      Fail(TlsResultType::kStsPolicyFetchError,
           absl::StrCat("HTTP ", result_.http_status,
                        " (redirects are not followed, RFC 8461 §3.3)",
                        location.empty() ? ""
                                         : absl::StrCat(" to ", base::QuoteForMessage(
                                                                    std::string_view(
                                                                        location.data(),
                                                                        location.size()),
                                                                    200))));
      return false;
    }
    if (result_.http_status != 200) {
      Fail(TlsResultType::kStsPolicyFetchError,
           absl::StrCat("HTTP ", result_.http_status, " (RFC 8461 §3.3 wants 200)"));
      return false;
    }
    if (!IsTextPlain(result_.content_type)) {
      Fail(TlsResultType::kStsPolicyFetchError,
           absl::StrCat("media type ", base::QuoteForMessage(result_.content_type, 100),
                        " is not text/plain (RFC 8461 §3.2)"));
      return false;
    }
    return true;
  }

  void Complete() {
    if (!header_checked_ && !CheckHeader()) return;
    result_.body = parser_.get().body();
    StsPolicyResult parsed = ParseStsPolicy(result_.body);
    if (!parsed.ok()) {
      return Fail(TlsResultType::kStsPolicyInvalid,
                  absl::StrCat("policy invalid: ", parsed.error().ToString()));
    }
    result_.policy = parsed.policy();
    result_.detail = absl::StrCat("HTTP 200, ", result_.body.size(), " octets from ", Where());
    Finish();
  }

  void Fail(TlsResultType type, std::string detail) {
    if (finished_) return;
    result_.failure = type;
    result_.policy.reset();
    result_.detail = std::move(detail);
    Finish();
  }

  void Finish() {
    finished_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    if (stream_) stream_->CancelRead();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    // Never inline: Start() may be the caller. Closing the socket queued the
    // aborted completions of the stream's own socket operations (which point
    // at stream_) ahead of this, so `self` keeps the stream alive past them.
    asio::post(io_, [self = shared_from_this()] {
      auto done = std::move(self->done_);
      done(std::move(self->result_));
    });
  }

  asio::io_context& io_;
  StsFetchRequest request_;
  std::function<void(StsFetchResult)> done_;
  std::string host_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  tcp::endpoint endpoint_;
  std::optional<tls::Engine> engine_;
  std::unique_ptr<tls::AsioTlsStream> stream_;
  http::response_parser<http::string_body> parser_;
  std::array<char, kReadChunk> buffer_{};
  std::string pending_;
  std::string phase_;
  bool header_checked_ = false;
  bool finished_ = false;
  StsFetchResult result_;
};

}  // namespace

void AsyncFetchStsPolicy(boost::asio::io_context& io, StsFetchRequest request,
                         std::function<void(StsFetchResult)> done) {
  auto fetch = std::make_shared<Fetch>(io, std::move(request), std::move(done));
  fetch->Start();
}

StsFetchResult FetchStsPolicy(StsFetchRequest request) {
  boost::asio::io_context io;
  StsFetchResult out;
  AsyncFetchStsPolicy(io, std::move(request), [&out](StsFetchResult r) { out = std::move(r); });
  io.run();
  return out;
}

}  // namespace mxkit::policy
