// Exact u8 x s8 -> s32 convolution of NHWC activation codes without im2col: oneDNN's direct
// convolution, where it accumulates exactly (VNNI or AMX: the products are summed in int32; the
// older int8 paths add pairs in saturating int16 first and are never used).
//
//   bnrecal::arith::Im2colShape s;                  // geometry as for im2col_u8; s.n is ignored
//   s.h = 28; s.w = 28; s.c = 16; s.kh = s.kw = 3; s.pad_h = s.pad_w = 1;
//   if (bnrecal::arith::Int8DirectConv::active()) {
//     bnrecal::arith::Int8DirectConv conv(s, weights, /*out_channels=*/16);  // reorders once
//     conv.run(x_nhwc, /*images=*/8, y);  // y [8 * OH * OW, 16] int32, = im2col_u8 + GEMM
//   }
//
// It computes exactly what im2col_u8 followed by the int8 GEMM does: row m = (n*OH + oh)*OW + ow
// of y holds, for output channel o of group g, the sum over the group's taps of x * w, padding
// taps reading code 0. Kernel::kDirectConv (bnrecal/arith/dispatch.h) decides whether it is used:
// "onednn_vnni" when this CPU and oneDNN pass the exactness checks, else "portable", meaning
// callers take the im2col + GEMM path.
#pragma once
#include <cstdint>
#include <memory>

#include "bnrecal/arith/im2col.h"

namespace bnrecal::arith {

class Int8DirectConv {
 public:
  // True when Kernel::kDirectConv's active implementation is oneDNN's.
  static bool active();

  // weights: [out_channels, kh, kw, c / groups] int8 codes, output channels of group g at
  // g * out_channels / groups (im2col's k order per row; copied). Throws InputError for an invalid
  // shape or out_channels not divisible by groups, std::runtime_error if oneDNN has no exact
  // implementation (check active() first).
  Int8DirectConv(const Im2colShape& shape, const int8_t* weights, int64_t out_channels);
  ~Int8DirectConv();
  Int8DirectConv(const Int8DirectConv&) = delete;
  Int8DirectConv& operator=(const Int8DirectConv&) = delete;

  // x: [images, h, w, c] codes; y: [images * OH * OW, out_channels]. Thread-safe: inside an OpenMP
  // parallel region each caller runs single-threaded (oneDNN's rule), outside it oneDNN uses the
  // OpenMP threads.
  void run(const uint8_t* x, int64_t images, int32_t* y) const;

  // The geometry this convolution was built for (n as given to the constructor).
  const Im2colShape& shape() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bnrecal::arith
