// What the study commands (`experiment noise`, `experiment nbsmt`) share: the options of the
// protocol (evaluation and recalibration), opening the model and both splits of its dataset, a
// progress log on stderr, and writing the Markdown report and JSON.
//
//   auto study = add_study_options(*sub);                  // --model, --data, --limit, --recal-*, ...
//   StudyInputs in = open_study_inputs(*study);
//   StudyProtocol protocol = study_protocol(*study, in, "noise", common->quiet);
//   write_study_outputs(noise_study_markdown(result, in.model.card.arch), result.to_json(), result.config, in, ...);
#pragma once
#include <memory>
#include <string>

#include "bnrecal/data/data_source.h"
#include "bnrecal/eval/study_protocol.h"
#include "bnrecal/models/checkpoint.h"
#include "cli_common.h"
#include "recal_options.h"

namespace bnrecal::cli {

struct StudyOptions {
  std::string model, data, markdown;
  int64_t limit = -1, batch_size = 256;
  std::shared_ptr<RecalFlags> recal;
  std::shared_ptr<StreamingFlags> streaming;
};
// --model/--data, --limit, --batch-size (evaluation), the recalibration and streaming options,
// --markdown.
std::shared_ptr<StudyOptions> add_study_options(CLI::App& sub, const std::string& model_help);

struct StudyInputs {
  std::string model_path;
  LoadedModel model;
  std::string data;  // resolved dataset spec
  std::shared_ptr<DataSource> train, test;
  StudyData splits() const { return {*train, *test}; }
};

// Loads the checkpoint and opens its dataset's splits; InputError if the test images do not fit.
StudyInputs open_study_inputs(const StudyOptions& options);
// The protocol the options describe, with the model's normalization and a "[tag] line" log on
// stderr unless quiet.
StudyProtocol study_protocol(const StudyOptions& options, const StudyInputs& in, const std::string& tag, bool quiet);

// Prints the Markdown report, writes it to --markdown (if given, atomically) and the JSON result
// (--json) with the study's configuration plus the model and data.
void write_study_outputs(const std::string& markdown, const nlohmann::json& results, nlohmann::json config,
                         const StudyOptions& options, const StudyInputs& in, const CommonOptions& common,
                         uint64_t seed);

}  // namespace bnrecal::cli
