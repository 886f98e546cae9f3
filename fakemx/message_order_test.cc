#include "fakemx/message_order.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace mxkit::fakemx {
namespace {

// Each row: the session (by index into the opened ones) that each message in
// turn is added to, and which are deleted after; the walk must give ids in
// order whatever the interleaving.
struct Row {
  std::string name;
  int sessions;
  std::vector<int> adds;
  std::vector<uint64_t> deleted;
};

std::vector<uint64_t> Walk(const CaptureStore& store, ListOrder order) {
  const auto sessions = store.Sessions();
  MessageWalk walk(sessions, order);
  std::vector<uint64_t> ids;
  for (MessageWalk::Item it = walk.Next(); it.message != nullptr; it = walk.Next()) {
    EXPECT_NE(it.session, nullptr);
    ids.push_back(it.message->id);
  }
  return ids;
}

TEST(MessageWalk, GivesEveryMessageOnceInIdOrderAcrossInterleavedSessions) {
  const Row rows[] = {
      {"empty store", 0, {}, {}},
      {"sessions without messages", 3, {}, {}},
      {"one session", 1, {0, 0, 0}, {}},
      {"sessions in turn", 3, {0, 1, 2}, {}},
      {"a long first session holds the newest", 3, {0, 1, 2, 0, 0}, {}},
      {"interleaved", 4, {3, 0, 2, 1, 0, 3, 3, 1, 2, 0}, {}},
      {"with gaps from deletion", 3, {0, 1, 2, 0, 1, 2}, {2, 4, 6}},
  };
  for (const Row& row : rows) {
    CaptureStore store;
    std::vector<std::shared_ptr<CapturedSession>> open;
    for (int i = 0; i < row.sessions; ++i) open.push_back(store.Open(CapturedSession{}));
    for (int s : row.adds) store.AddMessage(*open[s], CapturedMessage{});
    for (uint64_t id : row.deleted) ASSERT_TRUE(store.DeleteMessage(id)) << row.name;
    std::vector<uint64_t> want;
    for (uint64_t id = 1; id <= row.adds.size(); ++id) {
      if (std::find(row.deleted.begin(), row.deleted.end(), id) == row.deleted.end()) {
        want.push_back(id);
      }
    }
    EXPECT_EQ(Walk(store, ListOrder::kOldestFirst), want) << row.name;
    std::reverse(want.begin(), want.end());
    EXPECT_EQ(Walk(store, ListOrder::kNewestFirst), want) << row.name;
  }
}

TEST(MessageWalk, ParsesOnlyTheTwoOrderWords) {
  EXPECT_EQ(ParseListOrder("oldest"), ListOrder::kOldestFirst);
  EXPECT_EQ(ParseListOrder("newest"), ListOrder::kNewestFirst);
  for (std::string_view bad : {"", "Newest", "desc", "newest ", "old"}) {
    EXPECT_EQ(ParseListOrder(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace mxkit::fakemx
