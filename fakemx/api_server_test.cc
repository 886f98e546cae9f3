// The API server over real sockets on 127.0.0.1:0: a blocking Beast client
// on the test thread, the server on an io_context thread (where the capture
// is edited too, through asio::post, as the SMTP side does).

#include "fakemx/api_server.h"

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "fakemx/ui_assets.h"
#include "gtest/gtest.h"
#include "testing/cpu_clock.h"
#include "testing/descriptor_limit.h"

namespace mxkit::fakemx {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

class Backend : public ApiBackend {
 public:
  CaptureStore& capture() override { return store; }
  ApiScenario scenario() const override {
    ApiScenario s;
    s.name = "good";
    return s;
  }
  void SwitchScenario(std::string spec,
                      std::function<void(absl::StatusOr<ApiScenario>)> done) override {
    // Answered later on the io thread, as a real switch that binds listeners.
    asio::post(*io, [spec, done] {
      if (spec == "good") {
        ApiScenario s;
        s.name = spec;
        s.generation = 1;
        done(s);
      } else {
        done(absl::InvalidArgumentError("1:1: no scenario " + spec));
      }
    });
  }
  std::vector<MetricFamily> Metrics() const override { return {}; }

  CaptureStore store;
  asio::io_context* io = nullptr;
};

class ApiServerTest : public ::testing::Test {
 protected:
  void StartServer(ApiServerOptions options = {}) {
    backend_.io = &io_;
    options.endpoint = tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0);
    auto listening = ApiServer::Listen(io_, backend_, options);
    ASSERT_TRUE(listening.ok()) << listening.status();
    server_ = *std::move(listening);
    endpoint_ = server_->endpoint();
    work_.emplace(io_.get_executor());
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    OnIo([this] { server_.reset(); });
    work_.reset();
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

