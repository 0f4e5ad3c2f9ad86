#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/arith/dispatch.h"
#include "bnrecal/core/error.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/layer_macs.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/nn/sysmt_policy.h"
#include "sysmt_test_support.h"
#include "tiny_net.h"

using namespace bnrecal;
using namespace bnrecal::testing;

TEST(SysmtPolicy, ConvEqualsExplicitIm2colAndReferenceGemm) {
  torch::manual_seed(11);
  at::Tensor x = torch::rand({2, 5, 7, 7}) * 2;
  x.masked_fill_(torch::rand_like(x) < 0.3, 0);  // ReLU-like zeros: idle lanes
  at::Tensor w = torch::randn({6, 5, 3, 3});
  at::Tensor b = torch::randn({6});
  for (int64_t stride : {1, 2}) {
    ConvGeometry g;
    g.stride = {stride, stride};
    g.padding = {1, 1};
    for (int t : {1, 2, 4}) {
      for (auto idle : {sysmt::IdleRule::kEither, sysmt::IdleRule::kAct}) {
        for (auto r : {sysmt::Rounding::kRne, sysmt::Rounding::kHalfUp, sysmt::Rounding::kTrunc}) {
          SCOPED_TRACE("stride " + std::to_string(stride) + " " +
                       sysmt::to_string(sysmt_config(t, idle, r)));
          SysmtPolicy policy = make_sysmt_policy(1.5, sysmt_config(t, idle, r));
          at::Tensor y = policy.conv2d(x, w, b, g);
          at::Tensor ref = reference_sysmt_conv(x, w, b, 1.5, g, sysmt_config(t, idle, r));
          ASSERT_EQ(y.sizes(), ref.sizes());
          EXPECT_TRUE(y.equal(ref));  // bit-identical: same accumulators, same rescale
          const int64_t oh = stride == 1 ? 7 : 4;
          EXPECT_EQ(policy.cost().outputs, 2 * oh * oh * 6);
          EXPECT_EQ(policy.cost().cycles, policy.cost().outputs * ((45 + t - 1) / t));
        }
      }
    }
  }
}

// With C divisible by T a lane group never leaves a pixel, so the layer expands each pixel once and
// runs oneDNN's direct convolution over the expanded codes (where that is exact on this CPU). Its
// result must equal the reference, and im2col + GEMM (the "portable" choice) with dilation too.
// Weights 25 % zero, so that the lanes' variant sets differ between taps and output channels.
TEST(SysmtPolicy, DirectConvolutionOfExpandedPixelsEqualsTheReference) {
  torch::manual_seed(21);
  for (int64_t channels : {8, 12}) {
    at::Tensor x = torch::rand({2, channels, 7, 6}) * 2;
    x.masked_fill_(torch::rand_like(x) < 0.3, 0);
    at::Tensor w = torch::randn({10, channels, 3, 3});
    w.masked_fill_(torch::rand_like(w) < 0.25, 0);
    at::Tensor b = torch::randn({10});
    for (const auto [stride, padding, dilation] : {std::tuple{1, 1, 1}, {2, 1, 1}, {1, 0, 1}, {1, 2, 2}}) {
      const ConvGeometry g = conv_geometry(/*groups=*/1, stride, padding);
      ConvGeometry dilated = g;
      dilated.dilation = {dilation, dilation};
      for (int t : {2, 4}) {
        for (auto idle : {sysmt::IdleRule::kEither, sysmt::IdleRule::kAct}) {
          for (auto r : {sysmt::Rounding::kRne, sysmt::Rounding::kTrunc}) {
            const sysmt::SysmtConfig config = sysmt_config(t, idle, r);
            SCOPED_TRACE(std::to_string(channels) + " channels, stride " + std::to_string(stride) +
                         " padding " + std::to_string(padding) + " dilation " +
                         std::to_string(dilation) + " " + sysmt::to_string(config));
            at::Tensor y = make_sysmt_policy(1.5, config).conv2d(x, w, b, dilated);
            if (dilation == 1) EXPECT_TRUE(y.equal(reference_sysmt_conv(x, w, b, 1.5, g, config)));
            const arith::ScopedImplementation im2col(arith::Kernel::kDirectConv, "portable");
            EXPECT_TRUE(y.equal(make_sysmt_policy(1.5, config).conv2d(x, w, b, dilated)));
          }
        }
      }
    }
  }
}

