// The integer execution of a conv or linear layer shared by the a8w8 policy (T = 1: the exact
// u8 x s8 -> s32 GEMM) and the sysmt policy (T = 2, 4: the NB-SMT arithmetic), in four passes:
//   1. quantize: float NCHW input -> uint8 codes in NHWC, channels in the layer's lane order,
//      one fused pass (bnrecal/arith/activation_codes.h);
//   2. im2col in the spec's k order (skipped for 1x1 stride-1 unpadded convs: the NHWC codes
//      already are the GEMM rows), one tile of output rows at a time;
//   3. sysmt_gemm_packed with the int8 per-channel weight codes, packed once per weight version
//      (on the first forward that runs this path);
//   4. rescale: y = float(double(acc) * (double(s_w[o]) * double(s_x))) + bias[o], written
//      straight into the NCHW output (the docs/sysmt-arithmetic.md section 7 rescale).
// Where oneDNN's int8 convolution is exact on this CPU (bnrecal/arith/direct_conv.h), passes 2
// and 3 of a conv are one direct convolution instead, tiles of whole images at a time, with the
// same int32 sums and no im2col copy: at T = 1 of the NHWC codes; at T = 2, 4 (groups 1, C a
// multiple of T, so that no lane group leaves a pixel) of each pixel's SySMT-expanded codes,
// planned from all (output channel, tap) weight rows at once. Not when an observer wants the
// GEMM tiles (the sysmt policy's diagnostics).
//
//   IntegerGemm gemm("layer1.0.conv1", config, {});            // identity channel order
//   at::Tensor y = gemm.conv2d(x, /*a_max=*/3.7, w, b, geometry, [&](const GemmTile& t) {...});
//
// Passes 2-4 run per tile, and with enough tiles the tiles are shared out among the OpenMP
// threads (each running im2col, GEMM and rescale of its own tile, with its own scratch): one
// parallel region per layer instead of one per stage per tile, whose barriers left a thread
// waiting for a fifth of a 4T forward, and each tile stays in that core's cache through the passes.
// The observer sees every GEMM tile (codes, weights, sizes), for diagnostics and cost counting,
// possibly from several threads at once and in any order.
#pragma once
#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bnrecal/arith/direct_conv.h"
#include "bnrecal/arith/sysmt.h"
#include "bnrecal/nn/arith_policy.h"

namespace bnrecal {

// One GEMM tile as computed: a [rows, k] uint8 codes times w [n, k] int8 codes (k order, lane
// order applied), for output channels col0 .. col0+n-1.
struct GemmTile {
  const uint8_t* a;
  const int8_t* w;
  int64_t rows, n, k, col0;
};

class IntegerGemm {
 public:
  using TileObserver = std::function<void(const GemmTile&)>;

  // channel_order: input channel placed at each lane position within a group (a permutation the
  // caller has validated), or empty for identity.
  IntegerGemm(std::string layer_name, sysmt::SysmtConfig config, std::vector<int64_t> channel_order);

  // input float NCHW (conv) or [..., in_features] (linear), a_max the calibrated unsigned range
  // (> 0). InputError for negative inputs, a channel count that does not match the weight, or a
  // channel order of the wrong length.
  at::Tensor conv2d(const at::Tensor& input, double a_max, const at::Tensor& weight,
                    const at::Tensor& bias, const ConvGeometry& geometry,
                    const TileObserver& observe = {});
  at::Tensor linear(const at::Tensor& input, double a_max, const at::Tensor& weight,
                    const at::Tensor& bias, const TileObserver& observe = {});

 private:
  struct Packed {
    const void* impl = nullptr;  // weight TensorImpl
    const void* data = nullptr;
    int64_t version = -1;
    std::vector<double> scales;                     // s_w[o], float32 values as double
    at::Tensor codes;                               // int8 [O, K], lane order
    std::vector<at::Tensor> w;                      // per group: its rows of codes
    std::vector<sysmt::SysmtPackedWeights> packed;  // per group; made by pack_for_gemm
    // double(s_w[o]) * double(s_x) for every output channel: the rescale factors of one forward.
    std::vector<double> output_scales(float x_scale) const;
    // The direct convolution for the last input geometry (groups 1 and C % T == 0 under SySMT).
    struct DirectConv {
      arith::Im2colShape input;  // the geometry planned for (h = 0: none yet)
      std::unique_ptr<sysmt::SysmtPackedWeights> pixels;  // T > 1: the per-pixel expansion
      std::unique_ptr<arith::Int8DirectConv> conv;        // over the (expanded) codes
    } direct;
  };
  const Packed& packed_for(const at::Tensor& weight, int64_t groups);
  // packed_.packed, made on the first forward that runs im2col + GEMM: a layer that always runs
  // the direct convolution never holds this second expansion of its weights.
  void pack_for_gemm();
  // packed_'s direct convolution for this geometry (made or remade on demand), or null where
  // the layer runs im2col + GEMM (no exact oneDNN convolution here, or SySMT lane groups that
  // straddle taps).
  const Packed::DirectConv* direct_conv_for(const arith::Im2colShape& shape);
  // x float [images, channels, hw] contiguous -> uint8 codes [images * hw, channels] (NHWC),
  // channels permuted into lane order within each of `groups` groups.
  at::Tensor quantize(const at::Tensor& x, int64_t images, int64_t channels, int64_t hw,
                      int64_t groups, float scale) const;
  void check_channel_order_fits(int64_t channels_per_group) const;
  // Y rows of one group: codes a [rows, K] -> rescaled into out (float NCHW, `channels` planes)
  // with scale[o] (all output channels, from Packed::output_scales).
  static void gemm_tile(const uint8_t* a, int64_t rows, int64_t row0, int64_t group,
                        const Packed& p, const double* scale, const float* bias, int64_t hw,
                        int64_t channels, float* out, const TileObserver& observe);

  std::string layer_name_;
  sysmt::SysmtConfig config_;
  std::vector<int64_t> channel_order_;
  Packed packed_;
};

}  // namespace bnrecal
