#include "bnrecal/nn/channel_reorder.h"

#include <torch/torch.h>

#include <algorithm>
#include <array>
#include <memory>
#include <numeric>
#include <random>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/forwarding_policy.h"
#include "bnrecal/nn/instrumented_pass.h"
#include "bnrecal/nn/noise_policy.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/nn/quantizer.h"

namespace bnrecal {

namespace {

// ---- the proxy ------------------------------------------------------------------------------

constexpr int kMaxThreads = 4;

// Expected cost of one thread group whose lanes are independent with active probabilities p.
ExpectedLaneCost group_cost(const double* p, int lanes) {
  std::array<double, kMaxThreads + 1> active{1.0};  // P(m active lanes so far)
  for (int i = 0; i < lanes; ++i) {
    for (int m = i + 1; m >= 0; --m) {
      active[m] = active[m] * (1 - p[i]) + (m > 0 ? active[m - 1] * p[i] : 0.0);
    }
  }
  ExpectedLaneCost cost;
  for (int m = 2; m <= lanes; ++m) {
    cost.collision_rate += active[m];
    // Spec section 5: m >= 2 reduces the m activations, m >= 3 (4T only) the m weights too.
    cost.reduced_operands += active[m] * (m >= 3 ? 2 * m : m);
  }
  return cost;
}

// The lanes of a layer's k sequence: `reps` copies of the channel layout `order`.
struct LaneLayout {
  const std::vector<double>& activity;
  const std::vector<int64_t>& order;
  int64_t reps;
  int threads;

