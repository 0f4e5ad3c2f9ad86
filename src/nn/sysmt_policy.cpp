#include "bnrecal/nn/sysmt_policy.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>

#include "bnrecal/arith/im2col.h"

#include "bnrecal/core/error.h"
#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {

nlohmann::json SysmtParams::to_json() const {
  nlohmann::json j = a8w8.to_json();
  j["threads"] = config.threads;
  j["idle"] = sysmt::to_string(config.idle);
  j["round"] = sysmt::to_string(config.rounding);
  j["collect_diagnostics"] = collect_diagnostics;
  j["channel_order"] =
      channel_order.empty() ? nlohmann::json("identity") : nlohmann::json(channel_order);
  return j;
}

nlohmann::json SysmtLayerCost::to_json() const {
  return {{"k", k}, {"threads", threads}, {"outputs", outputs}, {"macs", macs}, {"cycles", cycles}};
}

SysmtPolicy::SysmtPolicy(const LayerInfo& layer, SysmtParams params)
    : layer_(layer), params_(std::move(params)) {
  sysmt::validate(params_.config);
  if (params_.a8w8.activation_mode != ActivationMode::kUnsigned) {
    throw InputError("sysmt needs unsigned (post-ReLU) activations; layer '" + layer.name +
                     "' was configured with signed activations");
  }
  if (!params_.channel_order.empty()) {
    const int64_t channels_per_group =
        layer.in_channels > 0 ? layer.in_channels / std::max<int64_t>(1, layer.geometry.groups) : 0;
    validate_channel_order(params_.channel_order, channels_per_group, layer.name);
    // Identity is stored as empty so describe() says so and forwards skip the gathers.
    if (is_identity_order(params_.channel_order)) {
      params_.channel_order.clear();
    } else {
      channel_order_ = at::tensor(params_.channel_order, at::kLong);
    }
  }
  cost_.threads = params_.config.threads;
}

void SysmtPolicy::check_channel_order_fits(int64_t channels_per_group) const {
  if (channel_order_.defined() && channel_order_.size(0) != channels_per_group) {
    throw InputError("sysmt layer '" + layer_.name + "': " + kChannelOrderKey + " has " +
                     std::to_string(channel_order_.size(0)) + " entries but the input has " +
                     std::to_string(channels_per_group) + " channels per group");
  }
}

at::Tensor SysmtPolicy::input_channel_index(int64_t groups) const {
  if (groups == 1) return channel_order_;
  const int64_t per_group = channel_order_.size(0);
  at::Tensor group_start = at::arange(groups, at::kLong).mul_(per_group).unsqueeze(1);
  return (group_start + channel_order_.unsqueeze(0)).reshape({-1});
}

nlohmann::json SysmtPolicy::describe() const {
  nlohmann::json j = params_.to_json();
  j["policy"] = "sysmt";
  j["weights"] = "int8 symmetric per output channel, s_w = max|W|/127.5";
  j["cost"] = cost().to_json();
  sysmt::SysmtDiagnostics d = diagnostics();
  if (d.threads > 0) {
    j["diagnostics"] = {{"active_lane_histogram", d.active_lane_histogram},
                        {"groups", d.groups},
                        {"collision_rate", d.collision_rate()},
                        {"activation_changed_fraction", d.activation_changed_fraction()},
                        {"weight_changed_fraction", d.weight_changed_fraction()},
                        {"mse_vs_exact", d.mse_vs_exact()},
                        {"outputs", d.outputs}};
  }
  return j;
}

sysmt::SysmtDiagnostics SysmtPolicy::diagnostics() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return diagnostics_;
}

SysmtLayerCost SysmtPolicy::cost() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return cost_;
}

void SysmtPolicy::reset_statistics() {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  diagnostics_ = sysmt::SysmtDiagnostics{};
  const int64_t k = cost_.k;
  cost_ = SysmtLayerCost{};
  cost_.k = k;
  cost_.threads = params_.config.threads;
}

ActivationCodes SysmtPolicy::quantize_input(const at::Tensor& input) const {
  if (!(params_.a8w8.a_max > 0)) {
    throw InputError("layer '" + layer_.name + "' has no calibrated activation range for sysmt; " +
                     "run `bnrecal calibrate --model MODEL -o MODEL_cal.safetensors` first");
  }
  return quantize_activations(input, params_.a8w8.a_max, layer_.name, ActivationMode::kUnsigned);
}