  // Runs `f` on the io thread and waits for it.
  template <typename F>
  void OnIo(F f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  void AddMessage(std::string to) {
    OnIo([&] {
      CapturedSession s;
      s.receiver = "example.test";
      auto session = backend_.store.Open(std::move(s));
      CapturedMessage m;
      m.delivery.recipients.push_back({to, {}});
      m.raw = std::string("Subject: t\r\n\r\nx\r\n");
      backend_.store.AddMessage(*session, std::move(m));
    });
  }

  tcp::socket Connect() {
    tcp::socket socket(client_io_);
    socket.connect(endpoint_);
    return socket;
  }

  static http::response<http::string_body> Send(tcp::socket& socket, http::verb verb,
                                                std::string target, std::string body = "") {
    http::request<http::string_body> request(verb, target, 11);
    request.set(http::field::host, "127.0.0.1");
    request.body() = std::move(body);
    request.prepare_payload();
    http::write(socket, request);
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response;
  }

  // Whether the server has closed `socket` by now: reads what already
  // arrived (a ping, a close frame) without waiting for more.
  static bool HasClosed(tcp::socket& socket) {
    socket.non_blocking(true);
    char buffer[4096];
    for (;;) {
      boost::system::error_code ec;
      socket.read_some(asio::buffer(buffer), ec);
      if (ec == asio::error::would_block) return false;
      if (ec) return ec == asio::error::eof || ec == asio::error::connection_reset;
    }
  }

  // Whether the server closed `socket` (a read sees EOF or a reset).
  static bool SeesClose(tcp::socket& socket) {
    char c;
    boost::system::error_code ec;
    socket.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }

  Backend backend_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  tcp::endpoint endpoint_;
  asio::io_context client_io_;
};

TEST_F(ApiServerTest, AnswersSeveralRequestsOnOneKeptAliveConnection) {
  StartServer();
  AddMessage("a@example.test");
  tcp::socket socket = Connect();
  auto health = Send(socket, http::verb::get, "/healthz");
  EXPECT_EQ(health.result_int(), 200);
  EXPECT_TRUE(health.keep_alive());
  auto list = Send(socket, http::verb::get, "/fakemx/v1/messages");
  EXPECT_EQ(list.result_int(), 200);
  EXPECT_NE(list.body().find("a@example.test"), std::string::npos);
  auto missing = Send(socket, http::verb::get, "/nowhere");
  EXPECT_EQ(missing.result_int(), 404);
  EXPECT_EQ(missing[http::field::content_type], "application/json");
  auto bad = Send(socket, http::verb::get, "/fakemx/v1/messages?x=%zz");
  EXPECT_EQ(bad.result_int(), 400);
}

// On the wire, pipelined on one connection: HEAD says how long the page is
// and sends none of it, a revalidation is a bodiless 304, and the request
// after both is still read in step.
TEST_F(ApiServerTest, HeadAndA304CarryNoBodyAndKeepTheConnectionInStep) {
  StartServer();
  tcp::socket socket = Connect();
  const UiAsset* page = FindUiAsset("index.html");
  const UiAsset* script = FindUiAsset("app.js");
  ASSERT_NE(page, nullptr);
  ASSERT_NE(script, nullptr);
  const std::string requests =
      "HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "GET /ui/app.js HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: " +
      std::string(script->etag) +
      "\r\n\r\n"
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  asio::write(socket, asio::buffer(requests));
  std::string all;
  boost::system::error_code ec;
  asio::read(socket, asio::dynamic_buffer(all), ec);
  ASSERT_EQ(ec, asio::error::eof) << ec.message();
  const size_t second = all.find("HTTP/1.1 304");
  const size_t third = all.find("HTTP/1.1 200", 1);
  ASSERT_TRUE(all.rfind("HTTP/1.1 200 OK\r\n", 0) == 0) << all;
  ASSERT_NE(second, std::string::npos) << all;
  ASSERT_NE(third, std::string::npos) << all;
  ASSERT_LT(second, third) << all;
  const std::string head = all.substr(0, second);
  const std::string not_modified = all.substr(second, third - second);
  // The page as composed for this store (app.css inline, the empty inbox).
  const size_t length_at = head.find("Content-Length: ");
  ASSERT_NE(length_at, std::string::npos) << head;
  EXPECT_GT(std::stoul(head.substr(length_at + 16)),
            page->bytes.size() + FindUiAsset("app.css")->bytes.size())
      << head;
  EXPECT_NE(head.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos) << head;
  EXPECT_NE(head.find("Content-Security-Policy: default-src 'none';"), std::string::npos) << head;
  // The header ends the HEAD answer: the next status line follows at once.
  EXPECT_EQ(head.size(), head.find("\r\n\r\n") + 4) << head;
  EXPECT_EQ(not_modified.size(), not_modified.find("\r\n\r\n") + 4) << not_modified;
  EXPECT_NE(not_modified.find("ETag: " + std::string(script->etag)), std::string::npos);
  EXPECT_EQ(not_modified.find("\r\nContent-Length:"), std::string::npos) << not_modified;
  EXPECT_EQ(not_modified.find("\r\nContent-Type:"), std::string::npos) << not_modified;
  EXPECT_NE(all.find("\"status\":\"ok\"", third), std::string::npos) << all;
}

TEST_F(ApiServerTest, ALongPollIsWokenByAMessageAddedOnTheIoThread) {
  StartServer();
  tcp::socket socket = Connect();
  std::future<http::response<http::string_body>> answer = std::async(std::launch::async, [&] {
    return Send(socket, http::verb::get,
                "/fakemx/v1/wait/message?recipient=late@example.test&timeout=10s");
  });
  // Not answered while nothing matches (another message does not count).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  AddMessage("other@example.test");
  EXPECT_EQ(answer.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  const Clock::time_point added = Clock::now();
  AddMessage("late@example.test");
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  const auto latency = Clock::now() - added;
  auto response = answer.get();
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_NE(response.body().find("late@example.test"), std::string::npos);
  EXPECT_LT(latency, std::chrono::milliseconds(50));
  // The connection stays usable after the poll.
  EXPECT_EQ(Send(socket, http::verb::get, "/healthz").result_int(), 200);
}

TEST_F(ApiServerTest, ALongPollTimesOutWith408) {
  StartServer();
  tcp::socket socket = Connect();
  const Clock::time_point start = Clock::now();
  auto response = Send(socket, http::verb::get, "/fakemx/v1/wait/session?timeout=300ms");
  const auto took = Clock::now() - start;
  EXPECT_EQ(response.result_int(), 408);
  EXPECT_NE(response.body().find("within 300ms"), std::string::npos);
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::seconds(3));
}

TEST_F(ApiServerTest, AScenarioSwitchIsAnsweredWhenTheBackendIsDone) {
  StartServer();
  tcp::socket socket = Connect();
  auto ok = Send(socket, http::verb::put, "/fakemx/v1/scenario", "good");
  EXPECT_EQ(ok.result_int(), 200);
  EXPECT_NE(ok.body().find("\"generation\":1"), std::string::npos);
  auto bad = Send(socket, http::verb::put, "/fakemx/v1/scenario", "nope");
  EXPECT_EQ(bad.result_int(), 400);
  EXPECT_NE(bad.body().find("no scenario nope"), std::string::npos);
}

TEST_F(ApiServerTest, RefusesABodyOverTheLimitWith413AndCloses) {
  ApiServerOptions options;
  options.max_body_bytes = 100;
  StartServer(options);
  tcp::socket socket = Connect();
  auto response = Send(socket, http::verb::put, "/fakemx/v1/scenario", std::string(101, 'a'));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_FALSE(response.keep_alive());
  EXPECT_TRUE(SeesClose(socket));
}

// A chunk-size line must be whole before it parses, so Beast buffers it; a
// chunk extension without end once grew fakemx by 736 MiB in 10 s. What a
// request may leave unparsed is bounded, and the client told why.
TEST_F(ApiServerTest, RefusesAChunkSizeLineWithoutEndWith400) {
  StartServer();
  tcp::socket socket = Connect();
  const std::string start =
      "PUT /fakemx/v1/scenario HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Transfer-Encoding: chunked\r\n\r\n1;";
  boost::system::error_code ec;
  asio::write(socket, asio::buffer(start + std::string(1 << 20, 'a')), ec);
  // Our write may end in a reset once the answer is sent; the answer is
  // read either way, without waiting for one that never comes.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  socket.non_blocking(true);
  std::string got(256, '\0');
  got.resize(socket.read_some(asio::buffer(got), ec));
  EXPECT_EQ(got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << got << ec.message();
  EXPECT_NE(got.find("chunk"), std::string::npos) << got;
}

TEST_F(ApiServerTest, AnswersGarbageWith400AndCloses) {
  StartServer();
  tcp::socket socket = Connect();
  asio::write(socket, asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.result_int(), 400);
  EXPECT_TRUE(SeesClose(socket));
}

// RFC 9112 §6.3: a request whose Transfer-Encoding does not end in chunked
// has a body of unknown length. Beast reads it as a request without a body,
// so the bytes after it would run as a second request (the "smuggled" one);
// fakemx answers 400 and closes instead, and never runs it. A coding before
// chunked that fakemx does not implement gets 501 (RFC 9112 §6.1).
TEST_F(ApiServerTest, RefusesTransferCodingsItCannotFrameAndClosesBeforeWhatFollows) {
  StartServer();
  struct Row {
    const char* transfer_encoding;
    unsigned status;
  };
  for (const Row& row : {Row{"gzip", 400}, Row{"chunked, gzip", 400}, Row{"chunked, chunked", 400},
                         Row{"gzip, chunked", 501}}) {
    SCOPED_TRACE(row.transfer_encoding);
    tcp::socket socket = Connect();
    const std::string smuggled = "DELETE /fakemx/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    asio::write(socket, asio::buffer("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " +
                                     std::string(row.transfer_encoding) + "\r\n\r\n" +
                                     (row.status == 501 ? "0\r\n\r\n" : "") + smuggled));
    boost::beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    EXPECT_EQ(response.result_int(), row.status) << response.body();
    EXPECT_NE(response.body().find("RFC 9112"), std::string::npos) << response.body();
    EXPECT_TRUE(SeesClose(socket));
  }
  // Chunked alone is served.
  tcp::socket socket = Connect();
  asio::write(socket, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                               "Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n")));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(socket, buffer, response);
  EXPECT_EQ(response.result_int(), 200) << response.body();
}

