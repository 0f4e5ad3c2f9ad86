#include "bnrecal/eval/nbsmt_study.h"

#include <algorithm>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/nbsmt_settings.h"
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
    std::vector<int> threads(order.size());
    for (size_t j = 0; j < order.size(); ++j) threads[order[j]] = point.threads[j];
    apply_thread_assignment(model, opt.base, opt.seed, calibration, threads);
    sweep.push_back(measure_nbsmt_setting(point.label, model, macs, data, opt.protocol, opt.seed, clean, a8w8));
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
                   {"sweep", opt.sweep}, {"sweep_step", opt.sweep_step}, {"settings", opt.settings},
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
    apply_policy(model, sysmt_spec(opt.base, t), opt.seed, calibration);
    collect_sysmt_diagnostics(model, data.train, p.eval, opt.diag_images);
    if (t == largest) ranking = nbsmt_layer_rows(model, macs);
    if (opt.settings) {
      result.settings.push_back(measure_nbsmt_setting(std::to_string(t) + "T", model, macs, data, p, opt.seed, clean,
                                                      result.a8w8));
    }
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
