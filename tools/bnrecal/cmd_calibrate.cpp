// `bnrecal calibrate`: measures a8w8 activation ranges on training images and writes a checkpoint
// (same weights) whose model card records them, so a8w8 never calibrates silently.
#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/nn/calibration.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

namespace {
struct CalibrateSpec {
  std::string model, data, output, stat = "mean_max";
  int64_t images = 2048, batch_size = 256;
  uint64_t seed = 0;
  bool no_augment = false;
};

void print_ranges(const ActivationCalibration& cal, const std::string& data, const std::string& output) {
  std::printf("calibrated %zu layers on %lld training images (%s, stat %s)\n", cal.layers.size(),
              static_cast<long long>(cal.images), data.c_str(), cal.stat.c_str());
  for (const auto& [name, r] : cal.layers) {
    std::printf("  %-28s a_max %.5g  min %.5g%s\n", name.c_str(), r.a_max, r.min,
                r.min < 0 ? "  (signed input: stays fp32 unless --activations signed)" : "");
  }
  std::printf("wrote %s\n", output.c_str());
}
}  // namespace

void add_calibrate_command(CLI::App& app) {
  auto spec = std::make_shared<CalibrateSpec>();
  CLI::App* sub = app.add_subcommand(
      "calibrate", "Measure a8w8 activation ranges on training images; write a calibrated checkpoint");
  add_model_and_data_options(*sub, spec->model, spec->data);
  sub->add_option("--images,-n", spec->images, "Training images to calibrate on")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--batch-size", spec->batch_size, "Images per forward pass")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--stat", spec->stat, "mean_max (mean of per-image maxima) or max")
      ->check(CLI::IsMember({"mean_max", "max"}))->capture_default_str();
  sub->add_option("--seed", spec->seed, "Seed for image order and augmentation")->capture_default_str();
  sub->add_flag("--no-augment", spec->no_augment, "Calibrate on un-augmented images (default: training augmentation)");
  sub->add_option("--output,-o", spec->output, "Calibrated checkpoint to write")->required();
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    apply_common_options(*common);
    LoadedModel model = load_model(spec->model);
    const std::string data = resolve_dataset(spec->data, model.card);
    auto train = open_training_sample(data, model.card, spec->images);
    LoaderBatchStream stream(*train, LoaderOptions::sample(spec->images, spec->batch_size, spec->seed,
                                                           !spec->no_augment, model.card.normalization));
    ActivationCalibration cal = calibrate_activations(*model.network, stream, spec->stat);
    cal.source = {{"data", data}, {"split", "train"}, {"seed", spec->seed},
                  {"augment", !spec->no_augment}, {"batch_size", spec->batch_size},
                  {"command", "bnrecal calibrate"}};
    model.card.calibration.activations = cal;
    save_checkpoint(spec->output, *model.network, model.card);
    if (!common->quiet) print_ranges(cal, data, spec->output);
    const nlohmann::json config = {{"model", spec->model}, {"data", data}, {"images", spec->images},
                                   {"batch_size", spec->batch_size}, {"stat", spec->stat},
                                   {"augment", !spec->no_augment}, {"output", spec->output}};
    write_json_result(*common, cal.to_json(), config, spec->seed);
  });
}

}  // namespace bnrecal::cli
