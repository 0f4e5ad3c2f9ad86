#include "bnrecal/eval/nbsmt_assignment.h"

#include <algorithm>
#include <cmath>

#include "bnrecal/core/error.h"
#include "bnrecal/data/subset.h"
#include "bnrecal/eval/nbsmt_settings.h"
#include "bnrecal/eval/nbsmt_sweep.h"
#include "bnrecal/nn/policy_resolution.h"

namespace bnrecal {

nlohmann::json AssignmentPoint::to_json() const {
  nlohmann::json j = test.to_json();
  j["threads"] = threads;
  j["validation_top1"] = validation_top1;
  return j;
}

nlohmann::json AssignmentResult::to_json() const {
  nlohmann::json path_json = nlohmann::json::array(), mse_json = nlohmann::json::array(),
                 vs = nlohmann::json::array();
  for (const auto& p : path) path_json.push_back(p.to_json());
  for (const auto& p : mse) mse_json.push_back(p.to_json());
  for (const auto& g : greedy_vs_mse) vs.push_back(g.to_json());
  return {{"layers", layers}, {"cost_1to2", cost_1to2}, {"cost_2to4", cost_2to4},
          {"validation_a8w8_top1", validation_a8w8}, {"a8w8", test_a8w8.to_json()}, {"path", path_json},
          {"mse_sweep", mse_json}, {"greedy_vs_mse", vs}, {"chosen", chosen}, {"study", config}};
}

namespace {

struct Search {
  Search(Network& m, const ModelCalibration& c, const AssignmentOptions& o, StudyData val, StudyData test,
         std::vector<LayerMacs> layer_macs)
      : model(m), calibration(c), opt(o), fit_val(val), fit_test(test), one_draw(o.protocol),
        macs(std::move(layer_macs)), clean(m) {
    one_draw.recal.draws = 1;
  }
  Network& model;
  const ModelCalibration& calibration;
  const AssignmentOptions& opt;
  StudyData fit_val, fit_test;
  StudyProtocol one_draw;  // the search's protocol: all validation images, one recalibration draw
  std::vector<LayerMacs> macs;
  BnSnapshot clean;

