#include "bnrecal/eval/task_scorer.h"

#include <cmath>
#include <stdexcept>

#include "bnrecal/eval/segmentation_eval.h"

namespace bnrecal {

PassOptions scoring_pass(const EvalProtocol& eval, const std::optional<StreamingProtocol>& streaming) {
  PassOptions pass;
  pass.batch_size = streaming ? streaming->batch_size : eval.batch_size;
  pass.limit = eval.limit;
  pass.normalization = eval.normalization;
  if (streaming) pass.streaming = streaming->options;
  return pass;
}

bool ScoreDifference::significant() const { return std::abs(difference) > 1.96 * standard_error; }

nlohmann::json ScoreDifference::to_json() const {
  return {{"metric", metric}, {"difference", difference}, {"standard_error", standard_error},
          {"significant", significant()}};
}

namespace {

struct SegmentationOutcomes : RunOutcomes {
  explicit SegmentationOutcomes(SegmentationConfusion c) : confusion(std::move(c)) {}
  SegmentationConfusion confusion;
};

class SegmentationScorer : public TaskScorer {
 public:
  explicit SegmentationScorer(const SegmentationSource& test) : test_(test) {}
  std::string task() const override { return "segmentation"; }
  std::vector<std::string> metrics() const override { return {"mean_iou", "pixel_accuracy"}; }
  const DataSource& test_data() const override { return test_; }

  ScoredRun score(Network& model, const EvalProtocol& eval,
                  const std::optional<StreamingProtocol>& streaming) const override {
    SegmentationEvalResult r = evaluate_segmentation(model, test_, {scoring_pass(eval, streaming)});
    const SegmentationScores& s = r.estimate.scores;
    ScoredRun run;
    run.scores = {{"mean_iou", 100 * s.mean_iou}, {"pixel_accuracy", 100 * s.pixel_accuracy}};
    run.images = s.images;
    run.json = r.to_json();
    run.outcomes = std::make_shared<SegmentationOutcomes>(std::move(r.confusion));
    return run;
  }

  std::vector<ScoreDifference> compare(const ScoredRun& a, const ScoredRun& b) const override {
    const auto* oa = dynamic_cast<const SegmentationOutcomes*>(a.outcomes.get());
    const auto* ob = dynamic_cast<const SegmentationOutcomes*>(b.outcomes.get());
    if (!oa || !ob) throw std::invalid_argument("segmentation scorer: a run that is not a segmentation run");
    const PairedSegmentation p = compare_segmentation(oa->confusion, ob->confusion);
    return {{"mean_iou", 100 * p.mean_iou_difference, 100 * p.mean_iou_stderr},
            {"pixel_accuracy", 100 * p.pixel_accuracy_difference, 100 * p.pixel_accuracy_stderr}};
  }

 private:
  const SegmentationSource& test_;
};

}  // namespace

std::unique_ptr<TaskScorer> segmentation_scorer(const SegmentationSource& test) {
  return std::make_unique<SegmentationScorer>(test);
}

std::unique_ptr<TaskScorer> dense_task_scorer(const DataSource& test) {
  if (const auto* segmentation = dynamic_cast<const SegmentationSource*>(&test)) {
    return segmentation_scorer(*segmentation);
  }
  if (const auto* detection = dynamic_cast<const DetectionSource*>(&test)) return detection_scorer(*detection);
  return nullptr;
}

}  // namespace bnrecal
