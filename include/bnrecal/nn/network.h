// Base class of every model in the zoo: an ordinary torch::nn::Module tree with torchvision's
// module names ("conv1", "bn1", "layer1.0.conv1", "fc") whose convs and linears are
// ArithConv2d / ArithLinear, so a perturbation policy can be plugged into any of them.
//
//   std::shared_ptr<bnrecal::Network> net = bnrecal::build_model("resnet20", {.num_classes = 10});
//   at::Tensor logits = net->forward(images);
#pragma once
#include <torch/nn/module.h>

#include <string>

namespace bnrecal {

class Network : public torch::nn::Module {
 public:
  virtual at::Tensor forward(at::Tensor input) = 0;
};

}  // namespace bnrecal
