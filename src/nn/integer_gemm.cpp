#include "bnrecal/nn/integer_gemm.h"

#include <algorithm>

#include "bnrecal/arith/activation_codes.h"
#include "bnrecal/arith/direct_conv.h"
#include "bnrecal/arith/im2col.h"
#include "bnrecal/arith/parallel_tiles.h"
#include "bnrecal/core/error.h"
#include "bnrecal/core/stage_profile.h"
#include "bnrecal/nn/channel_order.h"
#include "bnrecal/nn/quantizer.h"

namespace bnrecal {
namespace {

// The bias as contiguous float32 (undefined stays undefined), kept alive while its data is read.
at::Tensor float_bias(const at::Tensor& bias) {
  return bias.defined() ? bias.detach().to(at::kFloat).contiguous() : bias;
}

// Per-thread scratch kept across forwards (fresh megabytes on every call cost page faults).
struct TileScratch {
  std::vector<uint8_t> rows;  // the im2col tile
  std::vector<int32_t> acc;   // its int32 accumulators
};
thread_local TileScratch t_scratch;

template <typename T>
T* scratch(std::vector<T>& v, int64_t size) {
  if (v.size() < static_cast<size_t>(size)) v.resize(static_cast<size_t>(size));
  return v.data();
}

bool same_geometry(const arith::Im2colShape& a, const arith::Im2colShape& b) {
  return a.h == b.h && a.w == b.w && a.c == b.c && a.kh == b.kh && a.kw == b.kw &&
         a.stride_h == b.stride_h && a.stride_w == b.stride_w && a.pad_h == b.pad_h &&
         a.pad_w == b.pad_w && a.dilation_h == b.dilation_h && a.dilation_w == b.dilation_w &&
         a.groups == b.groups;
}

// Output rows per tile: about 1 MB of im2col codes (a core's cache), within [256, 4096].
int64_t tile_rows(int64_t k) {
  return std::clamp<int64_t>((int64_t{1} << 20) / std::max<int64_t>(k, 1), 256, 4096);
}

}  // namespace

IntegerGemm::IntegerGemm(std::string layer_name, sysmt::SysmtConfig config,
                         std::vector<int64_t> channel_order)
    : layer_name_(std::move(layer_name)), config_(config), channel_order_(std::move(channel_order)) {
  sysmt::validate(config_);
}

void IntegerGemm::check_channel_order_fits(int64_t channels_per_group) const {
  if (!channel_order_.empty() && static_cast<int64_t>(channel_order_.size()) != channels_per_group) {
    throw InputError("sysmt layer '" + layer_name_ + "': " + kChannelOrderKey + " has " +
                     std::to_string(channel_order_.size()) + " entries but the input has " +
                     std::to_string(channels_per_group) + " channels per group");
  }
}

at::Tensor IntegerGemm::quantize(const at::Tensor& x, int64_t images, int64_t channels, int64_t hw,
                                 int64_t groups, float scale) const {
  std::vector<int64_t> source;
  if (!channel_order_.empty()) {  // the same order within every group
    const int64_t per_group = static_cast<int64_t>(channel_order_.size());
    source.resize(static_cast<size_t>(channels));
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t j = 0; j < per_group; ++j) source[g * per_group + j] = g * per_group + channel_order_[j];
  }
  const StageTimer timer(Stage::kQuantize);
  at::Tensor codes = at::empty({images * hw, channels}, x.options().dtype(at::kByte));
  const bool negative =
      arith::quantize_to_nhwc_u8(x.data_ptr<float>(), images, channels, hw, 1.0f / scale,
                                 source.empty() ? nullptr : source.data(), codes.data_ptr<uint8_t>());
  if (negative) throw_negative_unsigned_input(layer_name_, x.min().item<double>());
  return codes;
}

const IntegerGemm::Packed& IntegerGemm::packed_for(const at::Tensor& weight, int64_t groups) {
  const void* impl = weight.unsafeGetTensorImpl();
  const void* data = weight.data_ptr();
  const int64_t version = weight._version();
  if (packed_.impl == impl && packed_.data == data && packed_.version == version &&
      static_cast<int64_t>(packed_.w.size()) == groups) {
    return packed_;
  }
  WeightCodes wc = quantize_weights(weight.detach());
  at::Tensor codes = wc.codes;
  // Dim 1 is the input channel within a group (conv) or the in_feature (linear). Per-output-
  // channel scales do not depend on the channel order, so permuting the codes is exact.
  if (!channel_order_.empty()) codes = codes.index_select(1, at::tensor(channel_order_, at::kLong));
  if (codes.dim() == 4) codes = codes.permute({0, 2, 3, 1});  // OIHW -> O,kh,kw,Cg: k order
  const int64_t O = codes.size(0);
  codes = codes.reshape({O, -1}).contiguous();
  require(O % groups == 0, "integer gemm: out channels not divisible by groups");
  const int64_t og = O / groups;
  Packed p;
  p.impl = impl;
  p.data = data;
  p.version = version;
  const at::Tensor scales = wc.scales.contiguous();
  p.scales.assign(scales.data_ptr<float>(), scales.data_ptr<float>() + O);
  p.codes = codes;
  for (int64_t g = 0; g < groups; ++g) {
    p.w.push_back(codes.narrow(0, g * og, og));  // rows of a contiguous tensor: contiguous
  }
  packed_ = std::move(p);
  return packed_;
}

