// The remaining time of a study set from the seconds its finished steps took.
//
//   bnrecal::StudyEta eta;
//   eta.add(step, seconds);            // every finished step: from the journal, then as they finish
//   double left = eta.seconds(pending); // -1 while nothing is known
//
// Step costs are estimates (image passes times an arithmetic factor times the model's fp32
// forward time); how far off they are depends mostly on the kind of experiment: an activation
// divergence step's histograms or an nbsmt step's integer layers cost more than the passes say,
// differently per kind. So each experiment gets its own seconds-per-cost rate, learned from its
// finished steps, and a kind not seen yet takes the rate over all finished steps. Steps recorded in
// the journal by earlier runs count too, so a resumed run has an ETA from its first step on.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "bnrecal/study/study_set.h"

namespace bnrecal {

class StudyEta {
 public:
  explicit StudyEta(const StudySet& set) : set_(set) {}
  void add(const StudyStep& step, double seconds);
  // Estimated seconds for these steps; -1 when no step has finished yet.
  double seconds(const std::vector<const StudyStep*>& pending) const;

 private:
  struct Rate {
    double seconds = 0, cost = 0;
  };
  const StudySet& set_;
  std::map<std::string, Rate> by_experiment_;
  Rate all_;
};

}  // namespace bnrecal
