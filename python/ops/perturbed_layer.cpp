// torch.classes.bnrecal.Layer: one conv or linear layer of a Python model computing with a bnrecal
// policy, and torch.ops.bnrecal.build_layers, which resolves a perturbation spec over a model's
// layers exactly as `bnrecal eval --policy SPEC` does for a zoo model (nn/policy_resolution.h): the
// same edge rules, overrides, noise seeds and calibration, so outputs are bit-identical.
//
//   layers = torch.ops.bnrecal.build_layers("sysmt smt=2", layers_json, metadata_json, seed)
//   y = layers[0].conv2d(x, conv.weight, conv.bias)
#include <torch/custom_class.h>
#include <torch/library.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/nn/arith_policy.h"
#include "bnrecal/nn/forwarding_policy.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/noise_policy.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/nn/sysmt_policy.h"
#include "op_errors.h"

namespace bnrecal::python {
namespace {

nlohmann::json parse_json(const std::string& text, const std::string& what) {
  return with_input_errors<nlohmann::json::exception>(what + " is not valid JSON: ", [&] {
    return text.empty() ? nlohmann::json::object() : nlohmann::json::parse(text);
  });
}

// {"name", "kind": "conv"|"linear", "in_channels", "out_channels", "kernel": [kh, kw], "stride",
//  "padding", "dilation", "groups", "first_conv"}: what bnrecal/perturb.py reads off a torch module.
LayerInfo layer_info_from_json(const nlohmann::json& j) {
  return with_input_errors<nlohmann::json::exception>("malformed layer description: ", [&] {
    LayerInfo info;
    info.name = j.at("name").get<std::string>();
    const std::string kind = j.at("kind").get<std::string>();
    require(kind == "conv" || kind == "linear", "layer '" + info.name + "': kind must be conv or linear, got '" + kind + "'");
    info.is_linear = kind == "linear";
    info.in_channels = j.at("in_channels").get<int64_t>();
    info.out_channels = j.at("out_channels").get<int64_t>();
    require(info.in_channels > 0 && info.out_channels > 0, "layer '" + info.name + "': channels must be positive");
    if (!info.is_linear) {
      info.is_first_conv = j.value("first_conv", false);
      const auto pair = [&](const char* key) { return j.at(key).get<std::array<int64_t, 2>>(); };
      info.kernel = pair("kernel");
      info.geometry.stride = pair("stride");
      info.geometry.padding = pair("padding");
      info.geometry.dilation = pair("dilation");
      info.geometry.groups = j.at("groups").get<int64_t>();
      require(info.geometry.groups > 0 && info.in_channels % info.geometry.groups == 0 &&
                  info.out_channels % info.geometry.groups == 0,
              "layer '" + info.name + "': groups must divide the channel counts");
      // As ArithConv2dImpl::layer_info.
      info.is_depthwise = info.geometry.groups > 1 && info.in_channels == info.geometry.groups;
    }
    return info;
  });
}

std::string type_text(const at::Tensor& t) {
  return std::string(c10::toString(t.scalar_type())) + " on " + t.device().str();
}

// The policies compute in float32 on the CPU with the layer's own shapes: anything else is the
// caller's mistake, reported before a kernel sees it.
void check_tensor(const LayerInfo& layer, const std::string& role, const at::Tensor& t,
                  const std::vector<int64_t>& expected_shape, bool batch_dim) {
  require(t.defined(), "layer '" + layer.name + "': " + role + " is undefined");
  require(t.scalar_type() == at::kFloat && t.device().is_cpu() && t.layout() == at::kStrided,
          "layer '" + layer.name + "': " + role + " must be a float32 CPU tensor, got " + type_text(t));
  std::vector<int64_t> got = t.sizes().vec();
  bool fits = got.size() == expected_shape.size();
  for (size_t i = batch_dim ? 1 : 0; fits && i < got.size(); ++i) fits = expected_shape[i] < 0 || got[i] == expected_shape[i];
  if (!fits) {
    std::string want;
    for (size_t i = 0; i < expected_shape.size(); ++i) {
      want += (i ? ", " : "") + ((batch_dim && i == 0) || expected_shape[i] < 0 ? std::string("*") : std::to_string(expected_shape[i]));
    }
    throw InputError("layer '" + layer.name + "': " + role + " has shape " + c10::str(t.sizes()) + ", expected [" + want + "]");
  }
}

// The SySMT policy inside a layer's policy, looking through decorators (analog noise).
SysmtPolicy* sysmt_inside(ArithPolicy* policy) {
  while (policy != nullptr) {
    if (auto* sysmt = dynamic_cast<SysmtPolicy*>(policy)) return sysmt;
    auto* forwarding = dynamic_cast<ForwardingPolicy*>(policy);
    policy = forwarding ? &forwarding->inner() : nullptr;
  }
  return nullptr;
}

}  // namespace

class PerturbedLayer : public torch::CustomClassHolder {
 public:
  PerturbedLayer(LayerInfo info, std::shared_ptr<ArithPolicy> policy) : info_(std::move(info)), policy_(std::move(policy)) {}

