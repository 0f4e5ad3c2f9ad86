// A8W8 quantizers (sysmt-arithmetic.md section 7): symmetric per-output-channel int8 weights and
// unsigned per-layer uint8 activations, both with zero point 0 and round-half-to-even.
//
//   bnrecal::WeightCodes w = bnrecal::quantize_weights(conv->weight);        // int8 + scale[O]
//   bnrecal::ActivationCodes x = bnrecal::quantize_activations(input, a_max, "layer1.0.conv1");
//   at::Tensor w_hat = bnrecal::dequantize_weights(w);                        // float32
//
// Integer codes are exposed (not only fake-quantized floats) so an integer GEMM (SySMT) can
// consume exactly the codes the a8w8 policy would.
//
// Rounding convention: code = nearbyint(x * (1 / s)) with the reciprocal taken in float32, as
// PyTorch's fake_quantize_per_channel_affine does, so our codes equal PyTorch's bit for bit.
// nearbyint in the default rounding mode is round-half-to-even: it keeps the quantization error
// unbiased on ties, which matter because max|W| / s_w is exactly 127.5 for every channel.
#pragma once
#include <ATen/ATen.h>

#include <string>

namespace bnrecal {

constexpr double kWeightScaleDivisor = 127.5;  // s_w = max|W[o]| / 127.5
constexpr int64_t kWeightCodeMin = -128;
constexpr int64_t kWeightCodeMax = 127;
constexpr double kActivationLevels = 255.0;    // s_x = a_max / 255

struct WeightCodes {
  at::Tensor codes;   // int8, same shape as the weight (OIHW or [out, in])
  at::Tensor scales;  // float32 [O]
};

enum class ActivationMode {
  kUnsigned,  // codes in [0, 255], s_x = a_max / 255; negative inputs are an InputError
  kSigned,    // codes in [-128, 127], s_x = a_max / 127.5 (a_max = calibrated max |x|)
};
const char* activation_mode_name(ActivationMode mode);
ActivationMode parse_activation_mode(const std::string& name);  // "unsigned" | "signed"

struct ActivationCodes {
  at::Tensor codes;  // uint8 (unsigned) or int8 (signed), same shape as the input
  float scale = 1.0f;
};

// Per-output-channel scales s_w[o] = max|W[o]| / 127.5 (float32 [O]). An all-zero channel gets
// scale 1: its codes are 0 whatever the scale, and 1 avoids 0/0 = NaN downstream.
at::Tensor weight_scales(const at::Tensor& weight);
WeightCodes quantize_weights(const at::Tensor& weight);
at::Tensor dequantize_weights(const WeightCodes& codes);
// quantize + dequantize in one step (float32, same shape).
at::Tensor fake_quantize_weights(const at::Tensor& weight);

// Scale for a calibrated range; a_max must be > 0 (a layer whose inputs were all zero during
// calibration gets a_max = 1 from the calibrator, which is harmless for the same reason).
float activation_scale(double a_max, ActivationMode mode = ActivationMode::kUnsigned);
// Throws InputError naming layer_name when mode is kUnsigned and the input has negative values:
// clamping them to 0 would be silently wrong.
ActivationCodes quantize_activations(const at::Tensor& input, double a_max,
                                     const std::string& layer_name,
                                     ActivationMode mode = ActivationMode::kUnsigned);
at::Tensor dequantize_activations(const ActivationCodes& codes);
// The InputError quantize_activations throws for a negative input to an unsigned layer.
[[noreturn]] void throw_negative_unsigned_input(const std::string& layer_name, double min_value);

// Largest reduction length K for which a float32 accumulation of K products of codes is exact:
// every partial sum of integers stays below 2^24 in magnitude.
int64_t exact_float32_reduction_limit(ActivationMode mode);

}  // namespace bnrecal
