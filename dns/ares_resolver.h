// A Resolver that asks real DNS servers, through c-ares, on a Boost.Asio
// io_context. Queries are built and answers parsed with //dns:message, so
// CNAME chains and the split of TXT strings reach the caller as served.

#ifndef MXKIT_DNS_ARES_RESOLVER_H_
#define MXKIT_DNS_ARES_RESOLVER_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "dns/resolver.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace mxkit::dns {

struct AresOptions {
  // "host:port", "host" (port 53) or "[v6]:port". Empty: the servers of
  // /etc/resolv.conf (c-ares's own reading of it, which falls back to
  // 127.0.0.1 when the file has none).
  std::vector<std::string> servers;
  // Time for the first try at a server; c-ares doubles it on each retry.
  std::chrono::milliseconds timeout{5000};
  // Tries per server before the lookup fails with a timeout.
  int tries = 2;
  // Query over TCP from the start instead of after a truncated UDP answer.
  bool use_tcp = false;
};

// One c-ares channel serves every Lookup for the resolver's lifetime, its
// sockets and its retry timer on `io`: many lookups share it, in flight at
// once. Not thread-safe (neither is a c-ares channel): call Lookup from the
// thread that runs `io`, or before it runs.
//
// LookupSync may be called from any thread: it has a second, private channel
// on a private io_context (made on its first call, kept for the resolver's
// lifetime), because blocking on `io` would need the caller to be the thread
// that runs it. Concurrent LookupSync calls take turns on that channel.
class AresResolver : public Resolver {
 public:
  // Creates a resolver whose sockets and timers run on `io` (which must
  // outlive it). Fails with InvalidArgument for a malformed server or
  // option, or Internal when c-ares cannot start.
  static absl::StatusOr<std::unique_ptr<AresResolver>> Create(boost::asio::io_context& io,
                                                              AresOptions options = {});

  ~AresResolver() override;
  AresResolver(const AresResolver&) = delete;
  AresResolver& operator=(const AresResolver&) = delete;

  // A SERVFAIL, REFUSED or NOTIMP answer ends the lookup: c-ares is told not
  // to try the next server, so the RCODE reaches the caller.
  //
  // Sends the query and returns; `done` runs later on `io`, exactly once,
  // also when the resolver is destroyed first (kTemporaryFailure, "resolver
  // destroyed"). The outcome comes from the answer's RCODE and records:
  // NXDOMAIN is kNxDomain, NOERROR without the type (after following CNAMEs
  // in the answer) is kNoData, SERVFAIL / timeout / network errors are
  // kTemporaryFailure, and REFUSED, FORMERR, NOTIMP, an unparseable answer or
  // a name that cannot be queried are kPermanentFailure.
  void Lookup(std::string_view name, RrType type, Callback done) override;

  // Runs one lookup to completion on the private channel (class comment),
  // with the same options, whether or not `io` is being run elsewhere.
  LookupResult LookupSync(std::string_view name, RrType type) override;

  // The servers queries go to, as "host:port", for messages.
  const std::string& servers() const;

  struct Impl;

 private:
  explicit AresResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// How an ares status code (ARES_E*) maps onto LookupStatus, for callers that
// use c-ares directly: ENOTFOUND is kNxDomain, ENODATA kNoData, ESERVFAIL,
// ETIMEOUT, ECONNREFUSED and other transient errors kTemporaryFailure,
// EREFUSED, EFORMERR, ENOTIMP, EBADRESP, EBADNAME and EBADQUERY
// kPermanentFailure.
LookupStatus StatusFromAres(int ares_status);

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_ARES_RESOLVER_H_
