// The storage queue behind fakemx's "250 only once stored": messages wait
// here for a storage thread, which hands a few at once to
// Maildir::DeliverBatch and posts the results back to the io_context, where
// each connection answers its client. Kept apart from the connection driver
// so the network thread's only storage work is a push and a completion.

#ifndef MXKIT_FAKEMX_STORAGE_QUEUE_H_
#define MXKIT_FAKEMX_STORAGE_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "absl/status/statusor.h"
#include "fakemx/delivery.h"
#include "fakemx/maildir.h"

namespace mxkit::fakemx {

// Messages wait here for a storage thread. A thread takes the waiting
// messages (up to kMaxStorageBatch) at once and hands them to
// Maildir::DeliverBatch; the results go back to the io_context in one post,
// which wakes the network thread once per batch rather than per message.
class StorageQueue {
 public:
  using Done = std::function<void(absl::StatusOr<std::string>)>;
  struct Job {
    Delivery delivery;
    std::string message;
    Done done;  // runs on the io_context
  };

  StorageQueue(boost::asio::io_context& io, Maildir* maildir, size_t threads)
      : io_(io), maildir_(maildir) {
    for (size_t i = 0; i < threads; ++i) {
      threads_.emplace_back([this] { Work(); });
    }
  }
  StorageQueue(const StorageQueue&) = delete;
  StorageQueue& operator=(const StorageQueue&) = delete;

  // Stores what is queued, then stops the threads.
  ~StorageQueue() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
  }

  bool inline_storage() const { return threads_.empty(); }

  void Push(Job job) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }

 private:
  // Each fdatasync() costs a device cache flush on ext4 even when the batch
  // shares a journal commit, so flushes only overlap across threads; a small
  // batch still saves wakeups when the queue is deep (fast storage), without
  // making one message wait behind many others' flushes.
  static constexpr size_t kMaxStorageBatch = 4;

  void Work();

  boost::asio::io_context& io_;
  Maildir* maildir_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace mxkit::fakemx

#endif  // MXKIT_FAKEMX_STORAGE_QUEUE_H_
