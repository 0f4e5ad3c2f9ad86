// Fused quantize-and-transpose and rescale-and-transpose (bnrecal/arith/activation_codes.h): the
// bodies (activation_codes_kernel.h) built for the baseline CPU here, and for AVX-512 in
// activation_codes_avx512.cpp, chosen at run time (Kernel::kActivationCodes).
#include "bnrecal/arith/activation_codes.h"

#include "activation_codes_kernel.h"
#include "dispatch_variants.h"

namespace bnrecal::arith {
namespace codes {

bool quantize_portable(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                       const int64_t* channel_source, uint8_t* out) {
  return quantize_body(x, n, c, hw, inv_scale, channel_source, out);
}

void rescale_portable(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0, int64_t hw,
                      int64_t channels, int64_t col0, const double* scale, const float* bias,
                      float* out) {
  rescale_body(acc, rows, cols, row0, hw, channels, col0, scale, bias, out);
}

namespace {

struct Passes {
  QuantizeToNhwc quantize;
  RescaleRowsToNchw rescale;
};

detail::Variants<Passes>& passes() {
  static detail::Variants<Passes> table({
#ifdef BNRECAL_HAVE_X86_KERNELS
      {"avx512", detail::cpu_has_avx512f, {quantize_avx512, rescale_avx512}},
#endif
      {"portable", detail::cpu_any, {quantize_portable, rescale_portable}},
  });
  return table;
}

}  // namespace
}  // namespace codes

namespace detail {
VariantSet& activation_codes_variants() { return codes::passes(); }
}  // namespace detail

bool quantize_to_nhwc_u8(const float* x, int64_t n, int64_t c, int64_t hw, float inv_scale,
                         const int64_t* channel_source, uint8_t* out) {
  return codes::passes().active().quantize(x, n, c, hw, inv_scale, channel_source, out);
}

void rescale_rows_to_nchw(const int32_t* acc, int64_t rows, int64_t cols, int64_t row0, int64_t hw,
                          int64_t channels, int64_t col0, const double* scale, const float* bias,
                          float* out) {
  codes::passes().active().rescale(acc, rows, cols, row0, hw, channels, col0, scale, bias, out);
}

}  // namespace bnrecal::arith
