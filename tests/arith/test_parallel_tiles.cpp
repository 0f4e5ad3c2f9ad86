// arith::for_each_tile: every row in exactly one tile, whether the tiles run in order or are
// shared out among threads, and a tile's exception reaches the caller.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "bnrecal/arith/parallel_tiles.h"

namespace bnrecal::arith {
namespace {

// Row counts and tile sizes covering one tile, a ragged last tile, few tiles (in order) and many
// tiles (shared out on a multi-core machine).
TEST(ParallelTiles, EveryRowExactlyOnceInTilesOfTheGivenSize) {
  for (int64_t M : {int64_t{0}, int64_t{1}, int64_t{7}, int64_t{100}, int64_t{4097}, int64_t{100000}}) {
    for (int64_t per_tile : {int64_t{1}, int64_t{3}, int64_t{256}, int64_t{4096}}) {
      if (M / per_tile > 20000) continue;  // keep the one-row tiles of the largest M out
      SCOPED_TRACE("M " + std::to_string(M) + ", rows per tile " + std::to_string(per_tile));
      std::vector<std::atomic<int>> hits(static_cast<size_t>(M));
      std::atomic<int> bad_tiles{0};
      for_each_tile(M, per_tile, [&](int64_t m0, int64_t rows) {
        if (m0 % per_tile != 0 || rows < 1 || rows > per_tile || m0 + rows > M) ++bad_tiles;
        for (int64_t r = m0; r < m0 + rows && r < M; ++r) ++hits[static_cast<size_t>(r)];
      });
      EXPECT_EQ(bad_tiles.load(), 0);
      for (int64_t r = 0; r < M; ++r) ASSERT_EQ(hits[static_cast<size_t>(r)].load(), 1) << "row " << r;
    }
  }
}

TEST(ParallelTiles, NestedCallsRunAndExceptionsReachTheCaller) {
  std::atomic<int64_t> inner_rows{0};
  for_each_tile(64, 1, [&](int64_t, int64_t) {
    for_each_tile(10, 3, [&](int64_t, int64_t rows) { inner_rows += rows; });
  });
  EXPECT_EQ(inner_rows.load(), 640);
  for (int64_t M : {int64_t{5}, int64_t{1000}}) {  // in order, and (multi-core) shared out
    EXPECT_THROW(for_each_tile(M, 1,
                               [](int64_t m0, int64_t) {
                                 if (m0 == 3) throw std::runtime_error("tile 3 failed");
                               }),
                 std::runtime_error);
  }
  EXPECT_THROW(for_each_tile(10, 0, [](int64_t, int64_t) {}), std::invalid_argument);
}

}  // namespace
}  // namespace bnrecal::arith
