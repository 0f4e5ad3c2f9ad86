// Fused quantize-and-transpose and rescale-and-transpose (bnrecal/arith/activation_codes.h).
// Both work on blocks of kBlockPixels pixels so the transposed side of a block (at most
// kBlockPixels x channels values) stays in the L1 cache while the other side streams.
#include "bnrecal/arith/activation_codes.h"

#include <algorithm>
#include <cmath>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace bnrecal::arith {
namespace {

constexpr int64_t kBlockPixels = 64;
constexpr int64_t kBlockChannels = 64;

// clamp(nearbyint(v), 0, 255) as uint8, v = x * inv_scale (clamping first is the same for integer
// bounds); `v > 0 ? v : 0` also maps NaN to 0. The tail of quantize_run's SSE2 loop, and all of it
// on CPUs without SSE2.
inline uint8_t code_of(float x, float inv_scale) {
  float v = x * inv_scale;
  v = v > 0.0f ? v : 0.0f;
  v = v < 255.0f ? v : 255.0f;
  return static_cast<uint8_t>(std::nearbyint(v));
}

// Codes of one channel's run of `count` pixels into dst; returns whether any input is negative.
// The SSE2 path (every x86-64 CPU) computes the same values: cvtps2dq rounds to nearest, ties to
// even, in the default MXCSR mode, maxps(v, 0) returns 0 for NaN, and the packs cannot saturate
// once v is clamped to [0, 255].
bool quantize_run(const float* src, int64_t count, float inv_scale, uint8_t* dst) {
  int64_t p = 0;
  bool negative = false;
#ifdef __SSE2__
  const __m128 inv = _mm_set1_ps(inv_scale), zero = _mm_setzero_ps(), top = _mm_set1_ps(255.0f);
  __m128 any_negative = zero;
  for (; p + 16 <= count; p += 16) {
    __m128i words[4];
    for (int i = 0; i < 4; ++i) {
      const __m128 x = _mm_loadu_ps(src + p + 4 * i);
      any_negative = _mm_or_ps(any_negative, _mm_cmplt_ps(x, zero));
      const __m128 v = _mm_min_ps(_mm_max_ps(_mm_mul_ps(x, inv), zero), top);
      words[i] = _mm_cvtps_epi32(v);
    }
    const __m128i bytes = _mm_packus_epi16(_mm_packs_epi32(words[0], words[1]),
                                           _mm_packs_epi32(words[2], words[3]));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + p), bytes);
  }
  negative = _mm_movemask_ps(any_negative) != 0;
#endif
  for (; p < count; ++p) {
    negative |= src[p] < 0.0f;
    dst[p] = code_of(src[p], inv_scale);
  }
  return negative;
}

}  // namespace

bool quantize_to_nhwc_u8(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                         const int64_t* channel_source, uint8_t* out) {
  int negative = 0;
  if (hw == 1 && channel_source == nullptr) {  // [n, c] in, [n, c] out: no transpose
    const int64_t total = n * c, chunk = 4096;
#pragma omp parallel for schedule(static) reduction(| : negative) if (total >= (1 << 15))
    for (int64_t i = 0; i < total; i += chunk)
      negative |= quantize_run(x + i, std::min(chunk, total - i), inv_scale, out + i) ? 1 : 0;
    return negative != 0;
  }
  const int64_t blocks_per_image = (hw + kBlockPixels - 1) / kBlockPixels;
#pragma omp parallel for schedule(static) reduction(| : negative) if (n * c * hw >= (1 << 15))
  for (int64_t block = 0; block < n * blocks_per_image; ++block) {
    const int64_t image = block / blocks_per_image;
    const int64_t p0 = (block % blocks_per_image) * kBlockPixels;
    const int64_t pixels = std::min(kBlockPixels, hw - p0);
    uint8_t* dst = out + (image * hw + p0) * c;
    // Quantize kBlockChannels channel runs into a small tile (contiguous reads and writes, which
    // vectorize), then transpose the tile into the block's pixel-major rows.
    alignas(64) uint8_t tile[kBlockChannels][kBlockPixels];
    for (int64_t j0 = 0; j0 < c; j0 += kBlockChannels) {
      const int64_t channels = std::min(kBlockChannels, c - j0);
      for (int64_t j = 0; j < channels; ++j) {
        const int64_t source = channel_source ? channel_source[j0 + j] : j0 + j;
        const float* src = x + (image * c + source) * hw + p0;
        negative |= quantize_run(src, pixels, inv_scale, tile[j]) ? 1 : 0;
      }
      for (int64_t p = 0; p < pixels; ++p) {
        uint8_t* row = dst + p * c + j0;
        for (int64_t j = 0; j < channels; ++j) row[j] = tile[j][p];
      }
    }
  }
  return negative != 0;
}

void rescale_rows_to_nchw(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0, int64_t hw,
                          int64_t channels, int64_t col0, const double* scale, const float* bias,
                          float* out) {
  const int64_t blocks = (rows + kBlockPixels - 1) / kBlockPixels;
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 14))
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t r0 = block * kBlockPixels, r1 = std::min(rows, r0 + kBlockPixels);
    // Rescale a tile of rows x kBlockChannels columns (contiguous, so it vectorizes), then write
    // each column's run of pixels into its output plane. Runs stop at image boundaries.
    alignas(64) float tile[kBlockPixels][kBlockChannels];
    for (int64_t r = r0; r < r1;) {
      const int64_t m = row0 + r, image = m / hw, pixel = m % hw;
      const int64_t run = std::min(r1 - r, hw - pixel);
      for (int64_t o0 = 0; o0 < cols; o0 += kBlockChannels) {
        const int64_t width = std::min(kBlockChannels, cols - o0);
        const double* s = scale + o0;
        for (int64_t i = 0; i < run; ++i) {
          const int32_t* src = acc + (r + i) * cols + o0;
          float* t = tile[i];
          if (bias) {
            const float* b = bias + o0;
            for (int64_t o = 0; o < width; ++o) t[o] = static_cast<float>(src[o] * s[o]) + b[o];
          } else {
            for (int64_t o = 0; o < width; ++o) t[o] = static_cast<float>(src[o] * s[o]);
          }
        }
        for (int64_t o = 0; o < width; ++o) {
          float* dst = out + (image * channels + col0 + o0 + o) * hw + pixel;
          for (int64_t i = 0; i < run; ++i) dst[i] = tile[i][o];
        }
      }
      r += run;
    }
  }
}

}  // namespace bnrecal::arith
