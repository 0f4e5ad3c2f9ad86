// BatchPrefetcher: order, bounded look-ahead, end of data and error propagation.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "bnrecal/data/prefetch.h"

namespace bnrecal {
namespace {

TEST(ImagePrefetch, YieldsBatchesInOrderWithBoundedLookAhead) {
  std::atomic<int> produced{0};
  int consumed = 0;
  int max_ahead = 0;
  {
    BatchPrefetcher prefetch(
        [&](Batch& b) {
          const int i = produced.load();
          if (i == 6) return false;
          b.labels = at::full({1}, i, at::kLong);
          produced = i + 1;
          return true;
        },
        2);
    Batch batch;
    while (prefetch.next(batch)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // let the producer run ahead
      max_ahead = std::max(max_ahead, produced.load() - consumed);
      EXPECT_EQ(batch.labels[0].item<int64_t>(), consumed);
      ++consumed;
    }
    EXPECT_FALSE(prefetch.next(batch));
  }
  EXPECT_EQ(consumed, 6);
  // The batch being consumed + at most 2 ready ones.
  EXPECT_LE(max_ahead, 3);
}

TEST(ImagePrefetch, RethrowsProducerErrorsAfterEarlierBatches) {
  int calls = 0;
  BatchPrefetcher prefetch([&](Batch&) {
    if (++calls == 2) throw std::runtime_error("decode failed");
    return true;
  });
  Batch batch;
  EXPECT_TRUE(prefetch.next(batch));
  EXPECT_THROW(prefetch.next(batch), std::runtime_error);
}

TEST(ImagePrefetch, DestroyingEarlyStopsTheProducer) {
  std::atomic<int> calls{0};
  {
    BatchPrefetcher prefetch([&](Batch&) {
      ++calls;
      return true;  // endless
    });
    Batch batch;
    EXPECT_TRUE(prefetch.next(batch));
  }
  EXPECT_LE(calls.load(), 4);
}

}  // namespace
}  // namespace bnrecal