TEST_F(ApiServerTest, ClosesAnIdleConnection) {
  ApiServerOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  StartServer(options);
  tcp::socket socket = Connect();
  const Clock::time_point start = Clock::now();
  EXPECT_TRUE(SeesClose(socket));
  EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(900));
}

TEST_F(ApiServerTest, ClosesConnectionsBeyondTheCap) {
  ApiServerOptions options;
  options.max_connections = 1;
  StartServer(options);
  tcp::socket first = Connect();
  EXPECT_EQ(Send(first, http::verb::get, "/healthz").result_int(), 200);
  tcp::socket second = Connect();
  EXPECT_TRUE(SeesClose(second));
  EXPECT_EQ(Send(first, http::verb::get, "/healthz").result_int(), 200);
}

TEST_F(ApiServerTest, DispatchesMailpitPathsToMailpitsHandler) {
  StartServer();
  AddMessage("m@example.test");
  tcp::socket socket = Connect();
  auto list = Send(socket, http::verb::get, "/api/v1/messages");
  EXPECT_EQ(list.result_int(), 200);
  EXPECT_NE(list.body().find("\"messages_count\":1"), std::string::npos) << list.body();
  auto info = Send(socket, http::verb::get, "/api/v1/info");
  EXPECT_EQ(info.result_int(), 200);
  auto unknown = Send(socket, http::verb::get, "/api/v2/anything");
  EXPECT_EQ(unknown.result_int(), 404);
}

