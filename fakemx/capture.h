// The in-memory capture: every SMTP session fakemx served, also those that
// never delivered (a failed handshake, rejected recipients, a dropped line),
// with its transcript, TLS facts, the receiver and scenario rules that
// answered, and the messages it carried. Bounded: beyond max_sessions or
// max_bytes sessions are evicted (and counted), so a long run cannot exhaust
// memory. The HTTP API (issue 11) serves this store.
//
// Eviction policy: closed sessions go first, oldest first. When none is
// left and the store is over max_bytes, the oldest message of the open
// sessions goes, one at a time: a connection that stays (a reused
// connection sending thousands of messages) keeps its newest mail, as
// "oldest evicted" promises, rather than losing all of it with its session.
// The session counts them (CapturedSession::messages_evicted). Only beyond
// max_sessions, or when the open sessions hold no message, is the oldest
// open session evicted whole: its connection still holds its handle, so
// evicting it frees its messages and transcript through the handle
// (cleared, capacity released) and marks it `evicted`; what its connection
// sends afterwards is no longer kept (see Append and AddMessage). A closed
// session is only dropped from the store: a reader that still holds it
// keeps what it read. Either way the store's accounting (stats().bytes)
// falls by what was evicted.
//
// Single-threaded: the store and everything in it are used on the server's
// io_context thread only (the HTTP API runs on the same io_context). A
// session is visible from Open() on, so a test sees a message as soon as its
// 250 has been sent. Observers (the API's long-polls and event streams) hear
// of each change as it happens, on that thread.

#ifndef MXKIT_FAKEMX_CAPTURE_H_
#define MXKIT_FAKEMX_CAPTURE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <iosfwd>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fakemx/byte_arena.h"
#include "fakemx/delivery.h"
#include "fakemx/verdict_types.h"

namespace mxkit::fakemx {

struct TranscriptEntry {
  enum class Kind {
    kCommand,  // a command line the client sent (without CRLF)
    kReply,    // bytes we sent (one write: one or more replies, or raw bytes)
    kNote,     // a scenario rule that decided, or a driver event ("tls established TLSv1.3 ...")
  };
  int64_t offset_us = 0;  // since the connection was accepted
  Kind kind = Kind::kNote;
  std::string text;
};

// A captured message's bytes. Built from a std::string (the server moves the
// received message in); the store then copies them into its ByteArena, so a
// long run does not fault in fresh heap pages with every message (see
// fakemx/byte_arena.h), and the string's own memory goes back to malloc.
// Read as a string_view; a copy shares the arena chunk, not the bytes.
class CapturedBytes {
 public:
  CapturedBytes() = default;
  CapturedBytes(std::string bytes) : owned_(std::move(bytes)) {}  // NOLINT: implicit, as a string

  std::string_view view() const { return placed_.data() != nullptr ? placed_.view() : owned_; }
  operator std::string_view() const { return view(); }  // NOLINT: reads as a string
  const char* data() const { return view().data(); }
  size_t size() const { return view().size(); }
  bool empty() const { return size() == 0; }
  // Heap bytes held outside the arena (0 once placed).
  size_t heap_capacity() const { return placed_.data() != nullptr ? 0 : owned_.capacity(); }

  // Moves the bytes into `arena`; keeps its own copy when the arena has no
  // memory for them (the kernel refused a mapping).
  void MoveInto(ByteArena& arena);

  friend bool operator==(const CapturedBytes& a, std::string_view b) { return a.view() == b; }
  friend std::ostream& operator<<(std::ostream& os, const CapturedBytes& bytes);

