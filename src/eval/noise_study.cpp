#include "bnrecal/eval/noise_study.h"

#include "bnrecal/core/error.h"
#include "bnrecal/nn/policy_resolution.h"

namespace bnrecal {

namespace {

// The rows that put the noise numbers in context: the model without noise in its own arithmetic
// (fp32, or the arithmetic it was trained in), and for fp32-trained models A8W8 and A8W8 + recal.
nlohmann::json quantization_rows(Network& model, const ModelCalibration& calibration, const StudyData& data,
                                 const NoiseStudyOptions& opt, const PolicySpec& clean_spec,
                                 const BnSnapshot& clean) {
  const StudyProtocol& p = opt.protocol;
  nlohmann::json rows;
  apply_policy(model, clean_spec, opt.base_seed, calibration);
  EvalResult fp32 = evaluate_test(model, data.test, p.eval, p.eval.limit);
  rows["fp32"] = fp32.to_json();
  rows["fp32"]["arithmetic"] = clean_spec.to_text();
  p.say(clean_spec.to_text() + ": " + fixed(fp32.top1) + " %");
  if (clean_spec.policy != "fp32") {
    rows["note"] = "A8W8 rows skipped: the model was trained in '" + clean_spec.to_text() + "' arithmetic";
    return rows;
  }
  if (!calibration.activations) {
    rows["note"] = "A8W8 rows skipped: the model has no activation calibration (run `bnrecal calibrate`)";
    p.say("a8w8 rows skipped: model not calibrated (run `bnrecal calibrate`)");
    return rows;
  }
  PolicySpec a8w8;
  a8w8.policy = "a8w8";
  apply_policy(model, a8w8, opt.base_seed, calibration);
  const PlainAndRecalibrated m = measure_plain_and_recalibrated(model, data, p, opt.base_seed, clean);
  rows["a8w8"] = m.plain.to_json();
  rows["a8w8"]["vs_fp32"] = compare_paired(fp32.correct, m.plain.correct).to_json();
  rows["a8w8_recal"] = m.recalibrated.to_json();
  p.say("a8w8: " + fixed(m.plain.top1) + " %, a8w8 + recal: " + fixed(m.recalibrated.top1.mean) + " % (gain " +
        paired_text(m.recalibrated.gain) + ")");
  return rows;
}

}  // namespace

NoiseStudySetup noise_study_setup(const NoiseStudyOptions& opt) {
  require(!opt.etas.empty(), "the noise study needs at least one eta");
  require(opt.seeds >= 1, "the noise study needs at least one seed");
  for (double eta : opt.etas) require(eta >= 0, "eta must be >= 0, got " + std::to_string(eta));
  NoiseStudySetup setup;
  setup.noisy = opt.base;
  if (!setup.noisy.noise.enabled()) setup.noisy.noise.preset = "seed-003";
  setup.clean = setup.noisy;  // the model's arithmetic without noise
  setup.clean.noise = NoiseSpec{};
  const PolicySpec& noisy = setup.noisy;
  setup.config = {{"etas", opt.etas}, {"seeds", opt.seeds}, {"base_seed", opt.base_seed},
                  {"noise_preset", noisy.noise.preset}, {"sigma_t", noisy.noise.params.sigma_t},
                  {"sigma_s", noisy.noise.params.sigma_s}, {"policy", noisy.to_json()},
                  {"recal", opt.protocol.recal.to_json()}, {"test_limit", opt.protocol.eval.limit}};
  if (opt.protocol.streaming) setup.config["streaming"] = opt.protocol.streaming->to_json();
  return setup;
}

NoiseStudyResult run_noise_study(Network& model, const ModelCalibration& calibration,
                                 const StudyData& data, const NoiseStudyOptions& opt) {
  const NoiseStudySetup setup = noise_study_setup(opt);
  check_study_inputs(model, data, opt.protocol);
  const PolicySpec& base = setup.noisy;
  const PolicySpec& clean_spec = setup.clean;

  NoiseStudyResult result;
  result.seeds = opt.seeds;
  result.config = setup.config;
  const BnSnapshot clean(model);
  if (opt.quantization_rows) result.quantization = quantization_rows(model, calibration, data, opt, clean_spec, clean);

  for (double eta : opt.etas) {
    NoiseStudyCell cell;
    cell.eta = eta;
    std::vector<double> plain, recalibrated, streamed;
    std::vector<PairedAccuracy> gains, streaming_gains;
    for (int64_t s = 0; s < opt.seeds; ++s) {
      const uint64_t seed = opt.base_seed + static_cast<uint64_t>(s);
      PolicySpec spec = base;
      spec.noise.params.eta = eta;
      apply_policy(model, spec, seed, calibration);
      const PlainAndRecalibrated m = measure_plain_and_recalibrated(model, data, opt.protocol, seed, clean);
      plain.push_back(m.plain.top1);
      const RecalOutcome& r = m.recalibrated;
      recalibrated.insert(recalibrated.end(), r.top1.values.begin(), r.top1.values.end());
      gains.insert(gains.end(), r.gain.draws.begin(), r.gain.draws.end());
      result.test_images = m.plain.n;
      nlohmann::json run = m.to_json();
      run["seed"] = seed;
      cell.runs.push_back(run);
      std::string streaming_text;
      if (m.streamed) {
        streamed.push_back(m.streamed->top1);
        streaming_gains.push_back(m.streaming_gain);
        streaming_text = ", streaming " + fixed(m.streamed->top1) + " %";
      }
      opt.protocol.say("eta " + fixed(eta, 3) + " seed " + std::to_string(seed) + ": plain " +
                       fixed(m.plain.top1) + " %, recalibrated " + fixed(r.top1.mean) + " % (gain " +
                       paired_text(r.gain) + ")" + streaming_text);
    }
    cell.plain = seed_stat(plain);
    cell.recalibrated = seed_stat(recalibrated);
    cell.gain = repeated_gain(std::move(gains));
    if (!streamed.empty()) {
      cell.streamed = seed_stat(streamed);
      cell.streaming_gain = repeated_gain(std::move(streaming_gains));
    }
    result.cells.push_back(cell);
  }
  apply_policy(model, clean_spec, opt.base_seed, calibration);
  return result;
}

nlohmann::json NoiseStudyResult::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& c : cells) {
    nlohmann::json row = {{"eta", c.eta}, {"plain_top1", c.plain.to_json()},
                          {"recalibrated_top1", c.recalibrated.to_json()}, {"gain", c.gain.to_json()},
                          {"runs", c.runs}};
    if (!c.streaming_gain.draws.empty()) {
      row["streamed_top1"] = c.streamed.to_json();
      row["streaming_gain"] = c.streaming_gain.to_json();
    }
    rows.push_back(row);
  }
  return {{"noise", rows}, {"quantization", quantization}, {"test_images", test_images},
          {"seeds", seeds}, {"study", config}};
}

}  // namespace bnrecal
