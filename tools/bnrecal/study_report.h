// The studies' Markdown reports, written from their results (the library returns data; how it is
// shown is the CLI's business).
//
//   std::string md = bnrecal::cli::noise_study_markdown(result, "resnet20");
#pragma once
#include <string>

#include "bnrecal/eval/activation_divergence.h"
#include "bnrecal/eval/dense_noise_study.h"
#include "bnrecal/eval/nbsmt_assignment.h"
#include "bnrecal/eval/nbsmt_study.h"
#include "bnrecal/eval/noise_study.h"
#include "bnrecal/train/bn_final_study.h"

namespace bnrecal::cli {

// The noise table (eta0 columns, plain / recalibrated cells) and the FP32 / A8W8 rows.
std::string noise_study_markdown(const NoiseStudyResult& result, const std::string& model_name);
// The NB-SMT table (FP32, A8W8, T without / with recalibration, speedups), the per-layer
// diagnostics of every T and the sweep.
// The noise study of a dense task: per eta and metric, plain / offline recal / streaming, paired gains.
std::string dense_noise_study_markdown(const DenseNoiseStudyResult& result, const std::string& model_name);

std::string nbsmt_study_markdown(const NbsmtStudyResult& result, const std::string& model_name);

// The thread-assignment search: each evaluated point of the greedy path (speedup, validation and
// test accuracy) beside the MSE sweep's point nearest in speedup, the chosen one marked.
std::string assignment_markdown(const AssignmentResult& result, const std::string& model_name);

// Per BN layer: KL and JS without / with recalibration and the statistics gaps.
std::string divergence_markdown(const DivergenceResult& result, const std::string& model_name);

// Per dataset and architecture: each setting's BN-pop, BN-final and BN-pop + final-recalibration
// accuracy (mean +- std of the last evaluations of every seed), the difference with its standard
// error, and the jitter.
std::string bn_final_study_markdown(const BnFinalStudyResult& result);

}  // namespace bnrecal::cli