 private:
  std::string owned_;
  ArenaBytes placed_;
};

struct CapturedMessage {
  uint64_t id = 0;       // unique in the store, increasing
  Delivery delivery;     // envelope, HELO, TLS facts, time
  CapturedBytes raw;     // the message as received (dot-unstuffed, CRLF line ends)
  std::string maildir_name;  // with --maildir: the name in new/; else empty
  // SPF, DKIM, DMARC and the summary (fakemx/verdict.h), set before the
  // message is added; `evaluated` false when verdicts are off. Never null in
  // the store (a null one is replaced by NotEvaluatedVerdict()).
  // Shared, and immutable once shared: a connection's messages whose
  // verdicts are equal (the same client sending the same sender's unsigned
  // mail, as a test or a load generator does) point to one verdict
  // (fakemx/server.cc ShareVerdict). Kept inline it was ~1 KiB of fresh
  // memory per stored message, its strings included: a 1 KiB message sent
  // with smtp-source -d grew fakemx by 3,460 bytes, now 2,516.
  std::shared_ptr<const MessageVerdict> verdict = NotEvaluatedVerdict();
  // Mailpit's read state (PUT /api/v1/messages, GET /api/v1/message/{ID}).
  bool read = false;
  // This message's transaction in its session's transcript, as indices into
  // CapturedSession::transcript, set by the store (AddMessage, Append): from
  // the first entry after the previous message's final reply (for the first
  // message, from the session's opening end) up to and including this
  // message's final reply. A reused connection carries thousands of
  // messages; the API shows each with only its own part of the transcript
  // (fakemx/api_json.h MessageTranscript). `transcript_end` is unset until
  // the final reply has been recorded (or dropped by the transcript bound).
  size_t transcript_begin = 0;
  std::optional<size_t> transcript_end;
};

struct CapturedSession {
  uint64_t id = 0;  // unique in the store, increasing
  std::string receiver;  // the receiver's name ("example.test")
  std::string scenario;  // the scenario's name
  int64_t started_at_us = 0;  // Unix time, µs
  std::optional<int64_t> ended_at_us;  // unset while the connection is open
  std::string client_address;
  uint16_t client_port = 0;
  std::string local_address;
  uint16_t local_port = 0;
  bool implicit_tls = false;
  DeliveryTls tls;        // as for a message; `used` once a handshake completed
  std::string tls_error;  // a failed handshake's error, else empty
  // Deques, not vectors: a session with reused connections grows by an
  // entry per command and a message per transaction for as long as the
  // client stays. A vector would reallocate and move everything it holds
  // each time it doubles, touching fresh pages twice over (page faults were
  // fakemx's largest cost per message with smtp-source -d); a deque grows in
  // place, and references to what it holds stay valid as it grows.
  std::deque<TranscriptEntry> transcript;
  // Messages answered with 2xx, each exactly once, in order.
  std::deque<CapturedMessage> messages;
  // Transcript entries not kept because the session hit
  // CaptureLimits::max_transcript_bytes (a client sending endless commands).
  uint64_t transcript_dropped = 0;
  // The end of the session's opening (greeting, EHLO, STARTTLS, AUTH): the
  // index in `transcript` of the command that started its first transaction
  // (CaptureStore::StartTransaction); unset until one started.
  std::optional<size_t> opening_end;
  // How it ended: "quit", "client closed", "idle timeout", "rule rules[2] drop", ...
  std::string end_reason;
  // Set when the store evicted it; an open session's messages and
  // transcript are then emptied (see the eviction policy above).
  bool evicted = false;
  // Its oldest messages the store evicted while it was open and the store
  // over max_bytes; `messages` holds the newer ones.
  uint64_t messages_evicted = 0;
  // Encrypted or not and why, kept also when no message was delivered; set
  // by the server as the session goes (TLS established, failed) and at close.
  SessionVerdict verdict;
};

// A message's part of its session's transcript: the session's opening,
// entries [0, opening), then this message's transaction, entries
// [begin, end); what lies between (earlier transactions) and after (later
// ones, QUIT) is left out. Indices into CapturedSession::transcript, each
// within [0, total]; opening <= begin <= end. For the first message begin
// equals opening: nothing is left out before it.
struct TranscriptSlice {
  size_t opening = 0;
  size_t begin = 0;
  size_t end = 0;
  size_t total = 0;  // entries the session's transcript holds
  size_t omitted_before() const { return begin - opening; }
  size_t omitted_after() const { return total - end; }
};

// The slice of `message` in `session` (see CapturedMessage::transcript_begin).
// A message whose final reply is not recorded yet ends at the transcript's
// end; a message added without a transaction start keeps no opening.
TranscriptSlice MessageTranscriptSlice(const CapturedSession& session,
                                       const CapturedMessage& message);

// Hears of every change to a CaptureStore, on the store's thread, right after
// it happened (a message is announced before any eviction its bytes cause,
// so the references are valid for the call; keep ids, not references).
class CaptureObserver {
 public:
  virtual ~CaptureObserver() = default;
  virtual void OnSessionOpened(const CapturedSession& /*session*/) {}
  virtual void OnMessageAdded(const CapturedSession& /*session*/,
                              const CapturedMessage& /*message*/) {}
  virtual void OnSessionClosed(const CapturedSession& /*session*/) {}
  // Messages deleted through the store (DeleteMessage, Clear); not evictions.
  virtual void OnMessagesDeleted() {}
};

// A stored message and the session that holds it (which keeps it alive).
struct MessageRef {
  std::shared_ptr<const CapturedSession> session;
  const CapturedMessage* message = nullptr;
};

struct CaptureLimits {
  size_t max_sessions = 10000;
  size_t max_bytes = size_t{256} << 20;  // message bytes + transcript text, approximately
  size_t max_transcript_bytes = size_t{1} << 20;  // per session
};

struct CaptureStats {
  uint64_t sessions = 0;           // in the store now
  uint64_t messages = 0;           // in the store now
  uint64_t bytes = 0;              // accounted now
  uint64_t sessions_total = 0;     // ever opened
  uint64_t messages_total = 0;     // ever added
  uint64_t sessions_evicted = 0;
  uint64_t messages_evicted = 0;   // with their sessions, or alone from open ones
  uint64_t messages_deleted = 0;   // by DeleteMessage (not Clear)
};

class CaptureStore {
 public:
  explicit CaptureStore(CaptureLimits limits = {});
  ~CaptureStore();
  CaptureStore(const CaptureStore&) = delete;
  CaptureStore& operator=(const CaptureStore&) = delete;

