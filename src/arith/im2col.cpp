// im2col over NHWC uint8 codes (bnrecal/arith/im2col.h): the portable version copies runs of
// contiguous channels with memcpy (a whole kernel row at once when groups == 1 and dilation_w == 1,
// since the taps' channels are then adjacent in memory), the reference one byte at a time. For
// such contiguous shapes an AVX-512 version (im2col_avx512.cpp) is chosen at run time.
#include "bnrecal/arith/im2col.h"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>

#include "bnrecal/core/error.h"
#include "dispatch_variants.h"
#include "im2col_kernels.h"

namespace bnrecal::arith {
namespace {

// Output size along one axis; the numerator is checked before dividing because C++ division
// truncates toward zero (-1 / 2 == 0 would claim one output position).
int64_t out_size(int64_t in, int64_t pad, int64_t kernel, int64_t dilation, int64_t stride) {
  const int64_t span = in + 2 * pad - dilation * (kernel - 1) - 1;
  return span < 0 ? 0 : span / stride + 1;
}

void require_at_least(int64_t value, int64_t minimum, const char* field) {
  require(value >= minimum, std::string("im2col: ") + field + " = " + std::to_string(value) +
                                " (must be >= " + std::to_string(minimum) + ")");
}

void check_tile(const Im2colShape& s, int64_t group, int64_t row0, int64_t rows) {
  s.validate();
  if (group < 0 || group >= s.groups)
    throw std::out_of_range("im2col: group " + std::to_string(group) + " outside 0.." +
                            std::to_string(s.groups - 1));
  if (row0 < 0 || rows < 0 || row0 + rows > s.rows())
    throw std::out_of_range("im2col: rows " + std::to_string(row0) + ".." +
                            std::to_string(row0 + rows) + " outside 0.." +
                            std::to_string(s.rows()));
}

// A kernel row's taps are adjacent in the NHWC codes: one run of kw * C bytes.
bool contiguous_kernel_rows(const Im2colShape& s) { return s.groups == 1 && s.dilation_w == 1; }

// Kernel row i of output pixel (n, oh, ow): kw taps of cg channels each, from input row
// `src_row` (pixel (n, ih, 0), channel g*cg). Taps left or right of the input are zero.
void copy_kernel_row(const Im2colShape& s, const uint8_t* src_row, int64_t iw0, uint8_t* dst) {
  const int64_t C = s.c, cg = s.channels_per_group(), dw = s.dilation_w;
  if (contiguous_kernel_rows(s)) {  // one run, zeros around it
    const int64_t j_lo = std::clamp<int64_t>(-iw0, 0, s.kw);
    const int64_t j_hi = std::clamp<int64_t>(s.w - iw0, j_lo, s.kw);
    std::memset(dst, 0, static_cast<size_t>(j_lo * C));
    if (j_hi > j_lo) {
      std::memcpy(dst + j_lo * C, src_row + (iw0 + j_lo) * C,
                  static_cast<size_t>((j_hi - j_lo) * C));
    }
    std::memset(dst + j_hi * C, 0, static_cast<size_t>((s.kw - j_hi) * C));
    return;
  }
  for (int64_t j = 0; j < s.kw; ++j, dst += cg) {
    const int64_t iw = iw0 + j * dw;
    if (iw < 0 || iw >= s.w) {
      std::memset(dst, 0, static_cast<size_t>(cg));
    } else if (cg == 1) {  // depthwise: a call per byte would dominate
      *dst = src_row[iw * C];
    } else {
      std::memcpy(dst, src_row + iw * C, static_cast<size_t>(cg));
    }
  }
}

// One output row m of group g.
void fill_row(const uint8_t* x, const Im2colShape& s, int64_t out_h, int64_t out_w, int64_t g,
              int64_t m, uint8_t* dst) {
  const int64_t n = m / (out_h * out_w), oh = (m / out_w) % out_h, ow = m % out_w;
  const int64_t ih0 = oh * s.stride_h - s.pad_h, iw0 = ow * s.stride_w - s.pad_w;
  const int64_t row_bytes = s.kw * s.channels_per_group();
  for (int64_t i = 0; i < s.kh; ++i, dst += row_bytes) {
    const int64_t ih = ih0 + i * s.dilation_h;
    if (ih < 0 || ih >= s.h) {
      std::memset(dst, 0, static_cast<size_t>(row_bytes));
      continue;
    }
    const uint8_t* src_row = x + ((n * s.h + ih) * s.w) * s.c + g * s.channels_per_group();
    copy_kernel_row(s, src_row, iw0, dst);
  }
}

}  // namespace

int64_t Im2colShape::out_h() const { return out_size(h, pad_h, kh, dilation_h, stride_h); }
int64_t Im2colShape::out_w() const { return out_size(w, pad_w, kw, dilation_w, stride_w); }

void Im2colShape::validate() const {
  struct Bound {
    int64_t value, minimum;
    const char* field;
  };
  const Bound bounds[] = {{n, 0, "batch n"},        {h, 1, "input height h"},  {w, 1, "input width w"},
                          {c, 1, "channels c"},     {kh, 1, "kernel height kh"}, {kw, 1, "kernel width kw"},
                          {stride_h, 1, "stride_h"}, {stride_w, 1, "stride_w"}, {pad_h, 0, "pad_h"},
                          {pad_w, 0, "pad_w"},      {dilation_h, 1, "dilation_h"}, {dilation_w, 1, "dilation_w"},
                          {groups, 1, "groups"}};
  for (const Bound& b : bounds) require_at_least(b.value, b.minimum, b.field);
  require(c % groups == 0, "im2col: " + std::to_string(c) + " channels not divisible by " +
                               std::to_string(groups) + " groups");
  require(out_h() > 0 && out_w() > 0,
          "im2col: empty output (" + std::to_string(kh) + "x" + std::to_string(kw) +
              " kernel, dilation " + std::to_string(dilation_h) + "x" + std::to_string(dilation_w) +
              ", does not fit the " + std::to_string(h) + "x" + std::to_string(w) +
              " input padded by " + std::to_string(pad_h) + "x" + std::to_string(pad_w) + ")");
}

void im2col_rows_portable(const uint8_t* x_nhwc, const Im2colShape& shape, int64_t group,
                          int64_t row0, int64_t rows, uint8_t* out) {
  const int64_t K = shape.k(), out_h = shape.out_h(), out_w = shape.out_w();
#pragma omp parallel for schedule(static) if (rows * K >= kIm2colParallelBytes)
  for (int64_t r = 0; r < rows; ++r)
    fill_row(x_nhwc, shape, out_h, out_w, group, row0 + r, out + r * K);
}

namespace {

// Implementations for contiguous kernel rows, fastest first (bnrecal/arith/dispatch.h,
// Kernel::kIm2col).
detail::Variants<Im2colRows>& im2col_kernels() {
  static detail::Variants<Im2colRows> table({
#ifdef BNRECAL_HAVE_X86_KERNELS
      {"avx512_vbmi", detail::cpu_has_avx512_vbmi, im2col_rows_avx512},
#endif
      {"portable", detail::cpu_any, im2col_rows_portable},
  });
  return table;
}

}  // namespace

namespace detail {
VariantSet& im2col_variants() { return im2col_kernels(); }
}  // namespace detail

void im2col_u8(const uint8_t* x_nhwc, const Im2colShape& shape, int64_t group, int64_t row0,
               int64_t rows, uint8_t* out) {
  check_tile(shape, group, row0, rows);
  const Im2colRows fill =
      contiguous_kernel_rows(shape) ? im2col_kernels().active() : im2col_rows_portable;
  fill(x_nhwc, shape, group, row0, rows, out);
}

void im2col_u8_ref(const uint8_t* x_nhwc, const Im2colShape& s, int64_t group, int64_t row0,
                   int64_t rows, uint8_t* out) {
  check_tile(s, group, row0, rows);
  const int64_t OH = s.out_h(), OW = s.out_w(), cg = s.channels_per_group(), K = s.k();
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t m = row0 + r;
    const int64_t n = m / (OH * OW), oh = (m / OW) % OH, ow = m % OW;
    for (int64_t i = 0; i < s.kh; ++i) {
      for (int64_t j = 0; j < s.kw; ++j) {
        for (int64_t c = 0; c < cg; ++c) {
          const int64_t ih = oh * s.stride_h - s.pad_h + i * s.dilation_h;
          const int64_t iw = ow * s.stride_w - s.pad_w + j * s.dilation_w;
          const bool inside = ih >= 0 && ih < s.h && iw >= 0 && iw < s.w;
          const int64_t k = (i * s.kw + j) * cg + c;
          out[r * K + k] = inside ? x_nhwc[((n * s.h + ih) * s.w + iw) * s.c + group * cg + c] : 0;
        }
      }
    }
  }
}

}  // namespace bnrecal::arith
