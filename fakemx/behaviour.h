// What a fakemx receiver answers, apart from how bytes move (transport.h)
// and how the connection is driven (server.cc): the SMTP decisions of an
// smtp::ServerPolicy plus the receiver's STARTTLS behaviour, including the
// faults of tls/receiver_profile.h. The server is given a factory and makes
// one Behaviour per connection, so scenarios (issue 9) can hand different
// connections different behaviours; state shared between connections
// (greylisting, counters) belongs to whoever owns the factory, not here.
//
// The driver wraps the behaviour: it asks OnMessage first and stores the
// message only when the behaviour accepts it, and it carries out the
// STARTTLS fault the behaviour names after the 220 has been written.

#ifndef MXKIT_FAKEMX_BEHAVIOUR_H_
#define MXKIT_FAKEMX_BEHAVIOUR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "smtp/server_session.h"
#include "tls/receiver_profile.h"

namespace mxkit::fakemx {

// What the driver knows about a connection when it asks for a behaviour.
struct ConnectionInfo {
  std::string client_address;  // "127.0.0.1", "::1"
  uint16_t client_port = 0;
  bool implicit_tls = false;   // accepted on the --smtps listener
  std::string local_address;   // the listener's address, "127.0.0.2"
  uint16_t local_port = 0;
  // Connections of this receiver before this one (0 for the first): seeds
  // per-connection randomness (chaos) reproducibly. The driver leaves it 0;
  // the factory that needs it numbers the connections, and its count is the
  // only one: ScenarioBehaviourFactory takes it from the receiver's
  // ReceiverState::NextOrdinal() (fakemx/scenario_behaviour.h), called once
  // per connection as the driver makes each connection's behaviour.
  uint64_t ordinal = 0;
};

class Behaviour : public smtp::ServerPolicy {
 public:
  // Whether EHLO advertises STARTTLS (when the server has TLS at all and the
  // connection is not implicit TLS).
  virtual bool advertises_starttls() const { return true; }
  // What happens after "220 Ready to start TLS" has been accepted by
  // OnStartTls: kOffer handshakes; the fault behaviours are carried out by
  // the driver (kHide, kRefuse454 and kRefuse502 never get this far).
  virtual tls::StartTlsBehaviour after_starttls_220() const {
    return tls::StartTlsBehaviour::kOffer;
  }
  // Plaintext written right behind the 220 to STARTTLS, in the same write
  // (empty: nothing). A client that reads it as a reply after the handshake
  // is open to response injection (USENIX Security 2021 §5).
  virtual std::string_view injected_after_starttls_220() const { return {}; }

  // Tarpit per byte: write replies one byte at a time, this long apart
  // (zero: write them whole). Delays per reply ride on the decisions
  // (smtp::Decision::delay).
  virtual std::chrono::milliseconds per_byte_delay() const { return {}; }
  // Drop the connection after this many octets of a message's content have
  // been received (a receiver that dies mid-message): DATA content as sent,
  // or the bytes of its BDAT chunks together (RFC 3030); `reset` sends RST.
  virtual std::optional<uint64_t> drop_after_data_bytes() const { return std::nullopt; }
  // Whether a disconnect this behaviour asks for (drop_after_data_bytes)
  // resets the connection rather than closing it.
  virtual bool disconnect_resets() const { return false; }
  // The idle timeout for this connection; nullopt = the server's.
  virtual std::optional<std::chrono::seconds> idle_timeout() const { return std::nullopt; }

  // Which scenario rules decided since the last call, oldest first ("rules[2]
  // reject 550", "greylist: first attempt"): the capture puts them in the
  // transcript beside the replies they produced.
  std::vector<std::string> TakeNotes() { return std::exchange(notes_, {}); }

 protected:
  void Note(std::string note) { notes_.push_back(std::move(note)); }

 private:
  std::vector<std::string> notes_;
};

using BehaviourFactory = std::function<std::unique_ptr<Behaviour>(const ConnectionInfo&)>;

// Plaintext reply lines inject-after-220 sends: a multi-line 250 a client
// would take, if it kept them, as its answer to the EHLO it sends after the
// handshake.
inline constexpr std::string_view kInjectedReplies = "250-mxkit injected\r\n250 injected reply\r\n";

// The default receiver: accepts every SMTP step and handles STARTTLS as
// `starttls` says (tls/receiver_profile.h): hide stops advertising it,
// refuse-454 and refuse-502 answer it with that code, the rest answer 220
// and leave the fault to the driver.
class ReceiverBehaviour : public Behaviour {
 public:
  explicit ReceiverBehaviour(tls::StartTlsBehaviour starttls) : starttls_(starttls) {}

  smtp::Decision OnStartTls() override;
  bool advertises_starttls() const override;
  tls::StartTlsBehaviour after_starttls_220() const override { return starttls_; }
  std::string_view injected_after_starttls_220() const override;

 private:
  tls::StartTlsBehaviour starttls_;
};

// A factory making a ReceiverBehaviour(starttls) for every connection.
BehaviourFactory ReceiverBehaviourFactory(tls::StartTlsBehaviour starttls);

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_BEHAVIOUR_H_
