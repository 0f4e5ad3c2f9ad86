// Low-bit quantization-aware arithmetic (docs/methods.md section 1.4): the layer computes with
// k_w-bit weights and k_a-bit activations (lowbit_quantizer.h), in training (straight-through
// gradients) and in inference alike, so a model trained under it evaluates with the very forward it
// was trained with.
//
//   apply_policy(*net, PolicySpec::parse("lowbit w_bits=1 a_bits=2 w_scale=channel"), 0);
//
// Like every non-fp32 policy it leaves the first conv and the linear layers in fp32 by default
// (override them to quantize them). With input=divide255 (the paper's divide255_quant) the model's
// input is pixels / 255 rather than standardized pixels, and the first conv keeps float weights but
// reads its input as 8-bit codes: an input outside [0, 1] means normalized images were fed, which
// is an InputError rather than silent clipping.
#pragma once
#include "bnrecal/data/data_source.h"
#include "bnrecal/nn/arith_policy.h"
#include "bnrecal/nn/lowbit_quantizer.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

struct LowBitParams {
  int weight_bits = 1;      // 0: full-precision weights
  int activation_bits = 2;  // 0: the input is not quantized
  WeightScaling scaling = WeightScaling::kChannel;
  bool unit_range_input = false;  // the input must lie in [0, 1] (first conv of a divide255 model)
  nlohmann::json to_json() const;
};

class LowBitPolicy : public ArithPolicy {
 public:
  LowBitPolicy(const LayerInfo& layer, LowBitParams params);
  std::string name() const override { return "lowbit"; }
  nlohmann::json describe() const override;
  at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                    const ConvGeometry& geometry) override;
  at::Tensor linear(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias) override;
  const LowBitParams& params() const { return params_; }

 private:
  at::Tensor input_codes(const at::Tensor& input) const;
  at::Tensor weights(const at::Tensor& weight) const;

  std::string layer_;
  LowBitParams params_;
};

// The input normalization a model under `arithmetic` expects: pixels / 255 as they are (mean 0,
// std 1 per channel) for an input=divide255 low-bit model, else `otherwise`.
Normalization input_normalization(const PolicySpec& arithmetic, const Normalization& otherwise);

}  // namespace bnrecal
