// How a study scores a model on its test images when the task is not classification: a few named
// scores in percent (mean IoU and pixel accuracy for segmentation), and the difference B - A of two
// runs on the same images with a paired standard error. The noise study of dense tasks
// (dense_noise_study.h) is written against this interface, so a new task adds a scorer, not a study.
//
//   auto scorer = bnrecal::segmentation_scorer(*val);
//   bnrecal::ScoredRun plain = scorer->score(*net, protocol.eval, std::nullopt);
//   bnrecal::ScoredRun streamed = scorer->score(*net, protocol.eval, protocol.streaming);
//   for (const auto& d : scorer->compare(plain, streamed)) d.metric, d.difference, d.standard_error;
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/data/detection_source.h"
#include "bnrecal/data/segmentation_source.h"
#include "bnrecal/eval/box_decoding.h"
#include "bnrecal/eval/evaluation_pass.h"
#include "bnrecal/eval/study_protocol.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

struct NamedScore {
  std::string metric;  // "mean_iou"
  double value = 0;    // percent
};

// What a scorer keeps of one run to compare it image by image with another (its own subclass).
struct RunOutcomes {
  virtual ~RunOutcomes() = default;
};

struct ScoredRun {
  std::vector<NamedScore> scores;  // in the scorer's metric order
  int64_t images = 0;
  nlohmann::json json;             // everything measured, standard errors included
  std::shared_ptr<const RunOutcomes> outcomes;
};

// B - A of one metric, percent, with its paired standard error.
struct ScoreDifference {
  std::string metric;
  double difference = 0, standard_error = 0;
  // |difference| > 1.96 standard errors: a 95 % normal interval excludes 0.
  bool significant() const;
  nlohmann::json to_json() const;
};

class TaskScorer {
 public:
  virtual ~TaskScorer() = default;
  virtual std::string task() const = 0;                  // "segmentation"
  virtual std::vector<std::string> metrics() const = 0;  // the order of ScoredRun::scores
  virtual const DataSource& test_data() const = 0;
  // The model's current policies on the protocol's test images (eval.limit, eval.normalization);
  // with streaming, BN statistics follow the test images (restored afterwards).
  virtual ScoredRun score(Network& model, const EvalProtocol& eval,
                          const std::optional<StreamingProtocol>& streaming) const = 0;
  // B - A per metric; std::invalid_argument unless both runs are this scorer's on the same images.
  virtual std::vector<ScoreDifference> compare(const ScoredRun& a, const ScoredRun& b) const = 0;
};

// The evaluation pass a scorer makes for a protocol: eval's images and normalization, in eval's batch
// size, or streamed in the streaming protocol's.
PassOptions scoring_pass(const EvalProtocol& eval, const std::optional<StreamingProtocol>& streaming);

// mean IoU and pixel accuracy (eval/segmentation_metrics.h), paired by the bootstrap over images.
std::unique_ptr<TaskScorer> segmentation_scorer(const SegmentationSource& test);

// A detector on a DetectionSource's test images, by COCO's box metrics in this order (percent):
//   ap50  AP at IoU 0.5 (the analog-noise paper's mAP)
//   ar50  recall at IoU 0.5 (the paper's mAR)
//   ap    AP averaged over IoU 0.50:0.05:0.95 (COCO's headline AP)
// paired by the bootstrap over images (eval/detection_metrics.h). decode: how raw maps become boxes
// (stride, score threshold, NMS); the defaults suit yolo_small. A run on images without a single
// non-crowd ground-truth object has no metric (COCO's -1): score() then throws InputError rather
// than report -100 %.
std::unique_ptr<TaskScorer> detection_scorer(const DetectionSource& test, const DecodeOptions& decode = {});

// The scorer of a dense task's test split (segmentation or detection); null for classification data.
std::unique_ptr<TaskScorer> dense_task_scorer(const DataSource& test);

}  // namespace bnrecal
