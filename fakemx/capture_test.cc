#include "fakemx/capture.h"

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

using Kind = TranscriptEntry::Kind;

CapturedSession NewSession(std::string client = "127.0.0.1") {
  CapturedSession s;
  s.receiver = "example.test";
  s.scenario = "good";
  s.started_at_us = 1795000000000000;
  s.client_address = std::move(client);
  s.client_port = 40000;
  s.local_address = "127.0.0.1";
  s.local_port = 2525;
  return s;
}

CapturedMessage NewMessage(size_t size) {
  CapturedMessage m;
  m.delivery.reverse_path = "alice@example.org";
  m.delivery.recipients = {{"bob@example.test", {}}};
  m.raw = std::string(size, 'x');
  return m;
}

// Bytes a fresh store accounts for one session built by `fill`: measured,
// not restated from capture.cc, so the tests pin the accounting's
// consistency (what goes in comes out) rather than its formula.
template <typename Fill>
uint64_t BytesOf(Fill fill) {
  CaptureStore probe;
  std::shared_ptr<CapturedSession> s = probe.Open(NewSession());
  fill(probe, *s);
  return probe.stats().bytes;
}

TEST(CaptureStore, OpenAssignsIncreasingIdsAndIsVisibleAtOnce) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> a = store.Open(NewSession());
  std::shared_ptr<CapturedSession> b = store.Open(NewSession());
  EXPECT_EQ(a->id, 1u);
  EXPECT_EQ(b->id, 2u);
  std::vector<std::shared_ptr<const CapturedSession>> all = store.Sessions();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].get(), a.get());
  EXPECT_EQ(all[1].get(), b.get());
  EXPECT_EQ(store.Session(2).get(), b.get());
  EXPECT_EQ(store.Session(3), nullptr);
  EXPECT_EQ(store.Session(0), nullptr);
  EXPECT_EQ(store.stats().sessions, 2u);
  EXPECT_EQ(store.stats().sessions_total, 2u);
  EXPECT_GT(store.stats().bytes, 0u);
}

TEST(CaptureStore, RecordsTranscriptMessagesAndEnd) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  store.Append(*s, Kind::kReply, 0, "220 mx.example.test ESMTP");
  store.Append(*s, Kind::kCommand, 1500, "EHLO client.test");
  store.Append(*s, Kind::kNote, 1600, "rules[0] reply 250");
  const uint64_t first = store.AddMessage(*s, NewMessage(10));
  const uint64_t second = store.AddMessage(*s, NewMessage(20));
  store.Close(*s, 1795000000100000, "quit");

  std::shared_ptr<const CapturedSession> seen = store.Session(s->id);
  ASSERT_NE(seen, nullptr);
  ASSERT_EQ(seen->transcript.size(), 3u);
  EXPECT_EQ(seen->transcript[1].kind, Kind::kCommand);
  EXPECT_EQ(seen->transcript[1].offset_us, 1500);
  EXPECT_EQ(seen->transcript[1].text, "EHLO client.test");
  ASSERT_EQ(seen->messages.size(), 2u);
  EXPECT_EQ(seen->messages[0].id, first);
  EXPECT_EQ(seen->messages[1].id, second);
  EXPECT_LT(first, second);
  EXPECT_EQ(seen->messages[1].raw.size(), 20u);
  EXPECT_EQ(seen->ended_at_us, 1795000000100000);
  EXPECT_EQ(seen->end_reason, "quit");
  EXPECT_EQ(store.stats().messages, 2u);
  EXPECT_EQ(store.stats().messages_total, 2u);
}

// The newest session is looked up first (LowerBound's fast path); an older
// one, and an id above the newest, must be found (or not) all the same.
TEST(CaptureStore, WritesReachTheNewestAndOlderSessionsAlike) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> a = store.Open(NewSession());
  std::shared_ptr<CapturedSession> b = store.Open(NewSession());
  std::shared_ptr<CapturedSession> c = store.Open(NewSession());
  store.Append(*c, Kind::kCommand, 1, "EHLO c.test");
  store.Append(*a, Kind::kCommand, 2, "EHLO a.test");
  store.Append(*b, Kind::kCommand, 3, "EHLO b.test");
  store.AddMessage(*a, NewMessage(1));
  store.AddMessage(*c, NewMessage(2));
  const std::pair<const std::shared_ptr<CapturedSession>*, std::string> want[] = {
      {&a, "EHLO a.test"}, {&b, "EHLO b.test"}, {&c, "EHLO c.test"}};
  for (const auto& [session, text] : want) {
    std::shared_ptr<const CapturedSession> seen = store.Session((*session)->id);
    ASSERT_EQ(seen.get(), session->get());
    ASSERT_EQ(seen->transcript.size(), 1u);
    EXPECT_EQ(seen->transcript[0].text, text);
  }
  EXPECT_EQ(a->messages.size(), 1u);
  EXPECT_EQ(b->messages.size(), 0u);
  EXPECT_EQ(c->messages.size(), 1u);
  EXPECT_EQ(store.Session(c->id + 1), nullptr);
}

