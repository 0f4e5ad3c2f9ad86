// Layer widths and the forward pass follow torchvision/models/googlenet.py (0.14) line by line;
// registration order matches its attribute order so state-dict keys come out identical.
#include "bnrecal/models/googlenet.h"

#include "inception_blocks.h"

namespace bnrecal {

namespace {

using inception::BasicConv2d;
using inception::Inception;
using inception::InceptionWidths;

class InceptionAux : public torch::nn::Module {
 public:
  InceptionAux(int64_t in, int64_t num_classes) {
    conv = register_module("conv", std::make_shared<BasicConv2d>(in, 128, 1));
    fc1 = register_module("fc1", ArithLinear(2048, 1024));
    fc2 = register_module("fc2", ArithLinear(1024, num_classes));
    dropout = register_module("dropout", torch::nn::Dropout(0.7));
  }
  at::Tensor forward(const at::Tensor& input) {
    at::Tensor x = conv->forward(at::adaptive_avg_pool2d(input, {4, 4})).flatten(1);
    x = dropout(at::relu(fc1(x)));
    return fc2(x);
  }
  std::shared_ptr<BasicConv2d> conv;
  ArithLinear fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout dropout{nullptr};
};

at::Tensor run(const std::shared_ptr<torch::nn::Module>& m, const at::Tensor& x) {
  if (auto* c = dynamic_cast<BasicConv2d*>(m.get())) return c->forward(x);
  if (auto* i = dynamic_cast<Inception*>(m.get())) return i->forward(x);
  return static_cast<InceptionAux*>(m.get())->forward(x);
}

}  // namespace

GoogLeNet::GoogLeNet(const GoogLeNetConfig& config, const ModelOptions& options) : config_(config) {
  conv1_ = register_module("conv1", std::make_shared<BasicConv2d>(options.in_channels, 64, 7, 2, 3));
  conv2_ = register_module("conv2", std::make_shared<BasicConv2d>(64, 64, 1));
  conv3_ = register_module("conv3", std::make_shared<BasicConv2d>(64, 192, 3, 1, 1));
  auto inception = [this](const std::string& name, std::vector<int64_t> c) {
    const InceptionWidths widths{c[1], c[2], c[3], c[4], c[5], c[6]};
    return register_module(name, std::make_shared<Inception>(c[0], widths));
  };
  inception3_ = {inception("inception3a", {192, 64, 96, 128, 16, 32, 32}),
                 inception("inception3b", {256, 128, 128, 192, 32, 96, 64})};
  inception4_ = {inception("inception4a", {480, 192, 96, 208, 16, 48, 64}),
                 inception("inception4b", {512, 160, 112, 224, 24, 64, 64}),
                 inception("inception4c", {512, 128, 128, 256, 24, 64, 64}),
                 inception("inception4d", {512, 112, 144, 288, 32, 64, 64}),
                 inception("inception4e", {528, 256, 160, 320, 32, 128, 128})};
  inception5_ = {inception("inception5a", {832, 256, 160, 320, 32, 128, 128}),
                 inception("inception5b", {832, 384, 192, 384, 48, 128, 128})};
  if (config.aux_logits) {
    aux1_ = register_module("aux1", std::make_shared<InceptionAux>(512, options.num_classes));
    aux2_ = register_module("aux2", std::make_shared<InceptionAux>(528, options.num_classes));
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(0.2));
  fc_ = register_module("fc", ArithLinear(1024, options.num_classes));
}

GoogLeNetOutputs GoogLeNet::forward_with_aux(at::Tensor x) {
  if (config_.transform_input) {
    // Per channel: x * (std / 0.5) + (mean - 0.5) / 0.5, torchvision's constants.
    const double mean[3] = {0.485, 0.456, 0.406}, stdev[3] = {0.229, 0.224, 0.225};
    std::vector<at::Tensor> channels;
    for (int64_t c = 0; c < 3; ++c)
      channels.push_back(x.select(1, c).unsqueeze(1) * (stdev[c] / 0.5) + (mean[c] - 0.5) / 0.5);
    x = at::cat(channels, 1);
  }
  const auto pool = [](const at::Tensor& t, int64_t kernel) {
    return at::max_pool2d(t, {kernel, kernel}, {2, 2}, {0, 0}, {1, 1}, /*ceil_mode=*/true);
  };
  GoogLeNetOutputs out;
  x = pool(run(conv1_, x), 3);
  x = pool(run(conv3_, run(conv2_, x)), 3);
  for (auto& m : inception3_) x = run(m, x);
  x = pool(x, 3);
  for (size_t i = 0; i < inception4_.size(); ++i) {
    x = run(inception4_[i], x);
    if (i == 0 && aux1_ && is_training()) out.aux1 = run(aux1_, x);
    if (i == 3 && aux2_ && is_training()) out.aux2 = run(aux2_, x);
  }
  x = pool(x, 2);
  for (auto& m : inception5_) x = run(m, x);
  x = at::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  out.logits = fc_(dropout_(x));
  return out;
}

at::Tensor GoogLeNet::forward(at::Tensor x) { return forward_with_aux(std::move(x)).logits; }

namespace detail {

void add_googlenet_models(std::vector<ZooEntry>& zoo) {
  zoo.push_back({"googlenet", "imagenet",
                 "torchvision GoogLeNet (Inception v1), no aux heads, transform_input=False", {3, 224, 224},
                 [](const ModelOptions& o) { return std::make_shared<GoogLeNet>(GoogLeNetConfig{}, o); }});
}

}  // namespace detail

}  // namespace bnrecal
