// The stored messages in id order (ids increase as messages arrive), oldest
// or newest first, without copying or sorting them: the API's lists take a
// page of 50 out of thousands per request.
//
// A session's messages are in id order, but sessions interleave (a long
// connection's third message may be newer than the next connection's
// first), so walking sessions back to front is not enough. The walk merges
// the sessions' message lists through a heap keyed by each list's next id:
// O(S) to start, O(log S) per message taken, nothing per message skipped.

#ifndef MXKIT_FAKEMX_MESSAGE_ORDER_H_
#define MXKIT_FAKEMX_MESSAGE_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "fakemx/capture.h"

namespace mxkit::fakemx {

enum class ListOrder { kOldestFirst, kNewestFirst };

// "oldest" or "newest"; nullopt for anything else.
std::optional<ListOrder> ParseListOrder(std::string_view text);

class MessageWalk {
 public:
  // `sessions` (CaptureStore::Sessions(), oldest first) must outlive the walk.
  MessageWalk(const std::vector<std::shared_ptr<const CapturedSession>>& sessions,
              ListOrder order);

  // The next message in the order, with its session; nullptr at the end.
  // The pointers stay valid while `sessions` holds the sessions.
  struct Item {
    const CapturedSession* session = nullptr;
    const CapturedMessage* message = nullptr;
  };
  Item Next();

 private:
  struct Cursor {
    const CapturedSession* session;
    size_t next;  // index of the next message to give (newest: one past it)
  };
  uint64_t NextId(const Cursor& c) const;
  bool Before(const Cursor& a, const Cursor& b) const;  // heap order: b comes first

  ListOrder order_;
  std::vector<Cursor> heap_;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_MESSAGE_ORDER_H_