TEST(CaptureStore, MessageIdsAreUniqueAcrossSessions) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> a = store.Open(NewSession());
  std::shared_ptr<CapturedSession> b = store.Open(NewSession());
  const uint64_t ids[] = {store.AddMessage(*a, NewMessage(1)), store.AddMessage(*b, NewMessage(1)),
                          store.AddMessage(*a, NewMessage(1))};
  EXPECT_LT(ids[0], ids[1]);
  EXPECT_LT(ids[1], ids[2]);
}

// CapturedMessage::verdict is never null in the store, also when a caller
// cleared it: readers (the API, the UI) dereference it.
TEST(CaptureStore, AClearedVerdictIsStoredAsNotEvaluated) {
  CaptureStore store;
  CapturedSession with_message = NewSession();
  with_message.messages.push_back(NewMessage(1));
  with_message.messages.back().verdict = nullptr;
  std::shared_ptr<CapturedSession> a = store.Open(std::move(with_message));
  CapturedMessage m = NewMessage(1);
  m.verdict = nullptr;
  store.AddMessage(*a, std::move(m));
  ASSERT_EQ(a->messages.size(), 2u);
  for (const CapturedMessage& stored : a->messages) {
    ASSERT_NE(stored.verdict, nullptr);
    EXPECT_FALSE(stored.verdict->evaluated);
    EXPECT_EQ(stored.verdict, NotEvaluatedVerdict());
  }
}

TEST(CaptureStore, EvictsOldestBeyondMaxSessionsAndCountsIt) {
  CaptureStore store({.max_sessions = 2});
  std::shared_ptr<CapturedSession> a = store.Open(NewSession());
  store.AddMessage(*a, NewMessage(5));
  store.AddMessage(*a, NewMessage(5));
  std::shared_ptr<CapturedSession> b = store.Open(NewSession());
  std::shared_ptr<CapturedSession> c = store.Open(NewSession());

  EXPECT_EQ(store.Session(a->id), nullptr);
  std::vector<std::shared_ptr<const CapturedSession>> all = store.Sessions();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0]->id, b->id);
  EXPECT_EQ(all[1]->id, c->id);
  const CaptureStats stats = store.stats();
  EXPECT_EQ(stats.sessions, 2u);
  EXPECT_EQ(stats.sessions_total, 3u);
  EXPECT_EQ(stats.sessions_evicted, 1u);
  EXPECT_EQ(stats.messages, 0u);
  EXPECT_EQ(stats.messages_evicted, 2u);
  EXPECT_EQ(stats.messages_total, 2u);
}

TEST(CaptureStore, EvictsOldestClosedSessionBeyondMaxBytes) {
  const uint64_t one = BytesOf([](CaptureStore& store, CapturedSession& s) {
    store.AddMessage(s, NewMessage(1000));
    store.Close(s, 1, "quit");
  });
  // Room for two such sessions, not three.
  CaptureStore store({.max_bytes = static_cast<size_t>(2 * one + one / 2)});
  std::vector<std::shared_ptr<CapturedSession>> handles;
  for (int i = 0; i < 3; ++i) {
    handles.push_back(store.Open(NewSession()));
    store.AddMessage(*handles.back(), NewMessage(1000));
    store.Close(*handles.back(), 1, "quit");
  }
  EXPECT_EQ(store.Session(handles[0]->id), nullptr);
  EXPECT_NE(store.Session(handles[1]->id), nullptr);
  EXPECT_NE(store.Session(handles[2]->id), nullptr);
  EXPECT_EQ(store.stats().bytes, 2 * one);
  EXPECT_EQ(store.stats().sessions_evicted, 1u);
  EXPECT_EQ(store.stats().messages_evicted, 1u);
}

