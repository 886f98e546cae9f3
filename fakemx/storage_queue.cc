#include "fakemx/storage_queue.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>

namespace mxkit::fakemx {

void StorageQueue::Work() {
  std::vector<Job> batch;
  std::vector<Maildir::DeliveryRequest> requests;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
    if (jobs_.empty()) return;  // stopping and drained
    const size_t n = std::min(kMaxStorageBatch, jobs_.size());
    batch.clear();
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(jobs_.front()));
      jobs_.pop_front();
    }
    lock.unlock();
    requests.clear();
    for (const Job& job : batch) requests.push_back({&job.delivery, job.message});
    std::vector<absl::StatusOr<std::string>> results = maildir_->DeliverBatch(requests);
    std::vector<std::pair<Done, absl::StatusOr<std::string>>> completions;
    completions.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      completions.emplace_back(std::move(batch[i].done), std::move(results[i]));
    }
    boost::asio::post(io_, [completions = std::move(completions)]() mutable {
      for (auto& [done, result] : completions) done(std::move(result));
    });
    lock.lock();
  }
}

}  // namespace mxkit::fakemx
