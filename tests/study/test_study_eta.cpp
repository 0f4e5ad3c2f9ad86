// StudyEta: per-experiment rates from finished steps, the overall rate for kinds not seen yet.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "bnrecal/study/study_eta.h"

namespace bnrecal {
namespace {

StudySet two_kinds() {
  StudySet set;
  set.jobs.resize(2);
  set.jobs[0].experiment = "nbsmt";
  set.jobs[1].experiment = "noise";
  for (size_t job : {0, 0, 1, 1}) {
    StudyStep s;
    s.job = job;
    s.cost = job == 0 ? 10 : 2;
    set.steps.push_back(s);
  }
  return set;
}

TEST(StudyEta, EachExperimentHasItsOwnRateAndUnseenKindsTheOverallOne) {
  const StudySet set = two_kinds();
  StudyEta eta(set);
  EXPECT_EQ(eta.seconds({&set.steps[1]}), -1);  // nothing finished yet
  eta.add(set.steps[0], 100);                    // nbsmt: 10 s per unit of cost
  EXPECT_DOUBLE_EQ(eta.seconds({&set.steps[1]}), 100);
  EXPECT_DOUBLE_EQ(eta.seconds({&set.steps[2]}), 20);  // noise unseen: the overall 10 s per unit
  eta.add(set.steps[2], 1);                            // noise: 0.5 s per unit
  EXPECT_DOUBLE_EQ(eta.seconds({&set.steps[1], &set.steps[3]}), 100 + 1);
  EXPECT_DOUBLE_EQ(eta.seconds({}), 0);
  // Records without a usable time change nothing.
  eta.add(set.steps[1], -1);
  eta.add(set.steps[1], std::numeric_limits<double>::quiet_NaN());
  EXPECT_DOUBLE_EQ(eta.seconds({&set.steps[1]}), 100);
}

}  // namespace
}  // namespace bnrecal