  void apply(const std::vector<int>& threads) {
    apply_thread_assignment(model, opt.base, opt.seed, calibration, threads);
  }
  // Recalibrated on one draw of the fitting images, scored on validation.
  EvalResult validation(const std::vector<int>& threads) {
    apply(threads);
    recalibrate_on_training_draw(model, fit_val, one_draw, opt.seed);
    EvalResult r = evaluate_test(model, fit_val.test, one_draw.eval, -1);
    clean.restore(model);
    return r;
  }
  AssignmentPoint score(const std::string& label, const std::vector<int>& threads, const EvalResult& a8w8) {
    apply(threads);
    AssignmentPoint p;
    p.threads = threads;
    p.test = measure_nbsmt_setting(label, model, macs, fit_test, opt.protocol, opt.seed, clean, a8w8);
    return p;
  }
  double speedup(const std::vector<int>& threads) {
    std::vector<NbsmtLayerRow> rows = nbsmt_layer_rows(model, macs);
    size_t i = 0;
    for (auto& r : rows) r.threads = r.accelerated ? threads[i++] : 1;
    return nbsmt_speedup(rows, false);
  }
};

// Evenly spaced indices 1..last (count of them at most), always including last.
std::vector<size_t> spaced(size_t last, int64_t count) {
  std::vector<size_t> out;
  for (int64_t i = 1; i <= count; ++i) {
    const size_t k = static_cast<size_t>(std::llround(static_cast<double>(i) * static_cast<double>(last) /
                                                      static_cast<double>(count)));
    if (k >= 1 && (out.empty() || k > out.back())) out.push_back(k);
  }
  return out;
}

// The MSE-ordered sweep (ranking at 4T on training images) as assignments, with their speedups.
std::vector<std::pair<double, std::vector<int>>> mse_sweep(Search& s, size_t layers) {
  s.apply(std::vector<int>(layers, 4));
  collect_sysmt_diagnostics(s.model, s.fit_val.train, s.one_draw.eval, s.opt.diag_images);
  std::vector<double> mse;
  for (const auto& r : nbsmt_layer_rows(s.model, s.macs)) {
    if (r.accelerated) mse.push_back(r.mse);
  }
  const std::vector<size_t> order = rank_by_mse(mse);
  std::vector<std::pair<double, std::vector<int>>> out;
  for (const SweepPoint& point : nbsmt_sweep_schedule(layers, 1)) {
    std::vector<int> threads(layers);
    for (size_t j = 0; j < layers; ++j) threads[order[j]] = point.threads[j];
    out.emplace_back(s.speedup(threads), threads);
  }
  return out;
}

// From every accelerated layer at 2T, each layer alone at 4T and alone at 1T: the change of the
// validation loss, the price of moving that layer 2T -> 4T and 1T -> 2T.
void measure_sensitivity(Search& s, AssignmentResult& r) {
  const size_t n = r.layers.size();
  const std::vector<int> all2(n, 2);
  const double reference = s.validation(all2).loss;
  for (size_t l = 0; l < n; ++l) {
    std::vector<int> t = all2;
    t[l] = 4;
    r.cost_2to4.push_back(s.validation(t).loss - reference);
    t[l] = 1;
    r.cost_1to2.push_back(reference - s.validation(t).loss);
    s.opt.protocol.say("sensitivity " + r.layers[l] + ": 2T->4T " + fixed(r.cost_2to4.back(), 4) + ", 1T->2T " +
                       fixed(r.cost_1to2.back(), 4) + " (validation loss)");
  }
}

// A point of the path on validation and test, beside the MSE sweep's point nearest in speedup
// (same test images and recalibration draws, so the difference is paired draw by draw).
void score_point(Search& s, const SweepPoint& point, const std::vector<std::pair<double, std::vector<int>>>& mse,
                 AssignmentResult& r) {
  AssignmentPoint greedy = s.score(point.label, point.threads, r.test_a8w8);
  greedy.validation_top1 = s.validation(point.threads).top1;
  const double speedup = greedy.test.speedup_all;
  const auto nearest = std::min_element(mse.begin(), mse.end(), [&](const auto& a, const auto& b) {
    return std::abs(a.first - speedup) < std::abs(b.first - speedup);
  });
  AssignmentPoint by_mse = s.score("MSE sweep", nearest->second, r.test_a8w8);
  std::vector<PairedAccuracy> draws;
  for (size_t d = 0; d < greedy.test.recalibrated.draws.size(); ++d) {
    draws.push_back(compare_paired(by_mse.test.recalibrated.draws[d].correct, greedy.test.recalibrated.draws[d].correct));
  }
  r.greedy_vs_mse.push_back(repeated_gain(std::move(draws)));
  s.opt.protocol.say(point.label + " (S " + fixed(speedup, 3) + "): validation " + fixed(greedy.validation_top1) +
                     " %, test recal " + fixed(greedy.test.recalibrated.top1.mean) + " %; MSE sweep at S " +
                     fixed(by_mse.test.speedup_all, 3) + ": " + fixed(by_mse.test.recalibrated.top1.mean) +
                     " % (greedy - MSE " + paired_text(r.greedy_vs_mse.back()) + ")");
  r.path.push_back(std::move(greedy));
  r.mse.push_back(std::move(by_mse));
}

}  // namespace

AssignmentResult search_thread_assignment(Network& model, const ModelCalibration& calibration,
                                          std::shared_ptr<const DataSource> train, const DataSource& test,
                                          const AssignmentOptions& opt) {
  require(calibration.activations.has_value(), "the thread-assignment search needs a calibrated model");
  require(opt.validation_images > 0 && opt.validation_images < train->size(),
          "the validation images must be in 1.." + std::to_string(train->size() - 1));
  require(opt.path_points >= 1 && opt.budget >= 0, "path points must be >= 1 and the budget >= 0");
  const double fraction = static_cast<double>(opt.validation_images) / static_cast<double>(train->size());
  const auto [fit, val] = split_for_validation(train, fraction, opt.seed);
  std::vector<int64_t> shape = test.image_shape();
  shape.insert(shape.begin(), 1);
  Search s(model, calibration, opt, StudyData{*fit, *val}, StudyData{*fit, test},
           count_layer_macs(model, at::zeros(shape)));
  check_study_inputs(model, s.fit_test, opt.protocol);
  const StudyProtocol& p = opt.protocol;

  AssignmentResult r;
  r.config = {{"policy", opt.base.to_json()}, {"seed", opt.seed}, {"budget", opt.budget},
              {"validation_images", val->size()}, {"path_points", opt.path_points},
              {"diag_images", opt.diag_images}, {"recal", p.recal.to_json()}, {"test_limit", p.eval.limit}};
  PolicySpec a8w8 = opt.base;
  a8w8.policy = "a8w8";
  apply_policy(model, a8w8, opt.seed, calibration);
  r.validation_a8w8 = evaluate_test(model, *val, p.eval, -1).top1;
  r.test_a8w8 = evaluate_test(model, test, p.eval, p.eval.limit);
  p.say("a8w8: validation " + fixed(r.validation_a8w8) + " %, test " + fixed(r.test_a8w8.top1) + " %");

  apply_policy(model, sysmt_spec(opt.base, 4), opt.seed, calibration);
  std::vector<int64_t> accelerated_macs;
  for (const auto& row : nbsmt_layer_rows(model, s.macs)) {
    if (!row.accelerated) continue;
    r.layers.push_back(row.name);
    accelerated_macs.push_back(row.macs);
  }
  require(!r.layers.empty(), "no layer is on SySMT under '" + opt.base.to_text() + "'");
  measure_sensitivity(s, r);
  const std::vector<SweepPoint> path = greedy_thread_path(accelerated_macs, r.cost_1to2, r.cost_2to4);
  const auto mse = mse_sweep(s, r.layers.size());
  for (size_t k : spaced(path.size() - 1, opt.path_points)) {
    score_point(s, path[k], mse, r);
    if (r.path.back().validation_top1 >= r.validation_a8w8 - opt.budget) {
      r.chosen = static_cast<int64_t>(r.path.size()) - 1;
    }
  }
  apply_policy(model, PolicySpec{}, opt.seed, calibration);
  return r;
}

}  // namespace bnrecal
