// A8W8: int8 per-channel weights x uint8 per-layer activations with exact integer accumulation,
// then rescaled to float32 (docs/sysmt-arithmetic.md section 7).
//
//   A8W8Params p;  p.a_max = 3.7;                     // from calibrate_activations()
//   conv.set_policy(std::make_shared<bnrecal::A8W8Policy>(conv.info(), p));
//
// Execution. Unsigned activations (the default) with groups == 1 (and K <= 65,000) run on integer hardware's path:
// uint8 codes x int8 codes -> exact int32 accumulators in the u8s8s32 GEMM of integer_gemm.h.
// Signed activations and grouped convs convolve the integer codes stored as floats instead:
// |x code * w code| <= 255*128, so a float32 accumulation of K products is exact while
// K <= 2^24 / 32640 = 514, and larger reductions run in float64, exact up to 2^53. Both paths
// then compute y[o] = float(double(acc[o]) * (double(s_x) * double(s_w[o]))) + bias[o]: one float
// rounding from the exact integer accumulator, as on integer hardware with a float rescale, so
// they agree bit for bit.
#pragma once
#include "bnrecal/nn/arith_policy.h"
#include "bnrecal/nn/integer_gemm.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/quantizer.h"

namespace bnrecal {

struct A8W8Params {
  double a_max = 0.0;  // calibrated input range; <= 0 means "not calibrated" (forward throws)
  ActivationMode activation_mode = ActivationMode::kUnsigned;
  nlohmann::json to_json() const;
};

class A8W8Policy : public ArithPolicy {
 public:
  A8W8Policy(const LayerInfo& layer, A8W8Params params);
  std::string name() const override { return "a8w8"; }
  nlohmann::json describe() const override;
  at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                    const ConvGeometry& geometry) override;
  at::Tensor linear(const at::Tensor& input, const at::Tensor& weight,
                    const at::Tensor& bias) override;
  const A8W8Params& params() const { return params_; }
  // How many forwards used the float64 path (signed or grouped, K > 514; for tests).
  int64_t float64_forwards() const { return float64_forwards_; }

 private:
  // Unsigned codes, groups == 1 and K within the int32 accumulators' exact range.
  bool integer_path(int64_t groups, int64_t k) const;
  at::Tensor rescale(const at::Tensor& acc, const ActivationCodes& x, const WeightCodes& w,
                     const at::Tensor& bias, int64_t channel_dim) const;

  LayerInfo layer_;
  A8W8Params params_;
  IntegerGemm gemm_;  // T = 1: the exact GEMM
  int64_t float64_forwards_ = 0;
};

// The calibrated parameters of one layer, as the a8w8 and sysmt factories build them: InputError
// when the model is not calibrated, the layer has no range, or (unsigned mode) it saw negatives.
A8W8Params a8w8_params(const LayerInfo& layer, const ModelCalibration& calibration,
                       ActivationMode mode);
// The model-level check of the policies that quantize activations: InputError naming the command
// that calibrates when the model has no activation ranges.
void require_activation_calibration(const ModelCalibration& calibration, const std::string& policy);
// The layer-level check before a forward: InputError naming the layer, the policy and the command
// that calibrates, unless a_max > 0.
void require_calibrated_range(const LayerInfo& layer, double a_max, const std::string& policy);

}  // namespace bnrecal
