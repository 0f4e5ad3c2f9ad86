#include "bnrecal/core/allocator.h"

#include <malloc.h>

namespace bnrecal {

void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // 32 MB is glibc's largest mmap threshold, so bigger blocks (a ResNet-50 batch of 32 at 224 px
  // has 100 MB activations) would still be mapped on every allocation and unmapped on every free,
  // and each first touch of a page faults: measured as a quarter of the wall time and 3-7x slower
  // ResNet-50 evaluation on a virtual machine (bench_model_throughput, docs/results.md). With no
  // mmap at all, large blocks come from the heap and are reused, as the smaller ones already are.
  mallopt(M_MMAP_MAX, 0);
}

}  // namespace bnrecal