const SysmtPolicy::Packed& SysmtPolicy::packed_for(const at::Tensor& weight, int64_t groups) {
  const void* impl = weight.unsafeGetTensorImpl();
  const void* data = weight.data_ptr();
  const int64_t version = weight._version();
  if (packed_.impl == impl && packed_.data == data && packed_.version == version &&
      static_cast<int64_t>(packed_.packed.size()) == groups) {
    return packed_;
  }
  WeightCodes wc = quantize_weights(weight.detach());
  at::Tensor codes = wc.codes;
  // Dim 1 is the input channel within a group (conv) or the in_feature (linear). Per-output-
  // channel scales do not depend on the channel order, so permuting the codes is exact.
  if (channel_order_.defined()) codes = codes.index_select(1, channel_order_);
  if (codes.dim() == 4) codes = codes.permute({0, 2, 3, 1});  // OIHW -> O,kh,kw,Cg: k order
  const int64_t O = codes.size(0);
  codes = codes.reshape({O, -1}).contiguous();
  const int64_t K = codes.size(1);
  require(O % groups == 0, "sysmt: out channels not divisible by groups");
  const int64_t og = O / groups;
  Packed p;
  p.impl = impl;
  p.data = data;
  p.version = version;
  p.scales = wc.scales.contiguous();
  for (int64_t g = 0; g < groups; ++g) {
    at::Tensor wg = codes.narrow(0, g * og, og).contiguous();
    p.packed.emplace_back(wg.data_ptr<int8_t>(), og, K, params_.config);
    p.w.push_back(wg);
  }
  packed_ = std::move(p);
  std::lock_guard<std::mutex> lock(stats_mutex_);
  cost_.k = K;
  return packed_;
}

void SysmtPolicy::gemm_tile(const uint8_t* a, int64_t rows, int64_t group, const Packed& p,
                            float x_scale, const at::Tensor& bias, float* out, int64_t out_stride,
                            int64_t col0) {
  const sysmt::SysmtPackedWeights& pw = p.packed[group];
  const int64_t n = pw.n(), k = pw.k();
  std::vector<int32_t> y(static_cast<size_t>(rows * n));
  sysmt::sysmt_gemm_packed(a, rows, pw, y.data());
  // Same arithmetic as A8W8Policy::rescale: float(double(acc) * (double(s_w) * double(s_x))) + b.
  const float* sw = p.scales.data_ptr<float>() + col0;
  std::vector<double> scale(n);
  for (int64_t o = 0; o < n; ++o) scale[o] = static_cast<double>(sw[o]) * static_cast<double>(x_scale);
  const float* b = bias.defined() ? bias.data_ptr<float>() + col0 : nullptr;
  at::parallel_for(0, rows, 256, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      float* dst = out + r * out_stride + col0;
      const int32_t* src = y.data() + r * n;
      for (int64_t o = 0; o < n; ++o) {
        float v = static_cast<float>(static_cast<double>(src[o]) * scale[o]);
        dst[o] = b ? v + b[o] : v;
      }
    }
  });
  if (params_.collect_diagnostics) {
    sysmt::SysmtDiagnostics d =
        sysmt::sysmt_diagnostics(a, p.w[group].data_ptr<int8_t>(), rows, n, k, params_.config);
    std::lock_guard<std::mutex> lock(stats_mutex_);
    diagnostics_.merge(d);
  }
  const int64_t T = params_.config.threads;
  std::lock_guard<std::mutex> lock(stats_mutex_);
  cost_.outputs += rows * n;
  cost_.macs += rows * n * k;
  cost_.cycles += rows * n * ((k + T - 1) / T);
}

