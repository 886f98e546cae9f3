#include "fakemx/api_server.h"

#include <array>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>
#include <variant>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>

#include "fakemx/api.h"
#include "fakemx/http_target.h"
#include "fakemx/http_types.h"
#include "fakemx/mailpit_api.h"
#include "fakemx/ui_assets.h"
#include "fakemx/server.h"

namespace mxkit::fakemx {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
using boost::system::error_code;
using asio::ip::tcp;

// The request line and header fields together. Beast's default is 8 KiB;
// a target may be kMaxTargetBytes (8 KiB) alone, so allow it and the fields
// a client sends (Host, User-Agent, Accept, cookies of a browser).
constexpr uint32_t kMaxRequestHeaderBytes = kMaxTargetBytes + 8192;

// What a request may leave buffered unparsed: its header (above), or a
// chunk-size line or trailer section, which parse only when whole (RFC 9112
// §7.1). Beast's flat_buffer is unbounded by default: a chunk extension
// without end grew fakemx by 736 MiB in 10 s. Twice the header bound, so
// the header's own limit (431) is met first.
constexpr size_t kMaxRequestBufferBytes = 2 * kMaxRequestHeaderBytes;

// How long a connection we close after an error still reads what the client
// sends, so that it sees our answer (see LingeringClose).
constexpr std::chrono::milliseconds kLingerTime{2000};

// Frames an /api/events client may have queued: one that reads slower than
// mail arrives is dropped rather than buffering without bound (the SMTP
// side never waits for it).
constexpr size_t kMaxQueuedEvents = 1024;

// The largest message an /api/events client may send. Mailpit's clients
// send none (control frames, at most 125 octets, do not count); Beast's
// default would buffer 16 MiB per client.
constexpr uint64_t kMaxEventsClientMessage = 4096;

// After a failed accept (EMFILE, ENFILE, ENOBUFS) the connection stays in the
// backlog and the acceptor readable: accepting again at once would spin the
// io thread every SMTP session shares. The SMTP, DNS and MTA-STS listeners
// wait too.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};

class Connection;
class EventStream;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the acceptor and every connection share; the connections keep it
// alive, so a handler that runs after the server is gone finds `stopped`.
struct Shared : CaptureObserver {
  Shared(asio::io_context& io, ApiBackend& backend, ApiServerOptions options)
      : io(io),
        backend(backend),
        options(options),
        api(backend, ApiOptions{options.max_wait, options.default_wait}),
        acceptor(io),
        accept_retry(io) {}

  void OnSessionOpened(const CapturedSession& session) override;
  void OnMessageAdded(const CapturedSession& session, const CapturedMessage& message) override;
  void OnSessionClosed(const CapturedSession& session) override;

  asio::io_context& io;
  ApiBackend& backend;
  ApiServerOptions options;
  FakemxApi api;
  tcp::acceptor acceptor;
  asio::steady_timer accept_retry;
  bool stopped = false;
  // Mailpit's endpoints (/api/v1/, /view/); it observes the store, so it is
  // made and dropped on the io thread with the server.
  std::unique_ptr<MailpitApi> mailpit;
  std::unordered_set<Connection*> connections;
  // /api/events websocket clients, each sent Mailpit's "new" event.
  std::unordered_set<EventStream*> event_streams;
  // Connections holding a long-poll, answered from the observer callbacks.
  std::unordered_set<Connection*> waiting;
};

// An /api/events websocket (Mailpit's event stream): each message added to
// the capture is sent as MailpitApi::NewMessageEvent; what the client sends
// is read and dropped (Mailpit's clients send nothing), which also notices
// its close.
class EventStream : public std::enable_shared_from_this<EventStream> {
 public:
  EventStream(std::shared_ptr<Shared> shared, tcp::socket socket)
      : shared_(std::move(shared)), ws_(std::move(socket)) {
    shared_->event_streams.insert(this);
  }
  ~EventStream() { shared_->event_streams.erase(this); }

