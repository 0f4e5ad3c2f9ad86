#include "bnrecal/eval/noise_study.h"

#include <cmath>
#include <cstdio>
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/calibration.h"

namespace bnrecal {

SeedStat seed_stat(const std::vector<double>& values) {
  SeedStat s;
  s.values = values;
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(values.size() - 1));
  }
  return s;
}

nlohmann::json SeedStat::to_json() const {
  return {{"mean", mean}, {"std", std}, {"values", values}};
}

namespace {

EvalResult eval_test(Network& model, const DataSource& test, const NoiseStudyOptions& opt) {
  EvalOptions e;
  e.batch_size = opt.eval_batch_size;
  e.limit = opt.test_limit;
  e.normalization = opt.normalization;
  return evaluate(model, test, e);
}

RecalReport recal(Network& model, const DataSource& train, const NoiseStudyOptions& opt,
                  uint64_t seed) {
  LoaderBatchStream stream(train, LoaderOptions::sample(opt.recal_images, opt.recal_batch_size, seed,
                                                       opt.recal_augment, opt.normalization));
  return recalibrate_bn(model, stream, opt.recal);
}

std::string fmt(double v, int digits = 2) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

}  // namespace

NoiseStudyResult run_noise_study(Network& model, const nlohmann::json& metadata,
                                 const DataSource& train, const DataSource& test,
                                 const NoiseStudyOptions& opt) {
  require(!opt.etas.empty(), "the noise study needs at least one eta");
  require(opt.seeds >= 1, "the noise study needs at least one seed");
  for (double eta : opt.etas) require(eta >= 0, "eta must be >= 0, got " + std::to_string(eta));
  require(opt.recal_images <= train.size(),
          "--recal-images " + std::to_string(opt.recal_images) + " exceeds the training split (" +
              std::to_string(train.size()) + " images)");
  require(!bn_layers(model).empty(), "the model has no BatchNorm layers to recalibrate");
  const std::string preset = opt.base.noise.empty() ? "seed-003" : opt.base.noise;

  NoiseStudyResult result;
  result.seeds = opt.seeds;
  result.config = {{"etas", opt.etas}, {"seeds", opt.seeds}, {"base_seed", opt.base_seed},
                   {"noise_preset", preset}, {"sigma_t", opt.base.noise_params.sigma_t},
                   {"sigma_s", opt.base.noise_params.sigma_s}, {"policy", opt.base.to_json()},
                   {"recal_images", opt.recal_images}, {"recal_batch_size", opt.recal_batch_size},
                   {"recal_augment", opt.recal_augment}, {"recal", opt.recal.to_json()},
                   {"test_limit", opt.test_limit}};
  const BnSnapshot clean(model);
  auto log = [&](const std::string& s) {
    if (opt.log) opt.log(s);
  };

  if (opt.quantization_rows) {
    PolicySpec fp32;
    apply_policy(model, fp32, opt.base_seed, metadata);
    EvalResult r = eval_test(model, test, opt);
    result.quantization["fp32"] = r.to_json();
    log("fp32: " + fmt(r.top1) + " %");
    if (metadata.contains(kCalibrationKey)) {
      PolicySpec a8w8;
      a8w8.policy = "a8w8";
      apply_policy(model, a8w8, opt.base_seed, metadata);
      r = eval_test(model, test, opt);
      result.quantization["a8w8"] = r.to_json();
      log("a8w8: " + fmt(r.top1) + " %");
      recal(model, train, opt, opt.base_seed);
      r = eval_test(model, test, opt);
      clean.restore(model);
      result.quantization["a8w8_recal"] = r.to_json();
      log("a8w8 + recal: " + fmt(r.top1) + " %");
    } else {
      result.quantization["note"] =
          "A8W8 rows skipped: the model has no activation calibration (run `bnrecal calibrate`)";
      log("a8w8 rows skipped: model not calibrated (run `bnrecal calibrate`)");
    }
  }

  for (double eta : opt.etas) {
    NoiseStudyCell cell;
    cell.eta = eta;
    std::vector<double> plain, recalibrated;
    for (int64_t s = 0; s < opt.seeds; ++s) {
      const uint64_t seed = opt.base_seed + static_cast<uint64_t>(s);
      PolicySpec spec = opt.base;
      spec.noise = preset;
      spec.noise_params.eta = eta;
      apply_policy(model, spec, seed, metadata);
      EvalResult before = eval_test(model, test, opt);
      RecalReport report = recal(model, train, opt, seed);
      EvalResult after = eval_test(model, test, opt);
      clean.restore(model);
      plain.push_back(before.top1);
      recalibrated.push_back(after.top1);
      result.test_images = before.n;
      cell.runs.push_back({{"seed", seed}, {"plain", before.to_json()}, {"recalibrated", after.to_json()},
                           {"recalibration", report.to_json()}});
      log("eta " + fmt(eta, 3) + " seed " + std::to_string(seed) + ": plain " + fmt(before.top1) +
          " %, recalibrated " + fmt(after.top1) + " %");
    }
    cell.plain = seed_stat(plain);
    cell.recalibrated = seed_stat(recalibrated);
    result.cells.push_back(cell);
  }
  apply_policy(model, PolicySpec{}, opt.base_seed, metadata);
  return result;
}

nlohmann::json NoiseStudyResult::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : cells) {
    rows.push_back({{"eta", c.eta}, {"plain_top1", c.plain.to_json()},
                    {"recalibrated_top1", c.recalibrated.to_json()}, {"runs", c.runs}});
  }
  return {{"noise", rows}, {"quantization", quantization}, {"test_images", test_images},
          {"seeds", seeds}, {"study", config}};
}

std::string NoiseStudyResult::to_markdown(const std::string& model_name) const {
  std::ostringstream md;
  md << "Top-1 (%) under analog weight noise (" << config.value("noise_preset", "?")
     << "), plain / recalibrated, mean +- std over " << seeds << " seed(s), " << test_images
     << " test images; recalibration: " << config["recal"].value("estimator", "?") << ", "
     << config.value("recal_images", 0) << " training images.\n\n";
  md << "| model |";
  for (const auto& c : cells) md << " eta0=" << fmt(c.eta, 2) << " |";
  md << "\n|---|";
  for (size_t i = 0; i < cells.size(); ++i) md << "---|";
  md << "\n| " << model_name << " |";
  for (const auto& c : cells) {
    md << " " << fmt(c.plain.mean);
    if (seeds > 1) md << " +- " << fmt(c.plain.std);
    md << " / " << fmt(c.recalibrated.mean);
    if (seeds > 1) md << " +- " << fmt(c.recalibrated.std);
    md << " |";
  }
  md << "\n";
  if (quantization.is_object() && quantization.contains("fp32")) {
    auto cell = [&](const char* key) {
      if (!quantization.contains(key)) return std::string("n/a");
      const auto& r = quantization.at(key);
      return fmt(r.value("top1", 0.0)) + " +- " + fmt(r.value("top1_stderr", 0.0));
    };
    md << "\n| model | FP32 | A8W8 | A8W8 + recal |\n|---|---|---|---|\n| " << model_name << " | "
       << cell("fp32") << " | " << cell("a8w8") << " | " << cell("a8w8_recal") << " |\n";
    if (quantization.contains("note")) md << "\n" << quantization["note"].get<std::string>() << "\n";
  }
  return md.str();
}

}  // namespace bnrecal