  // A new session; `session.id` is assigned. Evicts sessions as needed, by
  // the policy above (with max_sessions 0, the new one at once). The returned handle
  // stays valid (and writable) even after the session has been evicted:
  // writes to it are then simply not visible.
  std::shared_ptr<CapturedSession> Open(CapturedSession session);
  // Appends to the transcript (bounded by max_transcript_bytes: beyond it
  // the entry is counted in transcript_dropped instead). On a session no
  // longer in the store (evicted, cleared) it does nothing, so a long
  // connection whose session was evicted cannot grow memory unaccounted.
  void Append(CapturedSession& session, TranscriptEntry::Kind kind, int64_t offset_us,
              std::string_view text);
  // Adds a message (assigns its id) and returns the id. Counted in
  // messages_total either way; on a session no longer in the store the
  // message is not kept and is counted in messages_evicted. A message that
  // takes the store over max_bytes evicts closed sessions, then the oldest
  // messages of open ones, and so possibly itself (a message larger than
  // max_bytes is not kept; its session is).
  // The message's transcript slice begins where the previous message's
  // ended (or at the opening's end); it ends with the next reply appended
  // after this call, which the server records after the message's event:
  // the final reply to its data. Takes the message as an rvalue: it is
  // moved into the store once (two dozen strings of its verdict).
  uint64_t AddMessage(CapturedSession& session, CapturedMessage&& message);
  // A transaction started (an accepted MAIL FROM; its command has been
  // appended): the first one ends the session's opening at that command.
  void StartTransaction(CapturedSession& session);
  // Marks the session ended (also on a handle no longer in the store).
  void Close(CapturedSession& session, int64_t ended_at_us, std::string_view reason);