at::Tensor SysmtPolicy::conv2d(const at::Tensor& input, const at::Tensor& weight,
                               const at::Tensor& bias_in, const ConvGeometry& g) {
  require(input.dim() == 4 && weight.dim() == 4, "sysmt conv2d: expected NCHW input, OIHW weight");
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
    throw InputError("sysmt conv2d '" + layer_.name + "': input has " + std::to_string(shape.c) +
                     " channels, weight expects " + std::to_string(cg * g.groups));
  }
  shape.validate();
  check_channel_order_fits(cg);

  ActivationCodes x = quantize_input(input);
  const Packed& p = packed_for(weight, g.groups);
  at::Tensor bias = bias_in.defined() ? bias_in.detach().to(at::kFloat).contiguous() : bias_in;
  at::Tensor codes = x.codes;
  if (channel_order_.defined()) codes = codes.index_select(1, input_channel_index(g.groups));
  const at::Tensor xs = codes.permute({0, 2, 3, 1}).contiguous();  // NHWC uint8, channels reordered
  const int64_t M = shape.rows(), K = shape.k(), og = O / g.groups;
  at::Tensor out = at::empty({M, O}, input.options().dtype(at::kFloat));
  float* od = out.data_ptr<float>();
  const int64_t tile = std::min<int64_t>(M, kSysmtTileRows);
  std::vector<uint8_t> a(static_cast<size_t>(tile * K));
  for (int64_t m0 = 0; m0 < M; m0 += tile) {
    const int64_t rows = std::min(tile, M - m0);
    for (int64_t gi = 0; gi < g.groups; ++gi) {
      arith::im2col_u8(xs.data_ptr<uint8_t>(), shape, gi, m0, rows, a.data());
      gemm_tile(a.data(), rows, gi, p, x.scale, bias, od + m0 * O, O, gi * og);
    }
  }
  return out.reshape({shape.n, shape.out_h(), shape.out_w(), O}).permute({0, 3, 1, 2}).contiguous();
}

at::Tensor SysmtPolicy::linear(const at::Tensor& input, const at::Tensor& weight,
                               const at::Tensor& bias_in) {
  const int64_t K = weight.size(1), O = weight.size(0);
  check_channel_order_fits(K);
  ActivationCodes x = quantize_input(input);
  const Packed& p = packed_for(weight, 1);
  at::Tensor bias = bias_in.defined() ? bias_in.detach().to(at::kFloat).contiguous() : bias_in;
  at::Tensor codes = x.codes.reshape({-1, K});
  if (channel_order_.defined()) codes = codes.index_select(1, channel_order_);
  codes = codes.contiguous();
  const int64_t M = codes.size(0);
  at::Tensor out = at::empty({M, O}, input.options().dtype(at::kFloat));
  const uint8_t* ad = codes.data_ptr<uint8_t>();
  for (int64_t m0 = 0; m0 < M; m0 += kSysmtTileRows) {
    const int64_t rows = std::min<int64_t>(kSysmtTileRows, M - m0);
    gemm_tile(ad + m0 * K, rows, 0, p, x.scale, bias, out.data_ptr<float>() + m0 * O, O, 0);
  }
  std::vector<int64_t> shape(input.sizes().begin(), input.sizes().end());
  shape.back() = O;
  return out.reshape(shape);
}

PolicyEntry sysmt_policy_entry() {
  PolicyEntry e;
  e.name = "sysmt";
  e.description = "A8W8 codes on the NB-SMT accelerator arithmetic; needs `bnrecal calibrate`; honours "
                  "`bnrecal reorder`'s per-layer channel_order";
  e.params = {
      ParamDef::integer("smt", 2, "threads T sharing a MAC unit").allow({1, 2, 4}),
      ParamDef::text("idle", "either", "a lane is idle when x == 0 or w == 0 (either), or only x == 0 (act)")
          .allow({"either", "act"}),
      ParamDef::text("round", "rne", "4-bit reduction rounding").allow({"rne", "half_up", "trunc"}),
      ParamDef::flag("diagnostics", false, "collect per-layer collision/MSE statistics (slow)").hide_default(),
  };
  e.check_model = [](const PolicyParams&, const ModelCalibration& c) { require_activation_calibration(c, "sysmt"); };
  e.factory = [](const LayerInfo& layer, const PolicyContext& ctx) -> std::shared_ptr<ArithPolicy> {
    SysmtParams p;
    p.a8w8 = a8w8_params(layer, ctx.calibration, ActivationMode::kUnsigned);
    p.config = sysmt_config(ctx.params);
    p.collect_diagnostics = ctx.params.get<bool>("diagnostics");
    const auto order = ctx.calibration.channel_orders.find(layer.name);
    if (order != ctx.calibration.channel_orders.end()) p.channel_order = order->second;
    return std::make_shared<SysmtPolicy>(layer, p);
  };
  return e;
}

sysmt::SysmtConfig sysmt_config(const PolicyParams& params) {
  sysmt::SysmtConfig c;
  c.threads = params.get<int>("smt");
  c.idle = sysmt::parse_idle_rule(params.get<std::string>("idle"));
  c.rounding = sysmt::parse_rounding(params.get<std::string>("round"));
  sysmt::validate(c);
  return c;
}

}  // namespace bnrecal
