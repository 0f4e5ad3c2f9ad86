// `bnrecal recalibrate`: re-estimates BN running statistics under a perturbation and writes a
// normal checkpoint whose model card records what was done.
#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/onnx_model.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/recal/recalibrate.h"
#include "cli_common.h"
#include "commands.h"
#include "distributed_job.h"
#include "perturbation_options.h"
#include "recal_options.h"

namespace bnrecal::cli {

namespace {
struct RecalibrateSpec {
  std::string model, data, output;
  uint64_t seed = 0;
  std::string renormalize = "auto";
};
}  // namespace

void add_recalibrate_command(CLI::App& app) {
  auto spec = std::make_shared<RecalibrateSpec>();
  CLI::App* sub = app.add_subcommand(
      "recalibrate", "Re-estimate BatchNorm statistics on training images with a perturbation active");
  add_model_and_data_options(*sub, spec->model, spec->data);
  auto recal = add_recal_options(*sub, RecalFlagNames::kCommand);
  sub->add_option("--seed", spec->seed, "Seed for noise draws and image order")->capture_default_str();
  sub->add_option("--renormalize", spec->renormalize,
                  "For a model whose BatchNorm was folded into its convs: insert a re-normalization layer after "
                  "each conv without a BatchNorm, learn the clean model's statistics there (the identity on it), "
                  "then recalibrate it like a BatchNorm; `export --fold-bn` folds it back. auto: when the model has "
                  "no BatchNorm at all")
      ->check(CLI::IsMember({"auto", "on", "off"}))->capture_default_str();
  sub->add_option("--output,-o", spec->output, "Recalibrated checkpoint to write")->required();
  auto perturbation = add_perturbation_options(*sub);
  auto common = add_common_options(*sub, /*distributed=*/true);
  sub->callback([spec, recal, perturbation, common] {
    apply_common_options(*common);
    ProcessGroup* job = distributed_job();
    RecalProtocol protocol = recal_protocol(*recal);
    LoadedModel model = load_model(spec->model);
    const PolicySpec policy = policy_spec(*perturbation, model.card.native_arithmetic());
    const std::string data = resolve_dataset(spec->data, model.card);
    auto train = open_training_sample(data, model.card, protocol.images);
    const bool renormalize = spec->renormalize == "on" || (spec->renormalize == "auto" && bn_layers(*model.network).empty());
    size_t renormalized = 0;
    if (renormalize) {
      // Before the perturbation: the layers learn the clean model's statistics.
      const std::vector<std::string> layers = add_renormalization_layers(model);
      require(!layers.empty(), "model '" + spec->model + "' has no conv without a BatchNorm to re-normalize");
      LoaderBatchStream clean(*train, LoaderOptions::sample(protocol.images, protocol.batch_for(*model.network, train->image_shape()),
                                                            spec->seed, protocol.augment, model.card.normalization));
      estimate_renormalization(*model.network, clean, layers);
      renormalized = layers.size();
      if (!common->quiet) std::printf("re-normalization layers after %zu convs, set to the clean statistics\n", layers.size());
    }
    require(!bn_layers(*model.network).empty(),
            "model '" + spec->model + "' has no BatchNorm layers to recalibrate (--renormalize on adds them after its convs)");
    apply_policy(*model.network, policy, spec->seed, model.card.calibration);
    const int64_t batch = protocol.batch_for(*model.network, train->image_shape());
    LoaderBatchStream stream(*train, LoaderOptions::sample(protocol.images, batch, spec->seed,
                                                           protocol.augment, model.card.normalization));
    // The total (images x passes) is known once the layers are selected: create on first call.
    std::unique_ptr<Progress> progress;
    const bool quiet = common->quiet;
    protocol.options.progress = [&progress, quiet](int64_t done, int64_t total) {
      if (!progress) progress = std::make_unique<Progress>("recalibrate", total, quiet);
      progress->update(done);
    };
    protocol.options.group = job;
    const RecalReport report = recalibrate_bn(*model.network, stream, protocol.options);
    if (progress) progress->finish();
    if (!reports_results()) return;  // every rank holds the same statistics; rank 0 writes them

    RecalibrationRecord record;
    record.perturbation = policy;
    record.seed = spec->seed;
    record.details = report.to_json();
    if (renormalized) record.details["renormalized_layers"] = renormalized;
    record.details.update({{"data", data}, {"split", "train"}, {"augment", protocol.augment},
                           {"batch_size", batch}});
    model.card.recalibrations.push_back(record);
    save_checkpoint(spec->output, *model.network, model.card);
    if (!common->quiet) {
      std::printf("recalibrated %zu BN layers (%s%s) on %lld training images in %.2f s\n"
                  "variance stored: %s\nwrote %s\n",
                  report.layers.size(), estimator_name(protocol.options.estimator),
                  protocol.options.sequential ? ", sequential" : "", static_cast<long long>(report.images),
                  report.seconds, record.details["variance"].get<std::string>().c_str(), spec->output.c_str());
    }
    nlohmann::json results = record.to_json();
    results["policy_summary"] = policy_summary(*model.network);
    write_json_result(*common, results, {{"model", spec->model}, {"output", spec->output}}, spec->seed);
  });
}

}  // namespace bnrecal::cli