TEST(SysmtPolicy, ConvTilesOverManyRowsAndDiagnosticsMerge) {
  // M = 36,300 rows, K = 27: 9 tiles of 4,096 rows, shared out among 4 threads (the parallel
  // tile path of arith::for_each_tile) whatever the machine's core count.
  const int previous_threads = at::get_num_threads();
  at::set_num_threads(4);
  torch::manual_seed(12);
  at::Tensor x = torch::relu(torch::randn({3, 3, 110, 110}));
  at::Tensor w = torch::randn({4, 3, 3, 3});
  ConvGeometry g;
  g.padding = {1, 1};
  for (int t : {1, 2, 4}) {
    SCOPED_TRACE("T = " + std::to_string(t));
    SysmtPolicy policy = make_sysmt_policy(2.0, sysmt_config(t), /*diag=*/true);
    at::Tensor y = policy.conv2d(x, w, {}, g);
    EXPECT_TRUE(y.equal(reference_sysmt_conv(x, w, {}, 2.0, g, sysmt_config(t))));
    sysmt::SysmtDiagnostics d = policy.diagnostics();
    EXPECT_EQ(d.threads, t);
    EXPECT_EQ(d.outputs, 3 * 110 * 110 * 4);
    EXPECT_EQ(policy.cost().outputs, 3 * 110 * 110 * 4);
    EXPECT_EQ(policy.cost().macs, 3 * 110 * 110 * 4 * 27);
    if (t > 1) {
      EXPECT_GT(d.collision_rate(), 0.0);
      EXPECT_GT(d.mse_vs_exact(), 0.0);
    }
    EXPECT_TRUE(policy.describe().contains("diagnostics"));
    policy.reset_statistics();
    EXPECT_EQ(policy.diagnostics().threads, 0);
    EXPECT_EQ(policy.cost().outputs, 0);
  }
  at::set_num_threads(previous_threads);
}

TEST(SysmtPolicy, OneThreadEqualsA8W8AndMoreThreadsDiffer) {
  torch::manual_seed(13);
  // K = 64*9 = 576 > 514, so a8w8 takes its float64 path; K = 45 its float32 path.
  for (int64_t cin : {5, 64}) {
    at::Tensor x = torch::relu(torch::randn({2, cin, 7, 7}));
    at::Tensor w = torch::randn({8, cin, 3, 3});
    at::Tensor b = torch::randn({8});
    ConvGeometry g;
    g.padding = {1, 1};
    A8W8Policy a8w8 = make_a8w8_policy(2.0);
    at::Tensor ya = a8w8.conv2d(x, w, b, g);
    at::Tensor y1 = make_sysmt_policy(2.0, sysmt_config(1)).conv2d(x, w, b, g);
    // Both compute float(double(exact acc) * double scale) + float bias: bit-identical.
    EXPECT_TRUE(y1.equal(ya)) << (y1 - ya).abs().max().item<float>();
    for (int t : {2, 4})
      for (auto idle : {sysmt::IdleRule::kEither, sysmt::IdleRule::kAct})
        for (auto r : {sysmt::Rounding::kRne, sysmt::Rounding::kHalfUp, sysmt::Rounding::kTrunc}) {
          at::Tensor yt = make_sysmt_policy(2.0, sysmt_config(t, idle, r)).conv2d(x, w, b, g);
          EXPECT_FALSE(yt.equal(y1)) << sysmt::to_string(sysmt_config(t, idle, r));
        }
  }
}

TEST(SysmtPolicy, GroupedConvPerGroupEqualsA8W8AtOneThread) {
  torch::manual_seed(14);
  at::Tensor x = torch::relu(torch::randn({2, 6, 5, 5}));
  at::Tensor w = torch::randn({4, 3, 3, 3});
  const ConvGeometry g = conv_geometry(/*groups=*/2, /*stride=*/2, /*padding=*/1);
  A8W8Policy a8w8 = make_a8w8_policy(2.0);
  EXPECT_TRUE(
      make_sysmt_policy(2.0, sysmt_config(1)).conv2d(x, w, {}, g).equal(a8w8.conv2d(x, w, {}, g)));
}

TEST(SysmtPolicy, LinearEqualsA8W8AtOneThreadAndReferenceAtFour) {
  torch::manual_seed(15);
  at::Tensor x = torch::relu(torch::randn({3, 20}));
  at::Tensor w = torch::randn({4, 20});
  at::Tensor b = torch::randn({4});
  A8W8Policy a8w8 = make_a8w8_policy(2.0, "fc", /*linear=*/true);
  EXPECT_TRUE(make_sysmt_policy(2.0, sysmt_config(1)).linear(x, w, b).equal(a8w8.linear(x, w, b)));
  ActivationCodes xq = quantize_activations(x, 2.0, "fc");
  WeightCodes wq = quantize_weights(w);
  at::Tensor acc = at::empty({3, 4}, at::kInt);
  sysmt::sysmt_gemm_ref(xq.codes.contiguous().data_ptr<uint8_t>(),
                        wq.codes.contiguous().data_ptr<int8_t>(), acc.data_ptr<int32_t>(), 3, 4, 20,
                        sysmt_config(4));
  at::Tensor ref = (acc.to(at::kDouble) * (wq.scales.to(at::kDouble) * double(xq.scale)).reshape({1, -1}))
                       .to(at::kFloat) + b;
  EXPECT_TRUE(make_sysmt_policy(2.0, sysmt_config(4)).linear(x, w, b).equal(ref));
}

