// Unstructured magnitude pruning as a model transform (sysmt-arithmetic.md section 9): zeroes
// the smallest-magnitude weights, either the same fraction in every selected layer or one global
// threshold over all of them. Zero weights free SySMT lanes under the `either` idle rule.
//
//   bnrecal::PruneOptions o;  o.fraction = 0.4;  o.scope = bnrecal::PruneScope::kGlobal;
//   bnrecal::PruneReport r = bnrecal::prune_by_magnitude(*net, o);
//   meta["pruning"] = r.to_json();          // `bnrecal train --from` keeps these zeros at zero
//
// Fine-tuning: ZeroMask remembers which weights are zero and re-zeroes them after each step.
#pragma once
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>
#include <torch/nn/module.h>

namespace bnrecal {

enum class PruneScope { kPerLayer, kGlobal };
PruneScope parse_prune_scope(const std::string& name);  // "layer" | "global"; InputError otherwise
const char* prune_scope_name(PruneScope scope);

struct PruneOptions {
  double fraction = 0.0;  // of the selected weights to zero, in [0, 1)
  PruneScope scope = PruneScope::kPerLayer;
  // Layer names or globs; empty: the layers SySMT accelerates (every conv except the first conv
  // and depthwise convs), so the pruning goes where it frees lanes.
  std::vector<std::string> layers;
};

struct PrunedLayer {
  std::string name;
  int64_t weights = 0;
  int64_t zeros_before = 0;
  int64_t zeros_after = 0;
};

struct PruneReport {
  PruneOptions options;
  std::vector<PrunedLayer> layers;
  int64_t weights = 0, zeros_after = 0;
  double sparsity() const { return weights ? static_cast<double>(zeros_after) / weights : 0.0; }
  std::vector<std::string> layer_names() const;
  nlohmann::json to_json() const;
};

// Zeroes exactly round(fraction * n) weights of the smallest magnitude (n per layer, or over all
// selected layers for kGlobal; ties broken by position, so the result is deterministic). Weights
// that are already zero count as pruned. Throws InputError (model untouched) for a fraction
// outside [0, 1) or patterns that select no layer.
PruneReport prune_by_magnitude(torch::nn::Module& model, const PruneOptions& options);

// The zero pattern of the named layers' weights, to keep pruned weights at zero while training.
class ZeroMask {
 public:
  ZeroMask() = default;
  // InputError if a name is not a conv/linear layer of model.
  ZeroMask(torch::nn::Module& model, const std::vector<std::string>& layer_names);
  bool empty() const { return masks_.empty(); }
  // weight *= mask for every layer (no autograd); call after each optimizer step.
  void apply() const;

 private:
  std::vector<std::pair<at::Tensor, at::Tensor>> masks_;  // (weight, 0/1 mask of its dtype)
};

}  // namespace bnrecal
