#include "bnrecal/study/study_set.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/json_config.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/policy_spec.h"

namespace bnrecal {

namespace {

RecalProtocol read_recal(ConfigObject o) {
  RecalProtocol r;
  r.images = o.get<int64_t>("images", r.images);
  r.batch_size = o.get<int64_t>("batch_size", r.batch_size);
  r.draws = o.get<int64_t>("draws", r.draws);
  r.augment = o.get<bool>("augment", false);
  const std::string estimator = o.get<std::string>("estimator", "pooled");
  r.options.estimator = with_input_errors<InputError>(o.path() + ".estimator: ", [&] { return parse_estimator(estimator); });
  require(!(o.has("momentum") && o.has("decay")), o.path() + ": momentum or decay (= 1 - momentum), not both");
  r.options.momentum = o.get<double>("momentum", r.options.momentum);
  if (o.has("decay")) r.options.momentum = momentum_from_decay(o.get<double>("decay", 0));
  with_input_errors<InputError>(o.path() + ": ", [&] { check_momentum(r.options.momentum); return 0; });
  r.options.layers = o.get<std::vector<std::string>>("layers", {});
  r.options.sequential = o.get<bool>("sequential", false);
  require(r.images > 0 && r.batch_size >= 0 && r.draws >= 1,
          o.path() + ": images and draws must be >= 1 and batch_size >= 0 (0: auto)");
  o.finish();
  return r;
}

// "streaming": {"momentum" or "decay", "order", "variance", "batch_size", "warmup_images", "layers"}
// (recal/streaming_calibration.h).
StreamingProtocol read_streaming(ConfigObject o) {
  StreamingProtocol s;
  require(!(o.has("momentum") && o.has("decay")), o.path() + ": momentum or decay (= 1 - momentum), not both");
  s.options.momentum = o.get<double>("momentum", s.options.momentum);
  with_input_errors<InputError>(o.path() + ": ", [&] {
    if (o.has("decay")) s.options.momentum = momentum_from_decay(o.get<double>("decay", 0));
    check_momentum(s.options.momentum);
    s.options.update_before_predicting = parse_streaming_order(o.get<std::string>("order", "after"));
    s.options.mixture_variance = parse_streaming_variance(o.get<std::string>("variance", "batch"));
    return 0;
  });
  s.options.layers = o.get<std::vector<std::string>>("layers", {});
  s.batch_size = o.get<int64_t>("batch_size", s.batch_size);
  require(s.batch_size >= 1, o.path() + ".batch_size: must be >= 1");
  s.warmup_images = o.get<int64_t>("warmup_images", 0);
  require(s.warmup_images >= 0, o.path() + ".warmup_images: must be >= 0");
  o.finish();
  return s;
}

// InputError naming `where` unless text is a valid spec.
void check_spec(const std::string& text, const std::string& where) {
  with_input_errors<InputError>(where + ": ", [&] { PolicySpec::parse(text).validate(); return 0; });
}

// The keys any job (and "defaults") may hold.
void read_common(ConfigObject& o, StudyJob& job) {
  job.data = o.get<std::string>("data", "");
  job.limit = o.get<int64_t>("limit", -1);
  job.batch_size = o.get<int64_t>("batch_size", 256);
  job.seed = o.get<uint64_t>("seed", 0);
  job.recal = read_recal(o.object("recal"));
  if (o.has("streaming")) job.streaming = read_streaming(o.object("streaming"));
  job.policy = o.get<std::string>("policy", "");
  require(job.limit == -1 || job.limit > 0, o.path() + ".limit: a positive number of test images, or -1 for all");
  require(job.batch_size > 0, o.path() + ".batch_size: must be > 0");
  if (!job.policy.empty()) check_spec(job.policy, o.path() + ".policy");
}

void read_experiment(ConfigObject& o, StudyJob& job) {
  if (job.experiment == "nbsmt") {
    job.threads = o.get<std::vector<int>>("threads", job.threads);
    job.diag_images = o.get<int64_t>("diag_images", job.diag_images);
    job.sweep = o.get<bool>("sweep", false);
    job.sweep_step = o.get<int64_t>("sweep_step", 1);
    require(!job.threads.empty() || job.sweep, o.path() + ".threads: at least one thread count (or a sweep)");
    for (int t : job.threads) require(t == 1 || t == 2 || t == 4, o.path() + ".threads: each must be 1, 2 or 4");
    require(job.diag_images >= 0 && job.sweep_step >= 1, o.path() + ": diag_images >= 0 and sweep_step >= 1");
  } else if (job.experiment == "assign") {
    job.budget = o.get<double>("budget", job.budget);
    job.validation_images = o.get<int64_t>("validation_images", job.validation_images);
    job.path_points = o.get<int64_t>("path_points", job.path_points);
    job.diag_images = o.get<int64_t>("diag_images", job.diag_images);
    require(job.budget >= 0 && job.validation_images > 0 && job.path_points > 0 && job.diag_images >= 0,
            o.path() + ": budget >= 0, validation_images > 0, path_points > 0, diag_images >= 0");
  } else if (job.experiment == "noise") {
    job.etas = o.get<std::vector<double>>("etas", job.etas);
    job.seeds = o.get<int64_t>("seeds", job.seeds);
    job.noise = o.get<std::string>("noise", job.noise);
    job.sigma_t = o.get<double>("sigma_t", job.sigma_t);
    job.sigma_s = o.get<double>("sigma_s", job.sigma_s);
    job.quantization = o.get<bool>("quantization", true);
    require(!job.etas.empty(), o.path() + ".etas: at least one noise level");
    for (double eta : job.etas) require(eta >= 0, o.path() + ".etas: each must be >= 0");
    require(job.seeds >= 1 && job.sigma_t >= 0 && job.sigma_s >= 0, o.path() + ": seeds >= 1, sigmas >= 0");
    check_spec("fp32 noise=" + job.noise, o.path() + ".noise");
  } else if (job.experiment == "divergence") {
    job.perturbations = o.required<std::vector<std::string>>("perturbations");
    job.images = o.get<int64_t>("images", job.images);
    job.bins = o.get<int64_t>("bins", job.bins);
    require(!job.perturbations.empty(), o.path() + ".perturbations: at least one spec, e.g. \"sysmt smt=4\"");
    for (const auto& p : job.perturbations) check_spec(p, o.path() + ".perturbations");
    require(job.images > 0 && job.bins >= 2 && job.bins <= 65536, o.path() + ": images > 0, bins in [2, 65536]");
  } else {
    throw InputError(o.path() + ".experiment: '" + job.experiment + "' is not one of nbsmt, assign, noise, divergence");
  }
}

// "../models/fashion-mnist-resnet20.calibrated.safetensors" -> "fashion-mnist-resnet20"
std::string model_stem(const std::string& path) {
  std::string stem = std::filesystem::path(path).filename().string();
  for (const char* suffix : {".safetensors", ".calibrated"}) {
    const std::string s = suffix;
    if (stem.size() > s.size() && stem.compare(stem.size() - s.size(), s.size(), s) == 0) {
      stem.resize(stem.size() - s.size());
    }
  }
  return stem;
}

// The job's JSON: its own keys over the defaults (recal and streaming merged key by key).
nlohmann::json merged(const nlohmann::json& defaults, const nlohmann::json& job) {
  nlohmann::json m = defaults.is_object() ? defaults : nlohmann::json::object();
  for (const auto& item : job.items()) {
    if ((item.key() == "recal" || item.key() == "streaming") && m.contains(item.key()) && item.value().is_object()) {
      m[item.key()].update(item.value());
    } else {
      m[item.key()] = item.value();
    }
  }
  return m;
}

// How much slower than fp32 an arithmetic runs on ResNet-20, rounded from docs/results.md's
// "Whole-model throughput" when they were set (a8w8 and sysmt 1T 0.87x, 2T 0.57x, 4T 0.14x of
// fp32; faster since). Rough by design: the ETA rescales costs by the rates its finished steps show.
double sysmt_cost(int threads) { return threads >= 4 ? 7 : threads == 2 ? 1.75 : 1.15; }
double arithmetic_cost(const std::string& spec_text) {
  const PolicySpec spec = PolicySpec::parse(spec_text);
  if (spec.policy == "a8w8") return 1.15;
  return spec.policy == "sysmt" ? sysmt_cost(spec.param("smt").get<int>()) : 1;
}

// Relative work of a step, for the study's ETA only: image passes weighted by arithmetic_cost.
double step_cost(const StudyJob& job, const StudyStep& step) {
  const double n = job.limit > 0 ? static_cast<double>(job.limit) : 10000.0;
  // Streaming evaluates every test image (and the warm-up's training images) once more, in small batches
  // (about 3x the cost per image at batch 1).
  const double streaming_pass =
      job.streaming ? (n + static_cast<double>(job.streaming->warmup_images)) * (job.streaming->batch_size < 8 ? 3.0 : 1.2)
                    : 0.0;
  const double recal_pass =
      static_cast<double>(job.recal.draws) * (1.1 * static_cast<double>(job.recal.images) + n) + streaming_pass;
  if (job.experiment == "nbsmt") {
    const double f = sysmt_cost(step.threads);
    if (step.part == "sweep") return n * 11 + 10 * (40.0 / static_cast<double>(job.sweep_step)) * (n + recal_pass);
    return n * 11 + f * (static_cast<double>(job.diag_images) + n + recal_pass);
  }
  if (job.experiment == "assign") {  // sensitivity (2 per layer) and path points on validation, then test
    const double v = static_cast<double>(job.validation_images) + 1.1 * static_cast<double>(job.recal.images);
    return 10 * (40 * v + static_cast<double>(job.path_points) * (v + 2 * (n + recal_pass)));
  }
  if (job.experiment == "noise") {
    const double quantization = step.first_of_job && job.quantization ? n + 10 * (n + recal_pass) : 0;
    return static_cast<double>(job.seeds) * (n + recal_pass) + quantization;
  }
  return arithmetic_cost(step.part) * (4 * static_cast<double>(job.images) + 1.1 * static_cast<double>(job.recal.images));
}

std::string eta_text(double eta) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", eta);
  return text;
}

std::vector<StudyStep> job_steps(const StudyJob& job, size_t index) {
  std::vector<StudyStep> steps;
  auto add = [&](const std::string& part, int threads, double eta) {
    StudyStep s;
    s.job = index;
    s.part = part;
    s.id = job.name + "/" + part;
    s.threads = threads;
    s.eta = eta;
    s.first_of_job = steps.empty();
    s.cost = step_cost(job, s);
    s.spec = {{"job", job.spec}, {"part", part}};
    steps.push_back(s);
  };
  if (job.experiment == "nbsmt") {
    for (int t : job.threads) add(std::to_string(t) + "T", t, 0);
    if (job.sweep) add("sweep", 4, 0);
  } else if (job.experiment == "assign") {
    add("assign", 0, 0);
  } else if (job.experiment == "noise") {
    for (double eta : job.etas) add("eta=" + eta_text(eta), 0, eta);
  } else {
    for (const auto& p : job.perturbations) add(p, 0, 0);
  }
  return steps;
}

}  // namespace

