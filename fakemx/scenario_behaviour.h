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
// Everything here is sans-IO and single-threaded (the server's io_context):
// the fuzz target fakemx_scenario_connection drives it without sockets.

#ifndef MXKIT_FAKEMX_SCENARIO_BEHAVIOUR_H_
#define MXKIT_FAKEMX_SCENARIO_BEHAVIOUR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

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
  size_t greylist_size() const;

  std::chrono::steady_clock::time_point now() const { return now_(); }

 private:
  struct Greylist;
  Clock now_;
  uint64_t next_ordinal_ = 0;
  std::unique_ptr<Greylist> greylist_;
};

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
