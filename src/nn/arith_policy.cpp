#include "bnrecal/nn/arith_policy.h"

#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {

at::Tensor Fp32Policy::conv2d(const at::Tensor& input, const at::Tensor& weight,
                              const at::Tensor& bias, const ConvGeometry& g) {
  return at::conv2d(input, weight, bias, {g.stride[0], g.stride[1]}, {g.padding[0], g.padding[1]},
                    {g.dilation[0], g.dilation[1]}, g.groups);
}

at::Tensor Fp32Policy::linear(const at::Tensor& input, const at::Tensor& weight,
                              const at::Tensor& bias) {
  return at::linear(input, weight, bias);
}

PolicyEntry fp32_policy_entry() {
  PolicyEntry e;
  e.name = "fp32";
  e.description = "float32 arithmetic (libtorch / oneDNN)";
  e.trainable = true;
  e.factory = [](const LayerInfo&, const PolicyContext&) -> std::shared_ptr<ArithPolicy> {
    return std::make_shared<Fp32Policy>();
  };
  return e;
}

}  // namespace bnrecal
