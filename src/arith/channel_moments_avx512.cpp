// channel_moments' chunk kernel built for AVX-512 F (one 16-float register per vector).
// Compiled with per-file flags (cmake/kernel_isa.cmake) and called only after a CPU check;
// without those flags this file is empty.
#include "channel_moments_kernel.h"

#if defined(__AVX512F__)
namespace bnrecal::moments {
ChunkMoments chunk_moments_avx512(const Chunk& chunk) { return chunk_moments_body(chunk); }
}  // namespace bnrecal::moments
#endif
