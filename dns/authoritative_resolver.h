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
//
// Answers are cached. A responder is immutable (its zones and faults are
// fixed at Create; a scenario switch makes a new responder and so a new
// resolver), and what a lookup returns depends only on the responder, the
// name as asked (its case is echoed into the records' owner names) and the
// type, never on the query ID. So the second lookup of a (name, type)
// returns the very LookupResult the first one read off the wire, without
// building, answering and parsing the messages again: fakemx judges every
// message, and a test sends the same sender many times (issue 9's
// throughput target). The cache holds at most kMaxCachedAnswers answers and
// is emptied when full, so a stream of distinct names costs memory bounded
// by the limit.

#ifndef MXKIT_DNS_AUTHORITATIVE_RESOLVER_H_
#define MXKIT_DNS_AUTHORITATIVE_RESOLVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "dns/authoritative.h"
#include "dns/resolver.h"

namespace mxkit::dns {

class AuthoritativeResolver : public Resolver {
 public:
  // The most answers one resolver (and its copies) keeps: several per
  // sender domain (SPF TXT and its includes, DMARC, DKIM keys), for far more
  // sender domains than a test uses. An answer is at most what the zones
  // hold for one name (a negative answer is a short detail), so the cache
  // holds at most this many times the largest RRset of the scenario: a few
  // MiB for the built-in scenarios, whose largest answers are DKIM keys.
  static constexpr size_t kMaxCachedAnswers = 4096;

  // Copies of the resolver (and of the responder) share the zones and the
  // cache. Thread-safe: the cache is locked.
  explicit AuthoritativeResolver(AuthoritativeResponder responder);

  // Runs `done` before returning. A "timeout" fault (the responder stays
  // silent over UDP and TCP) is kTemporaryFailure with a detail saying so,
  // as a stub's timeout would be; names outside every zone are REFUSED by
  // the responder and so kPermanentFailure (InterpretAnswer's reading). A
  // name that cannot be put in a query (too long, empty label) is
  // kPermanentFailure naming the name.
  void Lookup(std::string_view name, RrType type, Callback done) override;

  // How many lookups went to the responder (not answered from the cache),
  // for tests and benchmarks.
  uint64_t wire_lookups() const;

 private:
  // What the wire gives for (name, type): the uncached lookup.
  LookupResult LookupOnWire(std::string_view name, RrType type);

  struct Shared;
  AuthoritativeResponder responder_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace mxkit::dns

#endif  // MXKIT_DNS_AUTHORITATIVE_RESOLVER_H_
