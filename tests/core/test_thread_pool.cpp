// parallel_for_each: every index exactly once for any thread count, and a worker's exception
// reaches the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bnrecal/core/thread_pool.h"

namespace bnrecal {
namespace {

// How often parallel_for_each ran each index of [0, n).
std::vector<int> visit_counts(int64_t n, int threads) {
  std::vector<std::atomic<int>> counts(static_cast<size_t>(n));
  for (auto& c : counts) c = 0;
  parallel_for_each(n, threads, [&](int64_t i) { counts.at(static_cast<size_t>(i))++; });
  return std::vector<int>(counts.begin(), counts.end());
}

TEST(ThreadPool, EveryIndexExactlyOnceForAnyThreadCount) {
  for (const int threads : {1, 2, 3, 8, 0, -1}) {
    const auto counts = visit_counts(1000, threads);
    ASSERT_EQ(counts.size(), 1000u);
    for (size_t i = 0; i < counts.size(); ++i) ASSERT_EQ(counts[i], 1) << "index " << i << ", threads " << threads;
  }
}

TEST(ThreadPool, NothingToDoRunsNothing) {
  for (const int64_t n : {0, -3}) {
    bool ran = false;
    parallel_for_each(n, 4, [&](int64_t) { ran = true; });
    EXPECT_FALSE(ran) << n;
  }
}

TEST(ThreadPool, OneThreadRunsInOrderInTheCaller) {
  std::vector<int64_t> order;
  const auto caller = std::this_thread::get_id();
  bool same_thread = true;
  parallel_for_each(5, 1, [&](int64_t i) {
    order.push_back(i);
    same_thread = same_thread && std::this_thread::get_id() == caller;
  });
  EXPECT_EQ(order, (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(same_thread);
}

// True when n bodies were running at the same time: each waits (up to 10 s) for all to arrive.
bool all_ran_at_once(int64_t n, int threads) {
  std::atomic<int64_t> arrived{0};
  std::atomic<bool> together{true};
  parallel_for_each(n, threads, [&](int64_t) {
    arrived++;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (arrived < n) {
      if (std::chrono::steady_clock::now() > deadline) {
        together = false;
        return;
      }
      std::this_thread::yield();
    }
  });
  return together;
}

TEST(ThreadPool, ManyThreadsRunAtOnce) { EXPECT_TRUE(all_ran_at_once(4, 4)); }

TEST(ThreadPool, FewerIndicesThanThreads) {
  EXPECT_EQ(visit_counts(3, 16), (std::vector<int>{1, 1, 1}));
  EXPECT_TRUE(all_ran_at_once(3, 16));
}

TEST(ThreadPool, AWorkersExceptionIsRethrownInTheCaller) {
  for (const int threads : {1, 4}) {
    std::atomic<int> ran{0};
    try {
      parallel_for_each(1000, threads, [&](int64_t i) {
        ran++;
        if (i == 0) throw std::invalid_argument("index 0 is bad");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      });
      FAIL() << "no exception with " << threads << " threads";
    } catch (const std::invalid_argument& e) {
      EXPECT_STREQ(e.what(), "index 0 is bad");
    }
    // No index is handed out after the failure: one thread stops at once, four finish the
    // bodies already running (about 1.7 s of sleeping had they gone on).
    if (threads == 1) {
      EXPECT_EQ(ran, 1);
    } else {
      EXPECT_LT(ran, 1000);
    }
  }
}

}  // namespace
}  // namespace bnrecal
