// Pieces every subcommand shares: common options, progress display, JSON result files.
//
//   CLI::App* sub = app.add_subcommand("eval", "...");
//   auto common = bnrecal::cli::add_common_options(*sub);
//   sub->callback([=] { bnrecal::cli::apply_common_options(*common); ... });
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/data/data_source.h"
#include "bnrecal/models/model_card.h"

namespace bnrecal::cli {

// The committed reference model and its calibrated copy (what `experiment` and a8w8 need).
constexpr const char* kReferenceModel = "fashion-mnist-resnet20.safetensors";
constexpr const char* kCalibratedReferenceModel = "fashion-mnist-resnet20.calibrated.safetensors";
// A reference model, the default for --model: found beside the executable (build tree:
// ../models, install prefix: ../share/bnrecal/models) or in $BNRECAL_MODEL_DIR.
std::string default_model_path(const std::string& name = kReferenceModel);
// A file of the models folder found as above ("" when none is found).
std::string find_model_file(const std::string& name);
// --model/-m (default: the committed reference model) and --data/-d (default: the dataset the
// model was trained on; the help lists the spec forms, see `bnrecal models`).
void add_model_and_data_options(CLI::App& sub, std::string& model, std::string& data,
                                const std::string& model_help = "Checkpoint (.safetensors)",
                                const std::string& default_model = kReferenceModel);
// The training split of data, checked to fit the model and to hold `images` images (the N
// images calibration, recalibration and reordering read).
std::unique_ptr<DataSource> open_training_sample(const std::string& data, const ModelCard& card, int64_t images);
// The dataset to use: the user's choice, else the one the model was trained on; UsageError when
// neither is known (imported weights).
std::string resolve_dataset(const std::string& requested, const ModelCard& card);
// "92.31 % +- 0.27"
std::string format_percent(double value, double stderr_value);
// The items of a comma-separated flag value ("2,4"); UsageError naming the flag for an empty list
// or an empty item.
std::vector<std::string> split_list(const std::string& text, const std::string& flag);

// Checks for numeric options. CLI11's own NonNegativeNumber and PositiveNumber print their upper
// bound, the largest double, as a 309-digit number.
extern const CLI::Validator kNonNegative;  // >= 0
extern const CLI::Validator kPositive;     // > 0

struct CommonOptions {
  std::string command;      // the subcommand's name
  bool distributed = false;  // the subcommand can run as one rank of a distributed job
  int threads = 0;          // 0: all cores
  std::string json_path;    // --json: write results here
  bool quiet = false;       // --quiet: no progress bar
};

// Adds --threads, --json and --quiet to a subcommand. distributed: it runs as a rank of a job
// (distributed_job.h); the others refuse to.
std::shared_ptr<CommonOptions> add_common_options(CLI::App& sub, bool distributed = false);
// Applies --threads (libtorch and OpenMP); returns the thread count in use. A rank other than 0
// turns quiet. UsageError for a launched copy of a command that runs in one process only.
int apply_common_options(CommonOptions& options);

// Writes the result keys + provenance (config, seed, git revision, libtorch version) to --json, if
// given, from rank 0 of a distributed job (or the only process).
void write_json_result(const CommonOptions& options, nlohmann::json results,
                       const nlohmann::json& config, uint64_t seed);

// A one-line progress display on stderr with an ETA (redrawn in place on a terminal, a line every
// ~10 % otherwise). Silent when quiet.
class Progress {
 public:
  Progress(std::string label, int64_t total, bool quiet);
  // done: units finished so far; extra: text shown after the bar (loss, accuracy, ...).
  void update(int64_t done, const std::string& extra = "");
  void finish(const std::string& extra = "");

 private:
  std::string eta_text(double now, int64_t done) const;  // "ETA 3m12s" ("" at the ends)
  std::string label_;
  int64_t total_;
  bool quiet_, tty_;
  int last_decile_ = -1;
  double start_;
  double last_draw_ = 0;
};

}  // namespace bnrecal::cli
