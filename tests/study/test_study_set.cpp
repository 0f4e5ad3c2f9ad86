// Study-set configs: defaults merged under each job (recal key by key), steps and their ids,
// model paths relative to the config's folder, and every kind of mistake named.
#include <gtest/gtest.h>

#include <filesystem>

#include "bnrecal/core/files.h"
#include "bnrecal/study/study_set.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {
nlohmann::json config() {
  return nlohmann::json::parse(R"({
    "name": "t",
    "defaults": {"limit": 500, "recal": {"images": 1024, "draws": 2}},
    "jobs": [
      {"experiment": "nbsmt", "model": "../models/m.calibrated.safetensors", "sweep": true, "recal": {"draws": 1}},
      {"experiment": "noise", "model": "/abs/m.safetensors", "etas": [0, 0.04], "seeds": 2, "limit": 100},
      {"experiment": "divergence", "model": "m.safetensors", "perturbations": ["sysmt smt=4", "a8w8"]}
    ]})");
}
std::string error_of(const nlohmann::json& j) {
  return input_error_message([&] { parse_study_set(j, "studies"); });
}
}  // namespace

TEST(StudyConfig, ExpandsJobsIntoNamedStepsWithMergedDefaults) {
  const StudySet set = parse_study_set(config(), "studies");
  ASSERT_EQ(set.jobs.size(), 3u);
  const StudyJob& nbsmt = set.jobs[0];
  EXPECT_EQ(nbsmt.name, "nbsmt:m");
  EXPECT_EQ(nbsmt.model, "models/m.calibrated.safetensors");  // relative to the config's folder
  EXPECT_EQ(nbsmt.limit, 500);
  EXPECT_EQ(nbsmt.recal.images, 1024);  // from defaults
  EXPECT_EQ(nbsmt.recal.draws, 1);      // the job's own key wins
  EXPECT_EQ(set.jobs[1].model, "/abs/m.safetensors");
  EXPECT_EQ(set.jobs[1].limit, 100);
  EXPECT_EQ(set.jobs[1].recal.draws, 2);

  std::vector<std::string> ids;
  for (const auto& s : set.steps) ids.push_back(s.id);
  const std::vector<std::string> expected = {"nbsmt:m/2T", "nbsmt:m/4T", "nbsmt:m/sweep", "noise:m/eta=0",
                                             "noise:m/eta=0.04", "divergence:m/sysmt smt=4", "divergence:m/a8w8"};
  EXPECT_EQ(ids, expected);
  EXPECT_TRUE(set.steps[3].first_of_job);
  EXPECT_FALSE(set.steps[4].first_of_job);
  EXPECT_DOUBLE_EQ(set.steps[4].eta, 0.04);
  EXPECT_GT(set.steps[1].cost, set.steps[0].cost);  // 4T is slower than 2T
  EXPECT_EQ(set.steps[0].spec["job"]["recal"]["draws"], 1);
  EXPECT_EQ(set.steps[0].spec["part"], "2T");

  nlohmann::json sweep_only = config();
  sweep_only["jobs"][0]["threads"] = nlohmann::json::array();  // the T rows measured elsewhere
  EXPECT_EQ(parse_study_set(sweep_only, "").steps[0].id, "nbsmt:m/sweep");
}

