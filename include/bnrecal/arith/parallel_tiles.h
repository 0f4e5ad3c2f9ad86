// Runs a function over consecutive tiles of [0, M) rows, sharing the tiles out among the OpenMP
// threads when there are enough of them (torch-free, so the torch areas need no -fopenmp).
//
//   bnrecal::arith::for_each_tile(M, 1024, [&](int64_t m0, int64_t rows) { ... });
//
// With at least two tiles per thread, the tiles go to the threads dynamically and every
// parallel region opened inside a tile (oneDNN's GEMM included) runs on its one thread: one
// fork-join per call instead of one per pass per tile, and each tile's data stay in one core's
// cache. With fewer tiles, or when already inside a parallel region, the tiles run in order on
// the calling thread and the work inside may parallelize itself. Tiles may run in any order and
// concurrently, so the function must only write what its rows own. The first exception thrown
// by a tile is rethrown after the others finish.
#pragma once
#include <cstdint>
#include <functional>

namespace bnrecal::arith {

void for_each_tile(int64_t M, int64_t rows_per_tile, const std::function<void(int64_t m0, int64_t rows)>& tile);

}  // namespace bnrecal::arith
