#include "bnrecal/eval/nbsmt_study.h"

#include <algorithm>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/nbsmt_sweep.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/layer_macs.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/nn/sysmt_policy.h"

namespace bnrecal {

nlohmann::json NbsmtLayerRow::to_json() const {
  return {{"name", name}, {"k", k}, {"macs", macs}, {"threads", threads},
          {"accelerated", accelerated}, {"collision_rate", collision_rate}, {"mse", mse},
          {"activation_changed_fraction", activation_changed},
          {"weight_changed_fraction", weight_changed}};
}

nlohmann::json NbsmtSetting::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& l : layers) rows.push_back(l.to_json());
  return {{"label", label}, {"speedup_all", speedup_all},
          {"speedup_accelerated", speedup_accelerated}, {"plain", plain.to_json()},
          {"recalibrated", recalibrated.to_json()}, {"vs_a8w8", vs_a8w8.to_json()}, {"layers", rows}};
}

double nbsmt_speedup(const std::vector<NbsmtLayerRow>& layers, bool accelerated_only) {
  double macs = 0, cycles = 0;
  for (const auto& l : layers) {
    if (accelerated_only && !l.accelerated) continue;
    macs += static_cast<double>(l.macs);
    cycles += static_cast<double>(l.macs) / std::max(1, l.threads);
  }
  return cycles > 0 ? macs / cycles : 1.0;
}

namespace {

SysmtPolicy* sysmt_of(const ArithLayerRef& l) { return dynamic_cast<SysmtPolicy*>(&l.policy()); }

// Replaces the sysmt policy of layer l by one with T threads (same calibration, idle, rounding).
void set_threads(const ArithLayerRef& l, int threads) {
  SysmtPolicy* p = sysmt_of(l);
  if (!p || p->params().config.threads == threads) return;
  SysmtParams params = p->params();
  params.config.threads = threads;
  params.collect_diagnostics = false;
  l.set_policy(std::make_shared<SysmtPolicy>(p->layer(), params));
}

std::vector<NbsmtLayerRow> layer_rows(Network& model, const std::vector<LayerMacs>& macs) {
  std::vector<NbsmtLayerRow> rows;
  const auto layers = arith_layers(model);
  for (size_t i = 0; i < layers.size(); ++i) {
    NbsmtLayerRow r;
    r.name = layers[i].name;
    r.k = macs[i].k;
    r.macs = macs[i].macs;
    if (SysmtPolicy* p = sysmt_of(layers[i])) {
      r.accelerated = true;
      r.threads = p->params().config.threads;
      const sysmt::SysmtDiagnostics d = p->diagnostics();
      r.collision_rate = d.collision_rate();
      r.mse = d.mse_vs_exact();
      r.activation_changed = d.activation_changed_fraction();
      r.weight_changed = d.weight_changed_fraction();
    }
    rows.push_back(r);
  }
  return rows;
}

void collect_diagnostics(Network& model, const StudyData& data, const NbsmtStudyOptions& opt) {
  const auto layers = arith_layers(model);
  for (const auto& l : layers) {
    if (SysmtPolicy* p = sysmt_of(l)) {
      p->reset_statistics();
      p->set_collect_diagnostics(true);
    }
  }
  if (opt.diag_images != 0) evaluate_test(model, data.train, opt.protocol.eval, opt.diag_images);
  for (const auto& l : layers) {
    if (SysmtPolicy* p = sysmt_of(l)) p->set_collect_diagnostics(false);
  }
}

// The model's current policies, plain and recalibrated (BN restored afterwards), as a setting.
NbsmtSetting measure_setting(std::string label, std::vector<NbsmtLayerRow> layers, Network& model,
                             const StudyData& data, const NbsmtStudyOptions& opt, const BnSnapshot& clean,
                             const EvalResult& a8w8) {
  NbsmtSetting s;
  s.label = std::move(label);
  s.layers = std::move(layers);
  s.speedup_all = nbsmt_speedup(s.layers, false);
  s.speedup_accelerated = nbsmt_speedup(s.layers, true);
  const PlainAndRecalibrated m = measure_plain_and_recalibrated(model, data, opt.protocol, opt.seed, clean);
  s.plain = m.plain;
  s.recalibrated = m.recalibrated;
  s.vs_a8w8 = compare_paired(a8w8.correct, s.plain.correct);
  opt.protocol.say(s.label + " (S " + fixed(s.speedup_all, 3) + " all, " + fixed(s.speedup_accelerated, 3) +
                   " accelerated): plain " + fixed(s.plain.top1) + " %, recal " + fixed(s.recalibrated.top1.mean) +
                   " % (gain " + paired_text(s.recalibrated.gain) + ")");
  return s;
}

PolicySpec sysmt_spec(const NbsmtStudyOptions& opt, int threads) {
  PolicySpec spec = opt.base;
  spec.policy = "sysmt";
  spec.params.set("smt", threads);
  spec.params.set("diagnostics", false);
  return spec;
}

// Accelerated layers by MSE at the largest T, highest first, then the schedule's points.
std::vector<NbsmtSetting> run_sweep(Network& model, const ModelCalibration& calibration, const StudyData& data,
                                    const NbsmtStudyOptions& opt, const std::vector<NbsmtLayerRow>& ranking,
                                    const std::vector<LayerMacs>& macs, const BnSnapshot& clean,
                                    const EvalResult& a8w8) {
  std::vector<size_t> accelerated;
  std::vector<double> mse;
  for (size_t i = 0; i < ranking.size(); ++i) {
    if (!ranking[i].accelerated) continue;
    accelerated.push_back(i);
    mse.push_back(ranking[i].mse);
  }
  const std::vector<size_t> order = rank_by_mse(mse);
  std::vector<NbsmtSetting> sweep;
  for (const SweepPoint& point : nbsmt_sweep_schedule(order.size(), opt.sweep_step)) {
    apply_policy(model, sysmt_spec(opt, 4), opt.seed, calibration);
    const auto layers = arith_layers(model);
    for (size_t j = 0; j < order.size(); ++j) set_threads(layers[accelerated[order[j]]], point.threads[j]);
    sweep.push_back(measure_setting(point.label, layer_rows(model, macs), model, data, opt, clean, a8w8));
  }
  return sweep;
}

}  // namespace