TEST(CaptureStore, AMessageLargerThanMaxBytesEvictsItselfNotItsSession) {
  CaptureStore store({.max_bytes = 4096});
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  const uint64_t empty = store.stats().bytes;
  store.AddMessage(*s, NewMessage(10000));
  EXPECT_EQ(store.Session(s->id).get(), s.get());
  EXPECT_FALSE(s->evicted);
  EXPECT_TRUE(s->messages.empty());
  EXPECT_EQ(s->messages_evicted, 1u);
  EXPECT_EQ(store.stats().bytes, empty);
  EXPECT_EQ(store.stats().sessions, 1u);
  EXPECT_EQ(store.stats().messages, 0u);
  EXPECT_EQ(store.stats().messages_evicted, 1u);
  EXPECT_EQ(store.stats().sessions_evicted, 0u);
  // The session still records what follows.
  store.AddMessage(*s, NewMessage(100));
  EXPECT_EQ(s->messages.size(), 1u);
}

// One connection that stays, sending more than the store holds (a sender
// reusing its connection, or a test's long smtp-source -d run): the store
// keeps its newest messages, evicting the oldest one at a time, rather than
// evicting the session and with it every message that follows.
TEST(CaptureStore, ALongOpenSessionKeepsItsNewestMessages) {
  const uint64_t one = BytesOf([](CaptureStore& store, CapturedSession& s) {
    store.AddMessage(s, NewMessage(1000));
  });
  const uint64_t empty = BytesOf([](CaptureStore&, CapturedSession&) {});
  const uint64_t per_message = one - empty;
  CaptureStore store({.max_bytes = static_cast<size_t>(empty + 10 * per_message)});
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  std::vector<uint64_t> ids;
  for (int i = 0; i < 100; ++i) ids.push_back(store.AddMessage(*s, NewMessage(1000)));

  EXPECT_FALSE(s->evicted);
  ASSERT_EQ(s->messages.size(), 10u);
  for (size_t i = 0; i < 10; ++i) EXPECT_EQ(s->messages[i].id, ids[90 + i]);
  EXPECT_EQ(s->messages_evicted, 90u);
  const CaptureStats stats = store.stats();
  EXPECT_EQ(stats.messages, 10u);
  EXPECT_EQ(stats.messages_total, 100u);
  EXPECT_EQ(stats.messages_evicted, 90u);
  EXPECT_EQ(stats.sessions_evicted, 0u);
  EXPECT_EQ(stats.bytes, empty + 10 * per_message);
  EXPECT_FALSE(store.FindMessage(ids[89]).has_value());
  EXPECT_TRUE(store.FindMessage(ids[90]).has_value());
}

// With several open sessions, the oldest message goes first, whichever
// session holds it; closed sessions go before any open session's message.
TEST(CaptureStore, EvictsClosedSessionsThenTheOldestOpenMessage) {
  const uint64_t one = BytesOf([](CaptureStore& store, CapturedSession& s) {
    store.AddMessage(s, NewMessage(4000));
  });
  const uint64_t empty = BytesOf([](CaptureStore&, CapturedSession&) {});
  const uint64_t per_message = one - empty;
  // Three sessions, four messages and one close reason ("quit"): a fifth
  // message is over. A message is far larger than a session without one.
  ASSERT_GT(per_message, 2 * empty);
  CaptureStore store({.max_bytes = static_cast<size_t>(3 * empty + 4 * per_message + 4)});
  std::shared_ptr<CapturedSession> a = store.Open(NewSession());
  std::shared_ptr<CapturedSession> b = store.Open(NewSession());
  std::shared_ptr<CapturedSession> closed = store.Open(NewSession());
  const uint64_t b1 = store.AddMessage(*b, NewMessage(4000));
  const uint64_t a1 = store.AddMessage(*a, NewMessage(4000));
  const uint64_t c1 = store.AddMessage(*closed, NewMessage(4000));
  store.Close(*closed, 1, "quit");
  const uint64_t a2 = store.AddMessage(*a, NewMessage(4000));
  EXPECT_EQ(store.stats().sessions_evicted, 0u);
  // Over the bound: the closed session goes, although b1 and a1 are older.
  const uint64_t b2 = store.AddMessage(*b, NewMessage(4000));
  EXPECT_EQ(store.Session(closed->id), nullptr);
  EXPECT_FALSE(store.FindMessage(c1).has_value());
  EXPECT_TRUE(store.FindMessage(b1).has_value());
  // Over again, nothing closed: b1, the oldest message, in the newer session.
  const uint64_t a3 = store.AddMessage(*a, NewMessage(4000));
  EXPECT_FALSE(store.FindMessage(b1).has_value());
  for (uint64_t id : {a1, a2, b2, a3}) EXPECT_TRUE(store.FindMessage(id).has_value()) << id;
  // Then a1, in the older one.
  store.AddMessage(*b, NewMessage(4000));
  EXPECT_FALSE(store.FindMessage(a1).has_value());
  EXPECT_TRUE(store.FindMessage(a2).has_value());
  EXPECT_EQ(a->messages_evicted, 1u);
  EXPECT_EQ(b->messages_evicted, 1u);
  EXPECT_FALSE(a->evicted);
  EXPECT_FALSE(b->evicted);
  EXPECT_EQ(store.stats().sessions_evicted, 1u);
  EXPECT_EQ(store.stats().messages_evicted, 3u);
  EXPECT_EQ(store.stats().messages, 4u);
}

