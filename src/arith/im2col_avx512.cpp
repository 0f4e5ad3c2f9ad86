// im2col for shapes whose kernel rows are contiguous (groups == 1, dilation_w == 1), AVX-512 BW:
// each kernel row of an output pixel is one masked 64-byte load and store per 64 bytes, whose
// mask zeroes the taps left and right of the input, and the pixel coordinates are stepped
// rather than divided out per row. Compiled with per-file flags (cmake/kernel_isa.cmake) and
// called only after a CPU check (im2col.cpp's dispatch table); without those flags this file is
// empty. No std:: templates or inline members of Im2colShape here (see dispatch_variants.h).
#include "im2col_kernels.h"

#if defined(__AVX512BW__)
#include <immintrin.h>
#include <omp.h>

namespace bnrecal::arith {
namespace {

// Bits [lo, hi) of a 64-bit mask, with lo and hi clamped to [0, 64].
uint64_t bit_range(int64_t lo, int64_t hi) {
  const auto below = [](int64_t b) { return b >= 64 ? ~0ULL : (b <= 0 ? 0ULL : (1ULL << b) - 1); };
  return below(hi) & ~below(lo);
}

void contiguous_rows(const uint8_t* x, const Im2colShape& s, int64_t out_h, int64_t out_w,
                     int64_t row0, int64_t rows, uint8_t* out) {
  const int64_t C = s.c, row_bytes = s.kw * C, K = s.kh * row_bytes;
  int64_t n = row0 / (out_h * out_w), oh = (row0 / out_w) % out_h, ow = row0 % out_w;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t ih0 = oh * s.stride_h - s.pad_h, iw0 = ow * s.stride_w - s.pad_w;
    // The bytes of a kernel row that lie inside the input: taps j_lo .. j_hi - 1.
    const int64_t j_lo = iw0 < 0 ? -iw0 : 0;
    const int64_t j_hi = s.w - iw0 < s.kw ? s.w - iw0 : s.kw;
    const int64_t b_lo = j_lo * C, b_hi = (j_hi > j_lo ? j_hi : j_lo) * C;
    uint8_t* dst = out + r * K;
    for (int64_t i = 0; i < s.kh; ++i, dst += row_bytes) {
      const int64_t ih = ih0 + i * s.dilation_h;
      const bool inside = ih >= 0 && ih < s.h;
      // Address of tap j = 0, which may lie before the image row (masked lanes are not read).
      const uintptr_t src = reinterpret_cast<uintptr_t>(x) + ((n * s.h + ih) * s.w + iw0) * C;
      for (int64_t b = 0; b < row_bytes; b += 64) {
        const __mmask64 load = inside ? bit_range(b_lo - b, b_hi - b) : 0;
        const __m512i v = _mm512_maskz_loadu_epi8(load, reinterpret_cast<const void*>(src + b));
        _mm512_mask_storeu_epi8(dst + b, bit_range(0, row_bytes - b), v);
      }
    }
    if (++ow == out_w) {
      ow = 0;
      if (++oh == out_h) oh = 0, ++n;
    }
  }
}

}  // namespace

void im2col_rows_avx512(const uint8_t* x_nhwc, const Im2colShape& shape, int64_t group,
                        int64_t row0, int64_t rows, uint8_t* out) {
  const int64_t out_h = shape.out_h(), out_w = shape.out_w();
  const int64_t K = shape.kh * shape.kw * shape.c;
#pragma omp parallel if (rows * K >= kIm2colParallelBytes)
  {  // a contiguous share of the rows per thread
    const int64_t team = omp_get_num_threads(), me = omp_get_thread_num();
    const int64_t lo = rows * me / team, hi = rows * (me + 1) / team;
    contiguous_rows(x_nhwc, shape, out_h, out_w, row0 + lo, hi - lo, out + lo * K);
  }
}

}  // namespace bnrecal::arith
#endif
