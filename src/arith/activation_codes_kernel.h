// Internal: the bodies of the two layout passes of bnrecal/arith/activation_codes.h, compiled once
// per implementation: activation_codes.cpp (baseline, SSE2 on x86-64) and
// activation_codes_avx512.cpp (AVX-512 F, chosen at run time). Without AVX-512 a block of pixels
// is quantized (or rescaled) channel by channel into a small tile that is then transposed value by
// value; with it, 16 pixels x 16 channels are computed as 16 vectors and transposed in registers,
// and only the parts of a block that do not fill 16 x 16 are done one value at a time. Every path
// computes each value with the same float operations in the same order, so all are bit-identical.
//
// Everything here is `static inline` and calls no inline function of the standard library
// (std::min, std::nearbyint, ...): an externally visible copy compiled with AVX-512 flags could be
// linked into portable callers (see dispatch_variants.h).
#pragma once
#include <cstdint>

#if defined(__AVX512F__)
#include <immintrin.h>
// GCC 12 warns that the unmasked AVX-512 min/max intrinsics read an uninitialized value (their
// unused pass-through operand, _mm512_undefined_ps); the warning is spurious.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bnrecal::arith::codes {

constexpr int64_t kBlockPixels = 64;
constexpr int64_t kBlockChannels = 64;

static inline int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }

// clamp(nearbyint(v), 0, 255) as uint8, v = x * inv_scale (clamping first is the same for integer
// bounds); `v > 0 ? v : 0` also maps NaN to 0. The vector paths compute the same values:
// cvtps2dq rounds to nearest, ties to even, in the default MXCSR mode, maxps(v, 0) returns 0 for
// NaN, and the packs cannot saturate once v is clamped to [0, 255].
static inline uint8_t code_of(float x, float inv_scale) {
  float v = x * inv_scale;
  v = v > 0.0f ? v : 0.0f;
  v = v < 255.0f ? v : 255.0f;
  return static_cast<uint8_t>(__builtin_nearbyintf(v));
}

// The rescaled value of one accumulator: float(double(acc) * scale) + bias (bias may be null).
static inline float rescaled(int32_t acc, double scale, const float* bias) {
  const float y = static_cast<float>(acc * scale);
  return bias ? y + *bias : y;
}

// Codes of one channel's run of `count` pixels into dst; returns whether any input is negative.
static inline bool quantize_run(const float* src, int64_t count, float inv_scale, uint8_t* dst) {
  int64_t p = 0;
  bool negative = false;
#if defined(__AVX512F__)
  const __m512 inv = _mm512_set1_ps(inv_scale), zero = _mm512_setzero_ps();
  const __m512 top = _mm512_set1_ps(255.0f);
  __mmask16 any_negative = 0;
  for (; p + 16 <= count; p += 16) {
    const __m512 x = _mm512_loadu_ps(src + p);
    any_negative |= _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ);
    const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x, inv), zero), top);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + p), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
  }
  negative = any_negative != 0;
#elif defined(__SSE2__)
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

#if defined(__AVX512F__)
// Transposes 16 rows of 16 32-bit values in registers: afterwards r[i] lane j holds what r[j]
// lane i held.
static inline void transpose16x16(__m512 r[16]) {
  __m512 t[16];
  for (int i = 0; i < 8; ++i) {  // pairs of rows: 2x2 blocks of single values
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 4; ++i) {  // 4x4 blocks within each 128-bit lane
    const __m512d a = _mm512_castps_pd(t[4 * i]), b = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 2]), d = _mm512_castps_pd(t[4 * i + 3]);
    r[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
    r[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
    r[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
    r[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
  }
  for (int i = 0; i < 2; ++i)  // then whole 128-bit lanes
    for (int j = 0; j < 4; ++j) {
      t[8 * i + j] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0x88);
      t[8 * i + j + 4] = _mm512_shuffle_f32x4(r[8 * i + j], r[8 * i + j + 4], 0xdd);
    }
  for (int j = 0; j < 8; ++j) {
    r[j] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0x88);
    r[j + 8] = _mm512_shuffle_f32x4(t[j], t[j + 8], 0xdd);
  }
}

// Codes of 16 pixels x 16 channels: channel j's pixels start at src[j] (each run contiguous),
// pixel i's 16 codes go to dst + i * row_stride. Returns whether any input is negative.
static inline bool quantize_16x16(const float* const src[16], float inv_scale, uint8_t* dst,
                                  int64_t row_stride) {
  const __m512 inv = _mm512_set1_ps(inv_scale), zero = _mm512_setzero_ps();
  const __m512 top = _mm512_set1_ps(255.0f);
  __mmask16 negative = 0;
  __m512 v[16];
  for (int j = 0; j < 16; ++j) {
    const __m512 x = _mm512_loadu_ps(src[j]);
    negative |= _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ);
    const __m512 q = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(x, inv), zero), top);
    v[j] = _mm512_castsi512_ps(_mm512_cvtps_epi32(q));
  }
  transpose16x16(v);
  for (int i = 0; i < 16; ++i)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i * row_stride),
                     _mm512_cvtepi32_epi8(_mm512_castps_si512(v[i])));
  return negative != 0;
}