TEST(CaptureStore, MaxSessionsZeroKeepsNothingButCounts) {
  CaptureStore store({.max_sessions = 0});
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  ASSERT_NE(s, nullptr);
  store.Append(*s, Kind::kCommand, 0, "HELO x");
  store.AddMessage(*s, NewMessage(10));
  EXPECT_TRUE(store.Sessions().empty());
  const CaptureStats stats = store.stats();
  EXPECT_EQ(stats.bytes, 0u);
  EXPECT_EQ(stats.sessions_total, 1u);
  EXPECT_EQ(stats.sessions_evicted, 1u);
  EXPECT_EQ(stats.messages_total, 1u);
  EXPECT_EQ(stats.messages_evicted, 1u);
}

// The driver keeps writing through its handle after the session has been
// evicted; none of it may reach the accounting (counted twice, or never
// subtracted) nor grow the evicted session.
TEST(CaptureStore, WritesThroughAnEvictedHandleAreNotAccounted) {
  CaptureStore store({.max_sessions = 1});
  std::shared_ptr<CapturedSession> old = store.Open(NewSession());
  store.Append(*old, Kind::kCommand, 0, "EHLO a");
  std::shared_ptr<CapturedSession> current = store.Open(NewSession());
  const CaptureStats before = store.stats();

  store.Append(*old, Kind::kCommand, 10, "MAIL FROM:<a@b>");
  const uint64_t id = store.AddMessage(*old, NewMessage(100000));
  store.Close(*old, 2, "quit");

  EXPECT_GT(id, 0u);
  // Evicted while open: what it held was freed, and nothing came back.
  EXPECT_TRUE(old->evicted);
  EXPECT_TRUE(old->transcript.empty());
  EXPECT_TRUE(old->messages.empty());
  EXPECT_EQ(old->end_reason, "quit");
  const CaptureStats after = store.stats();
  EXPECT_EQ(after.bytes, before.bytes);
  EXPECT_EQ(after.sessions, 1u);
  EXPECT_EQ(after.messages, 0u);
  EXPECT_EQ(after.messages_total, before.messages_total + 1);
  EXPECT_EQ(after.messages_evicted, before.messages_evicted + 1);
  EXPECT_EQ(after.sessions_evicted, 1u);  // not again
}

// Whatever a session went through, evicting it returns exactly what it
// added: after the last session goes, the store accounts nothing.
TEST(CaptureStore, AccountingReturnsToZeroAfterEveryKindOfWrite) {
  CaptureStore store({.max_sessions = 3, .max_transcript_bytes = 64});
  std::vector<std::shared_ptr<CapturedSession>> handles;
  for (int i = 0; i < 50; ++i) {
    handles.push_back(store.Open(NewSession(std::string(i % 7, 'a'))));
    CapturedSession& s = *handles.back();
    for (int j = 0; j < i % 5; ++j) {
      store.Append(s, Kind::kCommand, j, std::string(static_cast<size_t>(j * 13), 'c'));
      store.AddMessage(s, NewMessage(static_cast<size_t>(i * j)));
    }
    // The owner edits the session directly too (the struct is public).
    s.tls_error = std::string(static_cast<size_t>(i), 'e');
    s.messages.push_back(NewMessage(3));
    if (i % 2 == 0) store.Close(s, i, "client closed");
    // Writes through older, evicted handles.
    if (i >= 5) {
      store.Append(*handles[static_cast<size_t>(i - 5)], Kind::kReply, 0, "250 ok");
      store.AddMessage(*handles[static_cast<size_t>(i - 5)], NewMessage(7));
    }
  }
  EXPECT_EQ(store.stats().sessions, 3u);
  for (int i = 0; i < 3; ++i) store.Open(NewSession());  // pushes out the last written ones
  for (const auto& s : store.Sessions()) {
    EXPECT_TRUE(s->messages.empty());
    EXPECT_TRUE(s->transcript.empty());
  }
  const uint64_t empty_session = BytesOf([](CaptureStore&, CapturedSession&) {});
  EXPECT_EQ(store.stats().bytes, 3 * empty_session);
  EXPECT_EQ(store.stats().messages, 0u);
  EXPECT_EQ(store.stats().sessions_evicted, 50u);
  EXPECT_EQ(store.stats().messages_total, store.stats().messages_evicted);
}

