// Overlaps batch loading with its use: a background thread runs a batch producer (usually a
// BatchLoader) and keeps at most `depth` finished batches ready, so memory stays bounded.
//
//   bnrecal::BatchLoader loader(*source, options);
//   bnrecal::BatchPrefetcher prefetch([&](bnrecal::Batch& b) { return loader.next(b); });
//   for (bnrecal::Batch batch; prefetch.next(batch);) { ... }
//
// The producer runs on one thread, in order, so a seeded loader yields the same batches as
// without prefetching. Do not touch the producer's state while the prefetcher lives.
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "bnrecal/data/data_source.h"

namespace bnrecal {

class BatchPrefetcher {
 public:
  // producer fills a batch and returns true, or returns false at the end.
  using Producer = std::function<bool(Batch&)>;
  explicit BatchPrefetcher(Producer producer, size_t depth = 2);
  ~BatchPrefetcher();  // stops the producer after its current batch and joins
  BatchPrefetcher(const BatchPrefetcher&) = delete;
  BatchPrefetcher& operator=(const BatchPrefetcher&) = delete;

  // Next batch in producer order; false at the end. Rethrows an exception of the producer.
  bool next(Batch& batch);

 private:
  void run();

  Producer producer_;
  size_t depth_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  bool finished_ = false;  // producer returned false or threw
  bool stopping_ = false;  // destructor asked to stop
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace bnrecal
