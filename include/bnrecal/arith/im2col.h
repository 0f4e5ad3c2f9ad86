// im2col over NHWC uint8 activation codes, in the SySMT spec's k order: turns a convolution into
// the GEMM rows sysmt_gemm expects (docs/sysmt-arithmetic.md section 1).
//
//   bnrecal::arith::Im2colShape s;
//   s.n = 8; s.h = 28; s.w = 28; s.c = 64;     // input codes [N, H, W, C]
//   s.kh = s.kw = 3; s.pad_h = s.pad_w = 1;    // stride and dilation 1, groups 1 by default
//   s.validate();                              // InputError: empty output, C % groups != 0, ...
//   std::vector<uint8_t> a(tile * s.k());
//   for (int64_t m0 = 0; m0 < s.rows(); m0 += tile)
//     for (int64_t g = 0; g < s.groups; ++g) {
//       const int64_t rows = std::min(tile, s.rows() - m0);
//       bnrecal::arith::im2col_u8(x, s, g, m0, rows, a.data());  // a: [rows, s.k()]
//       bnrecal::sysmt::sysmt_gemm_packed(a.data(), rows, packed_weights[g], y_tile);
//     }
//
// Layout conventions:
// - x is [N, H, W, C] row-major uint8 (channel fastest); C counts the channels of all groups.
// - Output row m = (n*OH + oh)*OW + ow (batch, then output row, then output column).
// - Column k = (i*kw + j)*cg + c, cg = C / groups: kernel row i, kernel column j, channel c of
//   group g (input channel g*cg + c), channel fastest. This is the spec's "C-W-H" order; an OIHW
//   weight matches it once permuted to [O, kh, kw, cg].
// - Input pixel of tap (i, j): ih = oh*stride_h - pad_h + i*dilation_h, likewise iw. Taps outside
//   the input (padding) read code 0, the zero point of the activation codes.
// - OH = floor((H + 2*pad_h - dilation_h*(kh - 1) - 1) / stride_h) + 1 (PyTorch's), likewise OW;
//   a shape whose dilated kernel does not fit the padded input has an empty output.
#pragma once
#include <cstdint>

namespace bnrecal::arith {

struct Im2colShape {
  int64_t n = 1, h = 0, w = 0, c = 0;  // input [N, H, W, C]; c counts all groups' channels
  int64_t kh = 1, kw = 1;              // kernel rows and columns
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;  // zero codes added on each side
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;

  int64_t out_h() const;  // 0 when the dilated kernel does not fit the padded input
  int64_t out_w() const;
  int64_t channels_per_group() const { return c / groups; }
  int64_t k() const { return kh * kw * channels_per_group(); }  // columns per output row
  int64_t rows() const { return n * out_h() * out_w(); }        // GEMM rows M, all images

  // Throws InputError (naming the field) unless n >= 0; h, w, c, kh, kw, strides, dilations and
  // groups >= 1; paddings >= 0; c divisible by groups; and the output is not empty.
  void validate() const;
};

// Writes rows x shape.k() codes to `out` (row-major, row r is output row m = row0 + r) for
// group `group`. Validates the shape (InputError); throws std::out_of_range unless
// 0 <= group < groups and 0 <= row0 <= row0 + rows <= shape.rows(). Rows may start anywhere and
// span several images. Copies contiguous channel runs; OpenMP over rows when the tile is large.
void im2col_u8(const uint8_t* x_nhwc, const Im2colShape& shape, int64_t group, int64_t row0,
               int64_t rows, uint8_t* out);

// Same result, written straight from the definition above (one byte at a time), for tests.
void im2col_u8_ref(const uint8_t* x_nhwc, const Im2colShape& shape, int64_t group, int64_t row0,
                   int64_t rows, uint8_t* out);

}  // namespace bnrecal::arith