TEST(CaptureStore, TranscriptIsBoundedPerSessionAndCountsWhatItDrops) {
  CaptureStore store({.max_transcript_bytes = 10});
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  store.Append(*s, Kind::kCommand, 0, "NOOP");    // 4
  store.Append(*s, Kind::kReply, 1, "250 ok");    // 10
  store.Append(*s, Kind::kCommand, 2, "N");       // 11: dropped
  store.Append(*s, Kind::kCommand, 3, "");        // still fits
  store.Append(*s, Kind::kCommand, 4, "NOOP NOOP NOOP");  // dropped
  ASSERT_EQ(s->transcript.size(), 3u);
  EXPECT_EQ(s->transcript[2].offset_us, 3);
  EXPECT_EQ(s->transcript_dropped, 2u);
  // Messages are not transcript: they still go in.
  store.AddMessage(*s, NewMessage(100));
  EXPECT_EQ(s->messages.size(), 1u);
}

TEST(CaptureStore, ClearForgetsSessionsButKeepsTotals) {
  CaptureStore store({.max_sessions = 2});
  std::shared_ptr<CapturedSession> a = store.Open(NewSession());
  store.AddMessage(*a, NewMessage(10));
  std::shared_ptr<CapturedSession> b = store.Open(NewSession());
  std::shared_ptr<CapturedSession> c = store.Open(NewSession());  // evicts a
  store.Clear();

  CaptureStats stats = store.stats();
  EXPECT_EQ(stats.sessions, 0u);
  EXPECT_EQ(stats.messages, 0u);
  EXPECT_EQ(stats.bytes, 0u);
  EXPECT_EQ(stats.sessions_total, 3u);
  EXPECT_EQ(stats.sessions_evicted, 1u);
  EXPECT_EQ(stats.messages_total, 1u);
  EXPECT_TRUE(store.Sessions().empty());
  EXPECT_EQ(store.Session(b->id), nullptr);

  // A handle held across Clear() writes nowhere; new sessions carry on.
  store.Append(*c, Kind::kCommand, 0, "RSET");
  EXPECT_EQ(store.stats().bytes, 0u);
  std::shared_ptr<CapturedSession> d = store.Open(NewSession());
  EXPECT_EQ(d->id, 4u);
  EXPECT_EQ(store.Session(4).get(), d.get());
  EXPECT_EQ(store.stats().sessions_total, 4u);
}

// A copy of a stored session has its id but is not the stored one: writes
// to it must not be accounted against the original.
TEST(CaptureStore, WritesToACopyAreNotAccounted) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  CapturedSession copy = *s;
  const uint64_t before = store.stats().bytes;
  store.Append(copy, Kind::kCommand, 0, "QUIT");
  store.AddMessage(copy, NewMessage(10));
  EXPECT_EQ(store.stats().bytes, before);
  EXPECT_TRUE(s->transcript.empty());
  EXPECT_TRUE(s->messages.empty());
}

TEST(CaptureStore, EvictsClosedSessionsBeforeOpenOnes) {
  CaptureStore store({.max_sessions = 3});
  std::shared_ptr<CapturedSession> long_lived = store.Open(NewSession());
  std::shared_ptr<CapturedSession> first_closed = store.Open(NewSession());
  std::shared_ptr<CapturedSession> second_closed = store.Open(NewSession());
  store.Close(*second_closed, 2, "quit");
  store.Close(*first_closed, 3, "quit");  // closed later, but opened earlier

  std::shared_ptr<CapturedSession> fourth = store.Open(NewSession());
  EXPECT_EQ(store.Session(first_closed->id), nullptr);
  EXPECT_NE(store.Session(long_lived->id), nullptr);
  EXPECT_NE(store.Session(second_closed->id), nullptr);
  // A closed session is only dropped: a reader holding it keeps it whole.
  EXPECT_TRUE(first_closed->evicted);
  EXPECT_EQ(first_closed->end_reason, "quit");

  store.Open(NewSession());
  EXPECT_EQ(store.Session(second_closed->id), nullptr);
  EXPECT_NE(store.Session(long_lived->id), nullptr);
  // No closed session left: the oldest open one goes.
  store.Open(NewSession());
  EXPECT_EQ(store.Session(long_lived->id), nullptr);
  EXPECT_TRUE(long_lived->evicted);
  std::vector<std::shared_ptr<const CapturedSession>> all = store.Sessions();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].get(), fourth.get());
  EXPECT_LT(all[0]->id, all[1]->id);
  EXPECT_LT(all[1]->id, all[2]->id);
  EXPECT_EQ(store.stats().sessions_evicted, 3u);
  // Lookups still find every session left after evictions from the middle.
  for (const auto& s : all) EXPECT_EQ(store.Session(s->id).get(), s.get());
}

