// Fully convolutional segmentation networks (Long et al. 2015) as torchvision builds them:
// a ResNet backbone whose last stages trade stride for dilation, an FCN head (3x3 conv to a
// quarter of the channels, BN, ReLU, dropout 0.1, 1x1 conv to the classes) and a bilinear upsampling
// of the class scores to the input size. Module and parameter names are torchvision's
// (backbone.layer4.2.conv2.weight, classifier.4.bias, aux_classifier.0.weight), so
// `bnrecal import --arch fcn_resnet50` reads torchvision's weights.
//
//   auto net = bnrecal::build_model("fcn_resnet50", {.num_classes = 21, .in_channels = 3});
//   at::Tensor scores = net->forward(images);      // [B, 21, H, W] at the input's size
//
// torchvision's auxiliary head (on layer3) only shapes training and is never evaluated; the zoo's
// FCNs leave it out (the importer drops its tensors), since recalibration would otherwise meet BN
// layers that inference never reaches. aux_head builds it for training recipes that want it.
#pragma once
#include <torch/nn/modules/container/sequential.h>

#include "bnrecal/models/resnet.h"

namespace bnrecal {

struct FcnConfig {
  ResNetConfig backbone;
  bool aux_head = false;
};

class Fcn : public Network {
 public:
  Fcn(const FcnConfig& config, const ModelOptions& options);
  at::Tensor forward(at::Tensor input) override;

 private:
  std::shared_ptr<ResNet> backbone_;
  torch::nn::Sequential classifier_{nullptr}, aux_classifier_{nullptr};
};

}  // namespace bnrecal
