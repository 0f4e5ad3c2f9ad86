// `bnrecal experiment bn-final`: the final-sample BatchNorm study (docs/methods.md section 1.4):
// trains every dataset x architecture x setting x {BN-pop, BN-final} x seed, records the test
// accuracy over training, and reports accuracy, jitter and BN-final-after-training, as Markdown and
// JSON (plot it with scripts/plot_bn_final.py). Runs are kept in --out; rerunning resumes.

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/train/bn_final_study.h"
#include "cli_common.h"
#include "commands.h"
#include "study_report.h"

namespace bnrecal::cli {

namespace {

struct BnFinalSpec {
  std::string out, markdown, datasets = "fashion-mnist,mnist", archs = "resnet20,vgg_small";
  std::vector<std::string> settings;  // NAME=POLICY
  BnFinalStudyOptions options;
};

std::vector<BnFinalSetting> parse_settings(const std::vector<std::string>& texts) {
  if (texts.empty()) return default_bn_final_settings();
  std::vector<BnFinalSetting> out;
  for (const auto& text : texts) {
    const auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0) throw UsageError("--setting must be NAME=POLICY, got '" + text + "'");
    try {
      out.push_back({text.substr(0, eq), PolicySpec::parse(text.substr(eq + 1))});
    } catch (const InputError& e) {
      throw UsageError("--setting " + text + ": " + e.what());
    }
  }
  return out;
}

void add_options(CLI::App& sub, BnFinalSpec& spec) {
  BnFinalStudyOptions& o = spec.options;
  TrainOptions& t = o.train;
  sub.add_option("--out", spec.out, "Folder for every run's checkpoint and record (rerunning resumes)")->required();
  sub.add_option("--data", spec.datasets, "Comma-separated datasets")->capture_default_str();
  sub.add_option("--arch", spec.archs, "Comma-separated architectures")->capture_default_str();
  sub.add_option("--setting", spec.settings,
                 "NAME=POLICY, repeatable (default: w1a2-channel, w1a2-layer, w1a2-divide255, fp32)");
  sub.add_option("--seeds", o.seeds, "Training runs per setting and BN mode")->check(kPositive)->capture_default_str();
  sub.add_option("--seed", o.base_seed, "First seed")->capture_default_str();
  sub.add_option("--pop-momentum", o.pop_momentum, "BN-pop's EMA momentum (PyTorch convention)")
      ->check(CLI::Range(1e-9, 1.0))->capture_default_str();
  sub.add_option("--epochs", t.epochs, "Epochs per run")->check(kPositive)->capture_default_str();
  sub.add_option("--batch-size", t.batch_size, "Images per step")->check(kPositive)->capture_default_str();
  sub.add_option("--lr", t.lr, "Peak learning rate (cosine schedule)")->check(kPositive)->capture_default_str();
  sub.add_option("--train-limit", t.train_limit, "Use only N training images")->check(kPositive);
  sub.add_option("--eval-limit", t.eval_limit, "Evaluate on only N test images")->check(kPositive);
  sub.add_option("--evaluations", o.evaluations, "Test evaluations per run, evenly spaced")
      ->check(kPositive)->capture_default_str();
  sub.add_option("--last", o.last, "Last evaluations per run averaged into its accuracy")
      ->check(kPositive)->capture_default_str();
  sub.add_option("--markdown", spec.markdown, "Write the Markdown tables here");
}

}  // namespace

void add_experiment_bn_final_command(CLI::App& experiment) {
  auto spec = std::make_shared<BnFinalSpec>();
  CLI::App* sub = experiment.add_subcommand(
      "bn-final", "Final-sample BatchNorm: BN-pop vs BN-final training for low-bit (W1A2) and FP32 networks");
  add_options(*sub, *spec);
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    apply_common_options(*common);
    BnFinalStudyOptions o = spec->options;
    o.datasets = split_list(spec->datasets, "--data");
    o.archs = split_list(spec->archs, "--arch");
    o.settings = parse_settings(spec->settings);
    o.out_dir = spec->out;
    std::unique_ptr<Progress> progress;
    o.progress = [&](int64_t done, int64_t total, const std::string& run) {
      if (!progress) progress = std::make_unique<Progress>("bn-final runs", total, common->quiet);
      progress->update(done, run);
    };
    const BnFinalStudyResult r = run_bn_final_study(o);
    if (progress) progress->finish();
    const std::string md = bn_final_study_markdown(r);
    std::printf("%s", md.c_str());
    if (!spec->markdown.empty()) write_file_atomic(spec->markdown, md);
    write_json_result(*common, r.to_json(), r.config, o.base_seed);
  });
}

}  // namespace bnrecal::cli