TEST_F(ApiServerTest, TheEventsWebsocketAnnouncesEachNewMessage) {
  StartServer();
  boost::beast::websocket::stream<tcp::socket> ws(Connect());
  ws.handshake("127.0.0.1", "/api/events");
  AddMessage("first@example.test");
  AddMessage("second@example.test");
  for (std::string_view to : {"first@example.test", "second@example.test"}) {
    boost::beast::flat_buffer buffer;
    ws.read(buffer);
    EXPECT_TRUE(ws.got_text());
    const std::string frame = boost::beast::buffers_to_string(buffer.data());
    EXPECT_NE(frame.find("\"Type\":\"new\""), std::string::npos) << frame;
    EXPECT_NE(frame.find(to), std::string::npos) << frame;
  }
  ws.close(boost::beast::websocket::close_code::normal);
}

TEST_F(ApiServerTest, AWebsocketElsewhereIsRefused) {
  StartServer();
  boost::beast::websocket::stream<tcp::socket> ws(Connect());
  boost::beast::websocket::response_type response;
  boost::system::error_code ec;
  ws.handshake(response, "127.0.0.1", "/fakemx/v1/messages", ec);
  EXPECT_TRUE(ec);
  EXPECT_EQ(response.result_int(), 404);
}

// EMFILE leaves the connection in the backlog and the acceptor readable:
// the API must pause, as the SMTP, DNS and MTA-STS listeners do, not spin
// the io thread that every SMTP session shares, and serve the connection
// once descriptors free up. The test thread sleeps meanwhile, so the
// process's CPU time is the io thread's.
TEST_F(ApiServerTest, PausesAfterAnAcceptErrorInsteadOfSpinning) {
  StartServer();
  tcp::socket socket(client_io_);
  socket.open(tcp::v4());
  testing::ScopedDescriptorExhaustion exhausted;
  ASSERT_TRUE(exhausted.ok());
  boost::system::error_code ec;
  socket.connect(endpoint_, ec);
  const double before = testing::ProcessCpuSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const double cpu_seconds = testing::ProcessCpuSeconds() - before;
  ASSERT_TRUE(exhausted.Restore());
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_LT(cpu_seconds, 0.1) << "accept retried without pause";
  EXPECT_EQ(Send(socket, http::verb::get, "/healthz").result_int(), 200);
}

