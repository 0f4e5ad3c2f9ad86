#include "bnrecal/core/allocator.h"

#include <malloc.h>

namespace bnrecal {

void tune_allocator() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace bnrecal