// Rescales 16 rows x 16 columns of accumulators (row i at acc + i * row_stride) and writes
// column o's 16 values to dst[o] (contiguous).
static inline void rescale_16x16(const int32_t* acc, int64_t row_stride, const double* scale,
                                 const float* bias, float* const dst[16]) {
  const __m512d s_lo = _mm512_loadu_pd(scale), s_hi = _mm512_loadu_pd(scale + 8);
  __m512 v[16];
  for (int i = 0; i < 16; ++i) {
    const __m512i a = _mm512_loadu_si512(acc + i * row_stride);
    const __m256 lo = _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(a)), s_lo));
    const __m256 hi =
        _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(a, 1)), s_hi));
    v[i] = _mm512_castpd_ps(
        _mm512_insertf64x4(_mm512_castpd256_pd512(_mm256_castps_pd(lo)), _mm256_castps_pd(hi), 1));
    if (bias) v[i] = _mm512_add_ps(v[i], _mm512_loadu_ps(bias));
  }
  transpose16x16(v);
  for (int o = 0; o < 16; ++o) _mm512_storeu_ps(dst[o], v[o]);
}
#endif

// One block: `pixels` pixels from p0 of one image, all c channels. x points at the image
// ([c, hw] floats), dst at the block's first output row ([pixels, c] codes).
static inline bool quantize_block(const float* x, int64_t c, int64_t hw, int64_t p0, int64_t pixels,
                                  float inv_scale, const int64_t* channel_source, uint8_t* dst) {
  bool negative = false;
  const auto source_of = [&](int64_t j) { return channel_source ? channel_source[j] : j; };
#if defined(__AVX512F__)
  const int64_t p16 = pixels / 16 * 16, c16 = c / 16 * 16;
  for (int64_t j0 = 0; j0 < c16; j0 += 16) {
    const float* src[16];
    for (int j = 0; j < 16; ++j) src[j] = x + source_of(j0 + j) * hw + p0;
    for (int64_t p = 0; p < p16; p += 16) {
      negative |= quantize_16x16(src, inv_scale, dst + p * c + j0, c);
      for (int j = 0; j < 16; ++j) src[j] += 16;
    }
  }
  // The rest one value at a time: channels past c16 of the first p16 pixels, then every channel
  // of the pixels past p16.
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t j = p < p16 ? c16 : 0; j < c; ++j) {
      const float v = x[source_of(j) * hw + p0 + p];
      negative |= v < 0.0f;
      dst[p * c + j] = code_of(v, inv_scale);
    }
#else
  // Quantize kBlockChannels channel runs into a small tile (contiguous reads and writes, which
  // vectorize), then transpose the tile into the block's pixel-major rows.
  alignas(64) uint8_t tile[kBlockChannels][kBlockPixels];
  for (int64_t j0 = 0; j0 < c; j0 += kBlockChannels) {
    const int64_t channels = smaller(kBlockChannels, c - j0);
    for (int64_t j = 0; j < channels; ++j)
      negative |= quantize_run(x + source_of(j0 + j) * hw + p0, pixels, inv_scale, tile[j]);
    for (int64_t p = 0; p < pixels; ++p) {
      uint8_t* row = dst + p * c + j0;
      for (int64_t j = 0; j < channels; ++j) row[j] = tile[j][p];
    }
  }
#endif
  return negative;
}

// x is [n, c, hw] float, out [n, hw, c] codes (see activation_codes.h).
static inline bool quantize_body(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                                 const int64_t* channel_source, uint8_t* out) {
  int negative = 0;
  if (hw == 1 && channel_source == nullptr) {  // [n, c] in, [n, c] out: no transpose
    const int64_t total = n * c, chunk = 4096;
#pragma omp parallel for schedule(static) reduction(| : negative) if (total >= (1 << 15))
    for (int64_t i = 0; i < total; i += chunk)
      negative |= quantize_run(x + i, smaller(chunk, total - i), inv_scale, out + i) ? 1 : 0;
    return negative != 0;
  }
  const int64_t blocks_per_image = (hw + kBlockPixels - 1) / kBlockPixels;
#pragma omp parallel for schedule(static) reduction(| : negative) if (n * c * hw >= (1 << 15))
  for (int64_t block = 0; block < n * blocks_per_image; ++block) {
    const int64_t image = block / blocks_per_image;
    const int64_t p0 = (block % blocks_per_image) * kBlockPixels;
    negative |= quantize_block(x + image * c * hw, c, hw, p0, smaller(kBlockPixels, hw - p0),
                               inv_scale, channel_source, out + (image * hw + p0) * c)
                    ? 1
                    : 0;
  }
  return negative != 0;
}

