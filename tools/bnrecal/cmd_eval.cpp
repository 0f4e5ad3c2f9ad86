// `bnrecal eval`: top-1/top-5 of a checkpoint on a dataset split.
#include <array>
#include <chrono>
#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/core/stage_profile.h"
#include "bnrecal/eval/detection_eval.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/eval/segmentation_eval.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/nn/policy_resolution.h"
#include "cli_common.h"
#include "commands.h"
#include "distributed_job.h"
#include "perturbation_options.h"
#include "recal_options.h"

namespace bnrecal::cli {

namespace {
struct EvalSpec {
  std::string model;
  std::string data;
  std::string split = "test";
  int64_t limit = -1;
  int64_t batch_size = 256;
  uint64_t seed = 0;
  CLI::Option* seed_option = nullptr;
  bool profile = false;
};

// One line: the share of evaluation wall time in each stage of the integer layers and BN.
void print_stage_profile(double wall_seconds) {
  const std::array<double, kStageCount> s = stage_seconds();
  double staged = 0;
  std::printf("stages");
  for (int i = 0; i < kStageCount; ++i) {
    staged += s[i];
    std::printf(" %s %.1f %%,", stage_name(static_cast<Stage>(i)), 100.0 * s[i] / wall_seconds);
  }
  std::printf(" other %.1f %% of %.2f s\n", 100.0 * (wall_seconds - staged) / wall_seconds, wall_seconds);
  if (const double work = integer_macs().work(); work > 0)
    std::printf("gemm   %.2fx the integer layers' multiply-accumulates (SySMT's operand expansion)\n",
                work);
}

// The perturbation to evaluate under: the flags when any is given (refining the model's own
// arithmetic); otherwise the one the checkpoint was last recalibrated under (evaluating a
// noise-recalibrated model in fp32 would silently answer a different question); otherwise the
// arithmetic the model was trained in (fp32 unless quantization-aware).
struct EvalPerturbation {
  PolicySpec spec;
  uint64_t seed = 0;
  std::string source;
};

EvalPerturbation eval_perturbation(const PerturbationOptions& flags, const EvalSpec& spec, const ModelCard& card) {
  EvalPerturbation p{card.native_arithmetic(), spec.seed, "default"};
  if (card.calibration.training_arithmetic) p.source = "checkpoint (training arithmetic)";
  if (flags.any_given()) {
    p.spec = policy_spec(flags, card.native_arithmetic());
    p.source = "flags";
  } else if (const RecalibrationRecord* last = card.last_recalibration()) {
    p.spec = last->perturbation;
    if (!spec.seed_option->count()) p.seed = last->seed;
    p.source = "checkpoint (last recalibration)";
  }
  return p;
}
nlohmann::json eval_config(const EvalSpec& spec, const std::string& data, const EvalPerturbation& p,
                           const ModelCard& card, const EvalOptions& options) {
  nlohmann::json config = {{"model", spec.model},       {"data", data},
                           {"split", spec.split},       {"limit", spec.limit},
                           {"batch_size", spec.batch_size}, {"perturbation", p.spec.to_json()},
                           {"perturbation_source", p.source}, {"model_card", card.to_json()}};
  if (options.streaming) config["streaming"] = options.streaming->to_json();
  return config;
}

// The dense tasks' evaluations make the pass top-1 evaluation makes: same batch, limit,
// normalization, streaming and progress.
PassOptions pass_options(const EvalOptions& options) {
  return {options.batch_size, options.limit, options.normalization, options.streaming, options.progress};
}

}  // namespace

void add_eval_command(CLI::App& app) {
  auto spec = std::make_shared<EvalSpec>();
  CLI::App* sub = app.add_subcommand("eval",
                                     "Evaluate a checkpoint: top-1 and top-5 (segmentation: mean IoU and pixel "
                                     "accuracy; detection: COCO AP and AR) with standard errors, images/s");
  add_model_and_data_options(*sub, spec->model, spec->data);
  sub->add_option("--split", spec->split, "Which split to evaluate on")
      ->check(CLI::IsMember({"test", "train"}))->capture_default_str();
  sub->add_option("--limit", spec->limit, "Evaluate only the first N images (default: all)")->check(kPositive);
  sub->add_option("--batch-size", spec->batch_size, "Images per forward pass")
      ->check(kPositive)->capture_default_str();
  spec->seed_option = sub->add_option("--seed", spec->seed,
                                      "Seed for noise draws (default: the recalibration's, else 0)");
  sub->add_flag("--profile", spec->profile,
                "Also print where the time went: quantize, im2col, kernel (integer GEMM), rescale, "
                "batchnorm and other (fp32 layers, activations, data loading), as shares of wall time");
  auto streaming = add_streaming_options(*sub, RecalFlagNames::kCommand);
  auto perturbation = add_perturbation_options(*sub);
  auto common = add_common_options(*sub, /*distributed=*/true);
  sub->callback([spec, streaming, perturbation, common] {
    const int threads = apply_common_options(*common);
    ProcessGroup* job = distributed_job();
    LoadedModel model = load_model(spec->model);
    const EvalPerturbation p = eval_perturbation(*perturbation, *spec, model.card);
    apply_policy(*model.network, p.spec, p.seed, model.card.calibration);
    const std::string data = resolve_dataset(spec->data, model.card);
    auto source = open_dataset_for_model(data, spec->split == "train" ? Split::kTrain : Split::kTest, model.card);

    EvalOptions options;
    options.batch_size = spec->batch_size;
    options.limit = spec->limit;
    options.normalization = model.card.normalization;
    options.group = job;
    options.streaming = streaming_options(*streaming);
    // A rank's total is its share of the batches: create on the first call, which tells it.
    std::unique_ptr<Progress> progress;
    const bool quiet = common->quiet;
    options.progress = [&progress, quiet](int64_t done, int64_t total) {
      if (!progress) progress = std::make_unique<Progress>("eval", total, quiet);
      progress->update(done);
    };
    if (const auto* segmentation = dynamic_cast<const SegmentationSource*>(source.get())) {
      require(!job, "segmentation models are evaluated in a single process");
      const SegmentationEvalResult r = evaluate_segmentation(*model.network, *segmentation, {pass_options(options)});
      if (progress) progress->finish();
      const SegmentationEstimate& e = r.estimate;
      std::printf("model  %s (%s)\narith  %s (from %s, seed %llu)\ndata   %s, %lld images\nmIoU   %s\n"
                  "pixel  %s (pixel accuracy)\nspeed  %.0f images/s (%d threads, batch %lld)\n",
                  spec->model.c_str(), model.card.arch.c_str(), p.spec.to_text().c_str(), p.source.c_str(),
                  static_cast<unsigned long long>(p.seed), source->name().c_str(),
                  static_cast<long long>(e.scores.images),
                  format_percent(100 * e.scores.mean_iou, 100 * e.mean_iou_stderr).c_str(),
                  format_percent(100 * e.scores.pixel_accuracy, 100 * e.pixel_accuracy_stderr).c_str(),
                  r.images_per_second, threads, static_cast<long long>(spec->batch_size));
      write_json_result(*common, r.to_json(), eval_config(*spec, data, p, model.card, options), p.seed);
      return;
    }
    if (const auto* detection = dynamic_cast<const DetectionSource*>(source.get())) {
      require(!job, "detection models are evaluated in a single process");
      const DetectionEvalResult r = evaluate_detector(*model.network, *detection, {pass_options(options)});
      if (progress) progress->finish();
      const DetectionEstimate& e = r.estimate;
      std::printf("model  %s (%s)\narith  %s (from %s, seed %llu)\ndata   %s, %lld images\nAP@.5  %s\n"
                  "AR@.5  %.2f %%\nAP     %s (IoU .50:.95)\nspeed  %.0f images/s (%d threads, batch %lld)\n",
                  spec->model.c_str(), model.card.arch.c_str(), p.spec.to_text().c_str(), p.source.c_str(),
                  static_cast<unsigned long long>(p.seed), source->name().c_str(),
                  static_cast<long long>(r.image_ids.size()),
                  format_percent(100 * e.metrics.ap50, 100 * e.ap50_stderr).c_str(), 100 * e.metrics.ar50,
                  format_percent(100 * e.metrics.ap, 100 * e.ap_stderr).c_str(), r.images_per_second, threads,
                  static_cast<long long>(spec->batch_size));
      write_json_result(*common, r.to_json(), eval_config(*spec, data, p, model.card, options), p.seed);
      return;
    }
    set_stage_profiling(spec->profile);
    const auto start = std::chrono::steady_clock::now();
    const EvalResult r = evaluate(*model.network, *source, options);
    const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - start;
    if (progress) progress->finish();
    if (!reports_results()) return;

    // The checkpoint's channel order changes which sysmt lanes collide, so name it with the policy.
    const ChannelOrders& orders = model.card.calibration.channel_orders;
    const std::string order = orders.empty() ? "" : "; sysmt channel order: " + channel_order_summary(orders);
    std::printf("model  %s (%s)\narith  %s (from %s, seed %llu)%s\ndata   %s, %lld images\ntop-1  %s\n",
                spec->model.c_str(), model.card.arch.c_str(), p.spec.to_text().c_str(), p.source.c_str(),
                static_cast<unsigned long long>(p.seed), order.c_str(), source->name().c_str(),
                static_cast<long long>(r.n), format_percent(r.top1, r.top1_stderr).c_str());
    if (source->num_classes() > 5) std::printf("top-5  %s\n", format_percent(r.top5, r.top5_stderr).c_str());
    if (options.streaming) {
      std::printf("bn     streaming calibration on the evaluated images: momentum %g, %s predicting, %s variance, "
                  "batch %lld (statistics restored afterwards)\n",
                  options.streaming->momentum, options.streaming->update_before_predicting ? "updated before" : "updated after",
                  options.streaming->mixture_variance ? "mixture" : "batch", static_cast<long long>(spec->batch_size));
    }
    const std::string processes = job ? ", " + std::to_string(job->size()) + " processes" : "";
    std::printf("speed  %.0f images/s (%d threads%s, batch %lld)\n", r.images_per_second, threads,
                processes.c_str(), static_cast<long long>(spec->batch_size));
    if (spec->profile) print_stage_profile(wall.count());
    write_json_result(*common, r.to_json(), eval_config(*spec, data, p, model.card, options), p.seed);
  });
}

}  // namespace bnrecal::cli
