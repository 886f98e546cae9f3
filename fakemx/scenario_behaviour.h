// A scenario Receiver (fakemx/scenario.h) as fakemx Behaviours: one per
// connection, built by the factory below, all sharing the receiver's
// cross-connection state (greylist triplets, counters, the connection
// ordinal that seeds chaos). The state lives with the server, not with a
// connection, so greylisting sees the retry on a new connection.
//
// Precedence, for each decision: disconnect/greeting faults, then the
// rules (first match in file order), then AUTH required, then greylisting,
// then chaos, then the session's own answer. The tarpit delay is added to
// whatever is sent. Each decision a scenario (not the session) made is
// noted (Behaviour::TakeNotes) with the rule's name.
//
// Where each part is judged:
//   - Rules at a verb or `any` are judged when the line arrives
//     (ServerPolicy::OnCommand), before the session parses or checks it,
//     so they come before its own answers (a MAIL rule answers even when
//     AUTH is required, a DATA rule even without recipients). `match` sees
//     the argument as sent; for MAIL and RCPT the path between "<" and ">"
//     (leniently: a space after the colon or no brackets still give the
//     address), and MAIL's SIZE= is read from the line. A rule's `accept`
//     lets the session handle the command; for HELO/EHLO, MAIL, RCPT, DATA
//     and STARTTLS its reply text replaces the session's (for other verbs
//     the session's text stays) and greylisting and chaos are skipped.
//     Rules at `connect` are judged before the greeting (in code, `match`
//     sees the client's address; the parser allows none), at `message` at
//     the end of the data, before the final reply.
//   - AUTH required is the session's check (ServerExtensions::auth_required,
//     530 5.7.0), noted here; with auth.tls_only the 530 before TLS is ours
//     (no mechanism is offered then, so the session would not refuse).
//   - Greylisting: at RCPT, on (client address, reverse path, forward path).
//   - Chaos: each visit of a stage listed in the chaos section draws two
//     numbers from a SplitMix64 stream (seeded from the seed and the
//     connection's ordinal; exact 64-bit integer arithmetic, so the same on
//     every platform): a probability and which reply. The draw happens at
//     every visit whatever else decides, in a fixed order (`any`, then the
//     verb), so the same traffic gives the same replies. Where a stage is
//     visited: HELO/EHLO, MAIL, RCPT, DATA, STARTTLS and AUTH in the
//     session's hook for them (after its checks, AUTH required and
//     greylisting), every other verb and `any` per command line, `connect`
//     at the greeting, `message` at the end of data. A 421 closes; other
//     codes refuse the step.
//   - Tarpit (per_reply): once per reply: the greeting, every command line
//     (whatever answers it), the final reply to DATA content and each
//     AUTH continuation step. Rule delays add to it.
//   - The greeting's first line begins with the hostname (RFC 5321 §4.2),
//     added unless the scenario's text starts with it; 421 closes, another
//     4xx/5xx serves only QUIT (the session's RFC 5321 §3.1 behaviour).
//
// Everything here is sans-IO and single-threaded (the server's io_context):
// the fuzz target fakemx_scenario_connection drives it without sockets.

#ifndef MXKIT_FAKEMX_SCENARIO_BEHAVIOUR_H_
#define MXKIT_FAKEMX_SCENARIO_BEHAVIOUR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "fakemx/behaviour.h"
#include "fakemx/scenario.h"
#include "smtp/server_session.h"

namespace mxkit::fakemx {

// State one receiver keeps across its connections.
class ReceiverState {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // `now` defaults to std::chrono::steady_clock::now; tests pass a fake.
  explicit ReceiverState(Clock now = {});
  ~ReceiverState();
  ReceiverState(const ReceiverState&) = delete;
  ReceiverState& operator=(const ReceiverState&) = delete;

  // The next connection's ordinal (0, 1, 2, ...).
  uint64_t NextOrdinal() { return next_ordinal_++; }

  // Greylisting: whether (client, sender, recipient) may pass now. The
  // first call for a triplet records it and returns false; later calls
  // return false until `delay` has passed since that first call, then true
  // (and true from then on). At most `max_entries` triplets are kept; the
  // least recently first-seen one is forgotten (and starts over).
  bool GreylistPasses(const std::string& client, const std::string& sender,
                      const std::string& recipient, std::chrono::milliseconds delay,
                      size_t max_entries);
  // GreylistPasses, saying which of its cases applied (for the capture's
  // notes). Addresses are compared ASCII case-insensitively (as postgrey
  // does: a client that changes case on retry is the same client).
  enum class GreylistVerdict {
    kFirstAttempt,  // triplet not seen before (or forgotten): recorded now, refused
    kTooEarly,      // seen, `delay` not yet over since first seen: refused
    kPasses,        // seen at least `delay` ago: accepted
  };
  GreylistVerdict CheckGreylist(const std::string& client, const std::string& sender,
                                const std::string& recipient, std::chrono::milliseconds delay,
                                size_t max_entries);
  size_t greylist_size() const;

  std::chrono::steady_clock::time_point now() const { return now_(); }

 private:
  struct Greylist;
  Clock now_;
  uint64_t next_ordinal_ = 0;
  std::unique_ptr<Greylist> greylist_;
};

// Whether `text` matches the glob `pattern`: `*` is any run of octets
// (also none), `?` exactly one, everything else itself, ASCII
// case-insensitively (addresses and verbs are compared so in SMTP; RFC 5321
// §2.4). Linear in |pattern| x |text| at worst, so hostile rules and
// addresses cannot blow up.
bool ScenarioGlobMatches(std::string_view pattern, std::string_view text);

// The per-connection behaviour for `receiver` (which, like `state`, must
// outlive every behaviour made). `info.ordinal` must come from
// state->NextOrdinal(); the factory below does that.
std::unique_ptr<Behaviour> MakeScenarioBehaviour(const Receiver& receiver, ReceiverState* state,
                                                 const ConnectionInfo& info);

// A BehaviourFactory for one receiver: fills in info.ordinal and calls
// MakeScenarioBehaviour.
BehaviourFactory ScenarioBehaviourFactory(std::shared_ptr<const Receiver> receiver,
                                          std::shared_ptr<ReceiverState> state);

// The session configuration a receiver asks for on top of `base` (the
// server's): hostname, extensions (EHLO before TLS; the behaviour's
// Extensions() answers after), AUTH, leniencies, DATA policies, limits,
// max protocol errors. `tls_available`: the server has a TLS context for
// this receiver.
smtp::ServerSessionConfig ReceiverSessionConfig(const Receiver& receiver,
                                                smtp::ServerSessionConfig base,
                                                bool tls_available);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_SCENARIO_BEHAVIOUR_H_
