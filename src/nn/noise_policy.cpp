#include "bnrecal/nn/noise_policy.h"

#include <ATen/CPUGeneratorImpl.h>

#include <sstream>

#include "bnrecal/core/error.h"

namespace bnrecal {

nlohmann::json NoiseFactor::to_json() const {
  return {{"mean", mean}, {"std", std}, {"per", per_weight ? "weight" : "layer"},
          {"redraw", redraw_per_batch ? "batch" : "once"}};
}

NoiseFactor NoiseFactor::from_json(const nlohmann::json& j) {
  NoiseFactor f;
  f.mean = j.value("mean", 0.0);
  f.std = j.value("std", 0.0);
  const std::string per = j.value("per", "weight");
  const std::string redraw = j.value("redraw", "batch");
  require(per == "weight" || per == "layer", "noise factor 'per' must be weight|layer, got '" + per + "'");
  require(redraw == "batch" || redraw == "once",
          "noise factor 'redraw' must be batch|once, got '" + redraw + "'");
  require(f.std >= 0, "noise factor std must be >= 0, got " + std::to_string(f.std));
  f.per_weight = per == "weight";
  f.redraw_per_batch = redraw == "batch";
  return f;
}

nlohmann::json NoiseModel::to_json() const {
  nlohmann::json fs = nlohmann::json::array();
  for (const auto& f : factors) fs.push_back(f.to_json());
  return {{"preset", preset}, {"form", additive_max ? "additive-max" : "multiplicative"},
          {"eta", eta}, {"factors", fs}};
}

NoiseModel NoiseModel::from_json(const nlohmann::json& j) {
  NoiseModel m;
  m.preset = j.value("preset", "custom");
  const std::string form = j.value("form", "multiplicative");
  require(form == "multiplicative" || form == "additive-max",
          "noise form must be multiplicative|additive-max, got '" + form + "'");
  m.additive_max = form == "additive-max";
  m.eta = j.value("eta", 0.0);
  for (const auto& f : j.value("factors", nlohmann::json::array())) {
    m.factors.push_back(NoiseFactor::from_json(f));
  }
  require(!m.factors.empty(), "a noise model needs at least one factor");
  return m;
}

bool NoiseModel::is_identity() const {
  // The product of factors is identically 0 when some factor is the constant 0.
  for (const auto& f : factors) {
    if (f.mean == 0.0 && f.std == 0.0) return true;
  }
  return false;
}

std::vector<std::pair<std::string, std::string>> noise_presets() {
  return {{"seed-003", "W*(1 + N_T*N_S), N_T~N(eta,(sigma_t*eta)^2) per weight per batch, "
                       "N_S~N(1,sigma_s^2) per weight once (docs/methods.md 1.3; default)"},
          {"relative", "W*(1 + eta*xi), xi~N(0,1) per weight, re-drawn every batch"},
          {"additive-max", "W + eta*max|W|*xi, xi~N(0,1) per weight, re-drawn every batch"}};
}

NoiseModel noise_preset(const std::string& name, const NoisePresetParams& p) {
  require(p.eta >= 0 && std::isfinite(p.eta), "noise eta must be >= 0, got " + std::to_string(p.eta));
  require(p.sigma_t >= 0 && p.sigma_s >= 0, "noise sigma_t and sigma_s must be >= 0");
  NoiseModel m;
  m.preset = name;
  m.eta = p.eta;
  if (name == "seed-003") {
    m.factors.push_back({p.eta, p.sigma_t * p.eta, true, true});  // N_T: temporal
    m.factors.push_back({1.0, p.sigma_s, true, false});           // N_S: spatial
  } else if (name == "relative") {
    m.factors.push_back({0.0, p.eta, true, true});
  } else if (name == "additive-max") {
    m.additive_max = true;
    m.factors.push_back({0.0, p.eta, true, true});
  } else {
    std::string known;
    for (const auto& [n, d] : noise_presets()) known += (known.empty() ? "" : ", ") + n;
    throw InputError("unknown noise preset '" + name + "' (known: " + known + ")");
  }
  return m;
}

uint64_t derive_seed(uint64_t run_seed, const std::string& label) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : label) {
    h ^= c;
    h *= 1099511628211ull;
  }
  uint64_t z = run_seed ^ h;  // splitmix64 finaliser mixes the two well
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

NoisyWeightsPolicy::NoisyWeightsPolicy(std::shared_ptr<ArithPolicy> inner, NoiseModel model,
                                       const LayerInfo& layer, uint64_t run_seed)
    : ForwardingPolicy(std::move(inner)), model_(std::move(model)), layer_name_(layer.name),
      run_seed_(run_seed) {
  if (layer.is_linear) {
    weight_shape_ = {layer.out_channels, layer.in_channels};
  } else {
    weight_shape_ = {layer.out_channels, layer.in_channels / layer.geometry.groups,
                     layer.kernel[0], layer.kernel[1]};
  }
  for (size_t i = 0; i < model_.factors.size(); ++i) {
    const std::string label = layer_name_ + "/factor" + std::to_string(i);
    at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(derive_seed(run_seed_, label));
    if (model_.factors[i].redraw_per_batch) {
      spatial_.emplace_back();
      temporal_.push_back(gen);
    } else {
      spatial_.push_back(draw(i, gen));
      temporal_.push_back(gen);  // unused, kept so indices line up
    }
  }
}

at::Tensor NoisyWeightsPolicy::draw(size_t i, at::Generator& gen) const {
  const NoiseFactor& f = model_.factors[i];
  std::vector<int64_t> shape = f.per_weight ? weight_shape_ : std::vector<int64_t>{1};
  at::Tensor t = at::empty(shape, at::kFloat);
  if (f.std == 0.0) return t.fill_(f.mean);  // no draw: a constant consumes no randomness
  // Serial draw from this layer's own generator: independent of thread count.
  t.normal_(f.mean, f.std, gen);
  return t;
}

at::Tensor NoisyWeightsPolicy::noisy_weight(const at::Tensor& weight) {
  ++forwards_;
  TORCH_CHECK(weight.sizes() == at::IntArrayRef(weight_shape_), "layer ", layer_name_,
              ": weight shape ", weight.sizes(), " differs from the policy's ", weight_shape_);
  at::Tensor product;
  for (size_t i = 0; i < model_.factors.size(); ++i) {
    at::Tensor f = model_.factors[i].redraw_per_batch ? draw(i, temporal_[i]) : spatial_[i];
    product = product.defined() ? product * f : f;
  }
  at::Tensor w = weight.detach();
  if (model_.additive_max) {
    return w + w.abs().max() * product;
  }
  return w * (1 + product);
}

nlohmann::json NoisyWeightsPolicy::describe() const {
  nlohmann::json j = inner().describe();
  j["noise"] = model_.to_json();
  j["noise"]["seed"] = run_seed_;
  return j;
}

}  // namespace bnrecal
