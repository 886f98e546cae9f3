#include "dns/ares_resolver.h"

#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>

#include <mutex>
#include <optional>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "dns/message.h"

namespace mxkit::dns {
namespace {

void InitAresOnce() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

LookupResult Failure(LookupStatus status, std::string detail) {
  LookupResult result;
  result.status = status;
  result.detail = std::move(detail);
  return result;
}

// The servers a channel actually uses, as "host:port".
std::string DescribeServers(ares_channel channel) {
  ares_addr_port_node* servers = nullptr;
  if (ares_get_servers_ports(channel, &servers) != ARES_SUCCESS) return "?";
  std::vector<std::string> parts;
  for (ares_addr_port_node* s = servers; s != nullptr; s = s->next) {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(s->family, &s->addr, text, sizeof text);
    int port = s->udp_port != 0 ? s->udp_port : 53;
    parts.push_back(s->family == AF_INET6 ? absl::StrCat("[", text, "]:", port)
                                          : absl::StrCat(text, ":", port));
  }
  ares_free_data(servers);
  return absl::StrJoin(parts, ",");
}

}  // namespace

LookupStatus StatusFromAres(int ares_status) {
  switch (ares_status) {
    case ARES_SUCCESS:
      return LookupStatus::kAnswer;
    case ARES_ENOTFOUND:
      return LookupStatus::kNxDomain;
    case ARES_ENODATA:
      return LookupStatus::kNoData;
    case ARES_EREFUSED:
    case ARES_EFORMERR:
    case ARES_ENOTIMP:
    case ARES_EBADRESP:
    case ARES_EBADNAME:
    case ARES_EBADQUERY:
    case ARES_EBADFAMILY:
      return LookupStatus::kPermanentFailure;
    default:
      // ESERVFAIL, ETIMEOUT, ECONNREFUSED, ENOMEM, EDESTRUCTION, ECANCELLED, ...
      return LookupStatus::kTemporaryFailure;
  }
}

// One socket c-ares asked us to watch. Held by shared_ptr so a wait that
// completes after the socket is gone can see `closed` and do nothing.
struct SocketWatch {
  SocketWatch(boost::asio::io_context& io, int fd) : fd(fd), descriptor(io, fd) {}
  int fd;
  boost::asio::posix::stream_descriptor descriptor;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;
  bool closed = false;
};

struct AresResolver::Impl {
  Impl(boost::asio::io_context& io, AresOptions options)
      : io(io), options(std::move(options)), timer(io) {}

  ~Impl() {
    // Destroying the channel ends every query with ARES_EDESTRUCTION (their
    // callbacks post `done`) and closes the sockets through SocketState.
    if (channel != nullptr) ares_destroy(channel);
    for (auto& [fd, watch] : sockets) Close(*watch);
    *alive = false;
  }

  absl::Status Init() {
    InitAresOnce();
    ares_options opts{};
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES | ARES_OPT_FLAGS;
    opts.sock_state_cb = &Impl::SocketState;
    opts.sock_state_cb_data = this;
    if (options.timeout.count() <= 0 || options.timeout.count() > 3600 * 1000) {
      return absl::InvalidArgumentError("AresOptions.timeout must be 1ms..1h");
    }
    if (options.tries < 1 || options.tries > 10) {
      return absl::InvalidArgumentError("AresOptions.tries must be 1..10");
    }
    opts.timeout = static_cast<int>(options.timeout.count());
    opts.tries = options.tries;
    // NOCHECKRESP hands us SERVFAIL, REFUSED and NOTIMP answers instead of
    // c-ares moving to the next server and, when none is left, reporting
    // ECONNREFUSED for all three: SPF (RFC 7208 §5) and DMARC must tell a
    // temporary SERVFAIL from a permanent REFUSED.
    opts.flags = ARES_FLAG_NOCHECKRESP | (options.use_tcp ? ARES_FLAG_USEVC : 0);
    int status = ares_init_options(&channel, &opts, mask);
    if (status != ARES_SUCCESS) {
      channel = nullptr;
      return absl::InternalError(absl::StrCat("ares_init_options: ", ares_strerror(status)));
    }
    if (!options.servers.empty()) {
      for (const std::string& server : options.servers) {
        if (server.empty() || server.find(',') != std::string::npos) {
          return absl::InvalidArgumentError(absl::StrCat("bad DNS server \"", server, "\""));
        }
      }
      std::string csv = absl::StrJoin(options.servers, ",");
      status = ares_set_servers_ports_csv(channel, csv.c_str());
      if (status != ARES_SUCCESS) {
        return absl::InvalidArgumentError(
            absl::StrCat("DNS servers \"", csv, "\": ", ares_strerror(status)));
      }
    }
    servers = DescribeServers(channel);
    return absl::OkStatus();
  }