// Long-lived connections keep their handles: evicting their sessions must
// free the bodies, so what all handles hold stays within max_bytes.
TEST(CaptureStore, OpenSessionsHoldNoMoreThanMaxBytesThroughTheirHandles) {
  const size_t max_bytes = 64 * 1024;
  CaptureStore store({.max_bytes = max_bytes});
  std::vector<std::shared_ptr<CapturedSession>> open;
  for (int i = 0; i < 20; ++i) open.push_back(store.Open(NewSession()));
  for (int round = 0; round < 30; ++round) {
    for (auto& s : open) {
      store.Append(*s, Kind::kCommand, round, "MAIL FROM:<alice@example.org>");
      store.AddMessage(*s, NewMessage(1024));
    }
  }
  size_t held = 0;
  for (const auto& s : open) {
    for (const CapturedMessage& m : s->messages) held += m.raw.size() + m.raw.heap_capacity();
    for (const TranscriptEntry& t : s->transcript) held += t.text.capacity();
    if (s->evicted) {
      // Swapped with empty deques: only a new deque's fixed first block is left.
      EXPECT_TRUE(s->messages.empty());
      EXPECT_TRUE(s->transcript.empty());
    }
  }
  EXPECT_LE(held, max_bytes);
  EXPECT_LE(store.stats().bytes, max_bytes);
  // Their oldest messages went, not the sessions.
  EXPECT_GT(store.stats().messages_evicted, 0u);
  EXPECT_EQ(store.stats().sessions_evicted, 0u);
  EXPECT_FALSE(open.back()->messages.empty());  // the newest message is kept
}

// Idle open sessions (no messages) over max_bytes: no message to evict, so
// the oldest session goes whole, as before.
TEST(CaptureStore, OpenSessionsWithoutMessagesAreEvictedWhole) {
  const uint64_t empty = BytesOf([](CaptureStore&, CapturedSession&) {});
  CaptureStore store({.max_bytes = static_cast<size_t>(2 * empty + empty / 2)});
  std::shared_ptr<CapturedSession> a = store.Open(NewSession());
  std::shared_ptr<CapturedSession> b = store.Open(NewSession());
  std::shared_ptr<CapturedSession> c = store.Open(NewSession());
  EXPECT_TRUE(a->evicted);
  EXPECT_EQ(store.Session(a->id), nullptr);
  EXPECT_NE(store.Session(b->id), nullptr);
  EXPECT_NE(store.Session(c->id), nullptr);
  EXPECT_EQ(store.stats().sessions_evicted, 1u);
}

TEST(CaptureStore, FindsMessagesByIdAcrossInterleavedSessions) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> a = store.Open(NewSession());
  std::shared_ptr<CapturedSession> b = store.Open(NewSession());
  const uint64_t a1 = store.AddMessage(*a, NewMessage(10));
  const uint64_t b1 = store.AddMessage(*b, NewMessage(20));
  const uint64_t a2 = store.AddMessage(*a, NewMessage(30));
  for (const auto& [id, session, size] :
       {std::tuple{a1, a.get(), 10u}, {b1, b.get(), 20u}, {a2, a.get(), 30u}}) {
    std::optional<MessageRef> ref = store.FindMessage(id);
    ASSERT_TRUE(ref.has_value()) << id;
    EXPECT_EQ(ref->session.get(), session);
    EXPECT_EQ(ref->message->id, id);
    EXPECT_EQ(ref->message->raw.size(), size);
  }
  EXPECT_FALSE(store.FindMessage(0).has_value());
  EXPECT_FALSE(store.FindMessage(a2 + 1).has_value());
}

TEST(CaptureStore, SetReadAndDeleteMessageKeepTheAccounting) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  const uint64_t before = store.stats().bytes;
  const uint64_t first = store.AddMessage(*s, NewMessage(100));
  const uint64_t second = store.AddMessage(*s, NewMessage(200));
  EXPECT_TRUE(store.SetRead(first, true));
  EXPECT_TRUE(store.FindMessage(first)->message->read);
  EXPECT_FALSE(store.FindMessage(second)->message->read);
  EXPECT_FALSE(store.SetRead(second + 1, true));

  EXPECT_TRUE(store.DeleteMessage(first));
  EXPECT_FALSE(store.DeleteMessage(first));
  EXPECT_FALSE(store.FindMessage(first).has_value());
  ASSERT_EQ(s->messages.size(), 1u);
  EXPECT_EQ(s->messages[0].id, second);
  EXPECT_EQ(store.stats().messages, 1u);
  EXPECT_EQ(store.stats().messages_deleted, 1u);
  EXPECT_TRUE(store.DeleteMessage(second));
  EXPECT_EQ(store.stats().messages, 0u);
  EXPECT_EQ(store.stats().bytes, before);
  EXPECT_EQ(store.stats().sessions, 1u);
}