  void Accept(http::request<http::string_body> request) {
    auto timeout = websocket::stream_base::timeout::suggested(boost::beast::role_type::server);
    // A client gone without a FIN (a suspended laptop) answers no ping and
    // is closed after the idle timeout, as an idle HTTP connection is.
    timeout.idle_timeout = shared_->options.idle_timeout;
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.read_message_max(kMaxEventsClientMessage);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& r) { r.set(http::field::server, "fakemx"); }));
    ws_.async_accept(request, [self = shared_from_this()](error_code ec) {
      if (ec) return self->Close();
      self->open_ = true;
      self->Read();
      self->WriteNext();
    });
  }

  void Send(const std::string& frame) {
    if (closed_) return;
    if (queue_.size() >= kMaxQueuedEvents) return Close();
    queue_.push_back(frame);
    if (open_ && !writing_) WriteNext();
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    shared_->event_streams.erase(this);
    error_code ignored;
    boost::beast::get_lowest_layer(ws_).close(ignored);
  }

 private:
  void Read() {
    ws_.async_read(in_, [self = shared_from_this()](error_code ec, size_t) {
      if (ec) return self->Close();
      self->in_.consume(self->in_.size());
      self->Read();
    });
  }

  void WriteNext() {
    if (closed_ || writing_ || queue_.empty()) return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(asio::buffer(queue_.front()),
                    [self = shared_from_this()](error_code ec, size_t) {
                      self->writing_ = false;
                      if (ec) return self->Close();
                      self->queue_.pop_front();
                      self->WriteNext();
                    });
  }

  std::shared_ptr<Shared> shared_;
  websocket::stream<tcp::socket> ws_;
  boost::beast::flat_buffer in_;
  std::deque<std::string> queue_;
  bool open_ = false;
  bool writing_ = false;
  bool closed_ = false;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<Shared> shared, tcp::socket socket)
      : shared_(std::move(shared)),
        socket_(std::move(socket)),
        deadline_(shared_->io),
        wait_timer_(shared_->io) {
    shared_->connections.insert(this);
  }
  ~Connection() {
    shared_->connections.erase(this);
    shared_->waiting.erase(this);
  }

  void Start() { NextRequest(); }

  void Close() {
    if (closed_) return;
    closed_ = true;
    shared_->waiting.erase(this);
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    deadline_.cancel();
    wait_timer_.cancel();
  }

  // The long-poll this connection holds, if any.
  const ApiWait* wait() const { return wait_ ? &*wait_ : nullptr; }

  // Answers the long-poll with `response` (from the observer or the timer).
  void FinishWait(HttpResponse response) {
    if (!wait_ || closed_) return;
    wait_.reset();
    shared_->waiting.erase(this);
    wait_timer_.cancel();
    Write(std::move(response));
  }

 private:
  void ArmDeadline(std::chrono::milliseconds timeout) {
    // A wait that expired while its handler was queued cannot be cancelled;
    // the generation tells that handler it was re-armed since.
    const uint64_t generation = ++deadline_generation_;
    deadline_.expires_after(timeout);
    deadline_.async_wait([self = shared_from_this(), generation](error_code ec) {
      if (!ec && generation == self->deadline_generation_) self->Close();
    });
  }

  void NextRequest() {
    if (closed_ || shared_->stopped) return Close();
    // An error answered before the next request is parsed is not a HEAD's.
    head_request_ = false;
    parser_.emplace();
    parser_->header_limit(kMaxRequestHeaderBytes);
    parser_->body_limit(shared_->options.max_body_bytes);
    ArmDeadline(shared_->options.idle_timeout);
    http::async_read(socket_, buffer_, *parser_,
                     [self = shared_from_this()](error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(error_code ec) {
    ++deadline_generation_;
    deadline_.cancel();
    if (closed_) return;
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == asio::error::eof || ec == asio::error::connection_reset) {
      return Close();
    }
    if (ec) {
      keep_alive_ = false;
      if (ec == http::error::body_limit) {
        return Write(JsonError(413, "request body over " +
                                        std::to_string(shared_->options.max_body_bytes) +
                                        " octets"));
      }
      if (ec == http::error::header_limit) {
        return Write(JsonError(431, "request header over " +
                                        std::to_string(kMaxRequestHeaderBytes) + " octets"));
      }
      if (ec == http::error::buffer_overflow) {
        return Write(JsonError(400, "request chunk-size line or trailer over " +
                                        std::to_string(kMaxRequestBufferBytes) +
                                        " octets (RFC 9112 section 7.1)"));
      }
      if (!socket_.is_open()) return Close();
      return Write(JsonError(400, "bad HTTP request: " + ec.message()));
    }
    http::request<http::string_body> beast_request = parser_->release();
    keep_alive_ = beast_request.keep_alive();
    std::string transfer_encoding;
    for (const auto& field : beast_request) {
      if (field.name() != http::field::transfer_encoding) continue;
      if (!transfer_encoding.empty()) transfer_encoding += ',';
      transfer_encoding += field.value();
    }
    if (auto refusal = CheckRequestTransferEncoding(transfer_encoding)) {
      keep_alive_ = false;  // what follows cannot be told from this body
      return Write(JsonError(refusal->status, refusal->reason));
    }
    if (websocket::is_upgrade(beast_request)) {
      if (beast_request.target() != "/api/events") {
        keep_alive_ = false;
        return Write(JsonError(404, "websocket only at /api/events"));
      }
      // The socket moves to the event stream; this connection ends here.
      closed_ = true;
      ++deadline_generation_;
      deadline_.cancel();
      std::make_shared<EventStream>(shared_, std::move(socket_))->Accept(std::move(beast_request));
      return;
    }
    HttpRequest request;
    request.method = std::string(beast_request.method_string());
    request.target = std::string(beast_request.target());
    if (auto it = beast_request.find(http::field::content_type); it != beast_request.end()) {
      request.content_type = std::string(it->value());
    }
    if (auto it = beast_request.find(http::field::if_none_match); it != beast_request.end()) {
      request.if_none_match = std::string(it->value());
    }
    head_request_ = beast_request.method() == http::verb::head;
    request.body = std::move(beast_request.body());
    if (shared_->options.verbose) {
      std::fprintf(stderr, "fakemx: api %s %s\n", request.method.c_str(),
                   request.target.substr(0, 200).c_str());
    }
    Dispatch(request);
  }

  void Dispatch(const HttpRequest& request) {
    absl::StatusOr<HttpTarget> target = ParseHttpTarget(request.target);
    if (!target.ok()) {
      return Write(JsonError(request.target.size() > kMaxTargetBytes ? 414 : 400,
                             std::string(target.status().message())));
    }
    if (IsUiPage(*target) && shared_->mailpit) {
      // The page carries the inbox's first page (ComposeUiPage), from the
      // very answer app.js would ask for: one home for the summaries.
      HttpRequest list;
      list.method = "GET";
      list.target = std::string(kUiFirstInboxPageTarget);
      std::optional<HttpResponse> page;
      if (absl::StatusOr<HttpTarget> list_target = ParseHttpTarget(list.target); list_target.ok()) {
        page = shared_->mailpit->Handle(list, *list_target, NowUs());
      }
      const bool rendered = page && page->status == 200;
      return Write(ServeUi(request, *target,
                           rendered ? std::optional<std::string_view>(page->body) : std::nullopt));
    }
    if (!FakemxApi::Owns(*target)) {
      if (shared_->mailpit) {
        if (std::optional<HttpResponse> r = shared_->mailpit->Handle(request, *target, NowUs())) {
          return Write(*std::move(r));
        }
      }
      return Write(JsonError(404, "no such endpoint (see docs/api.md)"));
    }
    ApiOutcome outcome = shared_->api.Handle(request, *target);
    if (auto* response = std::get_if<HttpResponse>(&outcome)) return Write(std::move(*response));
    if (auto* wait = std::get_if<ApiWait>(&outcome)) return Park(std::move(*wait));
    auto& change = std::get<ApiScenarioSwitch>(outcome);
    shared_->backend.SwitchScenario(
        std::move(change.spec),
        [self = shared_from_this()](absl::StatusOr<ApiScenario> result) {
          if (!self->closed_) self->Write(FakemxApi::ScenarioSwitched(result));
        });
  }

  // Holds the request until the observer finds a match or the timer fires.
  // Nothing is read meanwhile: HTTP/1.1 answers in order (RFC 9112 §9.3.2),
  // so a pipelined request waits behind the poll.
  void Park(ApiWait wait) {
    const std::chrono::milliseconds timeout = wait.timeout;
    wait_ = std::move(wait);
    shared_->waiting.insert(this);
    wait_timer_.expires_after(timeout);
    wait_timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || !self->wait_) return;
      self->FinishWait(FakemxApi::WaitTimedOut(*self->wait_));
    });
  }

  void Write(HttpResponse r) {
    if (closed_) return;
    response_ = {};
    response_.version(11);
    response_.result(static_cast<http::status>(r.status));
    response_.set(http::field::server, "fakemx");
    if (!r.content_type.empty()) response_.set(http::field::content_type, r.content_type);
    for (auto& [name, value] : r.headers) response_.set(name, value);
    response_.keep_alive(keep_alive_ && !shared_->stopped);
    if (r.status == 204 || r.status == 304) {
      // RFC 9110 §8.6: a 204 carries no Content-Length, a 304 none unless
      // it is the 200's (none is simpler and true). No content follows.
    } else if (head_request_) {
      // RFC 9110 §9.3.2: HEAD answers as GET would, without the content;
      // Content-Length says how much a GET would get.
      response_.content_length(r.body.size());
    } else {
      response_.body() = std::move(r.body);
      response_.prepare_payload();
    }
    // A client that does not read its answer is dropped after the idle
    // timeout rather than holding the connection forever.
    ArmDeadline(shared_->options.idle_timeout);
    http::async_write(socket_, response_, [self = shared_from_this()](error_code ec, size_t) {
      ++self->deadline_generation_;
      self->deadline_.cancel();
      if (ec) return self->Close();
      if (!self->response_.keep_alive()) return self->LingeringClose();
      self->NextRequest();
    });
  }

  // RFC 9112 §9.6: closing at once while the client still sends (a body
  // refused with 413) makes its kernel discard our answer with a reset.
  // Half-close, then read and drop what arrives until its EOF, for at most
  // kLingerTime.
  void LingeringClose() {
    if (closed_) return;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_send, ignored);
    ArmDeadline(kLingerTime);
    Drain();
  }

  void Drain() {
    socket_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](error_code ec, size_t) {
                              if (self->closed_) return;
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  std::shared_ptr<Shared> shared_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_{kMaxRequestBufferBytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;
  asio::steady_timer deadline_;
  uint64_t deadline_generation_ = 0;
  asio::steady_timer wait_timer_;
  std::optional<ApiWait> wait_;
  bool keep_alive_ = true;
  bool head_request_ = false;  // the request being answered is a HEAD
  bool closed_ = false;
  std::array<char, 4096> drain_;
};

// Each callback answers the waits the change satisfies. Copied first:
// FinishWait removes the connection from `waiting`.
void Shared::OnSessionOpened(const CapturedSession& session) {
  for (Connection* c : std::vector<Connection*>(waiting.begin(), waiting.end())) {
    if (const ApiWait* w = c->wait()) {
      if (auto r = FakemxApi::AnswerWaitWithSession(*w, session)) c->FinishWait(*std::move(r));
    }
  }
}

void Shared::OnSessionClosed(const CapturedSession& session) { OnSessionOpened(session); }

void Shared::OnMessageAdded(const CapturedSession& session, const CapturedMessage& message) {
  if (!event_streams.empty()) {
    const std::string frame = MailpitApi::NewMessageEvent(session, message);
    for (EventStream* e : std::vector<EventStream*>(event_streams.begin(), event_streams.end())) {
      e->Send(frame);
    }
  }
  for (Connection* c : std::vector<Connection*>(waiting.begin(), waiting.end())) {
    if (const ApiWait* w = c->wait()) {
      if (auto r = FakemxApi::AnswerWaitWithMessage(*w, session, message)) {
        c->FinishWait(*std::move(r));
      }
    }
  }
}

class ApiServerImpl : public ApiServer {
 public:
  explicit ApiServerImpl(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {
    shared_->backend.capture().AddObserver(shared_.get());
  }
  ~ApiServerImpl() override { Stop(); }

  tcp::endpoint endpoint() const override { return endpoint_; }

  void Stop() override {
    if (shared_->stopped) return;
    shared_->stopped = true;
    shared_->backend.capture().RemoveObserver(shared_.get());
    error_code ignored;
    shared_->acceptor.close(ignored);
    shared_->accept_retry.cancel();
    for (Connection* c : std::vector<Connection*>(shared_->connections.begin(),
                                                  shared_->connections.end())) {
      c->Close();
    }
    for (EventStream* e : std::vector<EventStream*>(shared_->event_streams.begin(),
                                                    shared_->event_streams.end())) {
      e->Close();
    }
    shared_->mailpit.reset();
  }

  static void AcceptNext(const std::shared_ptr<Shared>& shared);

  tcp::endpoint endpoint_;

 private:
  std::shared_ptr<Shared> shared_;
};

void ApiServerImpl::AcceptNext(const std::shared_ptr<Shared>& shared) {
  shared->acceptor.async_accept([shared](error_code ec, tcp::socket socket) {
    if (shared->stopped || ec == asio::error::operation_aborted) return;
    if (ec) {
      shared->accept_retry.expires_after(kAcceptRetryDelay);
      shared->accept_retry.async_wait([shared](error_code wait_ec) {
        if (!wait_ec && !shared->stopped) AcceptNext(shared);
      });
      return;
    }
    // An /api/events websocket is a connection too: uncounted, any number
    // could be opened and held (it has no request to time out).
    if (shared->connections.size() + shared->event_streams.size() >=
        shared->options.max_connections) {
      error_code ignored;
      socket.close(ignored);
    } else {
      std::make_shared<Connection>(shared, std::move(socket))->Start();
    }
    AcceptNext(shared);
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<ApiServer>> ApiServer::Listen(asio::io_context& io,
                                                            ApiBackend& backend,
                                                            ApiServerOptions options) {
  auto shared = std::make_shared<Shared>(io, backend, options);
  shared->mailpit = std::make_unique<MailpitApi>(backend.capture(), NowUs());
  const std::string where = "api " + FormatEndpoint(options.endpoint) + ": ";
  error_code ec;
  shared->acceptor.open(options.endpoint.protocol(), ec);
  if (!ec) shared->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) shared->acceptor.bind(options.endpoint, ec);
  if (!ec) shared->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError(where + ec.message());
  const tcp::endpoint bound = shared->acceptor.local_endpoint(ec);
  if (ec) return absl::UnavailableError(where + ec.message());
  auto server = std::make_unique<ApiServerImpl>(shared);
  server->endpoint_ = bound;
  ApiServerImpl::AcceptNext(shared);
  return std::unique_ptr<ApiServer>(std::move(server));
}

}  // namespace mxkit::fakemx
