#include "bnrecal/models/pruning.h"

#include <torch/torch.h>

#include <cmath>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/core/name_match.h"

namespace bnrecal {

PruneScope parse_prune_scope(const std::string& name) {
  if (name == "layer") return PruneScope::kPerLayer;
  if (name == "global") return PruneScope::kGlobal;
  throw InputError("unknown pruning scope '" + name + "' (known: layer, global)");
}

const char* prune_scope_name(PruneScope scope) { return scope == PruneScope::kGlobal ? "global" : "layer"; }

std::vector<std::string> PruneReport::layer_names() const {
  std::vector<std::string> names;
  for (const auto& l : layers) names.push_back(l.name);
  return names;
}

nlohmann::json PruneReport::to_json() const {
  nlohmann::json per_layer = nlohmann::json::array();
  for (const auto& l : layers)
    per_layer.push_back({{"name", l.name},
                         {"weights", l.weights},
                         {"zeros_before", l.zeros_before},
                         {"zeros_after", l.zeros_after},
                         {"sparsity", l.weights ? static_cast<double>(l.zeros_after) / l.weights : 0.0}});
  return {{"method", "unstructured magnitude"},
          {"fraction", options.fraction},
          {"scope", prune_scope_name(options.scope)},
          {"patterns", options.layers},
          {"weights", weights},
          {"zeros", zeros_after},
          {"sparsity", sparsity()},
          {"layers", per_layer}};
}

namespace {

std::vector<ArithLayerRef> select_layers(torch::nn::Module& model, const std::vector<std::string>& patterns) {
  std::vector<ArithLayerRef> selected;
  for (const ArithLayerRef& l : arith_layers(model)) {
    bool take = false;
    if (patterns.empty()) {
      const LayerInfo info = l.info();
      take = !info.is_linear && !info.is_first_conv && !info.is_depthwise;
    }
    if (take || matches_any(patterns, l.name)) selected.push_back(l);
  }
  for (const auto& p : patterns) {
    bool matched = false;
    for (const auto& l : selected) matched = matched || name_matches(p, l.name);
    require(matched, "pruning: layer pattern '" + p + "' matches no conv or linear layer");
  }
  require(!selected.empty(), "pruning: no conv or linear layer selected");
  return selected;
}

// Zeroes the `count` smallest-magnitude entries of the flat magnitudes (ties: lower index first)
// and returns a 0/1 keep mask of the same length.
at::Tensor keep_mask(const at::Tensor& magnitudes, int64_t count) {
  at::Tensor keep = at::ones_like(magnitudes);
  if (count == 0) return keep;
  const at::Tensor order = std::get<1>(magnitudes.sort(/*stable=*/true, /*dim=*/0, /*descending=*/false));
  keep.index_fill_(0, order.narrow(0, 0, count), 0);
  return keep;
}

int64_t count_to_prune(double fraction, int64_t n) {
  return static_cast<int64_t>(std::llround(fraction * static_cast<double>(n)));
}

}  // namespace

PruneReport prune_by_magnitude(torch::nn::Module& model, const PruneOptions& options) {
  require(options.fraction >= 0.0 && options.fraction < 1.0,
          "pruning fraction must be in [0, 1), got " + std::to_string(options.fraction));
  const std::vector<ArithLayerRef> layers = select_layers(model, options.layers);
  torch::NoGradGuard no_grad;
  PruneReport report;
  report.options = options;
  std::vector<at::Tensor> keep(layers.size());
  if (options.scope == PruneScope::kGlobal) {
    std::vector<at::Tensor> flat;
    for (const auto& l : layers) flat.push_back(l.weight().detach().abs().reshape({-1}).to(at::kFloat));
    const at::Tensor all = at::cat(flat);
    const at::Tensor all_keep = keep_mask(all, count_to_prune(options.fraction, all.numel()));
    int64_t offset = 0;
    for (size_t i = 0; i < layers.size(); ++i) {
      keep[i] = all_keep.narrow(0, offset, flat[i].numel());
      offset += flat[i].numel();
    }
  } else {
    for (size_t i = 0; i < layers.size(); ++i) {
      const at::Tensor m = layers[i].weight().detach().abs().reshape({-1}).to(at::kFloat);
      keep[i] = keep_mask(m, count_to_prune(options.fraction, m.numel()));
    }
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    at::Tensor w = layers[i].weight();
    PrunedLayer r{layers[i].name, w.numel(), (w == 0).sum().item<int64_t>(), 0};
    w.mul_(keep[i].view(w.sizes()).to(w.scalar_type()));
    r.zeros_after = (w == 0).sum().item<int64_t>();
    report.weights += r.weights;
    report.zeros_after += r.zeros_after;
    report.layers.push_back(r);
  }
  return report;
}

ZeroMask::ZeroMask(torch::nn::Module& model, const std::vector<std::string>& layer_names) {
  const std::vector<ArithLayerRef> layers = arith_layers(model);
  for (const auto& name : layer_names) {
    const ArithLayerRef* found = nullptr;
    for (const auto& l : layers)
      if (l.name == name) found = &l;
    require(found != nullptr, "pruned layer '" + name + "' is not a conv or linear layer of the model");
    const at::Tensor& w = found->weight();
    masks_.emplace_back(w, (w != 0).to(w.scalar_type()));
  }
}

void ZeroMask::apply() const {
  torch::NoGradGuard no_grad;
  for (const auto& [weight, mask] : masks_) weight.mul_(mask);
}

}  // namespace bnrecal
