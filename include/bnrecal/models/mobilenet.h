// MobileNets: v2 exactly as torchvision 0.14 builds it (torchvision.models.mobilenet_v2: names
// "features.0.0", "features.3.conv.1.0", "classifier.1"; ReLU6; depthwise convs = groups), and v1
// in the MLPerf-inference layout (no torchvision version exists; see mobilenet_v1.cpp), and
// "mobilenet_v1_small", the same units sized for 28x28 / 32x32 images.
//
//   auto v2 = std::make_shared<bnrecal::MobileNetV2>(bnrecal::ModelOptions{1000, 3});
//   auto v1 = std::make_shared<bnrecal::MobileNetV1>(bnrecal::MobileNetV1Config{}, bnrecal::ModelOptions{1001, 3});
#pragma once
#include <torch/nn/modules/container/sequential.h>

#include <utility>
#include <vector>

#include "bnrecal/nn/network.h"
#include "bnrecal/models/zoo.h"

namespace bnrecal {

class MobileNetV2 : public Network {
 public:
  explicit MobileNetV2(const ModelOptions& options);
  at::Tensor forward(at::Tensor input) override;

 private:
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential classifier_{nullptr};  // Dropout(0.2), ArithLinear
};

struct MobileNetV1Config {
  // TensorFlow "SAME" padding: stride-2 convs pad 0 before and 1 after (for even sizes), where
  // PyTorch's symmetric padding=1 pads 1 on both sides. Needed for weights converted from the
  // TF-slim / MLPerf checkpoints; irrelevant for models trained here from scratch.
  bool tf_same_padding = true;
  // The stem conv's stride: 2 for 224x224 (MLPerf), 1 for 28x28 / 32x32 images.
  int64_t stem_stride = 2;
  // (output channels, stride) of each depthwise-separable unit, features.1 onwards; empty means
  // MLPerf's 13 units (Conv2d_1 .. Conv2d_13). The stem has 32 channels either way.
  std::vector<std::pair<int64_t, int64_t>> units;
};

class MobileNetV1 : public Network {
 public:
  MobileNetV1(const MobileNetV1Config& config, const ModelOptions& options);
  at::Tensor forward(at::Tensor input) override;

 private:
  MobileNetV1Config config_;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential classifier_{nullptr};  // Dropout(0.001), ArithLinear
};

}  // namespace bnrecal
