// A study set: several studies (NB-SMT, thread assignment, analog noise, activation divergence) on
// several models, described by one JSON file and cut into steps small enough that an interrupted
// run loses little (docs/methods.md section 5).
//
//   {"name": "reference",
//    "defaults": {"limit": 10000, "recal": {"images": 2048, "draws": 3}},
//    "jobs": [{"experiment": "nbsmt", "model": "../models/fashion-mnist-resnet20.calibrated.safetensors"},
//             {"experiment": "noise", "model": "...", "etas": [0, 0.04, 0.08], "seeds": 3,
//              "streaming": {"decay": 0.999, "batch_size": 1, "order": "after"}}]}
//
//   bnrecal::StudySet set = bnrecal::parse_study_set(nlohmann::json::parse(text), "studies/");
//   for (const bnrecal::StudyStep& s : set.steps) ...   // ids like "nbsmt:fashion-mnist-resnet20/4T"
//
// Every key is checked (an unknown one is an InputError naming it). Steps: nbsmt, one per thread
// count and one for the sweep; assign, one; noise, one per eta (the first also measures the rows
// without noise); divergence, one per perturbation.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/study_protocol.h"

namespace bnrecal {

struct StudyJob {
  std::string name;        // unique in the set; step ids are "<name>/<part>"
  std::string experiment;  // nbsmt | assign | noise | divergence
  std::string model;       // resolved against the config's folder
  std::string data;        // "" : the dataset the model was trained on
  int64_t limit = -1, batch_size = 256;
  uint64_t seed = 0;
  RecalProtocol recal;
  std::optional<StreamingProtocol> streaming;  // "streaming": {...}: also measure streaming calibration
  std::string policy;  // spec text replacing the model's own arithmetic as the base ("" : keep it)
  // nbsmt (diag_images also assign's)
  std::vector<int> threads = {2, 4};
  int64_t diag_images = 64;
  bool sweep = false;
  int64_t sweep_step = 1;
  // assign (nbsmt_assignment.h)
  double budget = 1.0;
  int64_t validation_images = 2000, path_points = 8;
  // noise
  std::vector<double> etas = {0, 0.02, 0.04, 0.06, 0.08, 0.10};
  int64_t seeds = 3;
  std::string noise = "seed-003";
  double sigma_t = 0.2, sigma_s = 0.1;
  bool quantization = true;
  // divergence: full spec texts, e.g. "sysmt smt=4", "fp32 noise=seed-003 eta=0.06"
  std::vector<std::string> perturbations;
  int64_t images = 512, bins = 128;
  nlohmann::json spec;  // the job's keys over the defaults, as written, recorded with each step
};

struct StudyStep {
  std::string id;    // "<job name>/<part>"
  size_t job = 0;    // index into StudySet::jobs
  std::string part;  // "2T", "sweep", "eta=0.04", a perturbation text
  int threads = 0;   // nbsmt T
  double eta = 0;    // noise
  bool first_of_job = false;
  double cost = 1;   // relative work (image passes weighted by arithmetic), for the ETA
  nlohmann::json spec;  // {"job": job spec, "part"}: what a journal record must match to be reused
};

struct StudySet {
  std::string name;
  std::vector<StudyJob> jobs;
  std::vector<StudyStep> steps;
};

// base_dir: the config file's folder (relative model paths are resolved against it).
StudySet parse_study_set(const nlohmann::json& config, const std::string& base_dir);
// Reads and parses the file; step costs are then scaled by each model's fp32 forward time relative
// to ResNet-20's, measured here (about a second per model; models that cannot be read keep the
// ResNet-20 costs).
StudySet load_study_set(const std::string& path);

}  // namespace bnrecal
