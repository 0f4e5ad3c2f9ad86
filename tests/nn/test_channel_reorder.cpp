// Channel reordering: the sysmt policy's per-layer input-channel permutation (same exact
// result, different lane groups), the pairing heuristic and `bnrecal reorder`.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <numeric>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/channel_reorder.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/nn/sysmt_policy.h"
#include "sysmt_test_support.h"
#include "test_support.h"
#include "tiny_net.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {

at::Tensor as_index(const std::vector<int64_t>& order) {
  return torch::tensor(order, torch::kLong);
}

bool is_permutation_of_iota(std::vector<int64_t> order) {
  std::sort(order.begin(), order.end());
  for (size_t i = 0; i < order.size(); ++i) {
    if (order[i] != static_cast<int64_t>(i)) return false;
  }
  return true;
}

std::vector<int64_t> identity(int64_t n) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  return order;
}

A8W8Policy a8w8_policy(double a_max) {
  LayerInfo info;
  info.name = "c";
  A8W8Params p;
  p.a_max = a_max;
  return A8W8Policy(info, p);
}

}  // namespace

// ---- the policy switch ----------------------------------------------------------------------

TEST(ChannelReorder, PermutedConvIsExactAtOneThreadAndRegroupsLanesAtTwoAndFour) {
  torch::manual_seed(21);
  at::Tensor x = torch::relu(torch::randn({2, 6, 7, 7}));
  at::Tensor w = torch::randn({5, 6, 3, 3});
  at::Tensor b = torch::randn({5});
  ConvGeometry g;
  g.padding = {1, 1};
  const std::vector<int64_t> order = {3, 0, 5, 1, 4, 2};
  EXPECT_TRUE(make_sysmt_policy(2.0, sysmt_config(1), false, order)
                  .conv2d(x, w, b, g)
                  .equal(a8w8_policy(2.0).conv2d(x, w, b, g)));
  // At T > 1: the explicit im2col of the channel-permuted input and weights + the scalar GEMM.
  const at::Tensor index = as_index(order);
  for (int t : {2, 4}) {
    for (auto idle : {sysmt::IdleRule::kEither, sysmt::IdleRule::kAct}) {
      const sysmt::SysmtConfig c = sysmt_config(t, idle);
      SCOPED_TRACE(sysmt::to_string(c));
      at::Tensor y = make_sysmt_policy(2.0, c, false, order).conv2d(x, w, b, g);
      EXPECT_TRUE(y.equal(reference_sysmt_conv(x.index_select(1, index), w.index_select(1, index),
                                               b, 2.0, g, c)));
      EXPECT_FALSE(y.equal(make_sysmt_policy(2.0, c).conv2d(x, w, b, g)));  // lanes regrouped
    }
  }
}

TEST(ChannelReorder, GroupedConvPermutesWithinEveryGroup) {
  torch::manual_seed(22);
  at::Tensor x = torch::relu(torch::randn({2, 8, 5, 5}));
  at::Tensor w = torch::randn({6, 4, 3, 3});
  const ConvGeometry g = conv_geometry(/*groups=*/2, /*stride=*/1, /*padding=*/1);
  const std::vector<int64_t> order = {2, 0, 3, 1};
  const at::Tensor input_index = as_index({2, 0, 3, 1, 6, 4, 7, 5});
  for (int t : {1, 2, 4}) {
    at::Tensor y = make_sysmt_policy(2.0, sysmt_config(t), false, order).conv2d(x, w, {}, g);
    at::Tensor permuted = make_sysmt_policy(2.0, sysmt_config(t))
                              .conv2d(x.index_select(1, input_index),
                                      w.index_select(1, as_index(order)), {}, g);
    EXPECT_TRUE(y.equal(permuted)) << t << "T";
  }
}

TEST(ChannelReorder, LinearPermutesInFeatures) {
  torch::manual_seed(23);
  at::Tensor x = torch::relu(torch::randn({3, 6}));
  at::Tensor w = torch::randn({4, 6});
  at::Tensor b = torch::randn({4});
  const std::vector<int64_t> order = {5, 4, 3, 0, 1, 2};
  const at::Tensor index = as_index(order);
  EXPECT_TRUE(make_sysmt_policy(2.0, sysmt_config(1), false, order)
                  .linear(x, w, b)
                  .equal(a8w8_policy(2.0).linear(x, w, b)));
  EXPECT_TRUE(make_sysmt_policy(2.0, sysmt_config(4), false, order)
                  .linear(x, w, b)
                  .equal(make_sysmt_policy(2.0, sysmt_config(4))
                             .linear(x.index_select(1, index), w.index_select(1, index), b)));
}