StudySet parse_study_set(const nlohmann::json& config, const std::string& base_dir) {
  ConfigObject root(config, "study");
  StudySet set;
  set.name = root.get<std::string>("name", "study");
  const nlohmann::json defaults = config.is_object() && config.contains("defaults") ? config["defaults"] : nlohmann::json();
  {
    ConfigObject d = root.object("defaults");
    StudyJob ignored;
    read_common(d, ignored);
    d.finish();
  }
  const auto jobs = root.required<std::vector<nlohmann::json>>("jobs");
  root.finish();
  require(!jobs.empty(), "study.jobs: at least one job");
  std::set<std::string> names;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const nlohmann::json m = merged(defaults, jobs[i]);
    ConfigObject o(m, "jobs[" + std::to_string(i) + "]");
    StudyJob job;
    job.experiment = o.required<std::string>("experiment");
    const std::string model = o.required<std::string>("model");
    const std::filesystem::path p(model);
    job.model = p.is_absolute() || base_dir.empty() ? model : (std::filesystem::path(base_dir) / p).lexically_normal().string();
    job.name = o.get<std::string>("name", job.experiment + ":" + model_stem(model));
    read_common(o, job);
    read_experiment(o, job);
    o.finish();
    require(names.insert(job.name).second, o.path() + ": a second job named '" + job.name + "' (give each a distinct \"name\")");
    job.spec = m;
    job.spec["name"] = job.name;
    for (StudyStep& s : job_steps(job, i)) set.steps.push_back(s);
    set.jobs.push_back(std::move(job));
  }
  return set;
}

