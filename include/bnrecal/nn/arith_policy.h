// The one extension point for hardware perturbations: how a conv or linear layer does its
// arithmetic. Each ArithConv2d / ArithLinear owns one policy instance (so a policy may keep
// per-layer state: calibrated ranges, spatial noise draws, diagnostics counters).
//
//   conv->set_policy(std::make_shared<bnrecal::Fp32Policy>());
//   at::Tensor y = conv->forward(x);   // the policy decides how y = W * x + b is computed
//
// Conventions: weights OIHW (conv) and [out, in] (linear), activations NCHW float32.
// A policy never changes parameter shapes, so the module tree is the same under every policy.
#pragma once
#include <ATen/ATen.h>

#include <array>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace bnrecal {

struct ConvGeometry {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// What a policy factory knows about the layer it is building a policy for.
struct LayerInfo {
  std::string name;           // module path, torchvision style: "layer1.0.conv1", "fc"
  bool is_linear = false;
  bool is_first_conv = false;  // the first conv in forward order (sees the raw image)
  bool is_depthwise = false;   // one input channel per group
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  std::array<int64_t, 2> kernel{1, 1};
  ConvGeometry geometry;
};

class ArithPolicy {
 public:
  virtual ~ArithPolicy() = default;
  // Registry name, e.g. "fp32", "a8w8", "sysmt".
  virtual std::string name() const = 0;
  // The typed parameters and any calibrated state, for result files and checkpoint metadata.
  virtual nlohmann::json describe() const = 0;
  // bias may be undefined.
  virtual at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight,
                            const at::Tensor& bias, const ConvGeometry& geometry) = 0;
  virtual at::Tensor linear(const at::Tensor& input, const at::Tensor& weight,
                            const at::Tensor& bias) = 0;
};

// Plain float32 arithmetic through libtorch (oneDNN convolution). The default policy.
class Fp32Policy : public ArithPolicy {
 public:
  std::string name() const override { return "fp32"; }
  nlohmann::json describe() const override { return {{"policy", "fp32"}}; }
  at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                    const ConvGeometry& geometry) override;
  at::Tensor linear(const at::Tensor& input, const at::Tensor& weight,
                    const at::Tensor& bias) override;
};

}  // namespace bnrecal
