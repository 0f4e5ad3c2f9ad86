#include "bnrecal/train/bn_final_study.h"

#include <torch/torch.h>

#include <cmath>
#include <filesystem>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/json_config.h"
#include "bnrecal/data/batch_stream.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/eval/study_protocol.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/lowbit_policy.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {

std::vector<BnFinalSetting> default_bn_final_settings() {
  return {{"w1a2-channel", PolicySpec::parse("lowbit w_bits=1 a_bits=2 w_scale=channel")},
          {"w1a2-layer", PolicySpec::parse("lowbit w_bits=1 a_bits=2 w_scale=layer")},
          {"w1a2-divide255", PolicySpec::parse("lowbit w_bits=1 a_bits=2 w_scale=channel input=divide255")},
          {"fp32", PolicySpec{}}};
}

nlohmann::json BnFinalStudyResult::to_json() const {
  nlohmann::json r = nlohmann::json::array(), c = nlohmann::json::array(), s = nlohmann::json::array();
  for (const auto& run : runs) r.push_back(run.to_json());
  for (const auto& cell : cells) c.push_back(cell.to_json());
  for (const auto& setting : settings) s.push_back(setting.to_json());
  return {{"runs", r}, {"cells", c}, {"settings_pooled", s}, {"study", config}};
}

namespace {

std::string file_safe(std::string s) {
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
  }
  return s;
}

struct RunPlan {
  BnFinalRun run;
  const BnFinalSetting* setting;
  std::string path;  // checkpoint; the record is path + ".run.json"
};

// A run's model: the zoo architecture under the setting's arithmetic, the data's shape.
std::shared_ptr<Network> build_run_model(const RunPlan& plan, const DataSource& train) {
  torch::manual_seed(plan.run.seed);  // initialisation depends on the seed only
  auto net = build_model(plan.run.arch, {train.num_classes(), train.image_shape()[0]});
  apply_policy(*net, plan.setting->arithmetic, plan.run.seed);
  return net;
}

// BN-pop's model with BN-final statistics after the fact: the `final` estimator on one training
// batch, then the test split.
double recal_final_top1(Network& net, const DataSource& train, const DataSource& test, const TrainOptions& o,
                        uint64_t seed) {
  const BnSnapshot original(net);
  LoaderBatchStream stream(train, LoaderOptions::sample(o.batch_size, o.batch_size, seed, o.augment, o.normalization));
  RecalOptions recal;
  recal.estimator = Estimator::kFinal;
  recalibrate_bn(net, stream, recal);
  const double top1 = evaluate_during_training(net, test, o).top1;
  original.restore(net);
  return top1;
}

ModelCard run_card(const RunPlan& plan, const DataSource& train, const TrainOptions& o) {
  ModelCard card;
  card.arch = plan.run.arch;
  card.dataset = plan.run.dataset;
  card.num_classes = train.num_classes();
  card.input_shape = train.image_shape();
  card.normalization = o.normalization;
  if (plan.setting->arithmetic.policy != "fp32") card.calibration.training_arithmetic = plan.setting->arithmetic;
  card.training = TrainingRecord{"bnrecal experiment bn-final", plan.run.seed, 0, o.to_json(), o.epochs,
                                 plan.run.seconds, "", plan.run.series};
  return card;
}

// The run's training options: its seed, BN mode and input normalization.
TrainOptions run_options(const RunPlan& plan, const DataSource& data, const BnFinalStudyOptions& opt) {
  TrainOptions o = opt.train;
  o.seed = plan.run.seed;
  o.bn_momentum = plan.run.bn == "final" ? 1.0 : opt.pop_momentum;
  o.normalization = input_normalization(plan.setting->arithmetic, data.default_normalization());
  o.eval_every = 0;  // the time series replaces the per-epoch evaluation
  return o;
}

void write_record(const RunPlan& plan, const BnFinalRun& run) {
  write_file_atomic(plan.path + ".run.json", run.to_json().dump(1) + "\n");
}

BnFinalRun train_run(RunPlan plan, const DataSource& train, const DataSource& test, const BnFinalStudyOptions& opt) {
  TrainOptions o = run_options(plan, train, opt);
  const int64_t images = o.train_limit > 0 ? std::min(o.train_limit, train.size()) : train.size();
  const int64_t steps = o.epochs * (images / o.batch_size);
  require(steps >= opt.evaluations, "the study needs at least as many training steps as evaluations per run");
  o.eval_every_steps = steps / opt.evaluations;
  auto net = build_run_model(plan, train);
  TrainCallbacks callbacks;
  callbacks.on_evaluation = [&](const TrainEvaluation& e) { plan.run.series.push_back(e.to_json()); };
  const auto start = std::chrono::steady_clock::now();
  train_model(*net, train, &test, o, callbacks);
  plan.run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  plan.run.end_top1 = evaluate_during_training(*net, test, o).top1;
  if (plan.run.bn == "pop") plan.run.recal_final_top1 = recal_final_top1(*net, train, test, o, plan.run.seed);
  save_checkpoint(plan.path, *net, run_card(plan, train, o));
  write_record(plan, plan.run);  // last: marks the run done
  return plan.run;
}

