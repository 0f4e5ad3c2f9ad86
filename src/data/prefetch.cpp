#include "bnrecal/data/prefetch.h"

namespace bnrecal {

BatchPrefetcher::BatchPrefetcher(Producer producer, size_t depth)
    : producer_(std::move(producer)), depth_(depth < 1 ? 1 : depth) {
  thread_ = std::thread([this] { run(); });
}

BatchPrefetcher::~BatchPrefetcher() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

void BatchPrefetcher::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || ready_.size() < depth_; });
      if (stopping_) return;
    }
    Batch batch;
    bool more = false;
    std::exception_ptr error;
    try {
      more = producer_(batch);  // outside the lock: this is the slow part
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (more) ready_.push_back(std::move(batch));
      else finished_ = true;
      error_ = error;
    }
    changed_.notify_all();
    if (!more) return;
  }
}

bool BatchPrefetcher::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || finished_; });
  if (ready_.empty()) {
    if (error_) std::rethrow_exception(error_);
    return false;
  }
  batch = std::move(ready_.front());
  ready_.pop_front();
  lock.unlock();
  changed_.notify_all();
  return true;
}

}  // namespace bnrecal
