#include "bnrecal/nn/arith_layers.h"

#include <torch/nn/init.h>

#include <cmath>

namespace bnrecal {

void PolicySlot::set_policy(std::shared_ptr<ArithPolicy> policy) {
  TORCH_CHECK(policy, "null policy");
  policy_ = std::move(policy);
}

ArithConv2dImpl::ArithConv2dImpl(ArithConv2dOptions opts) : options(std::move(opts)) { reset(); }

void ArithConv2dImpl::reset() {
  const auto& o = options;
  TORCH_CHECK(o.in_channels_ % o.geometry_.groups == 0 && o.out_channels_ % o.geometry_.groups == 0,
              "channels must be divisible by groups");
  weight = register_parameter(
      "weight", torch::empty({o.out_channels_, o.in_channels_ / o.geometry_.groups, o.kernel_[0],
                              o.kernel_[1]}));
  // He initialisation for ReLU networks, as torchvision's ResNet does (mode fan_out).
  torch::nn::init::kaiming_normal_(weight, 0.0, torch::kFanOut, torch::kReLU);
  if (o.bias_) {
    bias = register_parameter("bias", torch::zeros({o.out_channels_}));
  } else {
    bias = at::Tensor();
  }
}

at::Tensor ArithConv2dImpl::forward(const at::Tensor& input) {
  return policy().conv2d(input, weight, bias, options.geometry_);
}

LayerInfo ArithConv2dImpl::layer_info() const {
  LayerInfo info;
  info.in_channels = options.in_channels_;
  info.out_channels = options.out_channels_;
  info.kernel = options.kernel_;
  info.geometry = options.geometry_;
  info.is_depthwise = options.geometry_.groups > 1 && options.in_channels_ == options.geometry_.groups;
  return info;
}

ArithLinearImpl::ArithLinearImpl(int64_t in, int64_t out, bool with_bias_)
    : in_features(in), out_features(out), with_bias(with_bias_) {
  reset();
}

void ArithLinearImpl::reset() {
  weight = register_parameter("weight", torch::empty({out_features, in_features}));
  // torch::nn::Linear's default initialisation.
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (with_bias) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(in_features));
    bias = register_parameter("bias", torch::empty({out_features}).uniform_(-bound, bound));
  } else {
    bias = at::Tensor();
  }
}

at::Tensor ArithLinearImpl::forward(const at::Tensor& input) {
  return policy().linear(input, weight, bias);
}

LayerInfo ArithLinearImpl::layer_info() const {
  LayerInfo info;
  info.is_linear = true;
  info.in_channels = in_features;
  info.out_channels = out_features;
  return info;
}

LayerInfo ArithLayerRef::info() const {
  LayerInfo i = conv ? conv->layer_info() : linear->layer_info();
  i.name = name;
  i.is_first_conv = is_first_conv;
  return i;
}

PolicySlot& ArithLayerRef::slot() const {
  if (conv) return *conv;
  return *linear;
}

void ArithLayerRef::set_policy(std::shared_ptr<ArithPolicy> policy) const { slot().set_policy(std::move(policy)); }

ArithPolicy& ArithLayerRef::policy() const { return slot().policy(); }

std::shared_ptr<ArithPolicy> ArithLayerRef::policy_ptr() const { return slot().policy_ptr(); }

PolicyRestorer::PolicyRestorer(torch::nn::Module& model, std::vector<ArithLayerRef> layers)
    : model_(model), layers_(std::move(layers)), training_(model.is_training()) {
  for (const auto& l : layers_) saved_.push_back(l.policy_ptr());
}

PolicyRestorer::~PolicyRestorer() {
  for (size_t i = 0; i < layers_.size(); ++i) layers_[i].set_policy(saved_[i]);
  model_.train(training_);
}

const at::Tensor& ArithLayerRef::weight() const { return conv ? conv->weight : linear->weight; }

std::vector<ArithLayerRef> arith_layers(torch::nn::Module& model) {
  std::vector<ArithLayerRef> layers;
  bool first_conv_seen = false;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    ArithLayerRef ref;
    ref.name = item.key();
    ref.conv = dynamic_cast<ArithConv2dImpl*>(item.value().get());
    ref.linear = dynamic_cast<ArithLinearImpl*>(item.value().get());
    if (!ref.conv && !ref.linear) continue;
    if (ref.conv && !first_conv_seen) ref.is_first_conv = first_conv_seen = true;
    layers.push_back(ref);
  }
  return layers;
}

}  // namespace bnrecal
