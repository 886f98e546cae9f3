#include "fakemx/capture.h"

#include <algorithm>
#include <iterator>
#include <ostream>
#include <utility>

namespace mxkit::fakemx {
namespace {

// What a session costs beyond its text. Approximate by design (the limit is
// "about this much memory", not an allocator audit), but never zero, so a
// flood of empty sessions or of empty transcript lines is bounded by
// max_bytes too, not only by max_sessions.
size_t ParamsBytes(const std::vector<DeliveryParam>& params) {
  size_t n = 0;
  for (const DeliveryParam& p : params) n += sizeof p + p.first.size() + p.second.size();
  return n;
}

size_t TlsBytes(const DeliveryTls& tls) {
  return tls.version.size() + tls.cipher.size() + tls.group.size() +
         (tls.sni ? tls.sni->size() : 0) + tls.certificate.size();
}

size_t SpfBytes(const SpfVerdict& v) {
  return v.result.size() + v.domain.size() + v.mechanism.size() + v.reason.size() +
         v.identity.size();
}

size_t VerdictBytes(const MessageVerdict& v) {
  size_t n = v.client_ip.size() + SpfBytes(v.spf_mail_from) + SpfBytes(v.spf_helo) +
             v.summary.dmarc.size();
  for (const DkimVerdict& d : v.dkim) {
    n += sizeof d + d.result.size() + d.domain.size() + d.selector.size() + d.algorithm.size() +
         d.reason.size() + d.identity.size() + d.header_b.size();
  }
  const DmarcVerdict& m = v.dmarc;
  n += m.result.size() + m.disposition.size() + m.requested_policy.size() +
       m.author_domain.size() + m.policy_domain.size() + m.reason.size();
  return n;
}

// A verdict shared by several messages (CapturedMessage::verdict) is counted
// with each of them: the bound errs on the safe side, and deleting or
// evicting a message takes off exactly what adding it put on.
size_t MessageBytes(const CapturedMessage& m) {
  const Delivery& d = m.delivery;
  size_t n = sizeof m + m.raw.size() + m.maildir_name.size() + VerdictBytes(*m.verdict) +
             d.client_address.size() +
             d.server_hostname.size() + d.helo.size() + TlsBytes(d.tls) + d.reverse_path.size() +
             ParamsBytes(d.mail_params) + d.body.size();
  for (const DeliveryRecipient& r : d.recipients) {
    n += sizeof r + r.address.size() + ParamsBytes(r.params);
  }
  return n;
}

size_t EntryBytes(std::string_view text) { return sizeof(TranscriptEntry) + text.size(); }

// The session's own fields; its transcript and messages are counted as they
// are added.
size_t HeaderBytes(const CapturedSession& s) {
  return sizeof s + s.receiver.size() + s.scenario.size() + s.client_address.size() +
         s.local_address.size() + TlsBytes(s.tls) + s.tls_error.size() + s.end_reason.size();
}

}  // namespace

void CapturedBytes::MoveInto(ByteArena& arena) {
  if (placed_.data() != nullptr || owned_.empty()) return;
  std::optional<ArenaBytes> placed = arena.Copy(owned_);
  if (!placed) return;
  placed_ = std::move(*placed);
  std::string().swap(owned_);
}

std::ostream& operator<<(std::ostream& os, const CapturedBytes& bytes) {
  return os << bytes.view();
}

TranscriptSlice MessageTranscriptSlice(const CapturedSession& session,
                                       const CapturedMessage& message) {
  TranscriptSlice slice;
  slice.total = session.transcript.size();
  // Clamped: an evicted session's transcript has been emptied.
  slice.end = std::min(message.transcript_end.value_or(slice.total), slice.total);
  slice.begin = std::min(message.transcript_begin, slice.end);
  slice.opening = std::min(session.opening_end.value_or(0), slice.begin);
  return slice;
}

CaptureStore::CaptureStore(CaptureLimits limits) : limits_(limits) {}

CaptureStore::~CaptureStore() = default;

CaptureStore::Entry* CaptureStore::Find(const CapturedSession& session) {
  Entry* entry = const_cast<Entry*>(FindId(session.id));
  // The id alone is not enough: a CapturedSession copied out of a handle
  // carries the same id but is not the stored one.
  if (entry == nullptr || entry->session.get() != &session) return nullptr;
  return entry;
}

std::deque<CaptureStore::Entry>::iterator CaptureStore::LowerBound(uint64_t id) {
  // The newest session is the one looked for most (a reused connection's
  // every command, reply and message), and a search over a deque's
  // iterators cost more than its transcript entry: the last entry first.
  if (!entries_.empty() && entries_.back().id <= id) {
    return entries_.back().id == id ? std::prev(entries_.end()) : entries_.end();
  }
  // Ids increase along the deque, with gaps where a session was evicted
  // from the middle.
  return std::lower_bound(entries_.begin(), entries_.end(), id,
                          [](const Entry& e, uint64_t v) { return e.id < v; });
}

const CaptureStore::Entry* CaptureStore::FindId(uint64_t id) const {
  const auto it = const_cast<CaptureStore*>(this)->LowerBound(id);
  if (it == entries_.end() || it->id != id) return nullptr;
  return &*it;
}

void CaptureStore::Account(Entry& entry, size_t bytes) {
  entry.bytes += bytes;
  stats_.bytes += bytes;
}

void CaptureStore::EvictAsNeeded() {
  while (!entries_.empty() &&
         (entries_.size() > limits_.max_sessions || stats_.bytes > limits_.max_bytes)) {
    // The oldest closed session.
    if (!closed_ids_.empty()) {
      Evict(LowerBound(*closed_ids_.begin()));
      continue;
    }
    // Only open sessions left and only the bytes over: their oldest message
    // goes, not a whole session, so a long connection's newest mail is kept.
    if (entries_.size() <= limits_.max_sessions && EvictOldestOpenMessage()) continue;
    // The oldest open session.
    Evict(entries_.begin());
  }
}

bool CaptureStore::EvictOldestOpenMessage() {
  // The session whose first message is the oldest; Entry::messages skips
  // the idle ones (most of 10,000 open connections) without reading them.
  Entry* oldest = nullptr;
  for (Entry& e : entries_) {
    if (e.messages == 0 || e.session->messages.empty()) continue;
    if (oldest == nullptr || e.session->messages.front().id < oldest->session->messages.front().id) {
      oldest = &e;
    }
  }
  if (oldest == nullptr) return false;
  RemoveMessage(*oldest, 0);
  oldest->session->messages_evicted += 1;
  stats_.messages_evicted += 1;
  return true;
}

void CaptureStore::RemoveMessage(Entry& entry, size_t index) {
  std::deque<CapturedMessage>& messages = entry.session->messages;
  const size_t bytes = std::min(MessageBytes(messages[index]), entry.bytes);
  messages.erase(messages.begin() + static_cast<std::ptrdiff_t>(index));
  entry.bytes -= bytes;
  stats_.bytes -= bytes;
  entry.messages -= 1;
  stats_.messages -= 1;
}

void CaptureStore::Evict(std::deque<Entry>::iterator it) {
  Entry& e = *it;
  stats_.bytes -= e.bytes;
  stats_.sessions -= 1;
  stats_.messages -= e.messages;
  stats_.sessions_evicted += 1;
  stats_.messages_evicted += e.messages;
  CapturedSession& s = *e.session;
  s.evicted = true;
  if (!s.ended_at_us) {
    // Its connection keeps the handle: free what the store accounted here,
    // or a long-lived connection would hold it past max_bytes unseen.
    std::deque<CapturedMessage>().swap(s.messages);
    std::deque<TranscriptEntry>().swap(s.transcript);
  }
  closed_ids_.erase(s.id);
  entries_.erase(it);
}

std::shared_ptr<CapturedSession> CaptureStore::Open(CapturedSession session) {
  session.id = next_session_id_++;
  // A caller may hand in a session with messages already in it (none of
  // ours does); they get ids like any other, and are accounted.
  for (CapturedMessage& m : session.messages) {
    m.id = next_message_id_++;
    if (m.verdict == nullptr) m.verdict = NotEvaluatedVerdict();  // as AddMessage
    m.raw.MoveInto(arena_);
  }
  auto handle = std::make_shared<CapturedSession>(std::move(session));
  Entry entry{handle, 0, 0, handle->messages.size()};
  entry.id = handle->id;
  for (const TranscriptEntry& t : handle->transcript) entry.transcript_bytes += t.text.size();
  stats_.sessions_total += 1;
  stats_.sessions += 1;
  stats_.messages_total += handle->messages.size();
  stats_.messages += handle->messages.size();
  if (handle->ended_at_us) closed_ids_.insert(handle->id);
  entries_.push_back(std::move(entry));
  size_t bytes = HeaderBytes(*handle);
  for (const TranscriptEntry& t : handle->transcript) bytes += EntryBytes(t.text);
  for (const CapturedMessage& m : handle->messages) bytes += MessageBytes(m);
  Account(entries_.back(), bytes);
  for (CaptureObserver* o : observers_) o->OnSessionOpened(*handle);
  EvictAsNeeded();
  return handle;
}

void CaptureStore::Append(CapturedSession& session, TranscriptEntry::Kind kind, int64_t offset_us,
                          std::string_view text) {
  Entry* entry = Find(session);
  if (entry == nullptr) return;
  // Indices are of kept entries: a dropped entry marks where it would have
  // been, so a slice's bounds stay right when the bound drops its ends.
  if (kind == TranscriptEntry::Kind::kCommand) entry->last_command = session.transcript.size();
  const bool kept = entry->transcript_bytes + text.size() <= limits_.max_transcript_bytes;
  if (kept) {
    session.transcript.push_back(TranscriptEntry{offset_us, kind, std::string(text)});
    entry->transcript_bytes += text.size();
  } else {
    session.transcript_dropped += 1;
  }
  if (kind == TranscriptEntry::Kind::kReply && entry->final_reply_pending != 0) {
    entry->next_transaction = session.transcript.size();
    // Unless the API deleted it meanwhile.
    if (!session.messages.empty() && session.messages.back().id == entry->final_reply_pending) {
      session.messages.back().transcript_end = entry->next_transaction;
    }
    entry->final_reply_pending = 0;
  }
  if (!kept) return;
  Account(*entry, EntryBytes(text));
  EvictAsNeeded();
}

void CaptureStore::StartTransaction(CapturedSession& session) {
  Entry* entry = Find(session);
  if (entry == nullptr || session.opening_end) return;
  session.opening_end = entry->last_command;
  entry->next_transaction = std::max(entry->next_transaction, entry->last_command);
}

uint64_t CaptureStore::AddMessage(CapturedSession& session, CapturedMessage&& message) {
  message.id = next_message_id_++;
  stats_.messages_total += 1;
  Entry* entry = Find(session);
  if (entry == nullptr) {
    stats_.messages_evicted += 1;
    return message.id;
  }
  const uint64_t id = message.id;
  // Readers take the verdict as never null; a caller that cleared it gets
  // the not-evaluated one rather than a crash later.
  if (message.verdict == nullptr) message.verdict = NotEvaluatedVerdict();
  const size_t bytes = MessageBytes(message);
  message.raw.MoveInto(arena_);
  message.transcript_begin = std::min(entry->next_transaction, session.transcript.size());
  message.transcript_end.reset();
  entry->final_reply_pending = id;
  session.messages.push_back(std::move(message));
  entry->messages += 1;
  stats_.messages += 1;
  Account(*entry, bytes);
  for (CaptureObserver* o : observers_) o->OnMessageAdded(session, session.messages.back());
  EvictAsNeeded();
  return id;
}

void CaptureStore::Close(CapturedSession& session, int64_t ended_at_us, std::string_view reason) {
  session.ended_at_us = ended_at_us;
  session.end_reason = std::string(reason);
  if (Entry* entry = Find(session)) {
    closed_ids_.insert(session.id);
    Account(*entry, reason.size());
    for (CaptureObserver* o : observers_) o->OnSessionClosed(session);
    EvictAsNeeded();
  }
}

std::vector<std::shared_ptr<const CapturedSession>> CaptureStore::Sessions() const {
  std::vector<std::shared_ptr<const CapturedSession>> out;
  out.reserve(entries_.size());
  for (const Entry& e : entries_) out.push_back(e.session);
  return out;
}

std::shared_ptr<const CapturedSession> CaptureStore::Session(uint64_t id) const {
  const Entry* entry = FindId(id);
  if (entry == nullptr) return nullptr;
  return entry->session;
}

CaptureStats CaptureStore::stats() const { return stats_; }

void CaptureStore::Clear() {
  entries_.clear();
  closed_ids_.clear();
  stats_.sessions = 0;
  stats_.messages = 0;
  stats_.bytes = 0;
  for (CaptureObserver* o : observers_) o->OnMessagesDeleted();
}

std::pair<CaptureStore::Entry*, size_t> CaptureStore::FindMessageEntry(uint64_t id) {
  // Message ids increase in each session; sessions interleave, so each is
  // checked by its range first.
  for (Entry& e : entries_) {
    const std::deque<CapturedMessage>& m = e.session->messages;
    if (m.empty() || id < m.front().id || id > m.back().id) continue;
    const auto it = std::lower_bound(m.begin(), m.end(), id,
                                     [](const CapturedMessage& x, uint64_t v) { return x.id < v; });
    if (it != m.end() && it->id == id) return {&e, static_cast<size_t>(it - m.begin())};
  }
  return {nullptr, 0};
}

std::optional<MessageRef> CaptureStore::FindMessage(uint64_t id) const {
  const auto [entry, index] = const_cast<CaptureStore*>(this)->FindMessageEntry(id);
  if (entry == nullptr) return std::nullopt;
  return MessageRef{entry->session, &entry->session->messages[index]};
}

bool CaptureStore::SetRead(uint64_t message_id, bool read) {
  const auto [entry, index] = FindMessageEntry(message_id);
  if (entry == nullptr) return false;
  entry->session->messages[index].read = read;
  return true;
}

bool CaptureStore::DeleteMessage(uint64_t message_id) {
  const auto [entry, index] = FindMessageEntry(message_id);
  if (entry == nullptr) return false;
  RemoveMessage(*entry, index);
  stats_.messages_deleted += 1;
  for (CaptureObserver* o : observers_) o->OnMessagesDeleted();
  return true;
}

void CaptureStore::AddObserver(CaptureObserver* observer) { observers_.push_back(observer); }

void CaptureStore::RemoveObserver(CaptureObserver* observer) {
  observers_.erase(std::remove(observers_.begin(), observers_.end(), observer), observers_.end());
}

}  // namespace mxkit::fakemx
