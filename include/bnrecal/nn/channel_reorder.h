// Input-channel reordering for SySMT (docs/sysmt-arithmetic.md section 1, "simple pairing heuristic"):
// measure how often each input channel of every sysmt-eligible conv is active on calibration
// images, then choose per layer a permutation of its input channels that spreads the busy
// channels over the thread groups, so fewer operands go through the 4-bit reductions that
// collisions (>= 2 active lanes) cause. The sysmt policy applies the permutation from
// checkpoint metadata "channel_order" (kChannelOrderKey, see channel_order.h); a permutation
// changes which lanes collide, never the exact (1T) result.
//
//   bnrecal::ChannelReorderOptions opt;
//   opt.config.threads = 2;
//   bnrecal::ChannelReorderPlan plan = bnrecal::plan_channel_reorder(*net, card.calibration, stream, opt);
//   card.calibration.channel_orders = plan.channel_orders();
//
// Layers planned: the convs the sysmt policy accelerates by default (not the first conv, linear
// or depthwise layers). Activity is measured under exact A8W8 arithmetic with each layer's
// calibrated a_max, i.e. on the codes of the result the permutation never changes, so the plan
// does not depend on the very perturbation it is meant to reduce.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/arith/sysmt.h"
#include "bnrecal/data/batch_stream.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

struct ChannelReorderOptions {
  // threads: the T the grouping is optimized for (2 or 4). idle: with `either` a lane also idles
  // on a zero weight code, so a channel's activity is scaled by its weight-code density.
  // rounding is irrelevant here.
  sysmt::SysmtConfig config;
  std::function<void(int64_t)> progress;  // images done, called after every batch when set
};

// The proxy, per thread group, lanes independent with the channels' activities (see
// expected_lane_cost).
struct ExpectedLaneCost {
  double collision_rate = 0;    // P(m >= 2 active lanes): the spec's collision rate
  // Operands that go through a 4-bit reduction (spec section 5): the m activations when
  // m >= 2, and the m weights as well when m >= 3 (4T). What the heuristic minimizes.
  double reduced_operands = 0;
  nlohmann::json to_json() const;
};

struct LayerChannelReorder {
  std::string name;
  int64_t taps = 1;               // kh * kw: k repeats the channel layout once per kernel tap
  std::vector<double> activity;   // per input channel of a group: estimated P(its lane is active)
  std::vector<int64_t> order;     // the permutation; identity when nothing beats it
  ExpectedLaneCost identity;      // with the identity order
  ExpectedLaneCost reordered;     // with order
  int64_t thread_groups_per_image = 0;  // (output, thread group) pairs: the layer's weight
  nlohmann::json to_json() const;  // everything but order (that is channel_order_json's)
};

struct ChannelReorderPlan {
  sysmt::SysmtConfig config;
  int64_t images = 0;
  std::string method = "spread_busy_channels";  // or "random (seed S)", see randomize_channel_orders
  std::vector<LayerChannelReorder> layers;
  // Over all planned layers, each weighted by its thread groups per image.
  ExpectedLaneCost identity() const;
  ExpectedLaneCost reordered() const;
  // Every planned layer's permutation (identity where nothing beat it).
  ChannelOrders channel_orders() const;
  // threads, idle, images, overall and per-layer expected costs, activities.
  nlohmann::json to_json() const;
};

// Runs every batch of stream through model (eval mode, no grad) and plans each eligible layer.
// Policies and the training flag are restored afterwards. InputError when the model has no
// activation calibration (run `bnrecal calibrate` first) or the stream is empty.
ChannelReorderPlan plan_channel_reorder(Network& model, const ModelCalibration& calibration,
                                        BatchStream& stream, const ChannelReorderOptions& options);

// A control for the heuristic: replaces every layer's order with a uniformly random permutation
// (seeded by seed and the layer's name, so reproducible) and recomputes its expected cost.
void randomize_channel_orders(ChannelReorderPlan& plan, uint64_t seed);

// The proxy: lanes are independent, lane k active with probability activity[order[k % C]]
// (C = activity.size()) for k < K = C * taps, grouped T at a time (the last group padded with
// idle lanes); returns the means over groups. Zero-padding lanes at image borders and
// correlations between channels are ignored.
ExpectedLaneCost expected_lane_cost(const std::vector<double>& activity,
                                    const std::vector<int64_t>& order, int64_t taps, int threads);

// The heuristic: a permutation of 0..C-1 whose expected reduced operands are no higher than the
// identity's (identity itself when nothing is strictly better). At T = 2 that is also the
// lowest collision rate; at T = 4 the collision rate may rise slightly while fewer collisions
// reduce the weights as well. See channel_reorder.cpp.
std::vector<int64_t> spread_busy_channels(const std::vector<double>& activity, int64_t taps,
                                          int threads);

}  // namespace bnrecal
