#include "bnrecal/nn/lowbit_quantizer.h"

#include "bnrecal/core/error.h"

namespace bnrecal {

WeightScaling parse_weight_scaling(const std::string& name) {
  if (name == "channel") return WeightScaling::kChannel;
  if (name == "layer") return WeightScaling::kLayer;
  throw InputError("unknown weight scaling '" + name + "' (known: channel, layer)");
}

const char* weight_scaling_name(WeightScaling scaling) {
  return scaling == WeightScaling::kChannel ? "channel" : "layer";
}

namespace {

// The forward value of `quantized` with the gradient of `smooth`.
at::Tensor straight_through(const at::Tensor& smooth, const at::Tensor& quantized) {
  return smooth + (quantized - smooth).detach();
}

double levels(int bits) {
  TORCH_CHECK(bits >= 1 && bits <= 16, "quantizer bit width must be in 1..16, got ", bits);
  return static_cast<double>((int64_t{1} << bits) - 1);
}

// A reduction over every dimension but the output channel (kChannel), or over all (kLayer),
// kept broadcastable against the weight.
at::Tensor reduce_for_scaling(const at::Tensor& t, WeightScaling scaling, bool use_max) {
  if (scaling == WeightScaling::kLayer || t.dim() < 2) return use_max ? t.max() : t.mean();
  at::Tensor flat = t.reshape({t.size(0), -1});
  at::Tensor r = use_max ? std::get<0>(flat.max(1, /*keepdim=*/true)) : flat.mean(1, /*keepdim=*/true);
  std::vector<int64_t> shape(t.dim(), 1);
  shape[0] = t.size(0);
  return r.reshape(shape);
}

}  // namespace

at::Tensor quantize_unit_activations(const at::Tensor& x, int bits) {
  const double n = levels(bits);
  const at::Tensor clipped = x.clamp(0.0, 1.0);
  return straight_through(clipped, at::round(clipped * n) / n);
}

at::Tensor quantize_lowbit_weights(const at::Tensor& weight, int bits, WeightScaling scaling) {
  if (bits == 1) {
    const at::Tensor scale = reduce_for_scaling(weight.abs(), scaling, /*use_max=*/false);
    const at::Tensor sign = at::where(weight >= 0, at::ones_like(weight), -at::ones_like(weight));
    return straight_through(weight, sign * scale);
  }
  const double n = levels(bits);
  const at::Tensor t = at::tanh(weight);
  // A channel of zeros would divide 0 by 0; its weights map to the middle level either way.
  const at::Tensor max_abs = reduce_for_scaling(t.abs(), scaling, /*use_max=*/true).clamp_min(1e-12);
  const at::Tensor unit = t / (2 * max_abs) + 0.5;
  return 2 * straight_through(unit, at::round(unit * n) / n) - 1;
}

}  // namespace bnrecal