void IntegerGemm::pack_for_gemm() {
  if (!packed_.packed.empty()) return;
  for (const at::Tensor& wg : packed_.w)
    packed_.packed.emplace_back(wg.data_ptr<int8_t>(), wg.size(0), wg.size(1), config_);
}

const IntegerGemm::Packed::DirectConv* IntegerGemm::direct_conv_for(const arith::Im2colShape& shape) {
  const int T = config_.threads;
  if (!arith::Int8DirectConv::active()) return nullptr;
  // SySMT's lane groups are T consecutive k = (tap, channel) columns; they stay within one tap,
  // so within one pixel, only when a group's channels divide into them.
  if (T > 1 && (shape.groups != 1 || shape.c % T != 0)) return nullptr;
  Packed::DirectConv& d = packed_.direct;
  // Planned for this geometry already, with or without a convolution (all-zero weights).
  if (same_geometry(d.input, shape)) return d.conv ? &d : nullptr;
  d = Packed::DirectConv{};
  d.input = shape;
  const int64_t O = packed_.codes.size(0);
  const int8_t* weights = packed_.codes.data_ptr<int8_t>();
  arith::Im2colShape expanded = shape;
  if (T > 1) {
    // Each (output channel, tap) weight row over the C input channels is a SySMT row of depth C:
    // planned together, they give every pixel one expansion that serves all taps and outputs.
    const int64_t taps = shape.kh * shape.kw;
    d.pixels = std::make_unique<sysmt::SysmtPackedWeights>(weights, O * taps, shape.c, config_);
    if (d.pixels->expanded_depth() == 0) return nullptr;  // all weights zero: the GEMM path
    expanded.c = d.pixels->expanded_depth();
    weights = d.pixels->expanded_weights();  // [O, kh, kw, C'], the conv's OHWI weights
  }
  d.conv = std::make_unique<arith::Int8DirectConv>(expanded, weights, O);
  return &d;
}

std::vector<double> IntegerGemm::Packed::output_scales(float x_scale) const {
  std::vector<double> s(scales.size());
  for (size_t o = 0; o < s.size(); ++o) s[o] = scales[o] * static_cast<double>(x_scale);
  return s;
}

void IntegerGemm::gemm_tile(const uint8_t* a, int64_t rows, int64_t row0, int64_t group,
                            const Packed& p, const double* scale, const float* bias, int64_t hw,
                            int64_t channels, float* out, const TileObserver& observe) {
  const sysmt::SysmtPackedWeights& pw = p.packed[group];
  const int64_t n = pw.n(), col0 = group * n;
  int32_t* acc = scratch(t_scratch.acc, rows * n);
  {
    const StageTimer timer(Stage::kKernel);
    sysmt::sysmt_gemm_packed(a, rows, pw, acc);
  }
  count_integer_macs(rows * n * pw.k(), rows * n * pw.expanded_depth());
  {
    const StageTimer timer(Stage::kRescale);
    arith::rescale_rows_to_nchw(acc, rows, n, row0, hw, channels, col0, scale + col0,
                                bias ? bias + col0 : nullptr, out);
  }
  if (observe) observe(GemmTile{a, p.w[group].data_ptr<int8_t>(), rows, n, pw.k(), col0});
}

