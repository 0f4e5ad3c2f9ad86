#include "bnrecal/study/study_step.h"

#include "bnrecal/core/error.h"
#include "bnrecal/eval/activation_divergence.h"
#include "bnrecal/eval/nbsmt_assignment.h"
#include "bnrecal/eval/nbsmt_study.h"
#include "bnrecal/eval/noise_study.h"
#include "bnrecal/models/checkpoint.h"

namespace bnrecal {

namespace {

// The arithmetic a job perturbs: the model's own, or the job's "policy".
PolicySpec base_spec(const StudyJob& job, const ModelCard& card) {
  return job.policy.empty() ? card.native_arithmetic() : PolicySpec::parse(job.policy);
}

nlohmann::json run_nbsmt_step(const StudyJob& job, const StudyStep& step, Network& net, const ModelCard& card,
                              const StudyData& data, const StudyProtocol& protocol) {
  NbsmtStudyOptions o;
  o.threads = {step.threads};
  o.base = base_spec(job, card);
  o.seed = job.seed;
  o.diag_images = job.diag_images;
  o.protocol = protocol;
  if (step.part == "sweep") {
    o.sweep = true;
    o.sweep_step = job.sweep_step;
    o.settings = false;  // the T rows are steps of their own
  }
  return run_nbsmt_study(net, card.calibration, data, o).to_json();
}

nlohmann::json run_noise_step(const StudyJob& job, const StudyStep& step, Network& net, const ModelCard& card,
                              const StudyData& data, const StudyProtocol& protocol) {
  NoiseStudyOptions o;
  o.etas = {step.eta};
  o.seeds = job.seeds;
  o.base_seed = job.seed;
  o.base = base_spec(job, card);
  o.base.noise.preset = job.noise;
  o.base.noise.params.sigma_t = job.sigma_t;
  o.base.noise.params.sigma_s = job.sigma_s;
  o.quantization_rows = job.quantization && step.first_of_job;  // once per job
  o.protocol = protocol;
  return run_noise_study(net, card.calibration, data, o).to_json();
}

}  // namespace

nlohmann::json run_study_step(const StudyJob& job, const StudyStep& step,
                              const std::function<void(const std::string&)>& log) {
  LoadedModel model = load_model(job.model);
  const std::string data = job.data.empty() ? model.card.dataset : job.data;
  require(!data.empty(), job.name + ": the model names no dataset (imported weights): give \"data\"");
  const std::shared_ptr<const DataSource> train = open_dataset_for_model(data, Split::kTrain, model.card);
  const auto test = open_dataset_for_model(data, Split::kTest, model.card);
  const StudyData splits{*train, *test};
  StudyProtocol protocol;
  protocol.eval.batch_size = job.batch_size;
  protocol.eval.limit = job.limit;
  protocol.eval.normalization = model.card.normalization;
  protocol.recal = job.recal;
  protocol.streaming = job.streaming;
  protocol.log = log;

  Network& net = *model.network;
  nlohmann::json result;
  if (job.experiment == "nbsmt") {
    result = run_nbsmt_step(job, step, net, model.card, splits, protocol);
  } else if (job.experiment == "assign") {
    AssignmentOptions o;
    o.base = base_spec(job, model.card);
    o.base.policy = "sysmt";
    o.seed = job.seed;
    o.budget = job.budget;
    o.validation_images = job.validation_images;
    o.path_points = job.path_points;
    o.diag_images = job.diag_images;
    o.protocol = protocol;
    result = search_thread_assignment(net, model.card.calibration, train, *test, o).to_json();
  } else if (job.experiment == "noise") {
    result = run_noise_step(job, step, net, model.card, splits, protocol);
  } else {
    DivergenceOptions o;
    o.images = job.images;
    o.bins = job.bins;
    result = measure_activation_divergence(net, model.card.calibration, model.card.native_arithmetic(),
                                           PolicySpec::parse(step.part), job.seed, splits, protocol, o)
                 .to_json();
  }
  result["model"] = job.model;
  result["data"] = data;
  result["arch"] = model.card.arch;
  return result;
}

}  // namespace bnrecal