  at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
    return reporting_input_errors([&] {
      require(!info_.is_linear, "layer '" + info_.name + "' is a linear layer: call linear()");
      const int64_t groups = info_.geometry.groups;
      check_tensor(info_, "input", input, {-1, info_.in_channels, -1, -1}, true);
      check_tensor(info_, "weight", weight, {info_.out_channels, info_.in_channels / groups, info_.kernel[0], info_.kernel[1]}, false);
      if (bias) check_tensor(info_, "bias", *bias, {info_.out_channels}, false);
      at::NoGradGuard no_grad;
      return policy_->conv2d(input.contiguous(), weight.contiguous(), bias ? bias->contiguous() : at::Tensor(), info_.geometry);
    });
  }

  at::Tensor linear(const at::Tensor& input, const at::Tensor& weight, const c10::optional<at::Tensor>& bias) {
    return reporting_input_errors([&] {
      require(info_.is_linear, "layer '" + info_.name + "' is a conv layer: call conv2d()");
      check_tensor(info_, "input", input, {-1, info_.in_channels}, true);
      check_tensor(info_, "weight", weight, {info_.out_channels, info_.in_channels}, false);
      if (bias) check_tensor(info_, "bias", *bias, {info_.out_channels}, false);
      at::NoGradGuard no_grad;
      return policy_->linear(input.contiguous(), weight.contiguous(), bias ? bias->contiguous() : at::Tensor());
    });
  }

  // The weight the next forward would compute with under analog noise (advances the temporal draws).
  at::Tensor noisy_weight(const at::Tensor& weight) {
    return reporting_input_errors([&] {
      auto* noisy = dynamic_cast<NoisyWeightsPolicy*>(policy_.get());
      require(noisy != nullptr, "layer '" + info_.name + "' has no analog noise (its policy is " + policy_->name() + ")");
      at::NoGradGuard no_grad;
      return noisy->noisy_weight(weight);
    });
  }

  std::string name() const { return info_.name; }
  std::string policy() const { return policy_->name(); }
  std::string describe() const { return policy_->describe().dump(); }

  // SySMT per-layer diagnostics (collisions, reduced-precision products, error vs exact): off by
  // default since they cost O(M*N*K) per forward. False when the layer has no SySMT policy.
  bool set_collect_diagnostics(bool on) {
    SysmtPolicy* sysmt = sysmt_inside(policy_.get());
    if (sysmt) sysmt->set_collect_diagnostics(on);
    return sysmt != nullptr;
  }
  // The SySMT policy's description (cost, and diagnostics when collected); "" without one.
  std::string sysmt_describe() const {
    SysmtPolicy* sysmt = sysmt_inside(policy_.get());
    return sysmt ? sysmt->describe().dump() : "";
  }
  void reset_statistics() {
    if (SysmtPolicy* sysmt = sysmt_inside(policy_.get())) sysmt->reset_statistics();
  }

 private:
  LayerInfo info_;
  std::shared_ptr<ArithPolicy> policy_;
};

namespace {

std::vector<c10::intrusive_ptr<PerturbedLayer>> build_layers(const std::string& spec_text, const std::string& layers_json,
                                                             const std::string& metadata_json, int64_t seed) {
  return reporting_input_errors([&] {
    const nlohmann::json layers = parse_json(layers_json, "the layer list");
    require(layers.is_array(), "the layer list must be a JSON array");
    std::vector<LayerInfo> infos;
    for (const auto& j : layers) infos.push_back(layer_info_from_json(j));
    const ModelCalibration calibration = ModelCalibration::from_metadata(parse_json(metadata_json, "the model metadata"));
    const auto policies = build_layer_policies(infos, PolicySpec::parse(spec_text), static_cast<uint64_t>(seed), calibration);
    std::vector<c10::intrusive_ptr<PerturbedLayer>> out;
    for (size_t i = 0; i < infos.size(); ++i) out.push_back(c10::make_intrusive<PerturbedLayer>(infos[i], policies[i]));
    return out;
  });
}

}  // namespace

TORCH_LIBRARY(bnrecal, m) {
  m.class_<PerturbedLayer>("Layer")
      .def("conv2d", &PerturbedLayer::conv2d)
      .def("linear", &PerturbedLayer::linear)
      .def("noisy_weight", &PerturbedLayer::noisy_weight)
      .def("name", &PerturbedLayer::name)
      .def("policy", &PerturbedLayer::policy)
      .def("describe", &PerturbedLayer::describe)
      .def("set_collect_diagnostics", &PerturbedLayer::set_collect_diagnostics)
      .def("sysmt_describe", &PerturbedLayer::sysmt_describe)
      .def("reset_statistics", &PerturbedLayer::reset_statistics);
  m.def("build_layers", &build_layers);
}

}  // namespace bnrecal::python
