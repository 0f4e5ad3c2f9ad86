#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/arith/dispatch.h"
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

// Both ways of running a conv: oneDNN's direct convolution (where exact on this CPU) and
// im2col + GEMM.
TEST(A8W8Policy, IntegerPathEqualsTheIntegerReferenceOnEveryConvShape) {
  struct Shape {
    int64_t cin, kernel, stride, padding, dilation, size;
  };
  // 1x1 stride 1 (no im2col), 1x1 stride 2, 3x3 with K = 45 and K = 576, 5x5 dilated, and an
  // image large enough for several row tiles.
  for (const arith::Implementation& conv : arith::implementations(arith::Kernel::kDirectConv)) {
    if (!conv.supported) continue;
    const arith::ScopedImplementation use(arith::Kernel::kDirectConv, conv.name);
    torch::manual_seed(5);
    for (const Shape& s : {Shape{8, 1, 1, 0, 1, 6}, Shape{8, 1, 2, 0, 1, 7}, Shape{5, 3, 1, 1, 1, 6},
                           Shape{64, 3, 2, 1, 1, 6}, Shape{3, 5, 1, 2, 2, 9},
                           Shape{4, 1, 1, 0, 1, 70}}) {
      SCOPED_TRACE(conv.name + ": " + std::to_string(s.cin) + " channels, " +
                   std::to_string(s.kernel) + "x" + std::to_string(s.kernel) + " stride " +
                   std::to_string(s.stride));
      at::Tensor x = torch::rand({2, s.cin, s.size, s.size}) * 3;
      at::Tensor w = torch::randn({5, s.cin, s.kernel, s.kernel});
      at::Tensor b = torch::randn({5});
      ConvGeometry g;
      g.stride = {s.stride, s.stride};
      g.padding = {s.padding, s.padding};
      g.dilation = {s.dilation, s.dilation};
      A8W8Policy policy = bnrecal::testing::make_a8w8_policy(2.5);
      for (const at::Tensor& bias : {b, at::Tensor()}) {
        at::Tensor y = policy.conv2d(x, w, bias, g);
        EXPECT_TRUE(y.equal(reference_conv(x, w, bias, 2.5, g)));
      }
      EXPECT_EQ(policy.float64_forwards(), 0);
    }
  }
  // Close to float conv on the fake-quantized values (only float rounding differs).
  at::Tensor x = torch::rand({2, 4, 6, 6}) * 3;
  at::Tensor w = torch::randn({5, 4, 3, 3});
  ConvGeometry g;
  g.padding = {1, 1};
  at::Tensor fq = at::conv2d(dequantize_activations(quantize_activations(x, 2.5, "c")),
                             fake_quantize_weights(w), {}, g.stride, g.padding);
  EXPECT_TRUE(at::allclose(bnrecal::testing::make_a8w8_policy(2.5).conv2d(x, w, {}, g), fq, 1e-4, 1e-4));
}

TEST(A8W8Policy, OneLayerServesInputsOfSeveralSizes) {
  // The prepared convolution belongs to one input geometry; another size must not reuse it.
  torch::manual_seed(7);
  at::Tensor w = torch::randn({6, 4, 3, 3});
  ConvGeometry g;
  g.padding = {1, 1};
  A8W8Policy policy = bnrecal::testing::make_a8w8_policy(2.5);
  for (int64_t size : {6, 9, 6, 5}) {
    at::Tensor x = torch::rand({3, 4, size, size}) * 3;
    EXPECT_TRUE(policy.conv2d(x, w, {}, g).equal(reference_conv(x, w, {}, 2.5, g))) << size;
  }
}

TEST(A8W8Policy, SignedActivationsUseFloat64ForLargeReductionsAndStayExact) {
  torch::manual_seed(6);
  at::Tensor x = torch::randn({1, 128, 4, 4}) * 10;  // K = 128*9 = 1152 > 2^24 / (128*128)
  at::Tensor w = torch::randn({3, 128, 3, 3});
  A8W8Params p;
  p.a_max = 10.0;
  p.activation_mode = ActivationMode::kSigned;
  LayerInfo info;
  info.name = "big";
  A8W8Policy policy(info, p);
  at::Tensor y = policy.conv2d(x, w, {}, ConvGeometry{});
  EXPECT_EQ(policy.float64_forwards(), 1);
  ActivationCodes xq = quantize_activations(x, 10.0, "big", ActivationMode::kSigned);
  WeightCodes wq = quantize_weights(w);
  at::Tensor acc = at::conv2d(xq.codes.to(at::kDouble), wq.codes.to(at::kDouble));
  at::Tensor ref = (acc * (wq.scales.to(at::kDouble) * double(xq.scale)).reshape({1, -1, 1, 1})).to(at::kFloat);
  EXPECT_TRUE(y.equal(ref));
}

TEST(A8W8Policy, NegativeInputToUnsignedLayerNamesTheLayerAndTheMinimum) {
  A8W8Policy policy = bnrecal::testing::make_a8w8_policy(1.0, "layer2.0.conv1");
  at::Tensor x = torch::rand({1, 2, 4, 4});
  x[0][1][2][3] = -0.75f;
  try {
    policy.conv2d(x, torch::randn({3, 2, 3, 3}), {}, ConvGeometry{});
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layer2.0.conv1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("-0.75"), std::string::npos) << e.what();
  }
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
  EXPECT_TRUE(y.equal(ref));
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