  int64_t channels() const { return static_cast<int64_t>(order.size()); }
  int64_t lanes() const { return channels() * reps; }
  int64_t groups() const { return (lanes() + threads - 1) / threads; }
  ExpectedLaneCost cost_of_group(int64_t g) const {
    double p[kMaxThreads];
    const int64_t k0 = g * threads, k1 = std::min(lanes(), k0 + threads);
    for (int64_t k = k0; k < k1; ++k) p[k - k0] = activity[order[k % channels()]];
    return group_cost(p, static_cast<int>(k1 - k0));
  }
  ExpectedLaneCost mean_cost() const {
    ExpectedLaneCost sum;
    for (int64_t g = 0; g < groups(); ++g) {
      const ExpectedLaneCost c = cost_of_group(g);
      sum.collision_rate += c.collision_rate;
      sum.reduced_operands += c.reduced_operands;
    }
    const double n = std::max<double>(1, static_cast<double>(groups()));
    return {sum.collision_rate / n, sum.reduced_operands / n};
  }
};

// When C is a multiple of T every tap has the same groups, so one copy of the layout gives the
// same means at 1/taps of the cost.
int64_t distinct_reps(int64_t channels, int64_t taps, int threads) {
  return channels % threads == 0 ? 1 : taps;
}

// ---- the heuristic --------------------------------------------------------------------------
//
// The heuristic minimizes the expected reduced operands per thread group (ExpectedLaneCost),
// assuming lanes are independent with active probabilities p. Why spreading busy channels helps:
//  * T = 2: the cost is 2 * P(m = 2) = 2 * p_a * p_b per pair. For a >= b >= c >= d,
//    (ab + cd) - (ac + bd) = (a - d)(b - c) >= 0 and (ac + bd) - (ad + bc) = (a - b)(c - d) >= 0,
//    so exchanging partners towards "busiest with least busy" never raises the sum, and pairing
//    the sorted channels with the reversed list (what the deal below does at T = 2) minimizes it
//    (the rearrangement inequality): it is also the lowest collision rate P(m >= 2).
//  * T = 4: for small p, P(m >= 2) ~ sum over lane pairs of p_i p_j = (S_g^2 - sum p_i^2) / 2
//    with S_g the group's total activity; sum p_i^2 is fixed, so it is smallest when the S_g
//    are equal, which dealing the sorted channels back and forth (snake order) approaches; equal
//    S_g also make m >= 3 rare. For larger p the collision rate alone would rather pack busy
//    channels together (one group with m = 4 instead of two with m = 2), but m >= 3 reduces the
//    weights too: on the reference resnet20, minimizing P(m >= 2) at 4T lowered the measured
//    collision rate but raised the MSE vs exact A8W8 by 9 %. Counting reduced operands keeps
//    spreading them. A swap descent on the exact proxy polishes the deal, and identity is kept
//    unless strictly beaten.

// Sorted by activity, busiest first, dealt into the thread groups in snake order: lane 0 of
// groups 0..G-1, lane 1 of groups G-1..0, ... (a partial last group fills in turn).
std::vector<int64_t> deal_busiest_with_least_busy(const std::vector<double>& activity,
                                                  int threads) {
  const int64_t n = static_cast<int64_t>(activity.size());
  std::vector<int64_t> by_activity(n);
  std::iota(by_activity.begin(), by_activity.end(), 0);
  std::stable_sort(by_activity.begin(), by_activity.end(),
                   [&](int64_t a, int64_t b) { return activity[a] > activity[b]; });
  const int64_t groups = (n + threads - 1) / threads;
  std::vector<std::vector<int64_t>> members(groups);
  auto capacity = [&](int64_t g) { return g + 1 < groups ? threads : n - (groups - 1) * threads; };
  int64_t next = 0;
  for (bool forward = true; next < n; forward = !forward) {
    for (int64_t i = 0; i < groups && next < n; ++i) {
      const int64_t g = forward ? i : groups - 1 - i;
      if (static_cast<int64_t>(members[g].size()) < capacity(g)) {
        members[g].push_back(by_activity[next++]);
      }
    }
  }
  std::vector<int64_t> order;
  for (const auto& m : members) order.insert(order.end(), m.begin(), m.end());
  return order;
}

// Swaps two positions whenever that lowers the expected reduced operands of the groups holding
// them, until a pass finds none (a local optimum of the proxy).
void improve_by_swaps(const std::vector<double>& activity, std::vector<int64_t>& order,
                      int64_t taps, int threads) {
  constexpr int kMaxPasses = 50;
  const int64_t n = static_cast<int64_t>(order.size());
  const LaneLayout layout{activity, order, distinct_reps(n, taps, threads), threads};
  std::vector<int64_t> touched;
  auto touched_cost = [&](int64_t i, int64_t j) {
    touched.clear();
    for (int64_t r = 0; r < layout.reps; ++r) {
      touched.push_back((r * n + i) / threads);
      touched.push_back((r * n + j) / threads);
    }
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    double sum = 0;
    for (int64_t g : touched) sum += layout.cost_of_group(g).reduced_operands;
    return sum;
  };
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    bool improved = false;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = i + 1; j < n; ++j) {
        if (activity[order[i]] == activity[order[j]]) continue;
        if (layout.reps == 1 && i / threads == j / threads) continue;  // same group: no change
        const double before = touched_cost(i, j);
        std::swap(order[i], order[j]);
        if (touched_cost(i, j) < before - 1e-12) {
          improved = true;
        } else {
          std::swap(order[i], order[j]);
        }
      }
    }
    if (!improved) break;
  }
}

// ---- measuring channel activity -------------------------------------------------------------

// Counts, per input channel of a group, the nonzero codes a conv's input quantizes to under the
// layer's exact A8W8 policy: the codes every a8w8-based policy (sysmt included) sees.
class ChannelActivityProbe : public ForwardingPolicy {
 public:
  ChannelActivityProbe(std::shared_ptr<A8W8Policy> a8w8, std::string layer)
      : ForwardingPolicy(a8w8), a_max_(a8w8->params().a_max), layer_(std::move(layer)) {}
  bool observed() const { return nonzero_.defined(); }
  // Fraction of nonzero codes per input channel of a group.
  std::vector<double> nonzero_fraction() const {
    at::Tensor f = nonzero_.to(at::kDouble).div(static_cast<double>(observations_)).contiguous();
    return std::vector<double>(f.data_ptr<double>(), f.data_ptr<double>() + f.numel());
  }
  int64_t outputs_per_image() const { return outputs_per_image_; }

