#include "bnrecal/eval/task_scorer.h"

#include <stdexcept>
#include <utility>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/detection_eval.h"

namespace bnrecal {

namespace {

// What a paired comparison needs of a run: its images and its detections (the ground truths come
// from the source, the same for both runs).
struct DetectionOutcomes : RunOutcomes {
  DetectionOutcomes(std::vector<int64_t> ids, std::vector<Detection> found)
      : image_ids(std::move(ids)), detections(std::move(found)) {}
  std::vector<int64_t> image_ids;
  std::vector<Detection> detections;
};

class DetectionScorer : public TaskScorer {
 public:
  DetectionScorer(const DetectionSource& test, const DecodeOptions& decode) : test_(test), decode_(decode) {}
  std::string task() const override { return "detection"; }
  std::vector<std::string> metrics() const override { return {"ap50", "ar50", "ap"}; }
  const DataSource& test_data() const override { return test_; }

  ScoredRun score(Network& model, const EvalProtocol& eval,
                  const std::optional<StreamingProtocol>& streaming) const override {
    DetectionEvalOptions o{scoring_pass(eval, streaming)};
    o.decode = decode_;
    DetectionEvalResult r = evaluate_detector(model, test_, o);
    const DetectionMetrics& m = r.estimate.metrics;
    require(m.ap50 >= 0, "detection scoring: the " + std::to_string(r.image_ids.size()) + " evaluated images of '" +
                             test_.name() + "' hold no ground-truth object, so there is nothing to score");
    ScoredRun run;
    run.scores = {{"ap50", 100 * m.ap50}, {"ar50", 100 * m.ar50}, {"ap", 100 * m.ap}};
    run.images = static_cast<int64_t>(r.image_ids.size());
    run.json = r.to_json();
    run.outcomes = std::make_shared<DetectionOutcomes>(std::move(r.image_ids), std::move(r.detections));
    return run;
  }

  std::vector<ScoreDifference> compare(const ScoredRun& a, const ScoredRun& b) const override {
    const auto* oa = dynamic_cast<const DetectionOutcomes*>(a.outcomes.get());
    const auto* ob = dynamic_cast<const DetectionOutcomes*>(b.outcomes.get());
    if (!oa || !ob) throw std::invalid_argument("detection scorer: a run that is not a detection run");
    if (oa->image_ids != ob->image_ids)
      throw std::invalid_argument("detection scorer: the two runs were not evaluated on the same images");
    const PairedDetection p = compare_detections(oa->image_ids, ground_truths_on(test_.ground_truths(), oa->image_ids),
                                                 oa->detections, ob->detections);
    return {{"ap50", 100 * p.ap50_difference, 100 * p.ap50_stderr},
            {"ar50", 100 * p.ar50_difference, 100 * p.ar50_stderr},
            {"ap", 100 * p.ap_difference, 100 * p.ap_stderr}};
  }

 private:
  const DetectionSource& test_;
  DecodeOptions decode_;
};

}  // namespace

std::unique_ptr<TaskScorer> detection_scorer(const DetectionSource& test, const DecodeOptions& decode) {
  return std::make_unique<DetectionScorer>(test, decode);
}

}  // namespace bnrecal