class RecordingObserver : public CaptureObserver {
 public:
  void OnSessionOpened(const CapturedSession& s) override {
    events.push_back("open " + std::to_string(s.id));
  }
  void OnMessageAdded(const CapturedSession& s, const CapturedMessage& m) override {
    events.push_back("message " + std::to_string(s.id) + "/" + std::to_string(m.id) + " " +
                     std::to_string(m.raw.size()));
  }
  void OnSessionClosed(const CapturedSession& s) override {
    events.push_back("close " + std::to_string(s.id) + " " + s.end_reason);
  }
  void OnMessagesDeleted() override { events.push_back("deleted"); }
  std::vector<std::string> events;
};

TEST(CaptureStore, ObserversHearEveryChangeInOrder) {
  CaptureStore store;
  RecordingObserver observer;
  store.AddObserver(&observer);
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  const uint64_t id = store.AddMessage(*s, NewMessage(5));
  store.Close(*s, 1795000000000001, "quit");
  store.DeleteMessage(id);
  store.Clear();
  store.RemoveObserver(&observer);
  store.Open(NewSession());
  EXPECT_EQ(observer.events,
            (std::vector<std::string>{"open 1", "message 1/1 5", "close 1 quit", "deleted",
                                      "deleted"}));
}

TEST(CaptureStore, AMessageIsAnnouncedBeforeTheEvictionItCauses) {
  // A single message larger than max_bytes evicts itself; the observer
  // still hears of it while the reference is valid.
  CaptureStore store({.max_sessions = 10, .max_bytes = 1000});
  RecordingObserver observer;
  store.AddObserver(&observer);
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  store.AddMessage(*s, NewMessage(5000));
  ASSERT_EQ(observer.events.size(), 2u);
  EXPECT_EQ(observer.events[1], "message 1/1 5000");
  EXPECT_TRUE(s->messages.empty());
  EXPECT_EQ(s->messages_evicted, 1u);
  EXPECT_FALSE(store.FindMessage(1).has_value());
}

// Feeds a session as the server records it: the command, then (for an
// accepted MAIL FROM) StartTransaction, a message's event before its final
// reply, and a rule note between them.
class SessionScript {
 public:
  SessionScript(CaptureStore& store, CapturedSession& session) : store_(store), s_(session) {}
  void Command(std::string_view line) { store_.Append(s_, Kind::kCommand, 0, line); }
  void Reply(std::string_view text) { store_.Append(s_, Kind::kReply, 0, text); }
  void Opening() {
    Reply("220 hi");
    Command("EHLO client");
    Reply("250 ok");
  }
  void Mail() {
    Command("MAIL FROM:<a@example.org>");
    store_.StartTransaction(s_);
    Reply("250 ok");
  }
  // A whole transaction whose message is accepted.
  void Transaction() {
    Mail();
    Command("RCPT TO:<b@example.test>");
    Reply("250 ok");
    Command("DATA");
    Reply("354 go");
    store_.AddMessage(s_, NewMessage(10));
    store_.Append(s_, Kind::kNote, 0, "rules[0] accept");
    Reply("250 queued");
  }

 private:
  CaptureStore& store_;
  CapturedSession& s_;
};

std::vector<std::string> SliceTexts(const CapturedSession& s, const TranscriptSlice& slice) {
  std::vector<std::string> out;
  for (size_t i = 0; i < slice.opening; ++i) out.push_back(s.transcript[i].text);
  if (slice.omitted_before() > 0) out.push_back("...");
  for (size_t i = slice.begin; i < slice.end; ++i) out.push_back(s.transcript[i].text);
  return out;
}

