// channel_moments' chunk kernel built for AVX2 + FMA (two 8-float registers per vector).
// Compiled with per-file flags (cmake/kernel_isa.cmake) and called only after a CPU check;
// without those flags this file is empty.
#include "channel_moments_kernel.h"

#if defined(__AVX2__) && defined(__FMA__)
namespace bnrecal::moments {
ChunkMoments chunk_moments_avx2(const Chunk& chunk) { return chunk_moments_body(chunk); }
}  // namespace bnrecal::moments
#endif
