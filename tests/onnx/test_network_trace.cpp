// Every zoo architecture traced into an ONNX graph (random weights, non-trivial BatchNorm
// statistics): the GraphNetwork built from it has the zoo model's perturbable layers under the same
// names and computes the same logits, bit for bit (the same ATen kernels run in the same order).
#include <gtest/gtest.h>

#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/onnx/network_trace.h"
#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {
namespace {

std::vector<std::string> layer_names(torch::nn::Module& m) {
  std::vector<std::string> names;
  for (const auto& l : arith_layers(m)) names.push_back(l.name);
  return names;
}

TEST(NetworkTrace, EveryZooArchitectureBecomesAGraphWithItsLayersAndLogits) {
  for (const ZooEntry& entry : model_zoo()) {
    SCOPED_TRACE(entry.name);
    // ImageNet models at 64 px (96 for GoogLeNet's ceil-mode pools): the graph does not depend on the size.
    std::vector<int64_t> shape = entry.default_input;
    if (entry.family == "imagenet") shape = {3, entry.name == "googlenet" ? 96 : 64, entry.name == "googlenet" ? 96 : 64};
    if (entry.name == "resnet101" || entry.name == "wide_resnet50_2" || entry.name == "densenet121") continue;  // slow; resnet50 covers them
    if (entry.family == "segmentation") continue;  // the tracer has no bilinear Resize yet (docs/onnx.md)
    torch::manual_seed(1);
    auto net = build_model(entry.name, {.num_classes = 7, .in_channels = shape[0]});
    {
      at::NoGradGuard no_grad;
      for (const auto& bn : bn_layers(*net)) {
        bn.bn->running_mean.normal_(0, 0.2);
        bn.bn->running_var.uniform_(0.5, 1.5);
        bn.bn->weight.uniform_(0.5, 1.5);
        bn.bn->bias.normal_(0, 0.2);
      }
    }
    net->eval();
    OnnxModel traced = trace_network(*net, shape);
    GraphNetwork graph(traced.graph, traced.values);
    graph.eval();
    EXPECT_EQ(layer_names(graph), layer_names(*net));
    at::NoGradGuard no_grad;
    const at::Tensor x = at::randn({3, shape[0], shape[1], shape[2]});
    const at::Tensor want = net->forward(x), got = graph.forward(x);
    EXPECT_TRUE(at::equal(got, want)) << "max |diff| " << (got - want).abs().max().item<float>();
  }
}

}  // namespace
}  // namespace bnrecal
