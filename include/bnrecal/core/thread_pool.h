// Data-parallel loops on plain std::threads, for work that must not share libtorch's intra-op
// pool (decoding images while a model runs inference on that pool).
//
//   bnrecal::parallel_for_each(files.size(), options.num_threads, [&](int64_t i) {
//     images[i] = decode_image_file(files[i]);
//   });
#pragma once
#include <cstdint>
#include <functional>

namespace bnrecal {

// Threads the machine offers (at least 1).
int hardware_threads();

// Runs body(i) once for every i in [0, n) on up to `threads` threads (threads <= 0: every core;
// never more threads than indices; one thread runs the loop in the caller). Indices are handed
// out dynamically, so bodies of uneven cost balance. When a body throws, no further indices are
// handed out and the first exception is rethrown in the caller once every thread has finished.
void parallel_for_each(int64_t n, int threads, const std::function<void(int64_t)>& body);

}  // namespace bnrecal