  // Oldest first.
  std::vector<std::shared_ptr<const CapturedSession>> Sessions() const;
  std::shared_ptr<const CapturedSession> Session(uint64_t id) const;
  CaptureStats stats() const;
  // Forgets every session: sessions, messages and bytes drop to 0; the
  // *_total and *_evicted counters keep counting (cleared sessions are not
  // evictions). Handles still held stay writable, as after eviction.
  void Clear();

  // The stored message with `id`, or nullopt. Linear in the number of
  // sessions (the hot path keeps no per-message index), then a binary search.
  std::optional<MessageRef> FindMessage(uint64_t id) const;
  // Marks a stored message read or unread; false when there is no such message.
  bool SetRead(uint64_t message_id, bool read);
  // Removes one message from its session (its bytes leave the accounting);
  // false when there is no such message. The session stays.
  bool DeleteMessage(uint64_t message_id);

  // Observers must outlive the store or be removed first, and must not add
  // or remove observers from inside a callback.
  void AddObserver(CaptureObserver* observer);
  void RemoveObserver(CaptureObserver* observer);

 private:
  // What the store holds for one session: the shared handle, and what the
  // store has accounted for it. The accounting lives here, not in the
  // session, because the handle's owner may edit the session directly (it
  // is a plain struct): eviction subtracts exactly what was added, whatever
  // the session holds by then.
  struct Entry {
    std::shared_ptr<CapturedSession> session;
    size_t bytes = 0;             // in stats_.bytes for this session
    size_t transcript_bytes = 0;  // text kept, against max_transcript_bytes
    size_t messages = 0;          // in stats_.messages for this session
    // The index the last appended (or dropped) command had, for
    // StartTransaction; the index the next message's transaction begins at;
    // the id of the message that awaits its final reply (Append), or 0.
    size_t last_command = 0;
    size_t next_transaction = 0;
    uint64_t final_reply_pending = 0;
    // session->id, here so that the search by id (LowerBound, several times
    // per message) reads the entries alone, not a session per probe.
    uint64_t id = 0;
  };

  // The entry of `session` while it is in the store; null once it has been
  // evicted or cleared (or for a session that never came from Open).
  Entry* Find(const CapturedSession& session);
  const Entry* FindId(uint64_t id) const;
  // The first entry whose id is not below `id` (entries_ is sorted by id).
  std::deque<Entry>::iterator LowerBound(uint64_t id);
  // The entry and index of message `id`, or {nullptr, 0}.
  std::pair<Entry*, size_t> FindMessageEntry(uint64_t id);
  void Account(Entry& entry, size_t bytes);
  // Evicts by the policy above until both limits hold again.
  void EvictAsNeeded();
  void Evict(std::deque<Entry>::iterator it);
  // Drops the oldest message any open session holds; false when none holds one.
  bool EvictOldestOpenMessage();
  // Takes message `index` out of `entry`'s session and its bytes and count
  // out of the accounting (DeleteMessage, EvictOldestOpenMessage; each
  // counts why).
  void RemoveMessage(Entry& entry, size_t index);

  CaptureLimits limits_;
  // Message bytes. Declared before entries_, so it outlives them (chunks
  // stay mapped anyway while any message in them is held).
  ByteArena arena_;
  // Oldest first, so ids increase along it (Open appends; eviction may
  // remove from the middle, leaving gaps): found by binary search.
  std::deque<Entry> entries_;
  // Ids of the sessions in the store that are closed; the first is the next
  // to evict.
  std::set<uint64_t> closed_ids_;
  CaptureStats stats_;
  uint64_t next_session_id_ = 1;
  uint64_t next_message_id_ = 1;
  std::vector<CaptureObserver*> observers_;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_CAPTURE_H_
