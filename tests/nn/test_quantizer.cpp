#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/quantizer.h"

using namespace bnrecal;

namespace {
at::Tensor pytorch_weight_fake_quant(const at::Tensor& w, const at::Tensor& scales) {
  return at::fake_quantize_per_channel_affine(w, scales, at::zeros({w.size(0)}, at::kInt), 0, -128, 127);
}
}  // namespace

TEST(Quantizer, WeightsEqualPyTorchFakeQuantOnRandomValues) {
  torch::manual_seed(3);
  at::Tensor w = torch::randn({16, 8, 3, 3});
  at::Tensor mine = fake_quantize_weights(w);
  at::Tensor ref = pytorch_weight_fake_quant(w, weight_scales(w));
  EXPECT_TRUE(mine.equal(ref));
  WeightCodes q = quantize_weights(w);
  EXPECT_EQ(q.codes.scalar_type(), at::kChar);
  EXPECT_TRUE(at::allclose(q.scales, std::get<0>(w.abs().reshape({16, -1}).max(1)) / 127.5));
}

TEST(Quantizer, TiesRoundHalfToEvenAndTheEdgeClamps) {
  // max |W| = 127.5 gives s_w = 1 exactly, so W / s_w are the ties themselves.
  at::Tensor w = torch::tensor({127.5f, 0.5f, 1.5f, 2.5f, -0.5f, -2.5f, -127.5f, 3.5f, -1.5f}).reshape({1, 9});
  WeightCodes q = quantize_weights(w);
  EXPECT_FLOAT_EQ(q.scales.item<float>(), 1.0f);
  std::vector<int64_t> expected = {127, 0, 2, 2, 0, -2, -128, 4, -2};
  at::Tensor codes = q.codes.to(at::kLong).reshape({-1});
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(codes[i].item<int64_t>(), expected[i]) << i;
  EXPECT_TRUE(fake_quantize_weights(w).equal(pytorch_weight_fake_quant(w, q.scales)));
}

TEST(Quantizer, EdgeChannelMaxAlwaysClampsTo127) {
  // max / s_w is 127.5 for every channel: the positive max rounds to 128 and clamps to 127.
  at::Tensor w = torch::tensor({{0.3f, -0.1f}, {-2.0f, 1.0f}});
  WeightCodes q = quantize_weights(w);
  EXPECT_EQ(q.codes[0][0].item<int>(), 127);
  // -max lands on -127.5 up to the float32 reciprocal's rounding (PyTorch's convention): -128
  // on an exact tie, -127 when 1/s_w rounds down, as here (1/float(2/127.5) < 63.75).
  const int neg = q.codes[1][0].item<int>();
  EXPECT_TRUE(neg == -128 || neg == -127) << neg;
  EXPECT_TRUE(fake_quantize_weights(w).equal(pytorch_weight_fake_quant(w, q.scales)));
}

TEST(Quantizer, AllZeroChannelHasNoNaN) {
  at::Tensor w = torch::zeros({2, 3});
  w[1] = torch::tensor({1.0f, -2.0f, 0.5f});
  WeightCodes q = quantize_weights(w);
  EXPECT_FLOAT_EQ(q.scales[0].item<float>(), 1.0f);
  at::Tensor back = dequantize_weights(q);
  EXPECT_FALSE(back.isnan().any().item<bool>());
  EXPECT_TRUE(back[0].eq(0).all().item<bool>());
}

TEST(Quantizer, ActivationsEqualPyTorchPerTensorFakeQuant) {
  at::Tensor x = torch::tensor({0.0f, 0.5f, 1.5f, 2.5f, 254.5f, 255.0f, 300.0f, 17.25f});
  ActivationCodes q = quantize_activations(x, 255.0, "layer");
  EXPECT_FLOAT_EQ(q.scale, 1.0f);
  EXPECT_EQ(q.codes.scalar_type(), at::kByte);
  std::vector<int> expected = {0, 0, 2, 2, 254, 255, 255, 17};
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(q.codes[i].item<int>(), expected[i]) << i;
  torch::manual_seed(1);
  at::Tensor r = torch::rand({1000}) * 4;
  const double a_max = 3.1;
  at::Tensor ref = at::fake_quantize_per_tensor_affine(r, activation_scale(a_max), 0, 0, 255);
  EXPECT_TRUE(dequantize_activations(quantize_activations(r, a_max, "l")).equal(ref));
}

TEST(Quantizer, NegativeInputToUnsignedLayerNamesTheLayer) {
  at::Tensor x = torch::tensor({1.0f, -0.25f});
  try {
    quantize_activations(x, 1.0, "layer3.1.conv2");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("layer3.1.conv2"), std::string::npos);
  }
  ActivationCodes s = quantize_activations(x, 1.0, "l", ActivationMode::kSigned);
  EXPECT_EQ(s.codes.scalar_type(), at::kChar);
  EXPECT_EQ(s.codes[1].item<int>(), -32);  // -0.25 / (1/127.5) = -31.875 -> -32
}

TEST(Quantizer, ExactFloat32ReductionLimit) {
  EXPECT_EQ(exact_float32_reduction_limit(ActivationMode::kUnsigned), (1 << 24) / (255 * 128));
  EXPECT_LE(exact_float32_reduction_limit(ActivationMode::kUnsigned) * 255 * 128, 1 << 24);
}