namespace {

// Wall seconds of a no-grad fp32 forward of a batch of 32 (the fastest of three, after a warm-up).
double forward_seconds(Network& net, const std::vector<int64_t>& input_shape) {
  std::vector<int64_t> shape = {32};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  const at::Tensor batch = at::zeros(shape);
  torch::NoGradGuard no_grad;
  net.eval();
  net.forward(batch);
  double best = 0;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    net.forward(batch);
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best = i == 0 ? t : std::min(best, t);
  }
  return best;
}

// Step costs are written for ResNet-20; a model's fp32 forward time relative to ResNet-20's on the
// same input scales them. Time, not multiply-accumulates: DenseNet's concatenations and MobileNet's
// depthwise layers cost far more than their MACs say (a DenseNet step took 8x a ResNet-20 step
// with 1.3x its MACs). A model that cannot be read keeps factor 1: the run itself reports it.
void weigh_costs_by_model(StudySet& set) {
  std::map<std::string, double> factor;
  std::map<std::vector<int64_t>, double> resnet20_seconds;  // per input shape: timed once
  for (const StudyJob& job : set.jobs) {
    if (factor.count(job.model)) continue;
    factor[job.model] = 1.0;
    if (!file_exists(job.model)) continue;
    try {
      LoadedModel model = load_model(job.model);
      const std::vector<int64_t>& shape = model.card.input_shape;
      if (!resnet20_seconds.count(shape)) {
        ModelOptions options;
        options.num_classes = model.card.num_classes;  // only the fc differs: negligible time
        options.in_channels = shape.at(0);
        resnet20_seconds[shape] = forward_seconds(*build_model("resnet20", options), shape);
      }
      const double ours = forward_seconds(*model.network, shape);
      const double theirs = resnet20_seconds[shape];
      if (ours > 0 && theirs > 0) factor[job.model] = ours / theirs;
    } catch (const std::exception&) {  // keeps factor 1; the run names the problem when it loads the model
    }
  }
  for (StudyStep& step : set.steps) step.cost *= factor[set.jobs[step.job].model];
}

}  // namespace

StudySet load_study_set(const std::string& path) {
  const nlohmann::json j = parse_json(read_file(path), "'" + path + "'");
  StudySet set = parse_study_set(j, std::filesystem::path(path).parent_path().string());
  weigh_costs_by_model(set);
  return set;
}

}  // namespace bnrecal
