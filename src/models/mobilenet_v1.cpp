// MobileNet-v1 (Howard et al. 2017) at width 1.0, 224x224, in the layout MLPerf inference uses:
// the layer list of TensorFlow-slim's nets/mobilenet_v1.py (MOBILENETV1_CONV_DEFS and
// mobilenet_v1_arg_scope), which MLPerf's mobilenet_v1_1.0_224 checkpoint was trained with:
//   Conv2d_0            3x3 conv, stride 2, 32 channels
//   Conv2d_1 .. _13     depthwise 3x3 (stride 1 or 2) + pointwise 1x1, widths
//                       64, 128, 128, 256, 256, 512 (x6), 1024, 1024; stride 2 at 2, 4, 6, 12
//   every conv: no bias, BatchNorm (eps 1e-3, slim's batch_norm_epsilon), ReLU6
//   global average pool, dropout (keep_prob 0.999), logits Conv2d_1c_1x1 with bias
//   (1001 classes in the MLPerf/slim checkpoint: class 0 is "background"; 1000 also works).
// The 1x1 logits conv on a 1x1 map is a Linear here, so converted weights need a reshape
// [N, 1024, 1, 1] -> [N, 1024]. Names follow torchvision's style (mobilenet_v2):
//   features.0.{0,1}                     stem conv, BN
//   features.K.depthwise.{0,1}           K = 1..13: depthwise conv (groups = channels), BN
//   features.K.pointwise.{0,1}           pointwise conv, BN
//   classifier.1                         Linear(1024, num_classes)
// Parameter count: 4,231,976 with 1000 classes (the same as Keras' MobileNet(alpha=1.0)).
//
// mobilenet_v1_small, for 28x28 / 32x32 images, is the same code with a stride-1 stem and only
// the first five units (MobileNetV1Config::units), symmetric padding:
//   features.0                 3x3 conv, 32 channels, stride 1
//   features.1 .. features.5   depthwise + pointwise to 64, 128 (stride 2), 128, 256 (stride 2), 256
//   classifier.1               Linear(256, num_classes) after global average pooling
// It keeps the shared ConvUnit's ReLU6 and BN eps 1e-3. 136,202 parameters (1 channel in, 10
// classes), 12.2 M multiply-accumulates per 28x28 image.
#include <torch/nn/modules/dropout.h>

#include "bnrecal/models/mobilenet.h"
#include "bnrecal/nn/arith_layers.h"
#include "layer_factories.h"

namespace bnrecal {

namespace {

// conv -> BN -> ReLU6, children named "0" and "1" like torchvision's Conv2dNormActivation.
class ConvUnit : public torch::nn::Module {
 public:
  ConvUnit(int64_t in, int64_t out, int64_t stride, int64_t groups, int64_t kernel, bool tf_same_padding)
      : pad_explicitly_(tf_same_padding && stride > 1), stride_(stride), kernel_(kernel) {
    const int64_t padding = pad_explicitly_ ? 0 : (kernel - 1) / 2;
    conv = register_module("0", layers::conv(in, out, kernel, stride, padding, groups));
    bn = register_module("1", layers::batch_norm(out, 1e-3));
  }
  at::Tensor forward(const at::Tensor& input) {
    at::Tensor x = pad_explicitly_ ? same_pad(input) : input;
    return at::clamp(bn(conv(x)), 0, 6);  // ReLU6
  }
  ArithConv2d conv{nullptr};
  BatchNorm2d bn{nullptr};

 private:
  // TensorFlow SAME: output ceil(in / stride); the odd pixel of padding goes after (bottom/right).
  at::Tensor same_pad(const at::Tensor& x) const {
    auto amounts = [this](int64_t size) {
      const int64_t out = (size + stride_ - 1) / stride_;
      const int64_t total = std::max<int64_t>((out - 1) * stride_ + kernel_ - size, 0);
      return std::pair<int64_t, int64_t>{total / 2, total - total / 2};
    };
    const auto [top, bottom] = amounts(x.size(2));
    const auto [left, right] = amounts(x.size(3));
    return at::constant_pad_nd(x, {left, right, top, bottom}, 0);
  }
  bool pad_explicitly_;
  int64_t stride_, kernel_;
};

class DepthwiseSeparable : public torch::nn::Module {
 public:
  DepthwiseSeparable(int64_t in, int64_t out, int64_t stride, bool tf_same_padding) {
    depthwise = register_module("depthwise", std::make_shared<ConvUnit>(in, in, stride, in, 3, tf_same_padding));
    pointwise = register_module("pointwise", std::make_shared<ConvUnit>(in, out, 1, 1, 1, tf_same_padding));
  }
  at::Tensor forward(const at::Tensor& x) { return pointwise->forward(depthwise->forward(x)); }
  std::shared_ptr<ConvUnit> depthwise, pointwise;
};

}  // namespace

MobileNetV1::MobileNetV1(const MobileNetV1Config& config, const ModelOptions& options) : config_(config) {
  // (output channels, stride) of Conv2d_1 .. Conv2d_13.
  const std::vector<std::pair<int64_t, int64_t>> mlperf_units = {
      {64, 1},  {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},  {512, 1},
      {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1}};
  torch::nn::Sequential features;
  features->push_back(
      std::make_shared<ConvUnit>(options.in_channels, 32, config.stem_stride, 1, 3, config.tf_same_padding));
  int64_t in = 32;
  for (const auto& [out, stride] : config.units.empty() ? mlperf_units : config.units) {
    features->push_back(std::make_shared<DepthwiseSeparable>(in, out, stride, config.tf_same_padding));
    in = out;
  }
  features_ = register_module("features", features);
  classifier_ = register_module("classifier",
                                torch::nn::Sequential(torch::nn::Dropout(0.001), ArithLinear(in, options.num_classes)));
}

at::Tensor MobileNetV1::forward(at::Tensor input) {
  at::Tensor x = features_->forward(input);
  return classifier_->forward(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
}

namespace detail {

void add_mobilenet_v1_models(std::vector<ZooEntry>& zoo) {
  zoo.push_back({"mobilenet_v1", "imagenet",
                 "MobileNet-v1 1.0/224, MLPerf (TF-slim) layout: ReLU6, TF SAME padding; 1001 classes for "
                 "MLPerf weights",
                 {3, 224, 224},
                 [](const ModelOptions& o) { return std::make_shared<MobileNetV1>(MobileNetV1Config{}, o); }});
  // MLPerf's first five units with the stem at stride 1: 28 -> 14 -> 7 (32 -> 16 -> 8), the two
  // downsamplings where the 224 model has its second and third. PyTorch's symmetric padding, as
  // there are no TF weights to match.
  MobileNetV1Config small;
  small.tf_same_padding = false;
  small.stem_stride = 1;
  small.units = {{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}};
  zoo.push_back({"mobilenet_v1_small", "small-image",
                 "small MobileNet-v1: 3x3 stem, 5 depthwise-separable units (64..256 ch, 2 at stride 2), GAP, fc",
                 {1, 28, 28}, [small](const ModelOptions& o) { return std::make_shared<MobileNetV1>(small, o); }});
}

}  // namespace detail

}  // namespace bnrecal
