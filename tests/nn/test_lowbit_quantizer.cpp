// The low-bit quantizers against closed forms, and their straight-through gradients against
// hand-derived values.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/lowbit_quantizer.h"

namespace bnrecal {
namespace {

at::Tensor vec(std::vector<float> v) { return torch::tensor(v); }

TEST(LowBitQuantizer, ActivationsClipAndRoundToTheGrid) {
  const at::Tensor x = vec({-0.5f, 0.0f, 0.1f, 0.16f, 0.17f, 0.5f, 0.84f, 1.0f, 1.7f});
  // 1 bit: {0, 1}, threshold 1/2 (0.5 is a tie: half to even gives 0).
  EXPECT_TRUE(quantize_unit_activations(x, 1).equal(vec({0, 0, 0, 0, 0, 0, 1, 1, 1})));
  // 2 bits: {0, 1/3, 2/3, 1}; 0.16 * 3 = 0.48 -> 0, 0.17 * 3 = 0.51 -> 1/3, 0.5 * 3 = 1.5 -> 2/3 (tie to even 2).
  const at::Tensor q2 = quantize_unit_activations(x, 2);
  const std::vector<float> e2 = {0, 0, 0, 0, 1 / 3.f, 2 / 3.f, 1, 1, 1};  // 0.84 * 3 = 2.52 -> 1
  for (size_t i = 0; i < e2.size(); ++i) EXPECT_FLOAT_EQ(q2[i].item<float>(), e2[i]) << i;
  // 8 bits: every value is one of 256 levels within half a step.
  const at::Tensor u = torch::rand({1000});
  const at::Tensor q8 = quantize_unit_activations(u, 8);
  EXPECT_LE((q8 - u).abs().max().item<float>(), 0.5f / 255 + 1e-6f);
  EXPECT_TRUE(((q8 * 255).round() - q8 * 255).abs().max().item<float>() < 1e-4f);
}

TEST(LowBitQuantizer, OneBitWeightsAreSignTimesMeanMagnitude) {
  const at::Tensor w = torch::tensor({{1.0f, -3.0f}, {0.0f, 2.0f}}).reshape({2, 2, 1, 1});
  const at::Tensor channel = quantize_lowbit_weights(w, 1, WeightScaling::kChannel).reshape({2, 2});
  // Channel 0: mean |W| = 2; channel 1: mean 1, and sign(0) = +1.
  EXPECT_TRUE(channel.equal(torch::tensor({{2.0f, -2.0f}, {1.0f, 1.0f}})));
  const at::Tensor layer = quantize_lowbit_weights(w, 1, WeightScaling::kLayer).reshape({2, 2});
  EXPECT_TRUE(layer.equal(torch::tensor({{1.5f, -1.5f}, {1.5f, 1.5f}})));  // mean over all = 6 / 4
}

TEST(LowBitQuantizer, MultiBitWeightsFollowDoReFa) {
  const at::Tensor w = torch::tensor({{0.5f, -0.25f, 0.0f, 1.0f}});  // one output channel (linear)
  for (int bits : {2, 4, 8}) {
    const double n = (1 << bits) - 1;
    const at::Tensor t = w.tanh();
    const at::Tensor unit = t / (2 * t.abs().max()) + 0.5;
    const at::Tensor expected = 2 * (unit * n).round() / n - 1;
    EXPECT_TRUE(quantize_lowbit_weights(w, bits, WeightScaling::kChannel).allclose(expected, 0, 1e-6)) << bits;
    // The largest magnitude maps to exactly +1; the range is [-1, 1].
    EXPECT_FLOAT_EQ(quantize_lowbit_weights(w, bits, WeightScaling::kLayer)[0][3].item<float>(), 1.0f);
  }
  // Layerwise vs channelwise: a second channel with small weights uses the layer's max.
  const at::Tensor two = torch::tensor({{1.0f, -1.0f}, {0.1f, -0.1f}});
  EXPECT_FLOAT_EQ(quantize_lowbit_weights(two, 2, WeightScaling::kChannel)[1][0].item<float>(), 1.0f);
  EXPECT_LT(quantize_lowbit_weights(two, 2, WeightScaling::kLayer)[1][0].item<float>(), 1.0f);
}

TEST(LowBitQuantizer, StraightThroughGradients) {
  // Activations: gradient 1 inside [0, 1], 0 outside.
  at::Tensor x = vec({-0.2f, 0.3f, 0.9f, 1.4f}).requires_grad_();
  quantize_unit_activations(x, 2).sum().backward();
  EXPECT_TRUE(x.grad().equal(vec({0, 1, 1, 0})));
  // 1-bit weights: the identity.
  at::Tensor w = vec({0.3f, -0.7f}).reshape({1, 2}).requires_grad_();
  (quantize_lowbit_weights(w, 1, WeightScaling::kChannel) * vec({2.0f, 5.0f})).sum().backward();
  EXPECT_TRUE(w.grad().equal(vec({2.0f, 5.0f}).reshape({1, 2})));
  // k bits: d/dW of 2 * (tanh(W) / (2 m) + 1/2) - 1 = tanh(W) / m, with m = max|tanh W| held by
  // the max's own gradient: compare with autograd through the same smooth expression.
  at::Tensor v = vec({0.3f, -0.7f, 0.1f}).reshape({1, 3}).requires_grad_();
  quantize_lowbit_weights(v, 4, WeightScaling::kChannel).sum().backward();
  at::Tensor ref = vec({0.3f, -0.7f, 0.1f}).reshape({1, 3}).requires_grad_();
  const at::Tensor t = ref.tanh();
  (t / t.abs().max()).sum().backward();
  EXPECT_TRUE(v.grad().allclose(ref.grad(), 1e-6, 1e-7));
  // Finite difference of the smooth part at 0.1 (not the max): (1 - tanh^2(0.1)) / tanh(0.7).
  const double by_hand = (1 - std::pow(std::tanh(0.1), 2)) / std::tanh(0.7);
  EXPECT_NEAR(v.grad()[0][2].item<double>(), by_hand, 1e-6);
}

TEST(LowBitQuantizer, ScalingNames) {
  EXPECT_EQ(parse_weight_scaling("channel"), WeightScaling::kChannel);
  EXPECT_EQ(parse_weight_scaling("layer"), WeightScaling::kLayer);
  EXPECT_THROW(parse_weight_scaling("tensor"), InputError);
}

}  // namespace
}  // namespace bnrecal