// A finished run's record; one written before end_top1 existed gets it from the saved checkpoint
// (evaluated once, under its recorded arithmetic) and is rewritten.
BnFinalRun read_run(const RunPlan& plan, const BnFinalStudyOptions& opt) {
  BnFinalRun run = BnFinalRun::from_json(parse_json(read_file(plan.path + ".run.json"), "'" + plan.path + ".run.json'"));
  if (run.end_top1 >= 0) return run;
  LoadedModel saved = load_model(plan.path);
  apply_policy(*saved.network, saved.card.native_arithmetic(), run.seed, saved.card.calibration);
  const auto test = open_dataset(run.dataset, Split::kTest);
  run.end_top1 = evaluate_during_training(*saved.network, *test, run_options(plan, *test, opt)).top1;
  write_record(plan, run);
  return run;
}

std::vector<RunPlan> plan_runs(const BnFinalStudyOptions& opt) {
  std::vector<RunPlan> plans;
  for (const auto& data : opt.datasets)
    for (const auto& arch : opt.archs)
      for (const auto& setting : opt.settings)
        for (const char* bn : {"pop", "final"})
          for (int64_t s = 0; s < opt.seeds; ++s) {
            RunPlan p;
            p.run = {data, arch, setting.name, bn, opt.base_seed + static_cast<uint64_t>(s)};
            p.setting = &setting;
            p.path = opt.out_dir + "/" + file_safe(data) + "." + arch + "." + setting.name + "." + bn + ".seed" +
                     std::to_string(p.run.seed) + ".safetensors";
            plans.push_back(p);
          }
  return plans;
}

void check_options(const BnFinalStudyOptions& opt) {
  require(!opt.out_dir.empty(), "the BN-final study needs an output folder for its runs");
  require(!opt.datasets.empty() && !opt.archs.empty() && !opt.settings.empty(), "the study needs data, "
          "architectures and settings");
  require(opt.seeds >= 1 && opt.evaluations >= 1 && opt.last >= 1 && opt.last <= opt.evaluations,
          "the study needs seeds >= 1 and 1 <= last <= evaluations");
  require(opt.pop_momentum > 0 && opt.pop_momentum <= 1, "BN-pop's momentum must be in (0, 1]");
}

}  // namespace

BnFinalStudyResult run_bn_final_study(const BnFinalStudyOptions& opt) {
  check_options(opt);
  std::filesystem::create_directories(opt.out_dir);
  BnFinalStudyResult result;
  nlohmann::json settings = nlohmann::json::object();
  for (const auto& s : opt.settings) settings[s.name] = s.arithmetic.to_text();
  result.config = {{"datasets", opt.datasets}, {"archs", opt.archs}, {"settings", settings},
                   {"seeds", opt.seeds},       {"base_seed", opt.base_seed}, {"pop_momentum", opt.pop_momentum},
                   {"train", opt.train.to_json()}, {"evaluations", opt.evaluations}, {"last", opt.last}};
  const std::vector<RunPlan> plans = plan_runs(opt);
  int64_t done = 0;
  for (const RunPlan& plan : plans) {
    const std::string label = plan.path.substr(opt.out_dir.size() + 1);
    if (opt.progress) opt.progress(done, static_cast<int64_t>(plans.size()), label);
    if (file_exists(plan.path + ".run.json")) {
      result.runs.push_back(read_run(plan, opt));
    } else {
      auto train = open_dataset(plan.run.dataset, Split::kTrain);
      auto test = open_dataset(plan.run.dataset, Split::kTest);
      result.runs.push_back(train_run(plan, *train, *test, opt));
    }
    const std::vector<double> last = result.runs.back().last_top1(opt.last);
    if (opt.log) opt.log(label + ": last " + std::to_string(last.size()) + " top-1 mean " + fixed(seed_stat(last).mean));
    ++done;
  }
  if (opt.progress) opt.progress(done, static_cast<int64_t>(plans.size()), "");
  result.cells = summarize_bn_final(result.runs, opt.last);
  result.settings = summarize_bn_final_settings(result.cells);
  return result;
}

}  // namespace bnrecal
