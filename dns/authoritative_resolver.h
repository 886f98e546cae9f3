// A Resolver answered by an AuthoritativeResponder in the same process:
// fakemx's own DNS (the zones, records and faults its UDP/TCP listener
// serves to the MTA under test) as seen by fakemx's own verdicts, without a
// socket round trip per lookup.
//
// Each lookup goes through the wire codec exactly as a stub resolver's
// would: a query built with dns::MakeQuery and dns::BuildMessage (AD set,
// RFC 6840 §5.7, so signed zones answer with AD), answered by Respond over
// UDP, asked again over TCP when the answer is truncated (RFC 7766 §5), and
// read back with dns::InterpretAnswer. So a fault the scenario injects
// (servfail, nxdomain, truncate, refused) means the same thing to fakemx as
// to the sender under test. Lookups complete inline, before Lookup returns.

#ifndef MXKIT_DNS_AUTHORITATIVE_RESOLVER_H_
#define MXKIT_DNS_AUTHORITATIVE_RESOLVER_H_

#include <cstdint>
#include <memory>
#include <string_view>

#include "dns/authoritative.h"
#include "dns/resolver.h"

namespace mxkit::dns {

class AuthoritativeResolver : public Resolver {
 public:
  // Copies of the resolver (and of the responder) share the zones.
  explicit AuthoritativeResolver(AuthoritativeResponder responder);

  // Runs `done` before returning. A "timeout" fault (the responder stays
  // silent over UDP and TCP) is kTemporaryFailure with a detail saying so,
  // as a stub's timeout would be; names outside every zone are REFUSED by
  // the responder and so kPermanentFailure (InterpretAnswer's reading). A
  // name that cannot be put in a query (too long, empty label) is
  // kPermanentFailure naming the name.
  void Lookup(std::string_view name, RrType type, Callback done) override;

 private:
  AuthoritativeResponder responder_;
  // Query IDs (RFC 1035 §4.1.1), shared by copies so consecutive lookups
  // differ as a stub's do; nothing is in flight between calls, so they
  // need not be random.
  std::shared_ptr<uint16_t> next_id_;
};

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_AUTHORITATIVE_RESOLVER_H_
