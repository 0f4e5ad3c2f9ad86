// Folding BatchNorm into convs and inserting re-normalization layers: the folded model computes
// the unfolded one's logits (one rounding per weight apart), keeps its conv layer names, and a
// re-normalization layer made the identity at its running statistics changes nothing.
#include <gtest/gtest.h>

#include <map>
#include <stdexcept>

#include "bnrecal/core/error.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/onnx/batch_norm_folding.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/onnx/network_trace.h"
#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {
namespace {

OnnxModel traced_resnet20(double bn_epsilon = 1e-5) {
  torch::manual_seed(4);
  auto net = build_model("resnet20", {.num_classes = 10, .in_channels = 1});
  at::NoGradGuard no_grad;
  for (const auto& bn : bn_layers(*net)) {
    bn.bn->options.eps(bn_epsilon);
    bn.bn->running_mean.normal_(0, 0.3);
    bn.bn->running_var.uniform_(0.3, 2.0);
    bn.bn->weight.uniform_(0.5, 1.5);
    bn.bn->bias.normal_(0, 0.2);
  }
  return trace_network(*net, {1, 28, 28});
}

int count(const Graph& g, const std::string& op) {
  return static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [&](const GraphNode& n) { return n.op == op; }));
}

std::vector<std::string> layer_names(torch::nn::Module& m) {
  std::vector<std::string> names;
  for (const auto& l : arith_layers(m)) names.push_back(l.name);
  return names;
}

at::Tensor logits(GraphNetwork& net, const at::Tensor& x) {
  at::NoGradGuard no_grad;
  net.eval();
  return net.forward(x);
}

TEST(BatchNormFolding, FoldedModelComputesTheSameLogitsUnderTheSameLayerNames) {
  OnnxModel unfolded = traced_resnet20();
  OnnxModel folded = unfolded;
  EXPECT_EQ(fold_batch_norms(folded), 21);  // 19 convs in the blocks and stem, 2 downsampling convs
  EXPECT_EQ(count(folded.graph, "BatchNormalization"), 0);
  EXPECT_EQ(count(folded.graph, "Conv"), count(unfolded.graph, "Conv"));
  GraphNetwork a(unfolded.graph, unfolded.values), b(folded.graph, folded.values);
  EXPECT_EQ(layer_names(a), layer_names(b));
  const at::Tensor x = at::randn({4, 1, 28, 28});
  const at::Tensor ya = logits(a, x), yb = logits(b, x);
  EXPECT_TRUE(at::allclose(yb, ya, 1e-4, 1e-4)) << (yb - ya).abs().max().item<float>();
  EXPECT_FALSE(at::equal(yb, ya));  // one rounding per weight apart, not the same network
}

TEST(BatchNormFolding, RenormalizationIsTheIdentityAtItsRunningStatistics) {
  OnnxModel folded = traced_resnet20();
  fold_batch_norms(folded);
  GraphNetwork plain(folded.graph, folded.values);
  OnnxModel renormed = folded;
  std::vector<std::string> layers;
  for (const auto& l : add_renormalization(renormed)) layers.push_back(l.name);
  ASSERT_EQ(layers.size(), 21u);
  EXPECT_EQ(layers.front(), "conv1_renorm");
  GraphNetwork net(renormed.graph, renormed.values);
  EXPECT_EQ(layer_names(net), layer_names(plain));
  EXPECT_EQ(bn_layers(net).size(), 21u);
  {
    at::NoGradGuard no_grad;  // any statistics: made the identity at them
    for (const auto& bn : bn_layers(net)) {
      bn.bn->running_mean.normal_(0, 1);
      bn.bn->running_var.uniform_(0.5, 2);
    }
  }
  make_identity_at_running_statistics(net, layers);
  const at::Tensor x = at::randn({4, 1, 28, 28});
  const at::Tensor want = logits(plain, x), got = logits(net, x);
  EXPECT_TRUE(at::allclose(got, want, 1e-4, 1e-4)) << (got - want).abs().max().item<float>();
  EXPECT_THROW(make_identity_at_running_statistics(net, {"no_such_bn"}), InputError);
}