at::Tensor IntegerGemm::conv2d(const at::Tensor& input, double a_max, const at::Tensor& weight,
                               const at::Tensor& bias_in, const ConvGeometry& g,
                               const TileObserver& observe) {
  require(input.dim() == 4 && weight.dim() == 4, "integer conv2d: expected NCHW input, OIHW weight");
  arith::Im2colShape shape;
  shape.n = input.size(0);
  shape.c = input.size(1);
  shape.h = input.size(2);
  shape.w = input.size(3);
  shape.kh = weight.size(2);
  shape.kw = weight.size(3);
  shape.stride_h = g.stride[0];
  shape.stride_w = g.stride[1];
  shape.pad_h = g.padding[0];
  shape.pad_w = g.padding[1];
  shape.dilation_h = g.dilation[0];
  shape.dilation_w = g.dilation[1];
  shape.groups = g.groups;
  const int64_t O = weight.size(0), cg = weight.size(1);
  if (cg * g.groups != shape.c) {
    throw InputError("conv2d '" + layer_name_ + "': input has " + std::to_string(shape.c) +
                     " channels, weight expects " + std::to_string(cg * g.groups));
  }
  shape.validate();
  check_channel_order_fits(cg);

  const float x_scale = activation_scale(a_max, ActivationMode::kUnsigned);
  const at::Tensor x = input.detach().to(at::kFloat).contiguous();
  const at::Tensor codes = quantize(x, shape.n, shape.c, shape.h * shape.w, g.groups, x_scale);  // NHWC
  const Packed& p = packed_for(weight, g.groups);
  const std::vector<double> out_scales = p.output_scales(x_scale);
  const at::Tensor bias = float_bias(bias_in);
  const float* b = bias.defined() ? bias.data_ptr<float>() : nullptr;
  const int64_t M = shape.rows(), K = shape.k(), hw = shape.out_h() * shape.out_w();
  at::Tensor out = at::empty({shape.n, O, shape.out_h(), shape.out_w()}, x.options());
  float* od = out.data_ptr<float>();
  const uint8_t* xs = codes.data_ptr<uint8_t>();
  if (const Packed::DirectConv* direct = observe ? nullptr : direct_conv_for(shape)) {
    // oneDNN's direct convolution replaces im2col + GEMM (the same int32 sums), a tile of whole
    // images at a time; under SySMT on the pixels' expanded codes.
    const int64_t pixels = shape.h * shape.w, depth = direct->conv->shape().c;
    const int64_t images_per_tile = std::max<int64_t>(1, tile_rows(K) / hw);
    arith::for_each_tile(shape.n, images_per_tile, [&](int64_t n0, int64_t images) {
      const int64_t rows = images * hw;
      int32_t* acc = scratch(t_scratch.acc, rows * O);
      {
        const StageTimer timer(Stage::kKernel);
        const uint8_t* input = xs + n0 * pixels * shape.c;
        if (direct->pixels) {
          uint8_t* expanded = scratch(t_scratch.rows, images * pixels * depth);
          direct->pixels->expand_activations(input, images * pixels, expanded);
          input = expanded;
        }
        direct->conv->run(input, images, acc);
      }
      count_integer_macs(rows * O * K, rows * O * shape.kh * shape.kw * depth);
      const StageTimer timer(Stage::kRescale);
      arith::rescale_rows_to_nchw(acc, rows, O, n0 * hw, hw, O, 0, out_scales.data(), b, od);
    });
    return out;
  }
  pack_for_gemm();
  // A 1x1 stride-1 unpadded conv reads each input pixel once, in order: no im2col needed.
  const bool rows_are_pixels = shape.kh == 1 && shape.kw == 1 && shape.stride_h == 1 &&
                               shape.stride_w == 1 && shape.pad_h == 0 && shape.pad_w == 0 &&
                               g.groups == 1;
  arith::for_each_tile(M, tile_rows(K), [&](int64_t m0, int64_t rows) {
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      if (rows_are_pixels) {
        gemm_tile(xs + m0 * K, rows, m0, gi, p, out_scales.data(), b, hw, O, od, observe);
        continue;
      }
      uint8_t* tile = scratch(t_scratch.rows, rows * K);
      {
        const StageTimer timer(Stage::kIm2col);
        arith::im2col_u8(xs, shape, gi, m0, rows, tile);
      }
      gemm_tile(tile, rows, m0, gi, p, out_scales.data(), b, hw, O, od, observe);
    }
  });
  return out;
}

at::Tensor IntegerGemm::linear(const at::Tensor& input, double a_max, const at::Tensor& weight,
                               const at::Tensor& bias_in, const TileObserver& observe) {
  const int64_t K = weight.size(1), O = weight.size(0);
  if (input.dim() < 1 || input.size(-1) != K) {
    throw InputError("linear '" + layer_name_ + "': input has " +
                     (input.dim() ? std::to_string(input.size(-1)) : std::string("no")) +
                     " features, weight expects " + std::to_string(K));
  }
  check_channel_order_fits(K);
  const float x_scale = activation_scale(a_max, ActivationMode::kUnsigned);
  const at::Tensor x = input.detach().to(at::kFloat).contiguous().reshape({-1, K});
  const int64_t M = x.size(0);
  const at::Tensor codes = quantize(x, M, K, /*hw=*/1, /*groups=*/1, x_scale);
  const Packed& p = packed_for(weight, 1);
  pack_for_gemm();
  const std::vector<double> out_scales = p.output_scales(x_scale);
  const at::Tensor bias = float_bias(bias_in);
  const float* b = bias.defined() ? bias.data_ptr<float>() : nullptr;
  at::Tensor out = at::empty({M, O}, x.options());
  const uint8_t* ad = codes.data_ptr<uint8_t>();
  float* od = out.data_ptr<float>();
  arith::for_each_tile(M, tile_rows(K), [&](int64_t m0, int64_t rows) {
    gemm_tile(ad + m0 * K, rows, m0, 0, p, out_scales.data(), b, /*hw=*/1, O, od, observe);
  });
  std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end());
  shape.back() = O;
  return out.reshape(shape);
}

}  // namespace bnrecal
