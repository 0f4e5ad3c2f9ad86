#include "bnrecal/models/fcn.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>

#include "layer_factories.h"

namespace bnrecal {

namespace {

// torchvision's FCNHead: Sequential indices 0 (conv), 1 (BN), 4 (classes conv, with bias).
torch::nn::Sequential fcn_head(int64_t in, int64_t classes) {
  const int64_t inner = in / 4;
  return torch::nn::Sequential(layers::conv(in, inner, 3, 1, 1), layers::batch_norm(inner), torch::nn::ReLU(),
                               torch::nn::Dropout(0.1), ArithConv2d(ArithConv2dOptions(inner, classes, 1).bias(true)));
}

}  // namespace

Fcn::Fcn(const FcnConfig& config, const ModelOptions& options) {
  ResNetConfig backbone = config.backbone;
  backbone.classifier = false;
  backbone_ = register_module("backbone", std::make_shared<ResNet>(backbone, options));
  classifier_ = register_module("classifier", fcn_head(backbone_->out_channels(), options.num_classes));
  if (config.aux_head) {
    aux_classifier_ = register_module("aux_classifier", fcn_head(backbone_->out_channels() / 2, options.num_classes));
  }
}

at::Tensor Fcn::forward(at::Tensor x) {
  const int64_t height = x.size(2), width = x.size(3);
  const at::Tensor scores = classifier_->forward(backbone_->forward(x));
  return at::upsample_bilinear2d(scores, {height, width}, /*align_corners=*/false);
}

namespace detail {

void add_fcn_models(std::vector<ZooEntry>& zoo) {
  auto entry = [&zoo](std::string name, std::string family, std::string description, std::vector<int64_t> input,
                      FcnConfig config) {
    zoo.push_back({std::move(name), std::move(family), std::move(description), std::move(input),
                   [config](const ModelOptions& o) { return std::make_shared<Fcn>(config, o); }});
  };
  const std::vector<int64_t> planes{64, 128, 256, 512};
  const ResNetConfig resnet50{BlockKind::kBottleneck, StemKind::kImageNet, {3, 4, 6, 3}, planes, 64, {false, true, true}};
  ResNetConfig resnet101 = resnet50;
  resnet101.blocks_per_stage = {3, 4, 23, 3};
  entry("fcn_resnet50", "segmentation", "torchvision FCN-ResNet50 (dilated backbone, output stride 8)",
        {3, 520, 520}, {resnet50});
  entry("fcn_resnet101", "segmentation", "torchvision FCN-ResNet101 (dilated backbone, output stride 8)",
        {3, 520, 520}, {resnet101});
  // For 64x64 tasks such as fashion-mosaic: ResNet-20's stages (output stride 4) and the FCN head.
  entry("fcn_small", "segmentation", "small-image FCN: ResNet-20 stages (widths 16/32/64, output stride 4) + FCN head",
        {3, 64, 64}, {{BlockKind::kBasic, StemKind::kSmallImage, {3, 3, 3}, {16, 32, 64}}});
}

}  // namespace detail

}  // namespace bnrecal
