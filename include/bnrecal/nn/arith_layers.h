// Conv2d and Linear modules whose arithmetic is a pluggable ArithPolicy.
// Parameter names ("weight", "bias") and shapes match torch::nn::Conv2d / Linear, so
// torchvision state dicts load by name.
//
//   bnrecal::ArithConv2d conv(bnrecal::ArithConv2dOptions(16, 32, 3).stride(2).padding(1));
//   conv->set_policy(my_policy);
#pragma once
#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <memory>

#include "bnrecal/nn/arith_policy.h"

namespace bnrecal {

struct ArithConv2dOptions {
  ArithConv2dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_{kernel_size, kernel_size} {}
  ArithConv2dOptions& kernel(int64_t kh, int64_t kw) { kernel_ = {kh, kw}; return *this; }
  ArithConv2dOptions& stride(int64_t s) { geometry_.stride = {s, s}; return *this; }
  ArithConv2dOptions& stride(int64_t sh, int64_t sw) { geometry_.stride = {sh, sw}; return *this; }
  ArithConv2dOptions& padding(int64_t p) { geometry_.padding = {p, p}; return *this; }
  ArithConv2dOptions& padding(int64_t ph, int64_t pw) { geometry_.padding = {ph, pw}; return *this; }
  ArithConv2dOptions& dilation(int64_t d) { geometry_.dilation = {d, d}; return *this; }
  ArithConv2dOptions& groups(int64_t g) { geometry_.groups = g; return *this; }
  ArithConv2dOptions& bias(bool b) { bias_ = b; return *this; }

  int64_t in_channels_;
  int64_t out_channels_;
  std::array<int64_t, 2> kernel_;
  ConvGeometry geometry_;
  bool bias_ = false;  // convs before BatchNorm need no bias
};

// The policy both layer kinds hold (fp32 until set); a copy (Cloneable::clone) shares it.
class PolicySlot {
 public:
  void set_policy(std::shared_ptr<ArithPolicy> policy);
  ArithPolicy& policy() const { return *policy_; }
  std::shared_ptr<ArithPolicy> policy_ptr() const { return policy_; }

 private:
  std::shared_ptr<ArithPolicy> policy_ = std::make_shared<Fp32Policy>();
};

class ArithConv2dImpl : public torch::nn::Cloneable<ArithConv2dImpl>, public PolicySlot {
 public:
  explicit ArithConv2dImpl(ArithConv2dOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& input);
  // The static facts a policy factory needs; name and is_first_conv are filled by the caller.
  LayerInfo layer_info() const;

  ArithConv2dOptions options;
  at::Tensor weight;  // OIHW
  at::Tensor bias;    // [O] or undefined
};
TORCH_MODULE(ArithConv2d);

class ArithLinearImpl : public torch::nn::Cloneable<ArithLinearImpl>, public PolicySlot {
 public:
  ArithLinearImpl(int64_t in_features, int64_t out_features, bool with_bias = true);
  void reset() override;
  at::Tensor forward(const at::Tensor& input);
  LayerInfo layer_info() const;

  int64_t in_features;
  int64_t out_features;
  bool with_bias;
  at::Tensor weight;  // [out, in]
  at::Tensor bias;    // [out] or undefined
};
TORCH_MODULE(ArithLinear);

// A perturbable layer found in a module tree, in registration (= forward, for the zoo) order.
struct ArithLayerRef {
  std::string name;
  ArithConv2dImpl* conv = nullptr;    // exactly one of conv / linear is set
  ArithLinearImpl* linear = nullptr;
  bool is_first_conv = false;
  LayerInfo info() const;
  void set_policy(std::shared_ptr<ArithPolicy> policy) const;
  ArithPolicy& policy() const;
  std::shared_ptr<ArithPolicy> policy_ptr() const;
  PolicySlot& slot() const;
  const at::Tensor& weight() const;
};

// Saves the layers' policies and the model's training flag, and puts them back when it goes out
// of scope, also when a forward in between throws: for passes that swap in observing policies.
class PolicyRestorer {
 public:
  PolicyRestorer(torch::nn::Module& model, std::vector<ArithLayerRef> layers);
  ~PolicyRestorer();
  PolicyRestorer(const PolicyRestorer&) = delete;
  PolicyRestorer& operator=(const PolicyRestorer&) = delete;

 private:
  torch::nn::Module& model_;
  std::vector<ArithLayerRef> layers_;
  std::vector<std::shared_ptr<ArithPolicy>> saved_;
  bool training_;
};

// All ArithConv2d / ArithLinear layers of a model; the first conv is marked is_first_conv.
std::vector<ArithLayerRef> arith_layers(torch::nn::Module& model);

}  // namespace bnrecal