TEST(ChannelReorder, DescribeShowsTheOrderOrIdentity) {
  EXPECT_EQ(make_sysmt_policy(2.0, sysmt_config(2)).describe()["channel_order"], "identity");
  EXPECT_EQ(make_sysmt_policy(2.0, sysmt_config(2), false, {0, 1, 2}).describe()["channel_order"],
            "identity");
  EXPECT_EQ(make_sysmt_policy(2.0, sysmt_config(2), false, {2, 0, 1}).describe()["channel_order"],
            nlohmann::json({2, 0, 1}));
}

TEST(ChannelReorder, InvalidChannelOrderIsAnInputErrorNamingTheLayer) {
  auto net = std::make_shared<TinyNetImpl>();  // conv2: 4 input channels
  const nlohmann::json meta = calibrated_metadata(*net);
  const PolicySpec spec = PolicySpec::parse("sysmt smt=2");
  auto expect_rejected = [&](const nlohmann::json& entry, const std::string& needle) {
    nlohmann::json m = meta;
    m[kChannelOrderKey] = {{"conv2", entry}};
    try {
      apply_policy(*net, spec, 1, ModelCalibration::from_metadata(m));
      ADD_FAILURE() << "accepted " << entry.dump();
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("conv2"), std::string::npos) << message;
      EXPECT_NE(message.find(needle), std::string::npos) << message;
    }
  };
  expect_rejected({0, 1, 2}, "3 entries");
  expect_rejected({0, 1, 2, 3, 4}, "5 entries");
  expect_rejected({0, 1, 2, 4}, "out of range");
  expect_rejected({0, 1, -1, 2}, "out of range");
  expect_rejected({0, 1, 1, 2}, "twice");
  expect_rejected("reversed", "list");
  expect_rejected({0, 1, 2.5, 3}, "list");
  nlohmann::json not_an_object = meta;
  not_an_object[kChannelOrderKey] = nlohmann::json::array({{3, 2, 1, 0}});
  EXPECT_THROW(apply_policy(*net, spec, 1, ModelCalibration::from_metadata(not_an_object)), InputError);
  // Built without layer shapes, the length is checked against the input.
  SysmtPolicy two_channels = make_sysmt_policy(2.0, sysmt_config(2), false, {1, 0});
  const at::Tensor three_channels = torch::rand({1, 3, 5, 5});
  EXPECT_THROW(two_channels.conv2d(three_channels, torch::randn({2, 3, 3, 3}), {}, ConvGeometry{}),
               InputError);
  EXPECT_THROW(make_sysmt_policy(2.0, sysmt_config(2), false, {1, 1}), InputError);

  // An entry naming no layer (another model's checkpoint, a typo) is not silently ignored.
  nlohmann::json unknown_layer = meta;
  unknown_layer[kChannelOrderKey] = {{"conv2", {3, 2, 1, 0}}, {"layer9.conv", {0, 1}}};
  try {
    apply_policy(*net, spec, 1, ModelCalibration::from_metadata(unknown_layer));
    ADD_FAILURE() << "accepted a channel_order for a missing layer";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("names no conv/linear layer of this model: 'layer9.conv'"),
              std::string::npos) << e.what();
  }

  nlohmann::json valid = meta;
  valid[kChannelOrderKey] = {{"conv2", {3, 2, 1, 0}}};
  EXPECT_EQ(channel_order_summary(ModelCalibration::from_metadata(valid).channel_orders), "1 of 1 listed layers permuted");
  EXPECT_EQ(channel_order_summary(ModelCalibration::from_metadata(meta).channel_orders), "identity");
  nlohmann::json listed_identity = meta;
  listed_identity[kChannelOrderKey] = {{"conv2", {0, 1, 2, 3}}};
  EXPECT_EQ(channel_order_summary(ModelCalibration::from_metadata(listed_identity).channel_orders),
            "0 of 1 listed layers permuted");
  apply_policy(*net, spec, 1, ModelCalibration::from_metadata(valid));
  EXPECT_EQ(net->conv2->policy().describe()["channel_order"], nlohmann::json({3, 2, 1, 0}));
}

