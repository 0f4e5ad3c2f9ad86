// A study set's report from journal records: steps of a job joined in config order, unfinished
// steps shown as such, one CSV row per setting.
#include <gtest/gtest.h>

#include <algorithm>

#include "bnrecal/study/study_set_report.h"

using namespace bnrecal;

namespace {
nlohmann::json eval(double top1, int n) { return {{"top1", top1}, {"n", n}}; }
nlohmann::json outcome(double mean, double gain) {
  return {{"top1", {{"mean", mean}, {"std", 0.1}, {"values", {mean - 0.1, mean + 0.1}}}},
          {"gain", {{"difference", {{"mean", gain}, {"values", {gain, gain}}}}, {"standard_error", 0.2},
                    {"significant_draws", 1}}}};
}
nlohmann::json setting(const std::string& label, double speedup, double plain, double recal) {
  return {{"label", label}, {"speedup_all", speedup}, {"plain", eval(plain, 100)},
          {"recalibrated", outcome(recal, recal - plain)},
          {"vs_a8w8", {{"difference", plain - 92}, {"standard_error", 0.3}, {"significant", true}}}};
}
nlohmann::json nbsmt_result(const nlohmann::json& s) {
  return {{"fp32", eval(93, 100)}, {"a8w8", eval(92, 100)},
          {"a8w8_vs_fp32", {{"difference", -1}, {"standard_error", 0.5}, {"significant", false}}},
          {"settings", {s}}, {"sweep", nlohmann::json::array()}, {"arch", "resnet20"}};
}
}  // namespace

TEST(StudyReport, JoinsAJobsStepsInConfigOrderAndMarksUnfinishedJobs) {
  const StudySet set = parse_study_set(nlohmann::json::parse(R"({"jobs": [
      {"experiment": "nbsmt", "model": "a.safetensors"},
      {"experiment": "nbsmt", "model": "b.safetensors", "threads": [4]},
      {"experiment": "noise", "model": "c.safetensors", "etas": [0.1]}]})"), "");
  // Recorded out of order (4T first); b's and c's steps not at all.
  const std::vector<nlohmann::json> records = {
      {{"step", "nbsmt:a/4T"}, {"result", nbsmt_result(setting("4T", 3.1, 89, 90.5))}},
      {{"step", "nbsmt:a/2T"}, {"result", nbsmt_result(setting("2T", 1.9, 91, 91.5))}}};
  const nlohmann::json all = assemble_study(set, records);
  EXPECT_EQ(all["steps"], 4);
  EXPECT_EQ(all["steps_done"], 2);
  const auto& a = all["jobs"][0];
  ASSERT_EQ(a["settings"].size(), 2u);
  EXPECT_EQ(a["settings"][0]["label"], "2T");  // config order, not journal order
  EXPECT_EQ(all["jobs"][1]["steps_done"], 0);

  const std::string md = study_markdown(all);
  EXPECT_NE(md.find("(2 of 4 steps)"), std::string::npos) << md;
  EXPECT_EQ(md.find("## Analog weight noise"), std::string::npos) << md;  // no noise step finished: no table
  EXPECT_NE(md.find("| 4T | 3.100 | 89.00 (-3.00 +- 0.30 *) | 90.50 +- 0.10 | +1.50 +- 0.20 (1/2) |"),
            std::string::npos) << md;
  const std::string csv = study_csv(all);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);  // header, fp32, a8w8, 2T, 4T
  EXPECT_NE(csv.find("nbsmt:a,resnet20,nbsmt,\"4T\",,3.1000,100,89.0000,,90.5000,0.1000,1.5000,0.2000,1,2"),
            std::string::npos) << csv;
}
