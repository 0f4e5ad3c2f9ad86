// `bnrecal prune`: unstructured magnitude pruning of a checkpoint (per layer or global), written
// as a new checkpoint whose model card records what was pruned; `bnrecal train --from` fine-tunes
// it with the pruned weights held at zero.
#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/pruning.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

namespace {
struct PruneSpec {
  std::string model, output, scope = "layer";
  PruneOptions options;
};

void print_report(const PruneReport& report) {
  std::printf("%-32s %10s %10s %9s\n", "layer", "weights", "zeros", "sparsity");
  for (const auto& l : report.layers)
    std::printf("%-32s %10lld %10lld %8.1f%%\n", l.name.c_str(), static_cast<long long>(l.weights),
                static_cast<long long>(l.zeros_after), 100.0 * l.zeros_after / std::max<int64_t>(l.weights, 1));
  std::printf("%-32s %10lld %10lld %8.1f%%\n", "total", static_cast<long long>(report.weights),
              static_cast<long long>(report.zeros_after), 100.0 * report.sparsity());
}
}  // namespace

void add_prune_command(CLI::App& app) {
  auto spec = std::make_shared<PruneSpec>();
  spec->model = default_model_path();
  CLI::App* sub = app.add_subcommand(
      "prune", "Zero the smallest-magnitude weights (unstructured); fine-tune with `train --from`");
  sub->add_option("--model,-m", spec->model, "Checkpoint (.safetensors)")->capture_default_str();
  sub->add_option("--fraction,-f", spec->options.fraction, "Fraction of the selected weights to zero, in [0, 1)")
      ->required();
  sub->add_option("--scope", spec->scope,
                  "layer: the fraction in every layer; global: one magnitude threshold over all selected layers")
      ->check(CLI::IsMember({"layer", "global"}))->capture_default_str();
  sub->add_option("--layers", spec->options.layers,
                  "Conv/linear layer name or glob (repeatable; default: the layers SySMT accelerates, i.e. "
                  "every conv except the first and depthwise ones)");
  sub->add_option("--output,-o", spec->output, "Pruned checkpoint to write")->required();
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    apply_common_options(*common);
    spec->options.scope = parse_prune_scope(spec->scope);
    LoadedModel model = load_model(spec->model);
    const bool had_calibration = model.card.calibration.activations.has_value();
    const PruneReport report = prune_by_magnitude(*model.network, spec->options);
    model.card.on_weights_changed();
    model.card.pruning = report.to_json();
    save_checkpoint(spec->output, *model.network, model.card);
    if (!common->quiet) {
      print_report(report);
      if (had_calibration) std::printf("note: activation calibration dropped; run `bnrecal calibrate` again\n");
      std::printf("wrote %s\n", spec->output.c_str());
    }
    write_json_result(*common, report.to_json(), {{"model", spec->model}, {"output", spec->output}}, 0);
  });
}

}  // namespace bnrecal::cli
