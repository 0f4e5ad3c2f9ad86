#include "bnrecal/nn/quantizer.h"

#include "bnrecal/core/error.h"

namespace bnrecal {

const char* activation_mode_name(ActivationMode mode) {
  return mode == ActivationMode::kUnsigned ? "unsigned" : "signed";
}

ActivationMode parse_activation_mode(const std::string& name) {
  if (name == "unsigned") return ActivationMode::kUnsigned;
  if (name == "signed") return ActivationMode::kSigned;
  throw InputError("unknown activation mode '" + name + "' (known: unsigned, signed)");
}

at::Tensor weight_scales(const at::Tensor& weight) {
  TORCH_CHECK(weight.dim() >= 2, "weight must be OIHW or [out, in], got ", weight.sizes());
  at::Tensor w = weight.detach().to(at::kFloat).reshape({weight.size(0), -1});
  at::Tensor max_abs = std::get<0>(w.abs().max(1));
  at::Tensor scales = max_abs / static_cast<float>(kWeightScaleDivisor);
  return at::where(max_abs > 0, scales, at::ones_like(scales));
}

namespace {
// code = clamp(nearbyint(x * (1/s)), lo, hi) with s broadcast along dim 0 when per-channel.
at::Tensor round_clamp(const at::Tensor& x, const at::Tensor& inv_scale, int64_t lo, int64_t hi) {
  // at::round is nearbyint (half to even) in the default floating-point environment.
  return at::clamp(at::round(x * inv_scale), static_cast<double>(lo), static_cast<double>(hi));
}
at::Tensor per_channel_view(const at::Tensor& per_channel, int64_t dim) {
  std::vector<int64_t> shape(dim, 1);
  shape[0] = per_channel.size(0);
  return per_channel.reshape(shape);
}
}  // namespace

WeightCodes quantize_weights(const at::Tensor& weight) {
  at::Tensor w = weight.detach().to(at::kFloat);
  at::Tensor scales = weight_scales(w);
  // Reciprocal in float32 first, exactly as PyTorch's fake-quant kernels, so codes agree.
  at::Tensor inv = per_channel_view(at::reciprocal(scales), w.dim());
  at::Tensor codes = round_clamp(w, inv, kWeightCodeMin, kWeightCodeMax).to(at::kChar);
  return {codes, scales};
}

at::Tensor dequantize_weights(const WeightCodes& q) {
  return q.codes.to(at::kFloat) * per_channel_view(q.scales, q.codes.dim());
}

at::Tensor fake_quantize_weights(const at::Tensor& weight) {
  return dequantize_weights(quantize_weights(weight));
}

float activation_scale(double a_max, ActivationMode mode) {
  TORCH_CHECK(a_max > 0 && std::isfinite(a_max), "activation range must be positive, got ", a_max);
  const double divisor = mode == ActivationMode::kUnsigned ? kActivationLevels : kWeightScaleDivisor;
  return static_cast<float>(static_cast<float>(a_max) / static_cast<float>(divisor));
}

void throw_negative_unsigned_input(const std::string& layer_name, double min_value) {
  throw InputError("layer '" + layer_name + "': a8w8 quantizes its input as unsigned but the " +
                   "input has negative values (min " + std::to_string(min_value) +
                   "); exclude the layer (--override " + layer_name +
                   "=fp32) or use signed activations (--activations signed)");
}

ActivationCodes quantize_activations(const at::Tensor& input, double a_max,
                                     const std::string& layer_name, ActivationMode mode) {
  at::Tensor x = input.detach().to(at::kFloat);
  const float scale = activation_scale(a_max, mode);
  at::Tensor inv = at::scalar_tensor(1.0f / scale, at::kFloat);
  ActivationCodes out;
  out.scale = scale;
  if (mode == ActivationMode::kUnsigned) {
    const double min_value = x.numel() ? x.min().item<double>() : 0.0;
    if (min_value < 0) throw_negative_unsigned_input(layer_name, min_value);
    out.codes = round_clamp(x, inv, 0, 255).to(at::kByte);
  } else {
    out.codes = round_clamp(x, inv, kWeightCodeMin, kWeightCodeMax).to(at::kChar);
  }
  return out;
}

at::Tensor dequantize_activations(const ActivationCodes& q) {
  return q.codes.to(at::kFloat) * q.scale;
}

int64_t exact_float32_reduction_limit(ActivationMode mode) {
  const int64_t max_x = mode == ActivationMode::kUnsigned ? 255 : 128;
  const int64_t max_product = max_x * 128;  // |w code| <= 128
  return ((int64_t{1} << 24) / max_product);
}

}  // namespace bnrecal
