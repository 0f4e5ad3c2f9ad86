// Low-bit quantizers for quantization-aware training, DoReFa-style (docs/methods.md section 1.4),
// each with a straight-through gradient: the forward pass uses the quantized value, the backward
// pass treats the rounding as the identity.
//
//   at::Tensor x2 = bnrecal::quantize_unit_activations(x, 2);            // {0, 1/3, 2/3, 1}
//   at::Tensor w1 = bnrecal::quantize_lowbit_weights(w, 1, bnrecal::WeightScaling::kChannel);
//
// Activations (k bits): clamp to [0, 1], then q = round(x * n) / n with n = 2^k - 1. The gradient
// is 1 inside [0, 1] and 0 outside (the clamp's own gradient).
// Weights, k = 1: sign(W) * mean|W| (sign(0) = +1, so every weight is one of two values), the mean
// over each output channel (kChannel, the paper's "usual" channelwise scaling) or the whole layer
// (kLayer). The gradient passes straight through to W.
// Weights, k >= 2: DoReFa's w_q = 2 * round_k(tanh(W) / (2 max|tanh W|) + 1/2) - 1, in [-1, 1], the
// max per output channel or per layer; the gradient flows through tanh and the normalization.
// Rounding is at::round (half to even), as PyTorch implementations of these quantizers use.
#pragma once
#include <ATen/ATen.h>

#include <string>

namespace bnrecal {

enum class WeightScaling { kChannel, kLayer };
WeightScaling parse_weight_scaling(const std::string& name);  // "channel" | "layer"
const char* weight_scaling_name(WeightScaling scaling);

at::Tensor quantize_unit_activations(const at::Tensor& x, int bits);
at::Tensor quantize_lowbit_weights(const at::Tensor& weight, int bits, WeightScaling scaling);

}  // namespace bnrecal
