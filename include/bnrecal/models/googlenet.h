// GoogLeNet (Inception v1) exactly as torchvision 0.14 builds it (torchvision.models.googlenet):
// same module names ("conv1.conv", "inception3a.branch2.1.bn", "aux1.fc1", "fc"), BasicConv2d =
// bias-free conv + BN(eps=1e-3) + ReLU, and torchvision's 3x3 (not 5x5) conv in branch3.
//
//   bnrecal::GoogLeNetConfig config;  config.aux_logits = true;
//   auto net = std::make_shared<bnrecal::GoogLeNet>(config, bnrecal::ModelOptions{1000, 3});
//   at::Tensor logits = net->forward(images);               // main head only, as in eval
//   bnrecal::GoogLeNetOutputs all = net->forward_with_aux(images);   // training with aux heads
#pragma once
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/pooling.h>

#include "bnrecal/nn/network.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"

namespace bnrecal {

struct GoogLeNetConfig {
  // Auxiliary classifiers after inception4a / 4d. Without them the state dict simply lacks
  // aux1.* / aux2.* (torchvision's pretrained weights are published that way).
  bool aux_logits = false;
  // torchvision's transform_input: maps ImageNet-normalized input to the (x - 0.5) / 0.5 scaling
  // the original (TensorFlow-trained) weights expect.
  bool transform_input = false;
};

struct GoogLeNetOutputs {
  at::Tensor logits;
  at::Tensor aux2;  // undefined without aux heads
  at::Tensor aux1;
};

class GoogLeNet : public Network {
 public:
  GoogLeNet(const GoogLeNetConfig& config, const ModelOptions& options);
  at::Tensor forward(at::Tensor input) override;
  // Aux heads run only in training mode, as in torchvision; otherwise aux1/aux2 are undefined.
  GoogLeNetOutputs forward_with_aux(at::Tensor input);

 private:
  GoogLeNetConfig config_;
  std::shared_ptr<torch::nn::Module> conv1_, conv2_, conv3_;
  std::vector<std::shared_ptr<torch::nn::Module>> inception3_, inception4_, inception5_;
  std::shared_ptr<torch::nn::Module> aux1_, aux2_;
  torch::nn::Dropout dropout_{nullptr};
  ArithLinear fc_{nullptr};
};

}  // namespace bnrecal