// `run` consecutive rows of one image, from pixel `pixel`: acc rows at stride cols, output planes
// out_image[o * hw + pixel ...] for the tile's columns o (out_image already offset to col0).
static inline void rescale_run(const int32_t* acc, int64_t run, int64_t cols, int64_t hw,
                               int64_t pixel, const double* scale, const float* bias,
                               float* out_image) {
#if defined(__AVX512F__)
  const int64_t i16 = run / 16 * 16, o16 = cols / 16 * 16;
  for (int64_t o0 = 0; o0 < o16; o0 += 16) {
    float* dst[16];
    for (int o = 0; o < 16; ++o) dst[o] = out_image + (o0 + o) * hw + pixel;
    for (int64_t i = 0; i < i16; i += 16) {
      rescale_16x16(acc + i * cols + o0, cols, scale + o0, bias ? bias + o0 : nullptr, dst);
      for (int o = 0; o < 16; ++o) dst[o] += 16;
    }
  }
  for (int64_t i = 0; i < run; ++i)  // the rest one value at a time
    for (int64_t o = i < i16 ? o16 : 0; o < cols; ++o)
      out_image[o * hw + pixel + i] = rescaled(acc[i * cols + o], scale[o], bias ? bias + o : nullptr);
#else
  // Rescale a tile of rows x kBlockChannels columns (contiguous, so it vectorizes), then write
  // each column's run of pixels into its output plane.
  alignas(64) float tile[kBlockPixels][kBlockChannels];
  for (int64_t o0 = 0; o0 < cols; o0 += kBlockChannels) {
    const int64_t width = smaller(kBlockChannels, cols - o0);
    for (int64_t i = 0; i < run; ++i) {
      const int32_t* src = acc + i * cols + o0;
      const double* s = scale + o0;
      float* t = tile[i];
      if (bias) {
        const float* b = bias + o0;
        for (int64_t o = 0; o < width; ++o) t[o] = static_cast<float>(src[o] * s[o]) + b[o];
      } else {
        for (int64_t o = 0; o < width; ++o) t[o] = static_cast<float>(src[o] * s[o]);
      }
    }
    for (int64_t o = 0; o < width; ++o) {
      float* dst = out_image + (o0 + o) * hw + pixel;
      for (int64_t i = 0; i < run; ++i) dst[i] = tile[i][o];
    }
  }
#endif
}

static inline void rescale_body(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0,
                                int64_t hw, int64_t channels, int64_t col0, const double* scale,
                                const float* bias, float* out) {
  const int64_t blocks = (rows + kBlockPixels - 1) / kBlockPixels;
#pragma omp parallel for schedule(static) if (rows * cols >= (1 << 14))
  for (int64_t block = 0; block < blocks; ++block) {
    const int64_t r0 = block * kBlockPixels, r1 = smaller(rows, r0 + kBlockPixels);
    for (int64_t r = r0; r < r1;) {  // runs stop at image boundaries
      const int64_t m = row0 + r, image = m / hw, pixel = m % hw;
      const int64_t run = smaller(r1 - r, hw - pixel);
      rescale_run(acc + r * cols, run, cols, hw, pixel, scale, bias,
                  out + (image * channels + col0) * hw);
      r += run;
    }
  }
}

// The entry points built from these bodies (signatures of bnrecal/arith/activation_codes.h).
using QuantizeToNhwc = bool (*)(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                                const int64_t* channel_source, uint8_t* out);
using RescaleRowsToNchw = void (*)(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0,
                                   int64_t hw, int64_t channels, int64_t col0, const double* scale,
                                   const float* bias, float* out);
bool quantize_portable(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                       const int64_t* channel_source, uint8_t* out);
void rescale_portable(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0, int64_t hw,
                      int64_t channels, int64_t col0, const double* scale, const float* bias,
                      float* out);
// Defined only when BNRECAL_HAVE_X86_KERNELS (the file got its AVX-512 flags); call only when
// arith::detail::cpu_has_avx512f().
bool quantize_avx512(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                     const int64_t* channel_source, uint8_t* out);
void rescale_avx512(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0, int64_t hw,
                    int64_t channels, int64_t col0, const double* scale, const float* bias,
                    float* out);

}  // namespace bnrecal::arith::codes
