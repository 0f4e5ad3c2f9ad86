// `bnrecal make-task`: the dense tasks built from Fashion-MNIST (data/fashion_tasks.h), written in
// the PASCAL VOC segmentation and COCO detection layouts.
#include "bnrecal/data/fashion_tasks.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

namespace {
struct TaskSpec {
  std::string kind, out, fashion_mnist_dir = FashionMosaicOptions{}.fashion_mnist_dir;
  int64_t train_images = 6000, val_images = 1000;
  uint64_t seed = 0;
  int canvas = 0;  // 0: the task's default
};
}  // namespace

void add_make_task_command(CLI::App& app) {
  auto spec = std::make_shared<TaskSpec>();
  CLI::App* sub = app.add_subcommand(
      "make-task",
      "Generate a segmentation (VOC layout) or detection (COCO layout) task from Fashion-MNIST items, "
      "deterministically from a seed");
  sub->add_option("kind", spec->kind,
                  "segmentation: fashion-mosaic, 64x64 canvases of 1-4 items with per-pixel class masks; "
                  "detection: fashion-scatter, 96x96 canvases of 1-5 scaled items with boxes")
      ->required()->check(CLI::IsMember({"segmentation", "detection"}));
  sub->add_option("-o,--out", spec->out, "Folder to create (must not exist or be empty)")->required();
  sub->add_option("--train-images", spec->train_images, "Images made from Fashion-MNIST's training split")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--val-images", spec->val_images, "Images made from its test split")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--seed", spec->seed, "Seed of every random choice")->capture_default_str();
  sub->add_option("--canvas", spec->canvas, "Square image side in pixels (default 64 / 96)")->check(kPositive);
  sub->add_option("--fashion-mnist", spec->fashion_mnist_dir, "Folder of the Fashion-MNIST IDX files")
      ->capture_default_str();
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    apply_common_options(*common);
    Progress progress("make-task", spec->train_images + spec->val_images, common->quiet);
    const auto report = [&progress](int64_t done, int64_t) { progress.update(done); };
    nlohmann::json config = {{"kind", spec->kind}, {"out", spec->out}, {"train_images", spec->train_images},
                             {"val_images", spec->val_images}, {"seed", spec->seed}};
    // The options both generators share; the rest keep their defaults.
    const auto from_flags = [&spec, &config](auto options) {
      options.fashion_mnist_dir = spec->fashion_mnist_dir;
      options.train_images = spec->train_images;
      options.val_images = spec->val_images;
      options.seed = spec->seed;
      if (spec->canvas) options.canvas = spec->canvas;
      config["canvas"] = options.canvas;
      return options;
    };
    if (spec->kind == "segmentation") {
      make_fashion_mosaic(spec->out, from_flags(FashionMosaicOptions{}), report);
    } else {
      make_fashion_scatter(spec->out, from_flags(FashionScatterOptions{}), report);
    }
    progress.finish();
    std::printf("%s task written to %s (%lld train + %lld val images; task.json describes it)\n", spec->kind.c_str(),
                spec->out.c_str(), static_cast<long long>(spec->train_images),
                static_cast<long long>(spec->val_images));
    write_json_result(*common, {{"out", spec->out}}, config, spec->seed);
  });
}

}  // namespace bnrecal::cli
