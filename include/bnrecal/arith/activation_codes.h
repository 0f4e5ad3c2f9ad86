// The two layout-changing passes around an integer GEMM, each fused into one sweep over memory:
// float NCHW activations -> uint8 codes in NHWC (the rows im2col and the GEMM read), and int32
// GEMM rows -> rescaled float NCHW (the layout the rest of the network uses).
//
//   const float inv = 1.0f / scale;
//   bool negative = bnrecal::arith::quantize_to_nhwc_u8(x, n, c, h * w, inv, nullptr, codes);
//   ... im2col + GEMM into acc [rows, cols] ...
//   bnrecal::arith::rescale_rows_to_nchw(acc, rows, cols, row0, h_out * w_out, channels, col0,
//                                        scale_per_col, bias, y);
//
// Both are bit-identical to the tensor expressions the policies were first written with:
// code = clamp(nearbyint(x * inv), 0, 255) (float32 product, ties to even), and
// y = float(double(acc) * scale[o]) + bias[o] (one rounding to float, then a float add).
#pragma once
#include <cstdint>

namespace bnrecal::arith {

// x is [n, c, hw] float (NCHW with hw = H*W; a matrix [n, c] when hw = 1), out is [n, hw, c]
// uint8. Output channel j reads input channel channel_source[j] (a permutation of 0..c-1), or j
// when channel_source is null. NaN quantizes to 0. Returns whether any input is negative (they
// quantize to 0), so callers can reject such inputs without a second pass.
bool quantize_to_nhwc_u8(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                          const int64_t* channel_source, uint8_t* out);

// acc is [rows, cols] int32, rows row0 .. row0+rows-1 of a GEMM whose row m is pixel m % hw of
// image m / hw. Writes y[image, col0 + o, pixel] = float(double(acc[r, o]) * scale[o]) + bias[o]
// into out, float [images, channels, hw] (bias may be null: no add). hw = 1 gives [rows, channels].
void rescale_rows_to_nchw(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0, int64_t hw,
                          int64_t channels, int64_t col0, const double* scale, const float* bias,
                          float* out);

}  // namespace bnrecal::arith