// An /api/events websocket is an API connection: it counts toward the cap,
// or any number of them could be opened and held (they have no request to
// time out).
TEST_F(ApiServerTest, EventStreamsCountTowardTheConnectionCap) {
  ApiServerOptions options;
  options.max_connections = 1;
  StartServer(options);
  boost::beast::websocket::stream<tcp::socket> ws(Connect());
  ws.handshake("127.0.0.1", "/api/events");
  tcp::socket second = Connect();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(HasClosed(second));
  ws.close(boost::beast::websocket::close_code::normal);
}

// Mailpit's event clients send nothing; a client that sends a large message
// is closed (1009, too big) rather than buffered (Beast's default would keep
// 16 MiB per client).
TEST_F(ApiServerTest, AnEventsClientSendingALargeMessageIsClosed) {
  StartServer();
  boost::beast::websocket::stream<tcp::socket> ws(Connect());
  ws.handshake("127.0.0.1", "/api/events");
  // The header of a masked binary frame of 1 MiB (RFC 6455 §5.2); the
  // server need not wait for the payload to refuse it.
  const std::string header("\x82\xff\x00\x00\x00\x00\x00\x10\x00\x00"
                           "\x01\x02\x03\x04",
                           14);
  asio::write(ws.next_layer(), asio::buffer(header));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  tcp::socket& socket = ws.next_layer();
  socket.non_blocking(true);
  std::string got(64, '\0');
  boost::system::error_code ec;
  got.resize(socket.read_some(asio::buffer(got), ec));
  // A close frame with status 1009, "message too big" (RFC 6455 §7.4.1).
  EXPECT_EQ(got, std::string("\x88\x02\x03\xf1", 4)) << ec.message();
}

// A client gone without a FIN (a suspended laptop, a dropped VPN) does not
// answer the pings sent when it is quiet, and is closed after the idle
// timeout, as an idle HTTP connection is.
TEST_F(ApiServerTest, AnEventsClientThatAnswersNoPingIsClosed) {
  ApiServerOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  StartServer(options);
  boost::beast::websocket::stream<tcp::socket> ws(Connect());
  ws.handshake("127.0.0.1", "/api/events");
  // Not reading: Beast's client answers a ping only from inside a read.
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_TRUE(HasClosed(ws.next_layer()));
}

// ... while one that reads (and so answers the pings) stays past it.
TEST_F(ApiServerTest, AnEventsClientThatAnswersPingsStaysOpen) {
  ApiServerOptions options;
  options.idle_timeout = std::chrono::seconds(1);
  StartServer(options);
  boost::beast::websocket::stream<tcp::socket> ws(Connect());
  ws.handshake("127.0.0.1", "/api/events");
  std::future<std::string> frame = std::async(std::launch::async, [&] {
    boost::beast::flat_buffer buffer;
    boost::system::error_code ec;
    ws.read(buffer, ec);
    return ec ? ec.message() : boost::beast::buffers_to_string(buffer.data());
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  AddMessage("later@example.test");
  ASSERT_EQ(frame.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_NE(frame.get().find("later@example.test"), std::string::npos);
}

TEST_F(ApiServerTest, StopClosesAParkedPoll) {
  StartServer();
  tcp::socket socket = Connect();
  std::future<bool> closed = std::async(std::launch::async, [&] {
    http::request<http::string_body> request(http::verb::get, "/fakemx/v1/wait/message?timeout=60s", 11);
    request.prepare_payload();
    http::write(socket, request);
    return SeesClose(socket);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  OnIo([this] { server_->Stop(); });
  ASSERT_EQ(closed.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_TRUE(closed.get());
}

}  // namespace
}  // namespace mxkit::fakemx
