#include "bnrecal/nn/forwarding_policy.h"

#include <c10/util/Exception.h>

namespace bnrecal {

ForwardingPolicy::ForwardingPolicy(std::shared_ptr<ArithPolicy> inner) : inner_(std::move(inner)) {
  TORCH_CHECK(inner_, "ForwardingPolicy: null inner policy");
}

at::Tensor ForwardingPolicy::conv2d(const at::Tensor& input, const at::Tensor& weight,
                                    const at::Tensor& bias, const ConvGeometry& geometry) {
  const ArithCall call{input, weight, &geometry};
  before(call);
  at::Tensor y = inner_->conv2d(input, transform_weight(weight), bias, geometry);
  after(call, y);
  return y;
}

at::Tensor ForwardingPolicy::linear(const at::Tensor& input, const at::Tensor& weight,
                                    const at::Tensor& bias) {
  const ArithCall call{input, weight, nullptr};
  before(call);
  at::Tensor y = inner_->linear(input, transform_weight(weight), bias);
  after(call, y);
  return y;
}

}  // namespace bnrecal
