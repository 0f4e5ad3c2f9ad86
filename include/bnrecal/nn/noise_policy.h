// Analog weight noise (docs/methods.md section 1.3) as a decorator around any inner policy: the inner policy
// (fp32, a8w8, ...) sees W_noisy instead of W, so "noise then quantize" is
// NoisyWeightsPolicy(model, A8W8Policy).
//
//   bnrecal::NoiseModel m = bnrecal::noise_preset("seed-003", /*eta=*/0.04);
//   layer.set_policy(std::make_shared<bnrecal::NoisyWeightsPolicy>(
//       inner, m, layer.info(), /*run_seed=*/7));
//
// General model:  multiplicative  W_noisy = W * (1 + prod_i F_i)
//                 additive-max    W_noisy = W + max|W| * prod_i F_i
// where each factor F_i ~ Normal(mean_i, std_i^2) is drawn per weight or once per layer, and
// either re-drawn every forward batch (temporal) or drawn once per policy instance (spatial).
//
// Reproducibility: each layer's generators are seeded from (run seed, layer name, factor index),
// never from a shared stream, so draws do not depend on layer iteration order or thread count.
// Spatial factors are drawn in the constructor; temporal ones advance one draw per forward call.
#pragma once
#include <ATen/ATen.h>
#include <ATen/core/Generator.h>

#include <memory>
#include <string>
#include <vector>

#include "bnrecal/nn/forwarding_policy.h"

namespace bnrecal {

struct NoiseFactor {
  double mean = 0.0;
  double std = 0.0;
  bool per_weight = true;     // false: one value for the whole layer
  bool redraw_per_batch = true;  // false: drawn once per instance (spatial)
  nlohmann::json to_json() const;
  static NoiseFactor from_json(const nlohmann::json& j);
};

struct NoiseModel {
  std::string preset = "custom";   // seed-003, relative, additive-max, custom
  bool additive_max = false;       // false: multiplicative
  double eta = 0.0;                // the preset's scale (recorded; factors already include it)
  std::vector<NoiseFactor> factors;
  nlohmann::json to_json() const;
  static NoiseModel from_json(const nlohmann::json& j);
  bool is_identity() const;        // every draw is exactly 0 (e.g. eta = 0)
};

struct NoisePresetParams {
  double eta = 0.0;
  double sigma_t = 0.2;  // seed-003: temporal level (relative to eta)
  double sigma_s = 0.1;  // seed-003: spatial level
};
// Throws InputError for an unknown preset (listing the known ones) or a negative eta / sigma.
NoiseModel noise_preset(const std::string& name, const NoisePresetParams& params);
inline NoiseModel noise_preset(const std::string& name, double eta) {
  NoisePresetParams p;
  p.eta = eta;
  return noise_preset(name, p);
}
// {name, one-line description} of every preset.
std::vector<std::pair<std::string, std::string>> noise_presets();

// Deterministic 64-bit seed from a run seed and a label (splitmix64 over FNV-1a of the label).
uint64_t derive_seed(uint64_t run_seed, const std::string& label);

class NoisyWeightsPolicy : public ForwardingPolicy {
 public:
  NoisyWeightsPolicy(std::shared_ptr<ArithPolicy> inner, NoiseModel model, const LayerInfo& layer,
                     uint64_t run_seed);
  std::string name() const override { return inner().name() + "+noise"; }
  nlohmann::json describe() const override;

  // The weight the next forward would use (draws the temporal factors: advances the stream).
  at::Tensor noisy_weight(const at::Tensor& weight);
  // The spatial draws of factor i (undefined tensor for a temporal factor), for tests.
  const at::Tensor& spatial_draw(size_t factor) const { return spatial_[factor]; }
  int64_t forward_count() const { return forwards_; }

 protected:
  at::Tensor transform_weight(const at::Tensor& weight) override { return noisy_weight(weight); }

 private:
  at::Tensor draw(size_t factor, at::Generator& gen) const;

  NoiseModel model_;
  std::string layer_name_;
  std::vector<int64_t> weight_shape_;
  uint64_t run_seed_;
  std::vector<at::Tensor> spatial_;       // per factor; defined for spatial factors
  std::vector<at::Generator> temporal_;   // per factor; used for temporal factors
  int64_t forwards_ = 0;
};

}  // namespace bnrecal
