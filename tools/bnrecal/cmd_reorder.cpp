// `bnrecal reorder`: plans a per-layer input-channel permutation that spreads busy channels over
// the SySMT thread groups (channel_reorder.h) and writes a checkpoint (same weights) whose
// metadata "channel_order" the sysmt policy applies. Like calibrate, an explicit, saved step.
#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/nn/channel_reorder.h"
#include "cli_common.h"
#include "commands.h"
#include "perturbation_options.h"

namespace bnrecal::cli {

namespace {
struct ReorderSpec {
  std::string model, data, output;
  SysmtFlags sysmt;
  int64_t images = 512, batch_size = 256;
  uint64_t seed = 0;
  bool no_augment = false;
  bool random = false;
};

const SysmtFlagsSetup kReorderFlags{"2", false, false, false};

void print_plan(const ChannelReorderPlan& plan, const std::string& data) {
  std::printf("channel order for %dT (idle %s) from %lld training images (%s)\n",
              plan.config.threads, sysmt::to_string(plan.config.idle).c_str(),
              static_cast<long long>(plan.images), data.c_str());
  std::printf("expected per thread group, lanes independent: collision rate P(>= 2 active) and\n"
              "operands through a 4-bit reduction (minimized), identity -> reordered\n");
  std::printf("  %-28s %8s %19s %19s\n", "layer", "channels", "collision rate", "reduced operands");
  auto row = [](const std::string& name, const std::string& channels, const ExpectedLaneCost& a,
                const ExpectedLaneCost& b) {
    std::printf("  %-28s %8s   %.4f -> %.4f   %.4f -> %.4f\n", name.c_str(), channels.c_str(),
                a.collision_rate, b.collision_rate, a.reduced_operands, b.reduced_operands);
  };
  for (const auto& l : plan.layers) {
    row(l.name, std::to_string(l.activity.size()), l.identity, l.reordered);
  }
  row("overall (by thread groups)", "", plan.identity(), plan.reordered());
}
}  // namespace

void add_reorder_command(CLI::App& app) {
  auto spec = std::make_shared<ReorderSpec>();
  CLI::App* sub = app.add_subcommand(
      "reorder",
      "Permute each sysmt layer's input channels so busy channels share thread groups less "
      "(fewer operands reduced to 4 bits by NB-SMT collisions); write a checkpoint with "
      "metadata channel_order. It never changes the exact (1T / a8w8) result, only which lanes "
      "collide at 2T/4T");
  add_model_and_data_options(*sub, spec->model, spec->data,
                             "Calibrated checkpoint (`bnrecal calibrate` output)");
  sub->add_option("--images,-n", spec->images, "Training images to measure channel activity on")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--batch-size", spec->batch_size, "Images per forward pass")
      ->check(kPositive)->capture_default_str();
  add_sysmt_flags(*sub, spec->sysmt, kReorderFlags);
  sub->add_option("--seed", spec->seed, "Seed for image order and augmentation")
      ->capture_default_str();
  sub->add_flag("--no-augment", spec->no_augment,
                "Measure on un-augmented images (default: training augmentation)");
  sub->add_flag("--random", spec->random,
                "Control experiment: a seeded random permutation per layer instead of the heuristic "
                "(same --seed, same orders)");
  sub->add_option("--output,-o", spec->output, "Reordered checkpoint to write")->required();
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    apply_common_options(*common);
    ChannelReorderOptions options;
    options.config = sysmt_config(spec->sysmt, kReorderFlags);
    if (options.config.threads == 1) throw UsageError("--smt must be 2 or 4 (at 1T there is nothing to reorder)");

    LoadedModel model = load_model(spec->model);
    const std::string data = resolve_dataset(spec->data, model.card);
    auto train = open_training_sample(data, model.card, spec->images);
    LoaderBatchStream stream(*train, LoaderOptions::sample(spec->images, spec->batch_size,
                                                           spec->seed, !spec->no_augment,
                                                           model.card.normalization));
    Progress progress("reorder", spec->images, common->quiet);
    options.progress = [&progress](int64_t done) { progress.update(done); };
    ChannelReorderPlan plan = plan_channel_reorder(*model.network, model.card.calibration, stream, options);
    progress.finish();
    if (spec->random) randomize_channel_orders(plan, spec->seed);

    nlohmann::json record = plan.to_json();
    record["source"] = {{"data", data}, {"split", "train"}, {"seed", spec->seed},
                        {"augment", !spec->no_augment}, {"batch_size", spec->batch_size},
                        {"command", "bnrecal reorder"}};
    model.card.calibration.channel_orders = plan.channel_orders();
    model.card.channel_reorder = record;
    save_checkpoint(spec->output, *model.network, model.card);
    if (!common->quiet) {
      print_plan(plan, data);
      std::printf("wrote %s\n", spec->output.c_str());
    }
    nlohmann::json results = record;
    results[kChannelOrderKey] = channel_orders_to_json(model.card.calibration.channel_orders);
    const nlohmann::json config = {{"model", spec->model}, {"data", data}, {"images", spec->images},
                                   {"batch_size", spec->batch_size}, {"smt", options.config.threads},
                                   {"idle", sysmt::to_string(options.config.idle)}, {"augment", !spec->no_augment},
                                   {"random", spec->random},
                                   {"output", spec->output}};
    write_json_result(*common, results, config, spec->seed);
  });
}

}  // namespace bnrecal::cli
