// DenseNet-BC exactly as torchvision 0.14 builds it (torchvision.models.densenet): module names
// "features.conv0", "features.denseblock1.denselayer1.norm1", "features.transition1.conv",
// "features.norm5", "classifier"; pre-activation layers (BN -> ReLU -> conv), 1x1 bottleneck of
// bn_size * growth_rate channels. torchvision's memory_efficient flag (checkpointing) changes
// only memory use, not results, and has no counterpart here.
//
// With small_image_stem the same layers make "densenet_small" for 28x28 / 32x32 images: conv0
// 3x3 (24 channels), dense blocks of 4/6/8 layers at growth 12 on 28/14/7-pixel maps, two
// transitions (compression 0.5, 2x2 average pool), norm5, global average pool, classifier.
//
//   auto net = std::make_shared<bnrecal::DenseNet>(bnrecal::DenseNetConfig{}, options);  // DenseNet-121
#pragma once
#include <torch/nn/modules/batchnorm.h>

#include <vector>

#include "bnrecal/nn/network.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"

namespace bnrecal {

struct DenseNetConfig {
  int64_t growth_rate = 32;
  std::vector<int64_t> block_config{6, 12, 24, 16};  // DenseNet-121
  int64_t num_init_features = 64;
  int64_t bn_size = 4;
  // Small images (28x28, 32x32): conv0 is a 3x3 stride-1 conv and the stem has no max-pool, so the
  // first block sees the full-size map (Huang et al. 2017, section 3); still followed by
  // norm0 + ReLU, torchvision's stem order.
  bool small_image_stem = false;
};

class DenseNet : public Network {
 public:
  DenseNet(const DenseNetConfig& config, const ModelOptions& options);
  at::Tensor forward(at::Tensor input) override;

 private:
  std::shared_ptr<torch::nn::Module> features_;
  ArithLinear classifier_{nullptr};
};

}  // namespace bnrecal
