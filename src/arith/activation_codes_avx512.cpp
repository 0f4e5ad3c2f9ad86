// The layout passes of bnrecal/arith/activation_codes.h built for AVX-512 F (16 x 16 blocks
// transposed in registers). Compiled with per-file flags (cmake/kernel_isa.cmake) and called only
// after a CPU check (activation_codes.cpp's dispatch table); without those flags this file is empty.
#include "activation_codes_kernel.h"

#if defined(__AVX512F__)
namespace bnrecal::arith::codes {

bool quantize_avx512(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                     const int64_t* channel_source, uint8_t* out) {
  return quantize_body(x, n, c, hw, inv_scale, channel_source, out);
}

void rescale_avx512(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0, int64_t hw,
                    int64_t channels, int64_t col0, const double* scale, const float* bias,
                    float* out) {
  rescale_body(acc, rows, cols, row0, hw, channels, col0, scale, bias, out);
}

}  // namespace bnrecal::arith::codes
#endif
