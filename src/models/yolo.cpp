#include "bnrecal/models/yolo.h"

#include <cmath>
#include <string>

#include "layer_factories.h"

namespace bnrecal {

namespace {

// The backbone's total stride: the stem's, then 2 per later stage unless that stage is dilated
// (ResNet's rule, see resnet.cpp).
int64_t backbone_stride(const ResNetConfig& config) {
  int64_t stride = config.stem == StemKind::kImageNet ? 4 : 1;
  for (size_t s = 1; s < config.blocks_per_stage.size(); ++s) {
    const bool dilated = s - 1 < config.dilate.size() && config.dilate[s - 1];
    if (!dilated) stride *= 2;
  }
  return stride;
}

}  // namespace

YoloHead::YoloHead(int64_t in_channels, int64_t width, int64_t convs, int64_t outputs) {
  TORCH_CHECK(convs >= 0 && width > 0 && outputs > 0, "YoloHead: bad sizes");
  int64_t in = in_channels;
  for (int64_t c = 1; c <= convs; ++c) {
    convs_.push_back(register_module("conv" + std::to_string(c), layers::conv(in, width, 3, 1, 1)));
    norms_.push_back(register_module("bn" + std::to_string(c), layers::batch_norm(width)));
    in = width;
  }
  predict_ = register_module("predict", ArithConv2d(ArithConv2dOptions(in, outputs, 1).bias(true)));
  torch::NoGradGuard no_grad;
  predict_->weight.normal_(0.0, 0.01);
  predict_->bias.zero_();
  predict_->bias[yolo::kObjectnessChannel].fill_(-std::log((1.0 - kYoloObjectnessPrior) / kYoloObjectnessPrior));
}

at::Tensor YoloHead::forward(at::Tensor x) {
  for (size_t c = 0; c < convs_.size(); ++c) x = at::relu(norms_[c](convs_[c](x)));
  return predict_(x);
}

YoloSmall::YoloSmall(const YoloConfig& config, const ModelOptions& options)
    : stride_(backbone_stride(config.backbone)), num_classes_(options.num_classes) {
  TORCH_CHECK(num_classes_ >= 1, "YoloSmall: num_classes must be at least 1");
  ResNetConfig backbone = config.backbone;
  backbone.classifier = false;
  backbone_ = register_module("backbone", std::make_shared<ResNet>(backbone, options));
  head_ = register_module("head", std::make_shared<YoloHead>(backbone_->out_channels(), config.head_width,
                                                             config.head_convs,
                                                             yolo::kFirstClassChannel + num_classes_));
}

at::Tensor YoloSmall::forward(at::Tensor x) {
  // Otherwise the padded convs round the grid up and cell (i, j) no longer covers pixels
  // [i * stride, (i + 1) * stride), which decoding assumes.
  TORCH_CHECK(x.dim() == 4 && x.size(2) % stride_ == 0 && x.size(3) % stride_ == 0,
              "YoloSmall: input must be [B, C, H, W] with H and W multiples of ", stride_, ", got ", x.sizes());
  return head_->forward(backbone_->forward(x));
}

namespace detail {

void add_detection_models(std::vector<ZooEntry>& zoo) {
  const YoloConfig config;
  zoo.push_back({"yolo_small", "detection",
                 "YOLO-style anchor-free detector: ResNet-20 stages + a strided 4th stage (output stride 8), "
                 "BN head; per cell objectness, box, classes",
                 {3, 96, 96}, [config](const ModelOptions& o) { return std::make_shared<YoloSmall>(config, o); }});
}

}  // namespace detail

}  // namespace bnrecal
