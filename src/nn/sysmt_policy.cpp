#include "bnrecal/nn/sysmt_policy.h"

#include <torch/torch.h>

#include <algorithm>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {

nlohmann::json SysmtParams::to_json() const {
  nlohmann::json j = a8w8.to_json();
  j["threads"] = config.threads;
  j["idle"] = sysmt::to_string(config.idle);
  j["round"] = sysmt::to_string(config.rounding);
  j["collect_diagnostics"] = collect_diagnostics;
  j["channel_order"] =
      channel_order.empty() ? nlohmann::json("identity") : nlohmann::json(channel_order);
  return j;
}

nlohmann::json SysmtLayerCost::to_json() const {
  return {{"k", k}, {"threads", threads}, {"outputs", outputs}, {"macs", macs}, {"cycles", cycles}};
}

SysmtParams SysmtPolicy::validated(const LayerInfo& layer, SysmtParams params) {
  sysmt::validate(params.config);
  if (params.a8w8.activation_mode != ActivationMode::kUnsigned) {
    throw InputError("sysmt needs unsigned (post-ReLU) activations; layer '" + layer.name +
                     "' was configured with signed activations");
  }
  if (!params.channel_order.empty()) {
    const int64_t channels_per_group =
        layer.in_channels > 0 ? layer.in_channels / std::max<int64_t>(1, layer.geometry.groups) : 0;
    validate_channel_order(params.channel_order, channels_per_group, layer.name);
    // Identity is stored as empty so describe() says so and forwards skip the gathers.
    if (is_identity_order(params.channel_order)) params.channel_order.clear();
  }
  return params;
}

SysmtPolicy::SysmtPolicy(const LayerInfo& layer, SysmtParams params)
    : layer_(layer),
      params_(validated(layer, std::move(params))),
      gemm_(layer.name, params_.config, params_.channel_order) {
  cost_.threads = params_.config.threads;
}

nlohmann::json SysmtPolicy::describe() const {
  nlohmann::json j = params_.to_json();
  j["policy"] = "sysmt";
  j["weights"] = "int8 symmetric per output channel, s_w = max|W|/127.5";
  j["cost"] = cost().to_json();
  sysmt::SysmtDiagnostics d = diagnostics();
  if (d.threads > 0) {
    j["diagnostics"] = {{"active_lane_histogram", d.active_lane_histogram},
                        {"groups", d.groups},
                        {"collision_rate", d.collision_rate()},
                        {"activation_changed_fraction", d.activation_changed_fraction()},
                        {"weight_changed_fraction", d.weight_changed_fraction()},
                        {"mse_vs_exact", d.mse_vs_exact()},
                        {"outputs", d.outputs}};
  }
  return j;
}

sysmt::SysmtDiagnostics SysmtPolicy::diagnostics() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return diagnostics_;
}

SysmtLayerCost SysmtPolicy::cost() const {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  return cost_;
}

void SysmtPolicy::reset_statistics() {
  std::lock_guard<std::mutex> lock(stats_mutex_);
  diagnostics_ = sysmt::SysmtDiagnostics{};
  const int64_t k = cost_.k;
  cost_ = SysmtLayerCost{};
  cost_.k = k;
  cost_.threads = params_.config.threads;
}

void SysmtPolicy::record_diagnostics(const GemmTile& t) {
  sysmt::SysmtDiagnostics d = sysmt::sysmt_diagnostics(t.a, t.w, t.rows, t.n, t.k, params_.config);
  std::lock_guard<std::mutex> lock(stats_mutex_);
  diagnostics_.merge(d);
}

void SysmtPolicy::record_cost(int64_t outputs, int64_t k) {
  const int64_t T = params_.config.threads;
  std::lock_guard<std::mutex> lock(stats_mutex_);
  cost_.k = k;
  cost_.outputs += outputs;
  cost_.macs += outputs * k;
  cost_.cycles += outputs * ((k + T - 1) / T);
}

IntegerGemm::TileObserver SysmtPolicy::diagnostics_observer() {
  // Only the diagnostics read the GEMM tiles' codes; without them the layer may skip building
  // the tiles (the direct convolution).
  if (!params_.collect_diagnostics) return {};
  return [this](const GemmTile& t) { record_diagnostics(t); };
}

at::Tensor SysmtPolicy::conv2d(const at::Tensor& input, const at::Tensor& weight,
                               const at::Tensor& bias, const ConvGeometry& g) {
  require_calibrated_range(layer_, params_.a8w8.a_max, "sysmt");
  at::Tensor y = gemm_.conv2d(input, params_.a8w8.a_max, weight, bias, g, diagnostics_observer());
  record_cost(y.numel(), weight.size(1) * weight.size(2) * weight.size(3));
  return y;
}

at::Tensor SysmtPolicy::linear(const at::Tensor& input, const at::Tensor& weight,
                               const at::Tensor& bias) {
  require_calibrated_range(layer_, params_.a8w8.a_max, "sysmt");
  at::Tensor y = gemm_.linear(input, params_.a8w8.a_max, weight, bias, diagnostics_observer());
  record_cost(y.numel(), weight.size(1));
  return y;
}

PolicyEntry sysmt_policy_entry() {
  PolicyEntry e;
  e.name = "sysmt";
  e.description = "A8W8 codes on the NB-SMT accelerator arithmetic; needs `bnrecal calibrate`; honours "
                  "`bnrecal reorder`'s per-layer channel_order";
  e.params = {
      ParamDef::integer("smt", 2, "threads T sharing a MAC unit").allow({1, 2, 4}),
      ParamDef::text("idle", "either", "a lane is idle when x == 0 or w == 0 (either), or only x == 0 (act)")
          .allow({"either", "act"}),
      ParamDef::text("round", "rne", "4-bit reduction rounding").allow({"rne", "half_up", "trunc"}),
      ParamDef::flag("diagnostics", false, "collect per-layer collision/MSE statistics (slow)").hide_default(),
  };
  e.check_model = [](const PolicyParams&, const ModelCalibration& c) { require_activation_calibration(c, "sysmt"); };
  e.factory = [](const LayerInfo& layer, const PolicyContext& ctx) -> std::shared_ptr<ArithPolicy> {
    SysmtParams p;
    p.a8w8 = a8w8_params(layer, ctx.calibration, ActivationMode::kUnsigned);
    p.config = sysmt_config(ctx.params);
    p.collect_diagnostics = ctx.params.get<bool>("diagnostics");
    const auto order = ctx.calibration.channel_orders.find(layer.name);
    if (order != ctx.calibration.channel_orders.end()) p.channel_order = order->second;
    return std::make_shared<SysmtPolicy>(layer, p);
  };
  return e;
}

sysmt::SysmtConfig sysmt_config(const PolicyParams& params) {
  sysmt::SysmtConfig c;
  c.threads = params.get<int>("smt");
  c.idle = sysmt::parse_idle_rule(params.get<std::string>("idle"));
  c.rounding = sysmt::parse_rounding(params.get<std::string>("round"));
  sysmt::validate(c);
  return c;
}

}  // namespace bnrecal
