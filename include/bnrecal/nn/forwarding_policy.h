// A policy that hands the arithmetic to an inner policy and may look at, or change, what passes
// through: the base of the probes (activation ranges for calibration, MAC counts, channel
// activity for reordering) and of the analog-noise decorator.
//
//   class InputMax : public bnrecal::ForwardingPolicy {
//    public:
//     using ForwardingPolicy::ForwardingPolicy;
//     double max = 0;
//    protected:
//     void before(const ArithCall& call) override { max = std::max(max, call.input.max().item<double>()); }
//   };
//   layer.set_policy(std::make_shared<InputMax>(layer.policy_ptr()));
#pragma once
#include <memory>
#include <string>

#include "bnrecal/nn/arith_policy.h"

namespace bnrecal {

// One conv2d or linear call as the policy sees it.
struct ArithCall {
  const at::Tensor& input;
  const at::Tensor& weight;          // the layer's own weight (before transform_weight)
  const ConvGeometry* geometry;      // nullptr for linear
  bool is_conv() const { return geometry != nullptr; }
};

class ForwardingPolicy : public ArithPolicy {
 public:
  explicit ForwardingPolicy(std::shared_ptr<ArithPolicy> inner);
  std::string name() const override { return inner_->name(); }
  nlohmann::json describe() const override { return inner_->describe(); }
  at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                    const ConvGeometry& geometry) final;
  at::Tensor linear(const at::Tensor& input, const at::Tensor& weight,
                    const at::Tensor& bias) final;

  ArithPolicy& inner() const { return *inner_; }
  const std::shared_ptr<ArithPolicy>& inner_ptr() const { return inner_; }

 protected:
  virtual void before(const ArithCall& call) {}
  // The weight the inner policy computes with (the noise decorator's draw).
  virtual at::Tensor transform_weight(const at::Tensor& weight) { return weight; }
  virtual void after(const ArithCall& call, const at::Tensor& output) {}

 private:
  std::shared_ptr<ArithPolicy> inner_;
};

}  // namespace bnrecal
