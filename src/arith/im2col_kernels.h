// Internal: the im2col implementations behind bnrecal/arith/im2col.h's im2col_u8, chosen at run
// time (Kernel::kIm2col). The portable one handles every shape; the AVX-512 one only shapes whose
// kernel rows are contiguous in memory (groups == 1 and dilation_w == 1), which im2col_u8 checks
// before calling it.
#pragma once
#include <cstdint>

#include "bnrecal/arith/im2col.h"

namespace bnrecal::arith {

// Tiles smaller than this many bytes are filled by one thread: starting a team costs more.
constexpr int64_t kIm2colParallelBytes = int64_t{1} << 16;

// Same contract as im2col_u8, without its checks.
using Im2colRows = void (*)(const uint8_t* x_nhwc, const Im2colShape& shape, int64_t group,
                            int64_t row0, int64_t rows, uint8_t* out);

void im2col_rows_portable(const uint8_t* x_nhwc, const Im2colShape& shape, int64_t group,
                          int64_t row0, int64_t rows, uint8_t* out);
// Defined only when BNRECAL_HAVE_X86_KERNELS (the file got its AVX-512 flags); call only when
// arith::detail::cpu_has_avx512_vbmi(), and only for groups == 1 and dilation_w == 1.
void im2col_rows_avx512(const uint8_t* x_nhwc, const Im2colShape& shape, int64_t group,
                        int64_t row0, int64_t rows, uint8_t* out);

}  // namespace bnrecal::arith