 protected:
  void before(const ArithCall& call) override {
    if (!call.is_conv()) return;  // only convs are planned
    const at::Tensor& input = call.input;
    const int64_t groups = call.geometry->groups;
    const ActivationCodes x = quantize_activations(input, a_max_, layer_);
    at::Tensor nonzero = x.codes.ne(0).sum({0, 2, 3}, false, at::kLong).reshape({groups, -1}).sum(0);
    nonzero_ = nonzero_.defined() ? nonzero_ + nonzero : nonzero;
    observations_ += input.size(0) * input.size(2) * input.size(3) * groups;
  }
  void after(const ArithCall& call, const at::Tensor& y) override {
    if (call.is_conv()) outputs_per_image_ = y.numel() / y.size(0);
  }

 private:
  double a_max_;
  std::string layer_;
  at::Tensor nonzero_;  // int64 [C_in / groups]
  int64_t observations_ = 0;
  int64_t outputs_per_image_ = 0;
};

// Fraction of nonzero int8 weight codes per input channel of a group (OIHW weight).
std::vector<double> weight_code_density(const at::Tensor& weight) {
  at::Tensor d = quantize_weights(weight.detach()).codes.ne(0).to(at::kDouble).mean({0, 2, 3});
  d = d.contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

ExpectedLaneCost weighted_mean(const std::vector<LayerChannelReorder>& layers,
                               ExpectedLaneCost LayerChannelReorder::*cost) {
  ExpectedLaneCost sum;
  double weight = 0;
  for (const auto& l : layers) {
    const double w = static_cast<double>(l.thread_groups_per_image);
    sum.collision_rate += (l.*cost).collision_rate * w;
    sum.reduced_operands += (l.*cost).reduced_operands * w;
    weight += w;
  }
  if (weight > 0) sum = {sum.collision_rate / weight, sum.reduced_operands / weight};
  return sum;
}

}  // namespace

nlohmann::json ExpectedLaneCost::to_json() const {
  return {{"collision_rate", collision_rate}, {"reduced_operands", reduced_operands}};
}

ExpectedLaneCost expected_lane_cost(const std::vector<double>& activity,
                                    const std::vector<int64_t>& order, int64_t taps,
                                    int threads) {
  require(threads == 1 || threads == 2 || threads == kMaxThreads, "threads must be 1, 2 or 4");
  require(order.size() == activity.size() && taps > 0,
          "channel order and activity differ in size");
  const int64_t reps = distinct_reps(static_cast<int64_t>(order.size()), taps, threads);
  return LaneLayout{activity, order, reps, threads}.mean_cost();
}

std::vector<int64_t> spread_busy_channels(const std::vector<double>& activity, int64_t taps,
                                          int threads) {
  const std::vector<int64_t> identity = identity_order(static_cast<int64_t>(activity.size()));
  auto cost = [&](const std::vector<int64_t>& order) {
    return expected_lane_cost(activity, order, taps, threads).reduced_operands;
  };
  const double identity_cost = cost(identity);
  if (threads == 1 || activity.size() < 2) return identity;
  std::vector<int64_t> order = deal_busiest_with_least_busy(activity, threads);
  if (cost(order) > identity_cost) order = identity;
  improve_by_swaps(activity, order, taps, threads);
  // Equal is not better: then the layer keeps its natural layout.
  return cost(order) < identity_cost - 1e-12 ? order : identity;
}

nlohmann::json LayerChannelReorder::to_json() const {
  return {{"name", name},
          {"channels", activity.size()},
          {"taps", taps},
          {"identity", identity.to_json()},
          {"reordered", reordered.to_json()},
          {"thread_groups_per_image", thread_groups_per_image},
          {"activity", activity}};
}

ExpectedLaneCost ChannelReorderPlan::identity() const {
  return weighted_mean(layers, &LayerChannelReorder::identity);
}

ExpectedLaneCost ChannelReorderPlan::reordered() const {
  return weighted_mean(layers, &LayerChannelReorder::reordered);
}

ChannelOrders ChannelReorderPlan::channel_orders() const {
  ChannelOrders orders;
  for (const auto& l : layers) orders[l.name] = l.order;
  return orders;
}

