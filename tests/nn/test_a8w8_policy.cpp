#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "sysmt_test_support.h"

using namespace bnrecal;

namespace {
// Integer reference: exact accumulation in int64 via double (exact below 2^53), then rescale.
at::Tensor reference_conv(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b, double a_max,
                          const ConvGeometry& g) {
  ActivationCodes xq = quantize_activations(x, a_max, "ref");
  WeightCodes wq = quantize_weights(w);
  at::Tensor acc = at::conv2d(xq.codes.to(at::kDouble), wq.codes.to(at::kDouble), {}, g.stride,
                              g.padding, g.dilation, g.groups);
  EXPECT_TRUE(acc.equal(acc.round()));
  at::Tensor y = (acc * (wq.scales.to(at::kDouble) * double(xq.scale)).reshape({1, -1, 1, 1})).to(at::kFloat);
  return b.defined() ? y + b.reshape({1, -1, 1, 1}) : y;
}
}  // namespace

TEST(A8W8Policy, SmallReductionRunsInFloat32AndIsExact) {
  torch::manual_seed(5);
  at::Tensor x = torch::rand({2, 4, 6, 6}) * 3;
  at::Tensor w = torch::randn({5, 4, 3, 3});
  at::Tensor b = torch::randn({5});
  A8W8Policy policy = bnrecal::testing::make_a8w8_policy(2.5);
  ConvGeometry g;
  g.padding = {1, 1};
  at::Tensor y = policy.conv2d(x, w, b, g);
  EXPECT_EQ(policy.float64_forwards(), 0);
  EXPECT_TRUE(at::allclose(y, reference_conv(x, w, b, 2.5, g), 1e-6, 1e-6));
  // Close to float conv on the fake-quantized values (only float rounding differs).
  at::Tensor fq = at::conv2d(dequantize_activations(quantize_activations(x, 2.5, "c")),
                             fake_quantize_weights(w), b, g.stride, g.padding);
  EXPECT_TRUE(at::allclose(y, fq, 1e-4, 1e-4));
}

TEST(A8W8Policy, LargeReductionUsesFloat64AndStaysExact) {
  torch::manual_seed(6);
  at::Tensor x = torch::rand({1, 64, 4, 4}) * 10;  // K = 64*9 = 576 > 514
  at::Tensor w = torch::randn({3, 64, 3, 3});
  A8W8Policy policy = bnrecal::testing::make_a8w8_policy(10.0, "big");
  ConvGeometry g;
  at::Tensor y = policy.conv2d(x, w, {}, g);
  EXPECT_EQ(policy.float64_forwards(), 1);
  EXPECT_TRUE(y.equal(reference_conv(x, w, {}, 10.0, g)));
}

TEST(A8W8Policy, LinearMatchesIntegerReference) {
  torch::manual_seed(7);
  at::Tensor x = torch::rand({3, 20});
  at::Tensor w = torch::randn({4, 20});
  A8W8Policy policy = bnrecal::testing::make_a8w8_policy(1.0, "fc", /*linear=*/true);
  at::Tensor y = policy.linear(x, w, {});
  ActivationCodes xq = quantize_activations(x, 1.0, "fc");
  WeightCodes wq = quantize_weights(w);
  at::Tensor acc = at::matmul(xq.codes.to(at::kDouble), wq.codes.to(at::kDouble).t());
  at::Tensor ref = (acc * (wq.scales.to(at::kDouble) * double(xq.scale)).reshape({1, -1})).to(at::kFloat);
  EXPECT_TRUE(at::allclose(y, ref, 1e-6, 1e-6));
}

TEST(A8W8Policy, UncalibratedLayerThrowsNamingTheCommand) {
  LayerInfo info;
  info.name = "layer1.0.conv1";
  A8W8Policy policy(info, A8W8Params{});
  try {
    policy.conv2d(torch::rand({1, 1, 3, 3}), torch::rand({1, 1, 1, 1}), {}, ConvGeometry{});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bnrecal calibrate"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("layer1.0.conv1"), std::string::npos);
  }
}
