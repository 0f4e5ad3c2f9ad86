#include "bnrecal/study/study_eta.h"

namespace bnrecal {

void StudyEta::add(const StudyStep& step, double seconds) {
  if (!(seconds >= 0) || !(step.cost > 0)) return;  // a record without timing teaches nothing
  Rate& r = by_experiment_[set_.jobs[step.job].experiment];
  r.seconds += seconds;
  r.cost += step.cost;
  all_.seconds += seconds;
  all_.cost += step.cost;
}

double StudyEta::seconds(const std::vector<const StudyStep*>& pending) const {
  if (all_.cost <= 0) return -1;
  double total = 0;
  for (const StudyStep* step : pending) {
    const auto it = by_experiment_.find(set_.jobs[step->job].experiment);
    const Rate& r = it != by_experiment_.end() ? it->second : all_;
    total += step->cost * r.seconds / r.cost;
  }
  return total;
}

}  // namespace bnrecal
