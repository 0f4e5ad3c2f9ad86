// A study set's results, whole: the journal's records joined into one result per job (the same
// shape as the single study commands' JSON), then rendered as tables across models (Markdown) and
// as one long CSV (one row per model x setting, for spreadsheets and plots).
//
//   nlohmann::json all = bnrecal::assemble_study(set, journal.records());
//   write_file_atomic("study.md", bnrecal::study_markdown(all));
//   write_file_atomic("study.csv", bnrecal::study_csv(all));
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/study/study_set.h"

namespace bnrecal {

// {"name", "steps", "steps_done", "jobs": [{"name", "experiment", "model", "arch", "steps",
// "steps_done", ...the study's keys}]}. Jobs with unfinished steps hold what is finished.
nlohmann::json assemble_study(const StudySet& set, const std::vector<nlohmann::json>& records);
std::string study_markdown(const nlohmann::json& assembled);
// The thread-assignment search's result (AssignmentResult::to_json()): what it was chosen on, then one
// row per evaluated point beside the MSE sweep's point nearest in speedup, the chosen one marked.
// Shared by the study set's report and `experiment assign`.
std::string assignment_table(const nlohmann::json& assignment);
// Columns: job, arch, experiment, setting, eta, speedup, images, plain_top1, plain_std,
// recal_top1, recal_std, gain, gain_se, significant_draws, draws (empty where not applicable).
std::string study_csv(const nlohmann::json& assembled);

}  // namespace bnrecal
