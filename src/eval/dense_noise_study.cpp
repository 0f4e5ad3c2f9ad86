#include "bnrecal/eval/dense_noise_study.h"

#include <cmath>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/policy_resolution.h"

namespace bnrecal {

nlohmann::json DenseGain::to_json() const {
  return {{"difference", difference.to_json()}, {"standard_error", standard_error},
          {"significant_runs", significant_runs}, {"runs", runs}};
}

DenseGain dense_gain(const std::vector<ScoreDifference>& runs) {
  DenseGain g;
  std::vector<double> differences;
  double squares = 0;
  for (const ScoreDifference& d : runs) {
    differences.push_back(d.difference);
    squares += d.standard_error * d.standard_error;
    g.significant_runs += d.significant() ? 1 : 0;
  }
  g.runs = static_cast<int64_t>(runs.size());
  g.difference = seed_stat(differences);
  g.standard_error = runs.empty() ? 0.0 : std::sqrt(squares / static_cast<double>(runs.size()));
  return g;
}

namespace {

// Per metric, what the runs of one eta gathered.
struct MetricRuns {
  std::vector<double> plain, recalibrated, streamed;
  std::vector<ScoreDifference> gains, streaming_gains;
};

std::string scores_text(const std::vector<NamedScore>& scores) {
  std::string text;
  for (const NamedScore& s : scores) text += (text.empty() ? "" : ", ") + s.metric + " " + fixed(s.value);
  return text;
}

void add_scores(std::vector<MetricRuns>& runs, const ScoredRun& run, std::vector<double> MetricRuns::*field) {
  for (size_t m = 0; m < runs.size(); ++m) (runs[m].*field).push_back(run.scores[m].value);
}

void add_differences(std::vector<MetricRuns>& runs, const std::vector<ScoreDifference>& d,
                     std::vector<ScoreDifference> MetricRuns::*field) {
  for (size_t m = 0; m < runs.size(); ++m) (runs[m].*field).push_back(d[m]);
}

nlohmann::json differences_json(const std::vector<ScoreDifference>& d) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& x : d) j.push_back(x.to_json());
  return j;
}

}  // namespace

DenseNoiseStudyResult run_dense_noise_study(Network& model, const ModelCalibration& calibration,
                                            const DataSource& train, const TaskScorer& test,
                                            const NoiseStudyOptions& opt) {
  const NoiseStudySetup setup = noise_study_setup(opt);
  const StudyData data{train, test.test_data()};
  const StudyProtocol& p = opt.protocol;
  check_study_inputs(model, data, p);
  const PolicySpec& base = setup.noisy;
  const PolicySpec& clean_spec = setup.clean;

  DenseNoiseStudyResult result;
  result.task = test.task();
  result.seeds = opt.seeds;
  result.streamed = p.streaming.has_value();
  result.config = setup.config;
  result.config["task"] = test.task();
  const BnSnapshot clean(model);
  apply_policy(model, clean_spec, opt.base_seed, calibration);
  const ScoredRun clean_run = test.score(model, p.eval, std::nullopt);
  result.clean = clean_run.scores;
  result.clean_json = clean_run.json;
  result.clean_json["arithmetic"] = clean_spec.to_text();
  result.test_images = clean_run.images;
  p.say(clean_spec.to_text() + ": " + scores_text(clean_run.scores));

  const std::vector<std::string> metrics = test.metrics();
  for (double eta : opt.etas) {
    DenseNoiseCell cell;
    cell.eta = eta;
    std::vector<MetricRuns> runs(metrics.size());
    for (int64_t s = 0; s < opt.seeds; ++s) {
      const uint64_t seed = opt.base_seed + static_cast<uint64_t>(s);
      PolicySpec spec = base;
      spec.noise.params.eta = eta;
      apply_policy(model, spec, seed, calibration);
      const ScoredRun plain = test.score(model, p.eval, std::nullopt);
      add_scores(runs, plain, &MetricRuns::plain);
      nlohmann::json record = {{"seed", seed}, {"plain", plain.json}, {"recalibrated", nlohmann::json::array()}};
      std::string line = "eta " + fixed(eta, 3) + " seed " + std::to_string(seed) + ": plain " +
                         scores_text(plain.scores);
      for (int64_t k = 0; k < p.recal.draws; ++k) {
        const uint64_t draw_seed = recal_draw_seed(seed, k);
        const RecalReport report = recalibrate_on_training_draw(model, data, p, draw_seed);
        const ScoredRun recal = test.score(model, p.eval, std::nullopt);
        clean.restore(model);
        const std::vector<ScoreDifference> gain = test.compare(plain, recal);
        add_scores(runs, recal, &MetricRuns::recalibrated);
        add_differences(runs, gain, &MetricRuns::gains);
        nlohmann::json draw = recal.json;
        draw["seed"] = draw_seed;
        draw["recalibration"] = report.to_json();
        draw["gain"] = differences_json(gain);
        record["recalibrated"].push_back(draw);
        if (k == 0) line += "; recalibrated " + scores_text(recal.scores);
      }
      if (p.streaming) {
        warm_up_streaming(model, data, p, seed);
        const ScoredRun streamed = test.score(model, p.eval, p.streaming);
        clean.restore(model);
        const std::vector<ScoreDifference> gain = test.compare(plain, streamed);
        add_scores(runs, streamed, &MetricRuns::streamed);
        add_differences(runs, gain, &MetricRuns::streaming_gains);
        record["streamed"] = streamed.json;
        record["streamed"]["gain"] = differences_json(gain);
        line += "; streaming " + scores_text(streamed.scores);
      }
      cell.runs.push_back(record);
      p.say(line);
    }
    for (size_t m = 0; m < metrics.size(); ++m) {
      const MetricRuns& r = runs[m];
      cell.metrics.push_back({metrics[m], seed_stat(r.plain), seed_stat(r.recalibrated),
                              r.streamed.empty() ? SeedStat{} : seed_stat(r.streamed), dense_gain(r.gains),
                              dense_gain(r.streaming_gains)});
    }
    result.cells.push_back(cell);
  }
  apply_policy(model, clean_spec, opt.base_seed, calibration);
  return result;
}

nlohmann::json DenseNoiseStudyResult::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const DenseNoiseCell& c : cells) {
    nlohmann::json row = {{"eta", c.eta}, {"runs", c.runs}};
    for (const DenseMetricCell& m : c.metrics) {
      nlohmann::json metric = {{"plain", m.plain.to_json()}, {"recalibrated", m.recalibrated.to_json()},
                               {"gain", m.gain.to_json()}};
      if (streamed) {
        metric["streamed"] = m.streamed.to_json();
        metric["streaming_gain"] = m.streaming_gain.to_json();
      }
      row[m.metric] = metric;
    }
    rows.push_back(row);
  }
  nlohmann::json clean_scores;
  for (const NamedScore& s : clean) clean_scores[s.metric] = s.value;
  return {{"task", task}, {"noise", rows}, {"clean", clean_scores}, {"clean_run", clean_json},
          {"test_images", test_images}, {"seeds", seeds}, {"study", config}};
}

}  // namespace bnrecal
