// The policy registry: every arithmetic policy registers one entry {name, description, typed
// parameters, model-level check, factory}. Adding a policy is one file that defines its class
// and an entry function, plus one line in builtin_policies.cpp.
//
//   PolicyEntry entry;
//   entry.name = "lowbit";
//   entry.params = {ParamDef::integer("w_bits", 1, "weight bits").allow({1, 2, 4, 8})};
//   entry.factory = [](const LayerInfo& layer, const PolicyContext& ctx) {
//     return std::make_shared<LowBitPolicy>(layer, ctx.params.get<int>("w_bits"));
//   };
//   register_policy(entry);
//
// Parameter keys are shared by name across policies (a8w8 and sysmt could both read one key);
// two entries declaring the same key must declare it identically.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bnrecal/nn/arith_policy.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/policy_params.h"

namespace bnrecal {

// What a factory gets besides the layer.
struct PolicyContext {
  const PolicyParams& params;         // every parameter the entry declares, given or default
  const ModelCalibration& calibration;
  uint64_t seed;
};

using PolicyFactory =
    std::function<std::shared_ptr<ArithPolicy>(const LayerInfo&, const PolicyContext&)>;
// Whole-model precondition, checked once before any layer is built (InputError with advice,
// e.g. "run `bnrecal calibrate`"); null when there is none.
using ModelCheck = std::function<void(const PolicyParams&, const ModelCalibration&)>;

// The policy of a layer that a non-fp32 base policy leaves unaccelerated (the first conv, linear
// and depthwise layers); null means fp32.
using EdgePolicy = std::function<std::string(const LayerInfo&, const PolicyParams&)>;

struct PolicyEntry {
  std::string name;
  std::string description;
  std::vector<ParamDef> params;
  ModelCheck check_model;
  PolicyFactory factory;
  EdgePolicy edge_policy;
  bool trainable = false;  // its forward passes gradients (quantization-aware training)
  // Resolved parameters: the given value of every declared key, else its default.
  PolicyParams resolve(const PolicyParams& given) const;
};

// Registers a policy; std::logic_error for a duplicate name or a key declared differently by
// another entry. The built-in policies are registered on first use of the registry.
void register_policy(PolicyEntry entry);
std::vector<PolicyEntry> registered_policies();  // sorted by name
// InputError listing the known names.
const PolicyEntry& find_policy(const std::string& name);
// The declaration of a parameter key (nullptr when no registered policy declares it).
const ParamDef* find_param(const std::string& key);
// Every declared key, sorted, for error messages and help.
std::vector<std::string> param_keys();

}  // namespace bnrecal