TEST(StudyConfig, MistakesAreErrorsThatNameThePlace) {
  nlohmann::json j = config();
  j["jobs"][1]["etaz"] = 1;
  EXPECT_NE(error_of(j).find("jobs[1]: unknown key 'etaz'"), std::string::npos) << error_of(j);
  j = config();
  j["defaults"]["etas"] = {0.1};  // experiment keys do not belong in defaults
  EXPECT_NE(error_of(j).find("defaults: unknown key 'etas'"), std::string::npos) << error_of(j);
  j = config();
  j["jobs"][0]["recal"]["estimator"] = "median";
  EXPECT_NE(error_of(j).find("jobs[0].recal.estimator: "), std::string::npos) << error_of(j);
  j = config();
  j["jobs"][0]["threads"] = {3};
  EXPECT_NE(error_of(j).find("jobs[0].threads"), std::string::npos) << error_of(j);
  j = config();
  j["jobs"][2]["perturbations"] = {"sysmt smt=5"};
  EXPECT_NE(error_of(j).find("jobs[2].perturbations"), std::string::npos) << error_of(j);
  j = config();
  j["jobs"].push_back(j["jobs"][0]);
  EXPECT_NE(error_of(j).find("a second job named 'nbsmt:m'"), std::string::npos) << error_of(j);
  j = config();
  j["jobs"][0]["experiment"] = "nbsmtt";
  EXPECT_NE(error_of(j).find("not one of nbsmt, assign, noise, divergence"), std::string::npos) << error_of(j);
  j = config();
  j["jobs"][1]["limit"] = "all";
  EXPECT_NE(error_of(j).find("jobs[1].limit"), std::string::npos) << error_of(j);
}

TEST(StudyConfig, TheCommittedStudySetsAreValidAndTheirModelsExist) {
  int configs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(source_dir() + "/studies")) {
    if (entry.path().extension() != ".json") continue;
    ++configs;
    const StudySet set = load_study_set(entry.path().string());
    EXPECT_FALSE(set.steps.empty()) << entry.path();
    for (const StudyJob& job : set.jobs) EXPECT_TRUE(file_exists(job.model)) << entry.path() << ": " << job.model;
  }
  EXPECT_GE(configs, 2);
}

TEST(StudyConfig, StreamingIsReadMergedAndChecked) {
  nlohmann::json j = config();
  j["defaults"]["streaming"] = {{"decay", 0.999}, {"batch_size", 4}};
  j["jobs"][1]["streaming"] = {{"order", "before"}, {"variance", "mixture"}};
  const StudySet set = parse_study_set(j, "studies");
  ASSERT_TRUE(set.jobs[1].streaming.has_value());
  EXPECT_NEAR(set.jobs[1].streaming->options.momentum, 0.001, 1e-12);
  EXPECT_EQ(set.jobs[1].streaming->batch_size, 4);                       // from defaults
  EXPECT_TRUE(set.jobs[1].streaming->options.update_before_predicting);  // the job's own key
  EXPECT_TRUE(set.jobs[1].streaming->options.mixture_variance);
  EXPECT_FALSE(set.jobs[0].streaming->options.update_before_predicting);
  nlohmann::json without = config();
  EXPECT_FALSE(parse_study_set(without, "studies").jobs[1].streaming.has_value());
  EXPECT_GT(set.steps[3].cost, parse_study_set(without, "studies").steps[3].cost);  // streaming costs time

  j["jobs"][1]["streaming"] = {{"batch", 1}};
  EXPECT_NE(error_of(j).find("unknown key 'batch'"), std::string::npos) << error_of(j);
  j["jobs"][1]["streaming"] = {{"momentum", 0.1}};  // and the defaults' decay
  EXPECT_NE(error_of(j).find("not both"), std::string::npos) << error_of(j);
  j["defaults"].erase("streaming");
  j["jobs"][1]["streaming"] = {{"order", "sideways"}};
  EXPECT_NE(error_of(j).find("sideways"), std::string::npos) << error_of(j);
  j["jobs"][1]["streaming"] = {{"batch_size", 0}};
  EXPECT_NE(error_of(j).find("batch_size"), std::string::npos) << error_of(j);
  j["jobs"][1]["streaming"] = {{"warmup_images", -1}};
  EXPECT_NE(error_of(j).find("warmup_images"), std::string::npos) << error_of(j);
}

TEST(StudyConfig, AStreamingWarmUpIsReadAndCostsTime) {
  nlohmann::json j = config();
  j["jobs"][1]["streaming"] = {{"decay", 0.999}};
  const double cold = parse_study_set(j, "studies").steps[3].cost;
  j["jobs"][1]["streaming"]["warmup_images"] = 5000;
  const StudySet warmed = parse_study_set(j, "studies");
  EXPECT_EQ(warmed.jobs[1].streaming->warmup_images, 5000);
  EXPECT_GT(warmed.steps[3].cost, cold);
}
