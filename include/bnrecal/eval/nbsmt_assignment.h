// Automatic per-layer thread assignment for NB-SMT (the SySMT paper leaves open which layers to
// decelerate): given an accuracy budget against A8W8, the fastest assignment of T in {1, 2, 4}
// to the accelerated layers, with BN recalibration in the loop, and the accuracy-speedup front.
//
// Every decision is made on a validation part carved (seeded) from the training split; the
// recalibration images are drawn from the rest of the training split; the test split only scores
// the result:
//   1. sensitivity: from every layer at 2T (recalibrated, one draw), each layer alone at 4T and
//      alone at 1T; the change of the validation cross-entropy is the price of each move (loss
//      rather than top-1: far less noisy on a few thousand images);
//   2. path: greedy_thread_path (nbsmt_sweep.h) orders the 2L moves from all 1T to all 4T,
//      cheapest loss per saved cycle first;
//   3. `path_points` evenly spaced points of the path are recalibrated and scored on validation;
//      the chosen assignment is the fastest whose validation top-1 is within `budget` points of
//      A8W8's;
//   4. test: every evaluated point without and with recalibration (the protocol's draws), and for
//      comparison the MSE-ordered sweep's point nearest in speedup to each, paired image by image.
//
//   bnrecal::AssignmentOptions o;  o.budget = 0.5;  o.base = PolicySpec::parse("sysmt");
//   bnrecal::AssignmentResult r = bnrecal::search_thread_assignment(*net, card.calibration, train, *test, o);
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/nbsmt_study.h"

namespace bnrecal {

struct AssignmentOptions {
  PolicySpec base;  // sysmt parameters (idle, round) and overrides
  uint64_t seed = 0;
  double budget = 1.0;              // top-1 points below A8W8 allowed, on validation
  int64_t validation_images = 2000;  // carved from the training split
  int64_t path_points = 8;
  int64_t diag_images = 64;  // training images the MSE ranking of the comparison is measured on
  StudyProtocol protocol;    // test scoring; recalibration in the search uses its first draw only
};

struct AssignmentPoint {
  std::vector<int> threads;        // per accelerated layer, network order
  double validation_top1 = 0;      // recalibrated (one draw); 0 for the MSE comparison points
  NbsmtSetting test;               // label, speedup, plain and recalibrated on the test split
  nlohmann::json to_json() const;
};

struct AssignmentResult {
  std::vector<std::string> layers;              // accelerated layers
  std::vector<double> cost_1to2, cost_2to4;     // validation-loss change per move
  double validation_a8w8 = 0;
  EvalResult test_a8w8;
  std::vector<AssignmentPoint> path;            // evaluated greedy points, slowest first
  std::vector<AssignmentPoint> mse;             // MSE sweep point nearest in speedup to each
  std::vector<RepeatedGain> greedy_vs_mse;      // recalibrated, per path point, paired over draws
  int64_t chosen = -1;                          // index into path (-1: none within budget)
  nlohmann::json config;
  nlohmann::json to_json() const;
};

AssignmentResult search_thread_assignment(Network& model, const ModelCalibration& calibration,
                                          std::shared_ptr<const DataSource> train, const DataSource& test,
                                          const AssignmentOptions& options);

}  // namespace bnrecal
