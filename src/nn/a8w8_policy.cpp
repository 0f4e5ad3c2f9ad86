#include "bnrecal/nn/a8w8_policy.h"

#include "bnrecal/core/error.h"
#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {

nlohmann::json A8W8Params::to_json() const {
  return {{"a_max", a_max}, {"activations", activation_mode_name(activation_mode)}};
}

A8W8Policy::A8W8Policy(const LayerInfo& layer, A8W8Params params)
    : layer_(layer), params_(params), gemm_(layer.name, sysmt::SysmtConfig{}, {}) {}

nlohmann::json A8W8Policy::describe() const {
  nlohmann::json j = params_.to_json();
  j["policy"] = "a8w8";
  j["weights"] = "int8 symmetric per output channel, s_w = max|W|/127.5";
  return j;
}

at::Tensor A8W8Policy::rescale(const at::Tensor& acc, const ActivationCodes& x, const WeightCodes& w,
                               const at::Tensor& bias, int64_t channel_dim) const {
  std::vector<int64_t> shape(acc.dim(), 1);
  shape[channel_dim] = w.scales.size(0);
  at::Tensor scale = (w.scales.to(at::kDouble) * static_cast<double>(x.scale)).reshape(shape);
  at::Tensor y = (acc.to(at::kDouble) * scale).to(at::kFloat);
  if (bias.defined()) {
    std::vector<int64_t> bshape(acc.dim(), 1);
    bshape[channel_dim] = bias.size(0);
    y = y + bias.reshape(bshape);
  }
  return y;
}

bool A8W8Policy::integer_path(int64_t groups, int64_t k) const {
  return params_.activation_mode == ActivationMode::kUnsigned && groups == 1 && k <= sysmt::kMaxK;
}

at::Tensor A8W8Policy::conv2d(const at::Tensor& input, const at::Tensor& weight,
                              const at::Tensor& bias, const ConvGeometry& g) {
  require_calibrated_range(layer_, params_.a_max, "a8w8");
  const int64_t k = weight.size(1) * weight.size(2) * weight.size(3);
  if (integer_path(g.groups, k)) return gemm_.conv2d(input, params_.a_max, weight, bias, g);
  ActivationCodes x = quantize_activations(input, params_.a_max, layer_.name, params_.activation_mode);
  WeightCodes w = quantize_weights(weight);
  const bool exact_in_float = k <= exact_float32_reduction_limit(params_.activation_mode);
  const auto dtype = exact_in_float ? at::kFloat : at::kDouble;
  if (!exact_in_float) ++float64_forwards_;
  at::Tensor acc = at::conv2d(x.codes.to(dtype), w.codes.to(dtype), {}, g.stride, g.padding,
                              g.dilation, g.groups);
  return rescale(acc, x, w, bias, 1);
}

at::Tensor A8W8Policy::linear(const at::Tensor& input, const at::Tensor& weight,
                              const at::Tensor& bias) {
  require_calibrated_range(layer_, params_.a_max, "a8w8");
  if (integer_path(1, weight.size(1))) return gemm_.linear(input, params_.a_max, weight, bias);
  ActivationCodes x = quantize_activations(input, params_.a_max, layer_.name, params_.activation_mode);
  WeightCodes w = quantize_weights(weight);
  const bool exact_in_float = weight.size(1) <= exact_float32_reduction_limit(params_.activation_mode);
  const auto dtype = exact_in_float ? at::kFloat : at::kDouble;
  if (!exact_in_float) ++float64_forwards_;
  at::Tensor acc = at::linear(x.codes.to(dtype), w.codes.to(dtype));
  return rescale(acc, x, w, bias, acc.dim() - 1);
}

void require_calibrated_range(const LayerInfo& layer, double a_max, const std::string& policy) {
  if (!(a_max > 0)) {
    throw InputError("layer '" + layer.name + "' has no calibrated activation range for " + policy +
                     "; run `bnrecal calibrate --model MODEL -o MODEL_cal.safetensors` first");
  }
}

void require_activation_calibration(const ModelCalibration& calibration, const std::string& policy) {
  if (!calibration.activations) {
    throw InputError(policy + " needs calibrated activation ranges but the model has none; run "
                     "`bnrecal calibrate --model MODEL -o MODEL_cal.safetensors` and use that file");
  }
}

A8W8Params a8w8_params(const LayerInfo& layer, const ModelCalibration& calibration,
                       ActivationMode mode) {
  require_activation_calibration(calibration, "this policy");
  const auto& layers = calibration.activations->layers;
  const auto it = layers.find(layer.name);
  if (it == layers.end()) {
    throw InputError("layer '" + layer.name + "' has no calibrated activation range; run "
                     "`bnrecal calibrate` again on this model");
  }
  const LayerRange& r = it->second;
  A8W8Params p;
  p.activation_mode = mode;
  if (mode == ActivationMode::kUnsigned) {
    if (r.min < 0) {
      throw InputError("layer '" + layer.name + "' saw negative inputs during calibration (min " +
                       std::to_string(r.min) + "), so unsigned a8w8 would be wrong; use --override " +
                       layer.name + "=fp32 or the policy parameter activations=signed");
    }
    p.a_max = r.a_max;
  } else {
    p.a_max = r.max_abs > 0 ? r.max_abs : r.a_max;
  }
  return p;
}

PolicyEntry a8w8_policy_entry() {
  PolicyEntry e;
  e.name = "a8w8";
  e.description = "int8 per-channel weights x uint8 per-layer activations, exact accumulation; "
                  "needs `bnrecal calibrate`";
  e.params = {ParamDef::text("activations", "unsigned", "activation codes: unsigned (post-ReLU) or signed")
                  .allow({"unsigned", "signed"})
                  .hide_default()};
  e.check_model = [](const PolicyParams&, const ModelCalibration& c) { require_activation_calibration(c, "a8w8"); };
  e.factory = [](const LayerInfo& layer, const PolicyContext& ctx) -> std::shared_ptr<ArithPolicy> {
    const ActivationMode mode = parse_activation_mode(ctx.params.get<std::string>("activations"));
    return std::make_shared<A8W8Policy>(layer, a8w8_params(layer, ctx.calibration, mode));
  };
  return e;
}

}  // namespace bnrecal
