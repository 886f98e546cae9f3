#include "fakemx/message_order.h"

#include <algorithm>

namespace mxkit::fakemx {

std::optional<ListOrder> ParseListOrder(std::string_view text) {
  if (text == "oldest") return ListOrder::kOldestFirst;
  if (text == "newest") return ListOrder::kNewestFirst;
  return std::nullopt;
}

MessageWalk::MessageWalk(const std::vector<std::shared_ptr<const CapturedSession>>& sessions,
                         ListOrder order)
    : order_(order) {
  heap_.reserve(sessions.size());
  for (const auto& s : sessions) {
    if (s->messages.empty()) continue;
    heap_.push_back({s.get(), order == ListOrder::kNewestFirst ? s->messages.size() : 0});
  }
  std::make_heap(heap_.begin(), heap_.end(),
                 [this](const Cursor& a, const Cursor& b) { return Before(a, b); });
}

uint64_t MessageWalk::NextId(const Cursor& c) const {
  return order_ == ListOrder::kNewestFirst ? c.session->messages[c.next - 1].id
                                           : c.session->messages[c.next].id;
}

bool MessageWalk::Before(const Cursor& a, const Cursor& b) const {
  // std::*_heap keep the greatest first: "greatest" is the next to give.
  return order_ == ListOrder::kNewestFirst ? NextId(a) < NextId(b) : NextId(a) > NextId(b);
}

MessageWalk::Item MessageWalk::Next() {
  if (heap_.empty()) return {};
  const auto before = [this](const Cursor& a, const Cursor& b) { return Before(a, b); };
  std::pop_heap(heap_.begin(), heap_.end(), before);
  Cursor& c = heap_.back();
  Item item;
  item.session = c.session;
  if (order_ == ListOrder::kNewestFirst) {
    item.message = &c.session->messages[--c.next];
    if (c.next == 0) {
      heap_.pop_back();
      return item;
    }
  } else {
    item.message = &c.session->messages[c.next++];
    if (c.next == c.session->messages.size()) {
      heap_.pop_back();
      return item;
    }
  }
  std::push_heap(heap_.begin(), heap_.end(), before);
  return item;
}

}  // namespace mxkit::fakemx
