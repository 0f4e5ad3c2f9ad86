#include "bnrecal/arith/parallel_tiles.h"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <mutex>
#include <stdexcept>

namespace bnrecal::arith {

void for_each_tile(int64_t M, int64_t rows_per_tile,
                   const std::function<void(int64_t m0, int64_t rows)>& tile) {
  if (rows_per_tile <= 0) throw std::invalid_argument("for_each_tile: rows_per_tile must be positive");
  if (M <= 0) return;
  const int64_t tiles = (M + rows_per_tile - 1) / rows_per_tile;
  const auto run = [&](int64_t t) {
    const int64_t m0 = t * rows_per_tile;
    tile(m0, std::min(rows_per_tile, M - m0));
  };
  if (omp_in_parallel() || tiles < 2 * static_cast<int64_t>(omp_get_max_threads())) {
    for (int64_t t = 0; t < tiles; ++t) run(t);
    return;
  }
  std::exception_ptr first_error;
  std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t t = 0; t < tiles; ++t) {
    try {
      run(t);
    } catch (...) {  // an exception must not leave the parallel region
      const std::lock_guard<std::mutex> lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
    }
  }
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace bnrecal::arith
