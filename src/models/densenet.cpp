// Follows torchvision/models/densenet.py (0.14); drop_rate is 0 there for every published model,
// so no dropout is modelled. The small-image stem (densenet_small) replaces only conv0's shape and
// drops the max-pool, so both variants share every layer class and module name.
#include "bnrecal/models/densenet.h"

#include "layer_factories.h"

namespace bnrecal {

namespace {

using layers::batch_norm;
using layers::conv;

class DenseLayer : public torch::nn::Module {
 public:
  DenseLayer(int64_t in, int64_t growth_rate, int64_t bn_size) {
    norm1 = register_module("norm1", batch_norm(in));
    conv1 = register_module("conv1", conv(in, bn_size * growth_rate, 1, 1, 0));
    norm2 = register_module("norm2", batch_norm(bn_size * growth_rate));
    conv2 = register_module("conv2", conv(bn_size * growth_rate, growth_rate, 3, 1, 1));
  }
  // Input: the concatenation of the block input and every earlier layer's output.
  at::Tensor forward(const at::Tensor& x) {
    at::Tensor bottleneck = conv1(at::relu(norm1(x)));
    return conv2(at::relu(norm2(bottleneck)));
  }
  BatchNorm2d norm1{nullptr}, norm2{nullptr};
  ArithConv2d conv1{nullptr}, conv2{nullptr};
};

class DenseBlock : public torch::nn::Module {
 public:
  DenseBlock(int64_t layers, int64_t in, int64_t growth_rate, int64_t bn_size) {
    for (int64_t i = 0; i < layers; ++i)
      layers_.push_back(register_module("denselayer" + std::to_string(i + 1),
                                        std::make_shared<DenseLayer>(in + i * growth_rate, growth_rate, bn_size)));
  }
  at::Tensor forward(const at::Tensor& x) {
    std::vector<at::Tensor> features{x};
    for (auto& layer : layers_) features.push_back(layer->forward(at::cat(features, 1)));
    return at::cat(features, 1);
  }
  std::vector<std::shared_ptr<DenseLayer>> layers_;
};

class Transition : public torch::nn::Module {
 public:
  Transition(int64_t in, int64_t out) {
    norm = register_module("norm", batch_norm(in));
    conv = register_module("conv", layers::conv(in, out, 1, 1, 0));
  }
  at::Tensor forward(const at::Tensor& x) { return at::avg_pool2d(conv(at::relu(norm(x))), {2, 2}, {2, 2}); }
  BatchNorm2d norm{nullptr};
  ArithConv2d conv{nullptr};
};

// torchvision's "features" Sequential, with its named children in the same order.
class DenseFeatures : public torch::nn::Module {
 public:
  DenseFeatures(const DenseNetConfig& config, int64_t in_channels) {
    const int64_t stem = config.num_init_features;
    conv0 = register_module("conv0", config.small_image_stem ? conv(in_channels, stem, 3, 1, 1)
                                                             : conv(in_channels, stem, 7, 2, 3));
    max_pool = !config.small_image_stem;
    norm0 = register_module("norm0", batch_norm(config.num_init_features));
    int64_t channels = config.num_init_features;
    for (size_t i = 0; i < config.block_config.size(); ++i) {
      const std::string index = std::to_string(i + 1);
      blocks.push_back(register_module("denseblock" + index,
                                       std::make_shared<DenseBlock>(config.block_config[i], channels,
                                                                    config.growth_rate, config.bn_size)));
      channels += config.block_config[i] * config.growth_rate;
      if (i + 1 < config.block_config.size()) {
        transitions.push_back(register_module("transition" + index, std::make_shared<Transition>(channels, channels / 2)));
        channels /= 2;
      }
    }
    norm5 = register_module("norm5", batch_norm(channels));
    out_channels = channels;
  }
  at::Tensor forward(const at::Tensor& input) {
    at::Tensor x = at::relu(norm0(conv0(input)));
    if (max_pool) x = at::max_pool2d(x, {3, 3}, {2, 2}, {1, 1});
    for (size_t i = 0; i < blocks.size(); ++i) {
      x = blocks[i]->forward(x);
      if (i < transitions.size()) x = transitions[i]->forward(x);
    }
    return norm5(x);
  }
  ArithConv2d conv0{nullptr};
  BatchNorm2d norm0{nullptr}, norm5{nullptr};
  std::vector<std::shared_ptr<DenseBlock>> blocks;
  std::vector<std::shared_ptr<Transition>> transitions;
  int64_t out_channels = 0;
  bool max_pool = true;
};

}  // namespace

DenseNet::DenseNet(const DenseNetConfig& config, const ModelOptions& options) {
  auto features = std::make_shared<DenseFeatures>(config, options.in_channels);
  features_ = register_module("features", features);
  classifier_ = register_module("classifier", ArithLinear(features->out_channels, options.num_classes));
}

at::Tensor DenseNet::forward(at::Tensor input) {
  at::Tensor x = at::relu(static_cast<DenseFeatures&>(*features_).forward(input));
  return classifier_(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
}

namespace detail {

void add_densenet_models(std::vector<ZooEntry>& zoo) {
  zoo.push_back({"densenet121", "imagenet", "torchvision DenseNet-121 (growth 32, blocks 6/12/24/16)",
                 {3, 224, 224},
                 [](const ModelOptions& o) { return std::make_shared<DenseNet>(DenseNetConfig{}, o); }});
  // Huang et al.'s small-image DenseNet-BC (growth 12, 2 x growth stem channels), with the
  // layers per block growing like DenseNet-121's, 4/6/8, so the 28x28 block (a 4x larger map)
  // stays cheap: 40 M multiply-accumulates per 28x28 image, about ResNet-20's.
  DenseNetConfig small;
  small.growth_rate = 12;
  small.block_config = {4, 6, 8};
  small.num_init_features = 24;
  small.small_image_stem = true;
  zoo.push_back({"densenet_small", "small-image",
                 "small DenseNet-BC: 3x3 stem, growth 12, blocks 4/6/8 at 28/14/7 px, compression 0.5",
                 {1, 28, 28},
                 [small](const ModelOptions& o) { return std::make_shared<DenseNet>(small, o); }});
}

}  // namespace detail

}  // namespace bnrecal
