#include "cli_common.h"
#include "distributed_job.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/run_info.h"
#include "bnrecal/data/dataset_registry.h"
#include "bnrecal/eval/evaluate.h"

namespace bnrecal::cli {

namespace fs = std::filesystem;

namespace {
double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
}  // namespace

std::string find_model_file(const std::string& name) {
  std::vector<fs::path> folders;
  if (const char* dir = std::getenv("BNRECAL_MODEL_DIR")) folders.emplace_back(dir);
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (!error) {
    folders.push_back(exe.parent_path() / ".." / "share" / "bnrecal" / "models");  // cmake --install
    folders.push_back(exe.parent_path() / ".." / "models");                        // ./build/bnrecal
  }
  for (const auto& folder : folders) {
    const fs::path file = folder / name;
    if (fs::is_regular_file(file, error)) return file.lexically_normal().string();
  }
  return "";
}

std::string default_model_path(const std::string& name) {
  const std::string found = find_model_file(name);
  return found.empty() ? "models/" + name : found;
}

std::unique_ptr<DataSource> open_training_sample(const std::string& data, const ModelCard& card, int64_t images) {
  auto train = open_dataset_for_model(data, Split::kTrain, card);
  require(images <= train->size(), "--images " + std::to_string(images) + " exceeds the training split (" +
                                       std::to_string(train->size()) + " images)");
  return train;
}

void add_model_and_data_options(CLI::App& sub, std::string& model, std::string& data,
                                const std::string& model_help, const std::string& default_model) {
  model = default_model_path(default_model);
  sub.add_option("--model,-m", model, model_help)->capture_default_str();
  sub.add_option("--data,-d", data,
                 dataset_spec_help() + " (default: the dataset the model was trained on; see `bnrecal models`)");
}

std::string resolve_dataset(const std::string& requested, const ModelCard& card) {
  if (!requested.empty()) return requested;
  if (!card.dataset.empty()) return card.dataset;
  throw UsageError("the model names no dataset (imported weights or an ONNX file): give --data, one of " +
                   builtin_datasets().help() + " (see `bnrecal models`)");
}

std::string format_percent(double value, double stderr_value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %% +- %.2f", value, stderr_value);
  return text;
}

std::vector<std::string> split_list(const std::string& text, const std::string& flag) {
  std::vector<std::string> items;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    if (item.empty()) throw UsageError(flag + ": empty item in '" + text + "'");
    items.push_back(item);
  }
  if (items.empty()) throw UsageError(flag + " needs at least one value");
  return items;
}

namespace {
CLI::Validator lower_bound_check(bool zero_allowed) {
  return CLI::Validator(
      [zero_allowed](std::string& text) -> std::string {
        double value = 0;
        if (!CLI::detail::lexical_cast(text, value)) return "'" + text + "' is not a number";
        if (value < 0 || (value == 0 && !zero_allowed)) return "must be " + std::string(zero_allowed ? ">= 0" : "> 0") + ", got " + text;
        return "";
      },
      zero_allowed ? "NONNEGATIVE" : "POSITIVE");
}
}  // namespace

const CLI::Validator kNonNegative = lower_bound_check(true);
const CLI::Validator kPositive = lower_bound_check(false);

std::shared_ptr<CommonOptions> add_common_options(CLI::App& sub, bool distributed) {
  auto options = std::make_shared<CommonOptions>();
  options->command = sub.get_name();
  options->distributed = distributed;
  sub.add_option("--threads", options->threads, "CPU threads for libtorch and the kernels (default: all cores)")
      ->check(kNonNegative);
  sub.add_option("--json", options->json_path,
                 "Write the results, with the resolved configuration, seed, git revision and libtorch "
                 "version, to this JSON file (written atomically)");
  sub.add_flag("--quiet,-q", options->quiet, "No progress display");
  return options;
}

int apply_common_options(CommonOptions& options) {
  if (!options.distributed) require_single_process(options.command);
  if (!reports_results()) options.quiet = true;
  return configure_threads(options.threads);
}

void write_json_result(const CommonOptions& options, nlohmann::json results, const nlohmann::json& config,
                       uint64_t seed) {
  if (options.json_path.empty() || !reports_results()) return;
  nlohmann::json out = run_provenance(seed, config);
  out.update(results);  // result keys at the top level, next to the provenance
  write_file_atomic(options.json_path, out.dump(2) + "\n");
}

std::string Progress::eta_text(double now, int64_t done) const {
  if (done <= 0 || done >= total_) return "";
  const double left = (now - start_) / static_cast<double>(done) * static_cast<double>(total_ - done);
  char text[32];
  if (left >= 3600) std::snprintf(text, sizeof text, "ETA %dh%02dm", static_cast<int>(left / 3600), static_cast<int>(left / 60) % 60);
  else std::snprintf(text, sizeof text, "ETA %dm%02ds", static_cast<int>(left / 60), static_cast<int>(left) % 60);
  return text;
}

Progress::Progress(std::string label, int64_t total, bool quiet)
    : label_(std::move(label)), total_(total), quiet_(quiet), tty_(::isatty(::fileno(stderr))),
      start_(now_seconds()) {}

void Progress::update(int64_t done, const std::string& extra) {
  if (quiet_ || total_ <= 0) return;
  done = std::min(done, total_);  // a rank's share of the images is known only roughly
  const double now = now_seconds();
  const int decile = static_cast<int>(10 * done / total_);
  if (tty_) {
    if (now - last_draw_ < 0.1 && done < total_) return;  // redraw at most 10 times a second
    last_draw_ = now;
    const int width = 30;
    const int filled = static_cast<int>(width * done / total_);
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld %s %s\033[K", label_.c_str(), std::string(filled, '#').c_str(),
                 std::string(width - filled, '.').c_str(), static_cast<long long>(done),
                 static_cast<long long>(total_), eta_text(now, done).c_str(), extra.c_str());
  } else if (decile != last_decile_) {
    last_decile_ = decile;
    std::fprintf(stderr, "%s %3d%% (%lld/%lld) %s %s\n", label_.c_str(), 10 * decile, static_cast<long long>(done),
                 static_cast<long long>(total_), eta_text(now, done).c_str(), extra.c_str());
  }
  std::fflush(stderr);
}

void Progress::finish(const std::string& extra) {
  if (quiet_) return;
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s done in %.1f s %s\n", label_.c_str(), now_seconds() - start_, extra.c_str());
}

}  // namespace bnrecal::cli