TEST(CaptureStore, FirstMessageSliceIsTheOpeningAndItsTransactionWithNothingLeftOut) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  SessionScript script(store, *s);
  script.Opening();
  script.Transaction();
  script.Command("QUIT");
  script.Reply("221 bye");
  ASSERT_EQ(s->messages.size(), 1u);
  const TranscriptSlice slice = MessageTranscriptSlice(*s, s->messages[0]);
  EXPECT_EQ(s->opening_end, 3u);
  EXPECT_EQ(slice.opening, 3u);
  EXPECT_EQ(slice.begin, 3u);
  EXPECT_EQ(slice.end, 11u);
  EXPECT_EQ(slice.total, 13u);
  EXPECT_EQ(slice.omitted_before(), 0u);
  EXPECT_EQ(slice.omitted_after(), 2u);
  EXPECT_EQ(s->transcript[slice.end - 1].text, "250 queued");
}

TEST(CaptureStore, LaterMessageOnAReusedConnectionGetsTheOpeningAndOnlyItsOwnTransaction) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  SessionScript script(store, *s);
  script.Opening();
  for (int i = 0; i < 3; ++i) script.Transaction();
  ASSERT_EQ(s->messages.size(), 3u);
  const TranscriptSlice third = MessageTranscriptSlice(*s, s->messages[2]);
  EXPECT_EQ(third.opening, 3u);
  EXPECT_EQ(third.begin, 3u + 2 * 8);
  EXPECT_EQ(third.end, 3u + 3 * 8);
  EXPECT_EQ(third.omitted_before(), 16u);
  EXPECT_EQ(third.omitted_after(), 0u);
  EXPECT_EQ(SliceTexts(*s, third),
            (std::vector<std::string>{"220 hi", "EHLO client", "250 ok", "...",
                                      "MAIL FROM:<a@example.org>", "250 ok",
                                      "RCPT TO:<b@example.test>", "250 ok", "DATA", "354 go",
                                      "rules[0] accept", "250 queued"}));
  // The slices tile the session after its opening.
  const TranscriptSlice second = MessageTranscriptSlice(*s, s->messages[1]);
  EXPECT_EQ(second.end, third.begin);
}

TEST(CaptureStore, ARsetAndAFailedTransactionBelongToTheNextMessage) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  SessionScript script(store, *s);
  script.Opening();
  script.Transaction();
  script.Command("RSET");
  script.Reply("250 reset");
  script.Mail();
  script.Command("RCPT TO:<nobody@example.test>");
  script.Reply("550 no");
  script.Command("RSET");
  script.Reply("250 reset");
  script.Transaction();
  const TranscriptSlice second = MessageTranscriptSlice(*s, s->messages[1]);
  EXPECT_EQ(s->transcript[second.begin].text, "RSET");
  EXPECT_EQ(second.omitted_before(), 8u);  // the first transaction
  EXPECT_EQ(second.end - second.begin, 2u + 6u + 8u);
  EXPECT_EQ(s->transcript[second.end - 1].text, "250 queued");
}

TEST(CaptureStore, MessageSliceStaysRightWhenTheTranscriptBoundDropsEntries) {
  // Room for the opening and the first transaction, not much more.
  CaptureStore store({.max_transcript_bytes = 120});
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  SessionScript script(store, *s);
  script.Opening();
  script.Transaction();
  script.Transaction();
  script.Transaction();
  ASSERT_GT(s->transcript_dropped, 0u);
  ASSERT_EQ(s->messages.size(), 3u);
  const TranscriptSlice first = MessageTranscriptSlice(*s, s->messages[0]);
  EXPECT_EQ(first.begin, 3u);
  EXPECT_EQ(s->transcript[first.end - 1].text, "250 queued");
  // Later slices lie within what was kept, in order, and tile it.
  const TranscriptSlice second = MessageTranscriptSlice(*s, s->messages[1]);
  const TranscriptSlice third = MessageTranscriptSlice(*s, s->messages[2]);
  EXPECT_EQ(second.begin, first.end);
  EXPECT_LE(second.end, s->transcript.size());
  EXPECT_EQ(third.begin, second.end);
  EXPECT_EQ(third.end, s->transcript.size());
  EXPECT_EQ(third.end, third.total);
  EXPECT_EQ(third.opening, 3u);
}

TEST(CaptureStore, AMessageAwaitingItsFinalReplyEndsAtTheTranscriptsEnd) {
  CaptureStore store;
  std::shared_ptr<CapturedSession> s = store.Open(NewSession());
  SessionScript script(store, *s);
  script.Opening();
  script.Mail();
  store.AddMessage(*s, NewMessage(10));
  EXPECT_FALSE(s->messages[0].transcript_end.has_value());
  const TranscriptSlice slice = MessageTranscriptSlice(*s, s->messages[0]);
  EXPECT_EQ(slice.end, s->transcript.size());
  script.Reply("250 queued");
  EXPECT_EQ(s->messages[0].transcript_end, s->transcript.size());
}

}  // namespace
}  // namespace mxkit::fakemx