const GraphNode& node_writing(const Graph& g, const std::string& value) {
  for (const auto& n : g.nodes)
    if (n.outputs[0] == value) return n;
  throw std::runtime_error("no node writes " + value);
}

// Any recalibrated statistics (m', v') of an original BN's input x: the matched re-normalization
// normalizes z / g = x + c / g with the BN's epsilon, so with the same statistics shifted by c / g it
// computes what the original BN computes; the fixed epsilon on z (moments g m' + c, g^2 v') does
// not. A large epsilon (0.1, against variances of 0.3 to 2) makes the difference plain.
TEST(BatchNormFolding, MatchedRenormalizationRecalibratesAsTheOriginalBatchNorm) {
  const double eps = 0.1;
  OnnxModel unfolded = traced_resnet20(eps);
  const std::map<std::string, FoldedScale> scales = folded_scales(unfolded);
  ASSERT_EQ(scales.size(), 21u);
  OnnxModel matched = unfolded, fixed = unfolded;
  fold_batch_norms(matched);
  fold_batch_norms(fixed);
  const std::vector<RenormLayer> layers = add_renormalization(matched, scales), fixed_layers = add_renormalization(fixed);
  ASSERT_EQ(layers.size(), fixed_layers.size());
  for (size_t i = 0; i < layers.size(); ++i) {
    EXPECT_EQ(layers[i].name, fixed_layers[i].name);
    EXPECT_EQ(layers[i].output, fixed_layers[i].output);
    EXPECT_EQ(node_writing(fixed.graph, layers[i].output).name, layers[i].name);
    EXPECT_TRUE(scales.count(layers[i].output));
  }
  EXPECT_EQ(count(matched.graph, "Mul"), count(fixed.graph, "Mul") + 2 * 21);
  GraphNetwork original(unfolded.graph, unfolded.values), a(matched.graph, matched.values), b(fixed.graph, fixed.values);
  EXPECT_EQ(layer_names(a), layer_names(original));
  at::NoGradGuard no_grad;
  torch::manual_seed(9);
  for (const auto& node : unfolded.graph.nodes) {
    if (node.op != "BatchNormalization") continue;
    BatchNorm2dImpl* bn = bn_layers_named(original, {node.module})[0];
    const std::string renorm = node_writing(fixed.graph, node.outputs[0]).module;
    const at::Tensor g = bn->weight / (bn->running_var + eps).sqrt(), c = bn->bias - g * bn->running_mean;
    const FoldedScale& scale = scales.at(node.outputs[0]);
    EXPECT_TRUE(at::allclose(scale.g.to(at::kFloat), g, 1e-5, 0));
    EXPECT_TRUE(scale.training_mean.to(at::kFloat).equal(bn->bias));
    EXPECT_TRUE(at::allclose(scale.training_variance.to(at::kFloat), g.square() * bn->running_var, 1e-5, 0));
    const at::Tensor mean = bn->running_mean + 0.3 * at::randn_like(bn->running_mean);
    const at::Tensor var = bn->running_var * at::empty_like(bn->running_var).uniform_(0.5, 2);
    BatchNorm2dImpl* r = bn_layers_named(a, {renorm})[0];
    EXPECT_DOUBLE_EQ(r->options.eps(), eps);
    r->weight.copy_((bn->running_var + eps).sqrt());  // the identity on the clean statistics
    r->bias.copy_(bn->running_mean + c / g);
    r->running_mean.copy_(mean + c / g);
    r->running_var.copy_(var);
    r = bn_layers_named(b, {renorm})[0];
    r->weight.copy_((g.square() * bn->running_var + r->options.eps()).sqrt());
    r->bias.copy_(bn->bias);
    r->running_mean.copy_(g * mean + c);
    r->running_var.copy_(g.square() * var);
    bn->running_mean.copy_(mean);
    bn->running_var.copy_(var);
  }
  const at::Tensor x = at::randn({4, 1, 28, 28});
  const at::Tensor want = logits(original, x), got = logits(a, x), other = logits(b, x);
  EXPECT_TRUE(at::allclose(got, want, 1e-4, 1e-4)) << (got - want).abs().max().item<float>();
  EXPECT_FALSE(at::allclose(other, want, 1e-2, 1e-2));
}

}  // namespace
}  // namespace bnrecal
