#include "bnrecal/eval/nbsmt_study.h"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/sysmt_policy.h"
#include "bnrecal/data/batch_stream.h"

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
          {"recalibrated", recalibrated.to_json()}, {"layers", rows}};
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

std::string fmt(double v, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

EvalResult eval_test(Network& model, const DataSource& test, const NbsmtStudyOptions& opt,
                     int64_t limit) {
  EvalOptions e;
  e.batch_size = opt.eval_batch_size;
  e.limit = limit;
  e.normalization = opt.normalization;
  return evaluate(model, test, e);
}

void recal(Network& model, const DataSource& train, const NbsmtStudyOptions& opt) {
  LoaderBatchStream stream(train, LoaderOptions::sample(opt.recal_images, opt.recal_batch_size, opt.seed,
                                                       opt.recal_augment, opt.normalization));
  recalibrate_bn(model, stream, opt.recal);
}

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

void collect_diagnostics(Network& model, const DataSource& test, const NbsmtStudyOptions& opt) {
  const auto layers = arith_layers(model);
  for (const auto& l : layers) {
    if (SysmtPolicy* p = sysmt_of(l)) {
      p->reset_statistics();
      p->set_collect_diagnostics(true);
    }
  }
  if (opt.diag_images != 0) eval_test(model, test, opt, opt.diag_images);
  for (const auto& l : layers) {
    if (SysmtPolicy* p = sysmt_of(l)) p->set_collect_diagnostics(false);
  }
}

// Evaluates the model's current policies, plain and recalibrated (BN restored afterwards).
void evaluate_setting(NbsmtSetting& s, Network& model, const DataSource& train,
                      const DataSource& test, const NbsmtStudyOptions& opt, const BnSnapshot& clean) {
  s.speedup_all = nbsmt_speedup(s.layers, false);
  s.speedup_accelerated = nbsmt_speedup(s.layers, true);
  s.plain = eval_test(model, test, opt, opt.test_limit);
  recal(model, train, opt);
  s.recalibrated = eval_test(model, test, opt, opt.test_limit);
  clean.restore(model);
  if (opt.log) {
    opt.log(s.label + " (S " + fmt(s.speedup_all, 3) + " all, " + fmt(s.speedup_accelerated, 3) +
            " accelerated): plain " + fmt(s.plain.top1) + " %, recal " + fmt(s.recalibrated.top1) +
            " %");
  }
}

}  // namespace

NbsmtStudyResult run_nbsmt_study(Network& model, const nlohmann::json& metadata,
                                 const DataSource& train, const DataSource& test,
                                 const NbsmtStudyOptions& opt) {
  if (!metadata.contains(kCalibrationKey)) {
    throw InputError("the NB-SMT study needs a calibrated model: run `bnrecal calibrate --model "
                     "MODEL -o MODEL_cal.safetensors` and use that file");
  }
  require(!opt.threads.empty(), "the NB-SMT study needs at least one thread count");
  require(opt.recal_images > 0 && opt.recal_images <= train.size(),
          "--recal-images must be in 1.." + std::to_string(train.size()));
  require(!bn_layers(model).empty(), "the model has no BatchNorm layers to recalibrate");
  auto log = [&](const std::string& s) {
    if (opt.log) opt.log(s);
  };

  NbsmtStudyResult result;
  result.config = {{"threads", opt.threads}, {"policy", opt.base.to_json()},
                   {"recal_images", opt.recal_images}, {"recal_batch_size", opt.recal_batch_size},
                   {"recal_augment", opt.recal_augment}, {"recal", opt.recal.to_json()},
                   {"seed", opt.seed}, {"test_limit", opt.test_limit},
                   {"diag_images", opt.diag_images}, {"sweep", opt.sweep}, {"sweep_step", opt.sweep_step},
                   {"channel_order", channel_order_summary(metadata)}};
  const BnSnapshot clean(model);

  std::vector<int64_t> shape = test.image_shape();
  shape.insert(shape.begin(), 1);
  const std::vector<LayerMacs> macs = count_layer_macs(model, at::zeros(shape));

  apply_policy(model, PolicySpec{}, opt.seed, metadata);
  result.fp32 = eval_test(model, test, opt, opt.test_limit);
  log("fp32: " + fmt(result.fp32.top1) + " %");
  PolicySpec a8w8 = opt.base;
  a8w8.policy = "a8w8";
  apply_policy(model, a8w8, opt.seed, metadata);
  result.a8w8 = eval_test(model, test, opt, opt.test_limit);
  log("a8w8: " + fmt(result.a8w8.top1) + " %");

  std::vector<NbsmtLayerRow> ranking;  // MSE at the largest T, for the sweep
  for (int t : opt.threads) {
    PolicySpec spec = opt.base;
    spec.policy = "sysmt";
    spec.sysmt_threads = t;
    spec.sysmt_diagnostics = false;
    apply_policy(model, spec, opt.seed, metadata);
    collect_diagnostics(model, test, opt);
    NbsmtSetting s;
    s.label = std::to_string(t) + "T";
    s.layers = layer_rows(model, macs);
    evaluate_setting(s, model, train, test, opt, clean);
    if (t == *std::max_element(opt.threads.begin(), opt.threads.end())) ranking = s.layers;
    result.settings.push_back(s);
  }

  if (opt.sweep) {
    // Accelerated layers by MSE at the largest T, highest first.
    std::vector<size_t> order;
    for (size_t i = 0; i < ranking.size(); ++i)
      if (ranking[i].accelerated) order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return ranking[a].mse > ranking[b].mse; });
    PolicySpec spec = opt.base;
    spec.policy = "sysmt";
    spec.sysmt_threads = 4;
    spec.sysmt_diagnostics = false;
    // How many of the ranked layers each point decelerates: step, 2*step, ..., all.
    const size_t step = static_cast<size_t>(std::max<int64_t>(opt.sweep_step, 1));
    std::vector<size_t> points;
    for (size_t i = step; i < order.size(); i += step) points.push_back(i);
    points.push_back(order.size());
    // Phase 1: top-i layers at 2T, rest 4T. Phase 2: top-i at 1T, rest 2T.
    for (int phase = 0; phase < 2; ++phase) {
      for (const size_t i : points) {
        apply_policy(model, spec, opt.seed, metadata);
        const auto layers = arith_layers(model);
        for (size_t j = 0; j < order.size(); ++j) {
          const ArithLayerRef& l = layers[order[j]];
          if (phase == 0) set_threads(l, j < i ? 2 : 4);
          else set_threads(l, j < i ? 1 : 2);
        }
        NbsmtSetting s;
        s.label = phase == 0 ? std::to_string(i) + " at 2T, rest 4T"
                             : std::to_string(i) + " at 1T, rest 2T";
        s.layers = layer_rows(model, macs);
        evaluate_setting(s, model, train, test, opt, clean);
        result.sweep.push_back(s);
      }
    }
  }
  apply_policy(model, PolicySpec{}, opt.seed, metadata);
  return result;
}