NbsmtStudyResult run_nbsmt_study(Network& model, const ModelCalibration& calibration,
                                 const StudyData& data, const NbsmtStudyOptions& opt) {
  require(calibration.activations.has_value(),
          "the NB-SMT study needs a calibrated model: run `bnrecal calibrate --model MODEL -o "
          "MODEL_cal.safetensors` and use that file");
  require(!opt.threads.empty(), "the NB-SMT study needs at least one thread count");
  require(opt.diag_images >= 0, "the number of diagnostics images must be >= 0");
  check_study_inputs(model, data, opt.protocol);
  const StudyProtocol& p = opt.protocol;

  NbsmtStudyResult result;
  result.config = {{"threads", opt.threads}, {"policy", opt.base.to_json()}, {"recal", p.recal.to_json()},
                   {"seed", opt.seed}, {"test_limit", p.eval.limit}, {"diag_images", opt.diag_images},
                   {"sweep", opt.sweep}, {"sweep_step", opt.sweep_step},
                   {"channel_order", channel_order_summary(calibration.channel_orders)}};
  const BnSnapshot clean(model);
  std::vector<int64_t> shape = data.test.image_shape();
  shape.insert(shape.begin(), 1);
  const std::vector<LayerMacs> macs = count_layer_macs(model, at::zeros(shape));

  apply_policy(model, PolicySpec{}, opt.seed, calibration);
  result.fp32 = evaluate_test(model, data.test, p.eval, p.eval.limit);
  p.say("fp32: " + fixed(result.fp32.top1) + " %");
  PolicySpec a8w8 = opt.base;
  a8w8.policy = "a8w8";
  apply_policy(model, a8w8, opt.seed, calibration);
  result.a8w8 = evaluate_test(model, data.test, p.eval, p.eval.limit);
  result.a8w8_vs_fp32 = compare_paired(result.fp32.correct, result.a8w8.correct);
  p.say("a8w8: " + fixed(result.a8w8.top1) + " % (vs fp32 " + paired_text(result.a8w8_vs_fp32) + ")");

  std::vector<NbsmtLayerRow> ranking;  // MSE at the largest T, for the sweep
  const int largest = *std::max_element(opt.threads.begin(), opt.threads.end());
  for (int t : opt.threads) {
    apply_policy(model, sysmt_spec(opt, t), opt.seed, calibration);
    collect_diagnostics(model, data, opt);
    result.settings.push_back(
        measure_setting(std::to_string(t) + "T", layer_rows(model, macs), model, data, opt, clean, result.a8w8));
    if (t == largest) ranking = result.settings.back().layers;
  }
  if (opt.sweep) result.sweep = run_sweep(model, calibration, data, opt, ranking, macs, clean, result.a8w8);
  apply_policy(model, PolicySpec{}, opt.seed, calibration);
  return result;
}

nlohmann::json NbsmtStudyResult::to_json() const {
  nlohmann::json settings_json = nlohmann::json::array(), sweep_json = nlohmann::json::array();
  for (const auto& s : settings) settings_json.push_back(s.to_json());
  for (const auto& s : sweep) sweep_json.push_back(s.to_json());
  return {{"fp32", fp32.to_json()}, {"a8w8", a8w8.to_json()}, {"a8w8_vs_fp32", a8w8_vs_fp32.to_json()},
          {"settings", settings_json},
          {"sweep", sweep_json}, {"study", config}};
}

}  // namespace bnrecal
