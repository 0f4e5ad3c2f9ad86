#include "bnrecal/nn/lowbit_policy.h"

#include "bnrecal/core/error.h"
#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {

nlohmann::json LowBitParams::to_json() const {
  return {{"weight_bits", weight_bits}, {"activation_bits", activation_bits},
          {"weight_scaling", weight_scaling_name(scaling)}, {"unit_range_input", unit_range_input}};
}

LowBitPolicy::LowBitPolicy(const LayerInfo& layer, LowBitParams params) : layer_(layer.name), params_(params) {}

nlohmann::json LowBitPolicy::describe() const {
  nlohmann::json j = params_.to_json();
  j["policy"] = "lowbit";
  return j;
}

at::Tensor LowBitPolicy::input_codes(const at::Tensor& input) const {
  if (params_.unit_range_input) {
    // Exact pixels / 255 lie on the 8-bit grid; allow for float rounding, not for standardized input.
    const double lo = input.min().item<double>(), hi = input.max().item<double>();
    if (lo < -1e-6 || hi > 1 + 1e-6) {
      throw InputError("layer '" + layer_ + "' was trained on pixels / 255 (input=divide255) but its input spans [" +
                       std::to_string(lo) + ", " + std::to_string(hi) + "]: normalized images were fed");
    }
  }
  return params_.activation_bits > 0 ? quantize_unit_activations(input, params_.activation_bits) : input;
}

at::Tensor LowBitPolicy::weights(const at::Tensor& weight) const {
  return params_.weight_bits > 0 ? quantize_lowbit_weights(weight, params_.weight_bits, params_.scaling) : weight;
}

at::Tensor LowBitPolicy::conv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                                const ConvGeometry& g) {
  return at::conv2d(input_codes(input), weights(weight), bias, {g.stride[0], g.stride[1]},
                    {g.padding[0], g.padding[1]}, {g.dilation[0], g.dilation[1]}, g.groups);
}

at::Tensor LowBitPolicy::linear(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias) {
  return at::linear(input_codes(input), weights(weight), bias);
}

Normalization input_normalization(const PolicySpec& arithmetic, const Normalization& otherwise) {
  if (!arithmetic.uses_policy("lowbit") || arithmetic.param("input") != "divide255") return otherwise;
  const size_t channels = otherwise.mean.size();
  return {std::vector<double>(channels, 0.0), std::vector<double>(channels, 1.0)};
}

PolicyEntry lowbit_policy_entry() {
  PolicyEntry e;
  e.name = "lowbit";
  e.description = "quantization-aware low-bit weights and activations (DoReFa-style, straight-through "
                  "gradients): train with it, then evaluate under it";
  e.trainable = true;
  e.params = {
      ParamDef::integer("w_bits", 1, "weight bits (1: sign x mean|W|)").allow({1, 2, 4, 8}),
      ParamDef::integer("a_bits", 2, "activation bits (input clipped to [0, 1])").allow({1, 2, 4, 8}),
      ParamDef::text("w_scale", "channel", "weight scale per output channel or per layer").allow({"channel", "layer"}),
      ParamDef::text("input", "standardized", "model input: standardized pixels, or pixels / 255 read as 8-bit "
                                              "codes by the first conv (divide255)")
          .allow({"standardized", "divide255"})
          .hide_default(),
  };
  // divide255: the first conv keeps float weights but reads 8-bit input codes (see the header).
  e.edge_policy = [](const LayerInfo& layer, const PolicyParams& params) -> std::string {
    return layer.is_first_conv && params.get<std::string>("input") == "divide255" ? "lowbit" : "fp32";
  };
  e.factory = [](const LayerInfo& layer, const PolicyContext& ctx) -> std::shared_ptr<ArithPolicy> {
    LowBitParams p;
    p.scaling = parse_weight_scaling(ctx.params.get<std::string>("w_scale"));
    if (layer.is_first_conv && ctx.params.get<std::string>("input") == "divide255") {
      p.weight_bits = 0;
      p.activation_bits = 8;
      p.unit_range_input = true;
    } else {
      p.weight_bits = ctx.params.get<int>("w_bits");
      p.activation_bits = ctx.params.get<int>("a_bits");
    }
    return std::make_shared<LowBitPolicy>(layer, p);
  };
  return e;
}

}  // namespace bnrecal
