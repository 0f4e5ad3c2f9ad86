// What the study commands (`experiment noise`, `experiment nbsmt`) share: opening the model and
// both splits of its dataset, a progress log on stderr, and writing the Markdown table and JSON.
//
//   StudyInputs in = open_study_inputs(spec->model, spec->data);
//   opt.log = study_log("noise", common->quiet);
//   auto result = run_noise_study(*in.model.network, in.model.metadata, *in.train, *in.test, opt);
//   write_study_outputs(result, in, spec->markdown, *common, spec->seed);
#pragma once
#include <cstdio>
#include <functional>
#include <memory>
#include <string>

#include "bnrecal/core/files.h"
#include "bnrecal/data/data_source.h"
#include "bnrecal/models/checkpoint.h"
#include "cli_common.h"

namespace bnrecal::cli {

struct StudyInputs {
  std::string model_path;
  LoadedModel model;
  std::string data;  // resolved dataset spec
  std::shared_ptr<DataSource> train, test;
};

// Loads the checkpoint and opens its dataset's splits; InputError if the test images do not fit.
StudyInputs open_study_inputs(const std::string& model_path, const std::string& requested_data);

// "[tag] line" on stderr unless quiet.
std::function<void(const std::string&)> study_log(const std::string& tag, bool quiet);

// Prints the Markdown table, writes it to markdown_path (if given, atomically) and the JSON
// result (--json). Result: run_noise_study's or run_nbsmt_study's.
template <class StudyResult>
void write_study_outputs(const StudyResult& result, const StudyInputs& in, const std::string& markdown_path,
                         const CommonOptions& common, uint64_t seed) {
  const std::string md = result.to_markdown(in.model.metadata.value("arch", "model"));
  std::printf("%s", md.c_str());
  if (!markdown_path.empty()) write_file_atomic(markdown_path, md);
  nlohmann::json config = result.config;
  config["model"] = in.model_path;
  config["data"] = in.data;
  write_json_result(common, result.to_json(), config, seed);
}

}  // namespace bnrecal::cli
