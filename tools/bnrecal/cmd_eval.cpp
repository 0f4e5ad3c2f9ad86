// `bnrecal eval`: top-1/top-5 of a checkpoint on a dataset split.
#include <iostream>

#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

namespace {
struct EvalSpec {
  std::string model;
  std::string data;
  std::string split = "test";
  int64_t limit = -1;
  int64_t batch_size = 256;
};
}  // namespace

void add_eval_command(CLI::App& app) {
  auto spec = std::make_shared<EvalSpec>();
  spec->model = default_model_path();
  CLI::App* sub = app.add_subcommand("eval", "Evaluate a checkpoint: top-1 and top-5 with standard errors, images/s");
  sub->add_option("--model,-m", spec->model, "Checkpoint (.safetensors)")->capture_default_str();
  sub->add_option("--data,-d", spec->data,
                  "fashion-mnist, mnist or an IDX folder (default: the dataset the model was trained on)");
  sub->add_option("--split", spec->split, "Which split to evaluate on")
      ->check(CLI::IsMember({"test", "train"}))->capture_default_str();
  sub->add_option("--limit", spec->limit, "Evaluate only the first N images (default: all)")->check(CLI::PositiveNumber);
  sub->add_option("--batch-size", spec->batch_size, "Images per forward pass")
      ->check(CLI::PositiveNumber)->capture_default_str();
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    const int threads = apply_common_options(*common);
    LoadedModel model = load_model(spec->model);
    const std::string data = resolve_dataset(spec->data, model.metadata);
    auto source = open_dataset(data, spec->split == "train" ? Split::kTrain : Split::kTest);
    check_data_fits_model(*source, model.metadata);

    EvalOptions options;
    options.batch_size = spec->batch_size;
    options.limit = spec->limit;
    options.normalization = normalization_of(model.metadata);
    const int64_t total = spec->limit > 0 ? spec->limit : source->size();
    Progress progress("eval", total, common->quiet);
    options.progress = [&progress](int64_t done, int64_t) { progress.update(done); };
    const EvalResult r = evaluate(*model.network, *source, options);
    progress.finish();

    std::printf("model  %s (%s)\ndata   %s, %lld images\ntop-1  %s\n", spec->model.c_str(),
                model.metadata.value("arch", "?").c_str(), source->name().c_str(), static_cast<long long>(r.n),
                format_percent(r.top1, r.top1_stderr).c_str());
    if (source->num_classes() > 5) std::printf("top-5  %s\n", format_percent(r.top5, r.top5_stderr).c_str());
    std::printf("speed  %.0f images/s (%d threads, batch %lld)\n", r.images_per_second, threads,
                static_cast<long long>(spec->batch_size));
    const nlohmann::json config = {{"model", spec->model}, {"data", data},           {"split", spec->split},
                                   {"limit", spec->limit}, {"batch_size", spec->batch_size},
                                   {"model_metadata", model.metadata}};
    write_json_result(*common, r.to_json(), config, 0);
  });
}

}  // namespace bnrecal::cli