  struct Query {
    boost::asio::io_context* io;
    std::string name;
    RrType type;
    Callback done;
    std::string servers;
    std::chrono::milliseconds timeout;
    int tries;
  };

  void Lookup(std::string_view name, RrType type, Callback done) {
    Message query = MakeQuery(0, name, static_cast<uint16_t>(type));
    // RFC 6840 §5.7: a stub that wants the AD bit back sets it in the query
    // (no EDNS DO bit needed, and no DNSSEC records in the answer).
    query.header.z |= kZAuthenticData;
    WireResult<std::string> wire = BuildMessage(query);
    if (!wire.ok()) {
      boost::asio::post(io, [done = std::move(done), why = wire.error().message]() {
        done(Failure(LookupStatus::kPermanentFailure, why));
      });
      return;
    }
    auto* q = new Query{&io,    std::string(name), type, std::move(done),
                        servers, options.timeout, options.tries};
    // ares_send gives the query a fresh random ID and copies the buffer.
    ares_send(channel, reinterpret_cast<const unsigned char*>(wire->data()),
              static_cast<int>(wire->size()), &Impl::Answered, q);
    UpdateTimer();
  }

  static void Answered(void* arg, int status, int timeouts, unsigned char* abuf, int alen) {
    std::unique_ptr<Query> q(static_cast<Query*>(arg));
    LookupResult result;
    if (status == ARES_SUCCESS && abuf != nullptr) {
      result = InterpretAnswer(
          q->name, q->type,
          std::string_view(reinterpret_cast<const char*>(abuf), static_cast<size_t>(alen)));
      if (!result.detail.empty()) result.detail += absl::StrCat(" from ", q->servers);
    } else if (status == ARES_ETIMEOUT) {
      result = Failure(LookupStatus::kTemporaryFailure,
                       absl::StrCat("timeout after ", q->tries, " tries starting at ",
                                    q->timeout.count(), "ms from ", q->servers));
    } else if (status == ARES_EDESTRUCTION) {
      result = Failure(LookupStatus::kTemporaryFailure, "resolver destroyed");
    } else {
      result = Failure(StatusFromAres(status),
                       absl::StrCat(ares_strerror(status), " from ", q->servers));
    }
    // Always through the io_context: c-ares calls this from inside
    // ares_process_fd or ares_destroy, where re-entering it is not allowed.
    boost::asio::post(*q->io, [done = std::move(q->done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
  }

  static void SocketState(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Impl*>(data);
    auto found = self->sockets.find(fd);
    if (!readable && !writable) {
      if (found != self->sockets.end()) {
        self->Close(*found->second);
        self->sockets.erase(found);
      }
      return;
    }
    std::shared_ptr<SocketWatch> watch;
    if (found == self->sockets.end()) {
      watch = std::make_shared<SocketWatch>(self->io, fd);
      self->sockets.emplace(fd, watch);
    } else {
      watch = found->second;
    }
    watch->want_read = readable;
    watch->want_write = writable;
    self->Arm(watch);
  }

  void Close(SocketWatch& watch) {
    watch.closed = true;
    // c-ares owns and closes the fd; release() only takes it out of the reactor.
    boost::system::error_code ignored;
    watch.descriptor.cancel(ignored);
    watch.descriptor.release();
  }

  void Arm(const std::shared_ptr<SocketWatch>& watch) {
    if (watch->closed) return;
    std::shared_ptr<bool> alive_now = alive;
    if (watch->want_read && !watch->reading) {
      watch->reading = true;
      watch->descriptor.async_wait(
          boost::asio::posix::stream_descriptor::wait_read,
          [this, watch, alive_now](const boost::system::error_code& ec) {
            watch->reading = false;
            if (!*alive_now || watch->closed || ec == boost::asio::error::operation_aborted) return;
            Process(watch->fd, ARES_SOCKET_BAD);
            Arm(watch);
          });
      // Asio's epoll reactor is edge-triggered and does not remember an edge
      // that came while no wait was queued; bytes that arrived between c-ares
      // draining the socket and this wait would otherwise sit there unseen.
      PollNow(watch, POLLIN);
    }
    if (watch->want_write && !watch->writing) {
      watch->writing = true;
      watch->descriptor.async_wait(
          boost::asio::posix::stream_descriptor::wait_write,
          [this, watch, alive_now](const boost::system::error_code& ec) {
            watch->writing = false;
            if (!*alive_now || watch->closed || ec == boost::asio::error::operation_aborted) return;
            Process(ARES_SOCKET_BAD, watch->fd);
            Arm(watch);
          });
      PollNow(watch, POLLOUT);
    }
  }

  void PollNow(const std::shared_ptr<SocketWatch>& watch, short events) {
    pollfd p{watch->fd, events, 0};
    if (poll(&p, 1, 0) <= 0 || (p.revents & (events | POLLERR | POLLHUP)) == 0) return;
    std::shared_ptr<bool> alive_now = alive;
    boost::asio::post(io, [this, watch, alive_now, events]() {
      if (!*alive_now || watch->closed) return;
      if (events == POLLIN) {
        Process(watch->fd, ARES_SOCKET_BAD);
      } else {
        Process(ARES_SOCKET_BAD, watch->fd);
      }
    });
  }

  void Process(ares_socket_t read_fd, ares_socket_t write_fd) {
    ares_process_fd(channel, read_fd, write_fd);
    UpdateTimer();
  }

  // Keeps one timer at c-ares's next deadline (retries and timeouts).
  void UpdateTimer() {
    timeval tv{};
    if (ares_timeout(channel, nullptr, &tv) == nullptr) {
      timer.cancel();
      return;
    }
    timer.expires_after(std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec));
    std::shared_ptr<bool> alive_now = alive;
    timer.async_wait([this, alive_now](const boost::system::error_code& ec) {
      if (ec == boost::asio::error::operation_aborted || !*alive_now) return;
      Process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    });
  }

  boost::asio::io_context& io;
  AresOptions options;
  boost::asio::steady_timer timer;
  ares_channel channel = nullptr;
  std::string servers;
  absl::flat_hash_map<int, std::shared_ptr<SocketWatch>> sockets;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  // LookupSync's own channel on its own io_context, made on first use and
  // serialized by the mutex, so LookupSync works from any thread whether or
  // not `io` is being run. Declared in this order so the resolver goes
  // before the io_context its sockets are registered with.
  std::mutex sync_mutex;
  std::unique_ptr<boost::asio::io_context> sync_io;
  std::unique_ptr<AresResolver> sync_resolver;
};

absl::StatusOr<std::unique_ptr<AresResolver>> AresResolver::Create(boost::asio::io_context& io,
                                                                   AresOptions options) {
  auto impl = std::make_unique<Impl>(io, std::move(options));
  if (absl::Status status = impl->Init(); !status.ok()) return status;
  return std::unique_ptr<AresResolver>(new AresResolver(std::move(impl)));
}

AresResolver::AresResolver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AresResolver::~AresResolver() = default;

void AresResolver::Lookup(std::string_view name, RrType type, Callback done) {
  impl_->Lookup(name, type, std::move(done));
}

LookupResult AresResolver::LookupSync(std::string_view name, RrType type) {
  std::lock_guard<std::mutex> lock(impl_->sync_mutex);
  if (impl_->sync_resolver == nullptr) {
    // Made on first use and kept: one private channel (and io_context) for
    // every LookupSync of this resolver, instead of one per call. A failure
    // to make it is not kept, so a later call tries again.
    auto io = std::make_unique<boost::asio::io_context>();
    absl::StatusOr<std::unique_ptr<AresResolver>> own = Create(*io, impl_->options);
    if (!own.ok()) {
      return Failure(LookupStatus::kTemporaryFailure, std::string(own.status().message()));
    }
    impl_->sync_io = std::move(io);
    impl_->sync_resolver = std::move(*own);
  }
  boost::asio::io_context& io = *impl_->sync_io;
  // The last call's loop ended with run_one() out of work or stopped early:
  // waits for sockets c-ares still watches may remain queued; they are run
  // (and find nothing to do) as this loop goes.
  io.restart();
  std::optional<LookupResult> result;
  impl_->sync_resolver->Lookup(name, type, [&result](LookupResult r) { result = std::move(r); });
  // The lookup always ends: c-ares gives up after its tries.
  while (!result && io.run_one() > 0) {
  }
  if (!result) {
    return Failure(LookupStatus::kTemporaryFailure, "lookup ended without an answer");
  }
  return std::move(*result);
}

const std::string& AresResolver::servers() const { return impl_->servers; }

}  // namespace mxkit::dns