// ---- the heuristic --------------------------------------------------------------------------

TEST(ChannelReorder, ExpectedLaneCostUnderIndependence) {
  const std::vector<double> a = {0.5, 0.5, 0.0, 1.0};
  auto cost = [](const std::vector<double>& act, const std::vector<int64_t>& order, int64_t taps,
                 int threads) { return expected_lane_cost(act, order, taps, threads); };
  // Groups (.5, .5) and (0, 1): P(m = 2) = 1/4 and 0; two activations reduced per collision.
  EXPECT_DOUBLE_EQ(cost(a, identity(4), 1, 2).collision_rate, (0.25 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(cost(a, identity(4), 1, 2).reduced_operands, (2 * 0.25 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(cost(a, identity(4), 9, 2).collision_rate, (0.25 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(cost(a, {0, 3, 1, 2}, 1, 2).collision_rate, (0.5 + 0.0) / 2);
  EXPECT_DOUBLE_EQ(cost(a, identity(4), 1, 1).collision_rate, 0.0);
  // Four lanes at 1/2: P(m) = 1, 4, 6, 4, 1 sixteenths; m = 3, 4 also reduce the weights.
  const ExpectedLaneCost half = cost({0.5, 0.5, 0.5, 0.5}, identity(4), 3, 4);
  EXPECT_DOUBLE_EQ(half.collision_rate, 11.0 / 16);
  EXPECT_DOUBLE_EQ(half.reduced_operands, (2 * 6 + 6 * 4 + 8 * 1) / 16.0);
  // C = 3 at T = 2: groups straddle taps; lanes 1 1 0 | 1 1 0 -> groups (1,1) (0,1) (1,0).
  EXPECT_NEAR(cost({1.0, 1.0, 0.0}, identity(3), 2, 2).collision_rate, 1.0 / 3, 1e-12);
}

TEST(ChannelReorder, HeuristicPairsBusiestWithLeastBusyAndNeverLosesToIdentity) {
  // T = 2: sorted 0 (.9), 1 (.8), 5 (.6), 4 (.5), 3 (.2), 2 (.1) pair outside-in.
  const std::vector<double> a = {0.9, 0.8, 0.1, 0.2, 0.5, 0.6};
  const std::vector<int64_t> order = spread_busy_channels(a, 9, 2);
  ASSERT_TRUE(is_permutation_of_iota(order));
  std::vector<std::vector<int64_t>> pairs;
  for (size_t p = 0; p < order.size(); p += 2) {
    pairs.push_back({std::min(order[p], order[p + 1]), std::max(order[p], order[p + 1])});
  }
  std::sort(pairs.begin(), pairs.end());
  EXPECT_EQ(pairs, (std::vector<std::vector<int64_t>>{{0, 2}, {1, 3}, {4, 5}}));
  EXPECT_LT(expected_lane_cost(a, order, 9, 2).collision_rate,
            expected_lane_cost(a, identity(6), 9, 2).collision_rate);

  // T = 4, a quarter of the channels busy: one per group, no collisions.
  const std::vector<double> quarter = {1, 1, 0, 0, 0, 0, 0, 0};
  const std::vector<int64_t> quarter_order = spread_busy_channels(quarter, 1, 4);
  EXPECT_DOUBLE_EQ(expected_lane_cost(quarter, quarter_order, 1, 4).collision_rate, 0.0);
  // Half busy: identity collides in one group of two, with m = 4 (8 reduced operands); spread
  // out, both groups collide but with m = 2, which reduces only the 2 activations.
  const std::vector<double> half = {1, 1, 1, 1, 0, 0, 0, 0};
  const ExpectedLaneCost spread = expected_lane_cost(half, spread_busy_channels(half, 1, 4), 1, 4);
  EXPECT_DOUBLE_EQ(spread.collision_rate, 1.0);
  EXPECT_DOUBLE_EQ(spread.reduced_operands, 2.0);
  EXPECT_DOUBLE_EQ(expected_lane_cost(half, identity(8), 1, 4).reduced_operands, 4.0);

  torch::manual_seed(24);
  for (int64_t channels : {5, 16, 64}) {
    for (int64_t taps : {1, 9}) {
      for (int t : {2, 4}) {
        at::Tensor r = torch::rand({channels}, torch::kDouble);
        const std::vector<double> act(r.data_ptr<double>(), r.data_ptr<double>() + channels);
        const std::vector<int64_t> o = spread_busy_channels(act, taps, t);
        ASSERT_TRUE(is_permutation_of_iota(o));
        EXPECT_LE(expected_lane_cost(act, o, taps, t).reduced_operands,
                  expected_lane_cost(act, identity(channels), taps, t).reduced_operands);
      }
    }
  }
}

TEST(ChannelReorder, PlanLowersMeasuredCollisionsWhenBusyChannelsAreAdjacent) {
  // conv2's 8 input channels are constant after bn1 + ReLU: the first `busy` are 1, the rest 0.
  for (auto [threads, busy] : {std::pair{2, 4}, std::pair{4, 2}}) {
    SCOPED_TRACE(std::to_string(threads) + "T");
    auto net = std::make_shared<TinyNetImpl>(1, 8, 3);
    {
      torch::NoGradGuard no_grad;
      net->bn1->weight.zero_();
      net->bn1->bias.fill_(-1).narrow(0, 0, busy).fill_(1);
    }
    const nlohmann::json meta = calibrated_metadata(*net);
    net->train();
    TensorBatchStream stream(random_batches({3, 3}));
    ChannelReorderOptions options;
    options.config = sysmt_config(threads);
    const ChannelReorderPlan plan = plan_channel_reorder(*net, ModelCalibration::from_metadata(meta), stream, options);
    EXPECT_EQ(plan.images, 6);
    EXPECT_EQ(net->conv2->policy().name(), "fp32");  // policies and training flag restored
    EXPECT_TRUE(net->is_training());
    ASSERT_EQ(plan.layers.size(), 1u);
    const LayerChannelReorder& layer = plan.layers[0];
    EXPECT_EQ(layer.name, "conv2");
    EXPECT_EQ(layer.taps, 9);
    for (int c = 0; c < 8; ++c) {
      if (c < busy) EXPECT_GT(layer.activity[c], 0.9) << c;  // x 1, times the weight density
      else EXPECT_EQ(layer.activity[c], 0.0) << c;
    }
    ASSERT_TRUE(is_permutation_of_iota(layer.order));
    EXPECT_GT(layer.identity.collision_rate, 0.4);
    EXPECT_NEAR(layer.reordered.collision_rate, 0.0, 1e-12);

    // The sysmt policy's own diagnostics: the measured collision rate drops to zero.
    auto measured_collision_rate = [&](const ModelCalibration& calibration) {
      apply_policy(*net, PolicySpec::parse("sysmt diagnostics=1 smt=" + std::to_string(threads)), 1,
                   calibration);
      torch::NoGradGuard no_grad;
      net->eval();
      net->forward(random_batches({4})[0]);
      return dynamic_cast<SysmtPolicy&>(net->conv2->policy()).diagnostics().collision_rate();
    };
    ModelCalibration reordered = ModelCalibration::from_metadata(meta);
    reordered.channel_orders = plan.channel_orders();
    EXPECT_GT(measured_collision_rate(ModelCalibration::from_metadata(meta)), 0.2);
    EXPECT_EQ(measured_collision_rate(reordered), 0.0);
  }
}

TEST(ChannelReorder, RandomControlIsAReproduciblePermutationWithItsOwnCost) {
  ChannelReorderPlan plan;
  plan.config = sysmt_config(2);
  for (const char* name : {"a", "b"}) {
    LayerChannelReorder l;
    l.name = name;
    l.taps = 9;
    l.activity = {0.9, 0.8, 0.1, 0.0, 0.5, 0.7, 0.2, 0.3, 0.6, 0.4, 0.05, 0.95};
    l.order = spread_busy_channels(l.activity, l.taps, 2);
    plan.layers.push_back(l);
  }
  ChannelReorderPlan again = plan, other_seed = plan;
  randomize_channel_orders(plan, 7);
  randomize_channel_orders(again, 7);
  randomize_channel_orders(other_seed, 8);
  EXPECT_EQ(plan.method, "random (seed 7)");
  EXPECT_NE(plan.layers[0].order, plan.layers[1].order);  // seeded per layer name
  for (size_t i = 0; i < plan.layers.size(); ++i) {
    const LayerChannelReorder& l = plan.layers[i];
    ASSERT_TRUE(is_permutation_of_iota(l.order));
    EXPECT_EQ(l.order, again.layers[i].order);
    EXPECT_NE(l.order, other_seed.layers[i].order);
    EXPECT_DOUBLE_EQ(l.reordered.reduced_operands,
                     expected_lane_cost(l.activity, l.order, l.taps, 2).reduced_operands);
  }
}

TEST(ChannelReorder, UncalibratedModelIsAnInputError) {
  auto net = std::make_shared<TinyNetImpl>();
  TensorBatchStream stream(random_batches({2}));
  const ChannelReorderOptions options;
  EXPECT_THROW(plan_channel_reorder(*net, ModelCalibration{}, stream, options), InputError);
}

// ---- `bnrecal reorder` ----------------------------------------------------------------------

TEST(ReorderCli, RejectsBadInputAndWritesAReorderedCheckpointThatEvaluates) {
  const std::string model = untrained_resnet20_checkpoint();
  const std::string dir = temp_dir();
  const std::string never = dir + "/never.safetensors";
  CommandResult r = bnrecal_cli("reorder --model " + model + " --images 32 -o " + never);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("bnrecal calibrate"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(never));

  const std::string cal = dir + "/cal.safetensors";
  r = bnrecal_cli("calibrate --model " + model + " --images 16 --batch-size 16 -o " + cal);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  r = bnrecal_cli("reorder --model " + cal + " --images 32 --smt 3 -o " + never);
  EXPECT_EQ(r.exit_code, 2) << r.output;  // a usage error
  EXPECT_FALSE(file_exists(never));

  const std::string reordered = dir + "/reordered.safetensors";
  const std::string json = dir + "/reorder.json";
  r = bnrecal_cli("reorder --model " + cal + " --images 16 --batch-size 16 --smt 4 --seed 1 -o " +
                  reordered + " --json " + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json meta = read_safetensors(reordered).metadata;
  ASSERT_TRUE(meta.contains(kChannelOrderKey));
  EXPECT_TRUE(meta.contains(kCalibrationKey));
  EXPECT_FALSE(meta[kChannelOrderKey].contains("conv1"));  // the first conv is not accelerated
  const auto order = meta[kChannelOrderKey]["layer3.2.conv2"].get<std::vector<int64_t>>();
  EXPECT_EQ(order.size(), 64u);
  EXPECT_TRUE(is_permutation_of_iota(order));
  EXPECT_EQ(meta["channel_reorder"]["threads"], 4);
  EXPECT_EQ(meta["channel_reorder"]["images"], 16);
  EXPECT_EQ(meta["channel_reorder"]["method"], "spread_busy_channels");
  EXPECT_LE(meta["channel_reorder"]["reordered"]["reduced_operands"].get<double>(),
            meta["channel_reorder"]["identity"]["reduced_operands"].get<double>());
  EXPECT_TRUE(nlohmann::json::parse(read_file(json)).contains(kChannelOrderKey));

  // The random control: a different permutation, recorded as such.
  const std::string random = dir + "/random.safetensors";
  r = bnrecal_cli("reorder --model " + cal + " --images 16 --batch-size 16 --smt 4 --seed 1 --random -o " +
                  random);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json random_meta = read_safetensors(random).metadata;
  EXPECT_EQ(random_meta["channel_reorder"]["method"], "random (seed 1)");
  EXPECT_NE(random_meta[kChannelOrderKey]["layer3.2.conv2"].get<std::vector<int64_t>>(), order);

  const std::string eval_json = dir + "/eval.json";
  r = bnrecal_cli("eval --policy sysmt --smt 2 --limit 16 -m " + reordered + " --json " +
                  eval_json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sysmt channel order: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(" of " + std::to_string(meta[kChannelOrderKey].size()) +
                          " listed layers permuted"),
            std::string::npos) << r.output;
  const nlohmann::json eval = nlohmann::json::parse(read_file(eval_json));
  EXPECT_EQ(eval["config"]["perturbation"]["params"]["smt"], 2);
}