TEST(SysmtPolicy, WeightPackingFollowsTheWeightVersion) {
  torch::manual_seed(16);
  at::Tensor x = torch::relu(torch::randn({1, 5, 7, 7}));
  at::Tensor w = torch::randn({3, 5, 3, 3});
  ConvGeometry g;
  SysmtPolicy policy = make_sysmt_policy(2.0, sysmt_config(2));
  at::Tensor y0 = policy.conv2d(x, w, {}, g);
  {
    torch::NoGradGuard ng;
    w.mul_(-1);
  }
  at::Tensor y1 = policy.conv2d(x, w, {}, g);
  EXPECT_TRUE(y1.equal(reference_sysmt_conv(x, w, {}, 2.0, g, sysmt_config(2))));
  EXPECT_FALSE(y1.equal(y0));
}

TEST(SysmtPolicy, UncalibratedOrNegativeInputThrows) {
  at::Tensor w = torch::randn({3, 5, 3, 3});
  EXPECT_THROW(make_sysmt_policy(0.0, sysmt_config(2))
                   .conv2d(torch::rand({1, 5, 7, 7}), w, {}, ConvGeometry{}),
               InputError);
  EXPECT_THROW(make_sysmt_policy(1.0, sysmt_config(2))
                   .conv2d(-torch::rand({1, 5, 7, 7}), w, {}, ConvGeometry{}),
               InputError);
}

TEST(SysmtPolicy, RegistryLeavesFirstConvAndFcInFp32AndOverridesWork) {
  auto net = std::make_shared<TinyNetImpl>();
  const ModelCalibration cal = calibration_of(*net);
  apply_policy(*net, PolicySpec::parse("sysmt smt=4 idle=act round=trunc"), 1, cal);
  EXPECT_EQ(net->policy_names(), (std::vector<std::string>{"fp32", "sysmt", "fp32"}));
  auto* p = dynamic_cast<SysmtPolicy*>(&net->conv2->policy());
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->params().config.threads, 4);
  EXPECT_EQ(p->params().config.idle, sysmt::IdleRule::kAct);
  EXPECT_EQ(p->params().config.rounding, sysmt::Rounding::kTrunc);
  // Same calibrated range as the a8w8 policy would use.
  apply_policy(*net, PolicySpec::parse("a8w8"), 1, cal);
  auto* a = dynamic_cast<A8W8Policy*>(&net->conv2->policy());
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->params().a_max, p->params().a8w8.a_max);

  apply_policy(*net, PolicySpec::parse("sysmt smt=2 override=conv2=a8w8 override=fc=sysmt"), 1, cal);
  EXPECT_EQ(net->conv2->policy().name(), "a8w8");
  EXPECT_EQ(net->fc->policy().name(), "sysmt");
  net->eval();
  torch::NoGradGuard ng;
  EXPECT_EQ(net->forward(torch::randn({2, 1, 8, 8})).sizes().vec(), (std::vector<int64_t>{2, 3}));

  PolicySpec s = PolicySpec::parse("sysmt smt=4 idle=act round=half_up");
  EXPECT_EQ(PolicySpec::from_json(s.to_json()).to_json(), s.to_json());
  EXPECT_THROW(PolicySpec::parse("sysmt smt=3"), InputError);
  EXPECT_THROW(PolicySpec::parse("sysmt smt=8"), InputError);
  EXPECT_THROW(PolicySpec::parse("sysmt idle=never"), InputError);
  EXPECT_THROW(PolicySpec::parse("sysmt round=up"), InputError);
  EXPECT_THROW(apply_policy(*net, PolicySpec::parse("sysmt smt=2"), 1, ModelCalibration{}),
               InputError);  // not calibrated
}

TEST(SysmtPolicy, CountLayerMacsRestoresPolicies) {
  auto net = std::make_shared<TinyNetImpl>();
  const ModelCalibration cal = calibration_of(*net);
  apply_policy(*net, PolicySpec::parse("sysmt smt=2"), 1, cal);
  net->train();
  std::vector<LayerMacs> macs = count_layer_macs(*net, torch::randn({1, 1, 8, 8}));
  ASSERT_EQ(macs.size(), 3u);
  EXPECT_EQ(macs[0].macs, 8 * 8 * 4 * 9);        // conv1: 1->4, 3x3, pad 1
  EXPECT_EQ(macs[1].macs, 4 * 4 * 8 * 4 * 9);    // conv2: 4->8, stride 2
  EXPECT_EQ(macs[2].macs, 3 * 8);                // fc
  EXPECT_EQ(net->conv2->policy().name(), "sysmt");
  EXPECT_TRUE(net->is_training());
}
