#include "study_io.h"

#include <cstdio>
#include <iostream>

#include "bnrecal/core/files.h"
#include "bnrecal/eval/evaluate.h"

namespace bnrecal::cli {

std::shared_ptr<StudyOptions> add_study_options(CLI::App& sub, const std::string& model_help) {
  auto o = std::make_shared<StudyOptions>();
  add_model_and_data_options(sub, o->model, o->data, model_help, kCalibratedReferenceModel);
  sub.add_option("--limit", o->limit, "Evaluate only the first N test images")->check(kPositive);
  sub.add_option("--batch-size", o->batch_size, "Evaluation batch size")->check(kPositive)->capture_default_str();
  sub.add_option("--markdown", o->markdown, "Write the Markdown report here");
  o->recal = add_recal_options(sub, RecalFlagNames::kStudy);
  o->streaming = add_streaming_options(sub, RecalFlagNames::kStudy);
  return o;
}

StudyInputs open_study_inputs(const StudyOptions& options) {
  StudyInputs in{options.model, load_model(options.model), "", nullptr, nullptr};
  in.data = resolve_dataset(options.data, in.model.card);
  in.train = open_dataset_for_model(in.data, Split::kTrain, in.model.card);
  in.test = open_dataset_for_model(in.data, Split::kTest, in.model.card);
  return in;
}

StudyProtocol study_protocol(const StudyOptions& options, const StudyInputs& in, const std::string& tag, bool quiet) {
  StudyProtocol p;
  p.eval.batch_size = options.batch_size;
  p.eval.limit = options.limit;
  p.eval.normalization = in.model.card.normalization;
  p.recal = recal_protocol(*options.recal);
  if (const auto streaming = streaming_options(*options.streaming)) {
    p.streaming = StreamingProtocol{*streaming, options.streaming->batch_size, options.streaming->warmup_images};
  }
  p.log = [tag, quiet](const std::string& line) {
    if (!quiet) std::cerr << "[" << tag << "] " << line << "\n";
  };
  return p;
}

void write_study_outputs(const std::string& markdown, const nlohmann::json& results, nlohmann::json config,
                         const StudyOptions& options, const StudyInputs& in, const CommonOptions& common,
                         uint64_t seed) {
  std::printf("%s", markdown.c_str());
  if (!options.markdown.empty()) write_file_atomic(options.markdown, markdown);
  config["model"] = in.model_path;
  config["data"] = in.data;
  write_json_result(common, results, config, seed);
}

}  // namespace bnrecal::cli