nlohmann::json NbsmtStudyResult::to_json() const {
  nlohmann::json settings_json = nlohmann::json::array(), sweep_json = nlohmann::json::array();
  for (const auto& s : settings) settings_json.push_back(s.to_json());
  for (const auto& s : sweep) sweep_json.push_back(s.to_json());
  return {{"fp32", fp32.to_json()}, {"a8w8", a8w8.to_json()}, {"settings", settings_json},
          {"sweep", sweep_json}, {"study", config}};
}

std::string NbsmtStudyResult::to_markdown(const std::string& model_name) const {
  std::ostringstream md;
  auto acc = [](const EvalResult& r) { return fmt(r.top1) + " +- " + fmt(r.top1_stderr); };
  md << "Top-1 (%) +- stderr, " << fp32.n << " test images, " << model_name
     << "; recalibration: " << config["recal"].value("estimator", "?") << ", "
     << config.value("recal_images", 0) << " training images; sysmt channel order: "
     << config.value("channel_order", "identity") << ".\n\n";
  md << "| setting | top-1 | speedup (all) | speedup (accelerated) |\n|---|---|---|---|\n";
  md << "| FP32 | " << acc(fp32) << " | 1.000 | 1.000 |\n";
  md << "| A8W8 | " << acc(a8w8) << " | 1.000 | 1.000 |\n";
  for (const auto& s : settings) {
    md << "| " << s.label << " w/o recal | " << acc(s.plain) << " | " << fmt(s.speedup_all, 3)
       << " | " << fmt(s.speedup_accelerated, 3) << " |\n";
    md << "| " << s.label << " with recal | " << acc(s.recalibrated) << " | "
       << fmt(s.speedup_all, 3) << " | " << fmt(s.speedup_accelerated, 3) << " |\n";
  }
  for (const auto& s : settings) {
    md << "\nPer-layer diagnostics, " << s.label << " (" << config.value("diag_images", 0)
       << " test images):\n\n| layer | K | MACs/image | T | collision rate | x changed | w changed | MSE |\n"
       << "|---|---|---|---|---|---|---|---|\n";
    for (const auto& l : s.layers) {
      md << "| " << l.name << " | " << l.k << " | " << l.macs << " | " << l.threads << " | ";
      if (l.accelerated) {
        md << fmt(l.collision_rate, 4) << " | " << fmt(l.activation_changed, 4) << " | "
           << fmt(l.weight_changed, 4) << " | " << fmt(l.mse, 1) << " |\n";
      } else {
        md << "- | - | - | - |\n";
      }
    }
  }
  if (!sweep.empty()) {
    md << "\nMixed settings (highest-MSE layers decelerated first):\n\n"
       << "| setting | speedup (all) | speedup (accelerated) | w/o recal | with recal |\n"
       << "|---|---|---|---|---|\n";
    for (const auto& s : sweep) {
      md << "| " << s.label << " | " << fmt(s.speedup_all, 3) << " | "
         << fmt(s.speedup_accelerated, 3) << " | " << acc(s.plain) << " | "
         << acc(s.recalibrated) << " |\n";
    }
  }
  return md.str();
}

}  // namespace bnrecal
