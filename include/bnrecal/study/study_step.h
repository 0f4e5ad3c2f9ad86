// Running one step of a study set (study_set.h): opens the job's model and dataset, runs the
// part of its study the step names and returns that study's JSON, plus "model" and "data".
//
//   nlohmann::json r = bnrecal::run_study_step(set.jobs[step.job], step, log);
#pragma once
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "bnrecal/study/study_set.h"

namespace bnrecal {

nlohmann::json run_study_step(const StudyJob& job, const StudyStep& step,
                              const std::function<void(const std::string&)>& log);

}  // namespace bnrecal
