// Folding BatchNorm into convs and inserting re-normalization layers: the folded model computes
// the unfolded one's logits (one rounding per weight apart), keeps its conv layer names, and a
// re-normalization layer made the identity at its running statistics changes nothing.
#include <gtest/gtest.h>

#include "bnrecal/core/error.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/onnx/batch_norm_folding.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/onnx/network_trace.h"
#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {
namespace {

OnnxModel traced_resnet20() {
  torch::manual_seed(4);
  auto net = build_model("resnet20", {.num_classes = 10, .in_channels = 1});
  at::NoGradGuard no_grad;
  for (const auto& bn : bn_layers(*net)) {
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
  const std::vector<std::string> layers = add_renormalization(renormed);
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

}  // namespace
}  // namespace bnrecal