nlohmann::json ChannelReorderPlan::to_json() const {
  nlohmann::json ls = nlohmann::json::array();
  for (const auto& l : layers) ls.push_back(l.to_json());
  return {{"threads", config.threads},
          {"idle", sysmt::to_string(config.idle)},
          {"method", method},
          {"images", images},
          {"proxy", "means over thread groups, lanes independent: collision_rate = P(>= 2 active "
                    "lanes); reduced_operands = expected operands through a 4-bit reduction "
                    "(minimized)"},
          {"measured_under", "a8w8 (exact), calibrated a_max"},
          {"identity", identity().to_json()},
          {"reordered", reordered().to_json()},
          {"layers", ls}};
}

ChannelReorderPlan plan_channel_reorder(Network& model, const ModelCalibration& calibration,
                                        BatchStream& stream, const ChannelReorderOptions& options) {
  sysmt::validate(options.config);
  require(calibration.activations.has_value(),
          "channel reordering quantizes each layer's input with its calibrated range, but the "
          "model is not calibrated; run `bnrecal calibrate --model MODEL -o MODEL_cal.safetensors` "
          "and reorder that file");
  std::vector<ArithLayerRef> layers = arith_layers(model);
  std::vector<std::shared_ptr<ChannelActivityProbe>> probes(layers.size());
  ChannelReorderPlan plan;
  plan.config = options.config;
  {
    PolicyRestorer restore(model, layers);
    // a8w8 resolves layers as sysmt does: the first conv, linear and depthwise layers stay fp32.
    apply_policy(model, PolicySpec::parse("a8w8"), 0, calibration);
    for (size_t i = 0; i < layers.size(); ++i) {
      auto a8w8 = std::dynamic_pointer_cast<A8W8Policy>(layers[i].policy_ptr());
      if (layers[i].conv && a8w8) probes[i] = std::make_shared<ChannelActivityProbe>(a8w8, layers[i].name);
    }
    plan.images = instrumented_pass(model, layers, {probes.begin(), probes.end()}, stream, options.progress);
  }
  require(plan.images > 0, "channel reordering saw no images");
  const int threads = options.config.threads;
  for (size_t i = 0; i < layers.size(); ++i) {
    const ArithLayerRef& layer = layers[i];
    const std::shared_ptr<ChannelActivityProbe>& observer = probes[i];
    if (!observer || !observer->observed()) continue;  // not planned, or not reached by the forward pass
    LayerChannelReorder r;
    r.name = layer.name;
    const at::Tensor& weight = layer.weight();
    r.taps = weight.size(2) * weight.size(3);
    r.activity = observer->nonzero_fraction();
    if (options.config.idle == sysmt::IdleRule::kEither) {
      const std::vector<double> density = weight_code_density(weight);
      for (size_t c = 0; c < r.activity.size(); ++c) r.activity[c] *= density[c];
    }
    r.order = spread_busy_channels(r.activity, r.taps, threads);
    const int64_t channels = static_cast<int64_t>(r.activity.size());
    r.identity = expected_lane_cost(r.activity, identity_order(channels), r.taps, threads);
    r.reordered = expected_lane_cost(r.activity, r.order, r.taps, threads);
    const int64_t k = channels * r.taps;
    r.thread_groups_per_image = observer->outputs_per_image() * ((k + threads - 1) / threads);
    plan.layers.push_back(std::move(r));
  }
  return plan;
}

void randomize_channel_orders(ChannelReorderPlan& plan, uint64_t seed) {
  for (auto& layer : plan.layers) {
    std::mt19937_64 rng(derive_seed(seed, "channel_order/" + layer.name));
    layer.order = identity_order(static_cast<int64_t>(layer.activity.size()));
    std::shuffle(layer.order.begin(), layer.order.end(), rng);
    layer.reordered = expected_lane_cost(layer.activity, layer.order, layer.taps, plan.config.threads);
  }
  plan.method = "random (seed " + std::to_string(seed) + ")";
}

}  // namespace bnrecal
