#include "study_io.h"

#include <iostream>

#include "bnrecal/eval/evaluate.h"

namespace bnrecal::cli {

StudyInputs open_study_inputs(const std::string& model_path, const std::string& requested_data) {
  StudyInputs in{model_path, load_model(model_path), "", nullptr, nullptr};
  in.data = resolve_dataset(requested_data, in.model.metadata);
  in.train = open_dataset_for_model(in.data, Split::kTrain, in.model.metadata);
  in.test = open_dataset_for_model(in.data, Split::kTest, in.model.metadata);
  return in;
}

std::function<void(const std::string&)> study_log(const std::string& tag, bool quiet) {
  return [tag, quiet](const std::string& line) {
    if (!quiet) std::cerr << "[" << tag << "] " << line << "\n";
  };
}

}  // namespace bnrecal::cli
