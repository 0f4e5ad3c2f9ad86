// Classification accuracy with its binomial standard error, the per-image top-1 outcomes that
// paired comparisons need (paired_accuracy.h), and mean +- std over repeated runs.
//
//   bnrecal::AccuracyCounter acc;
//   acc.add(logits, labels);
//   acc.top1();  acc.top1_stderr();   // percent
//   acc.hits();                       // 1 where the image's top-1 is right, in the order added
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace bnrecal {

// sqrt(p (1 - p) / n), in the unit of p (percent in, percent out).
double binomial_stderr_percent(double percent, int64_t n);

// What one batch contributes to an AccuracyCounter. Separate from the counter so that processes
// evaluating different batches can exchange them and add them up in batch order, which gives the
// single-process sums bit for bit (the loss is a floating-point sum, so order matters).
struct BatchOutcome {
  int64_t correct1 = 0, correct5 = 0;
  double loss_sum = 0.0;
  std::vector<uint8_t> hits;  // per image: 1 where top-1 is right
  nlohmann::json to_json() const;
  static BatchOutcome from_json(const nlohmann::json& j);
};

// logits [B, classes], labels int64 [B]. Ties count in favour of the lower class index, as
// torch::topk does.
BatchOutcome score_batch(const at::Tensor& logits, const at::Tensor& labels);

class AccuracyCounter {
 public:
  void add(const at::Tensor& logits, const at::Tensor& labels) { add(score_batch(logits, labels)); }
  void add(const BatchOutcome& batch);
  int64_t count() const { return n_; }
  double top1() const;          // percent
  double top5() const;          // percent (equals 100 when there are at most 5 classes)
  double top1_stderr() const;   // percent
  double top5_stderr() const;
  double mean_loss() const;     // cross-entropy
  const std::vector<uint8_t>& hits() const { return hits_; }

 private:
  int64_t n_ = 0, correct1_ = 0, correct5_ = 0;
  double loss_sum_ = 0.0;
  std::vector<uint8_t> hits_;
};

// Mean and sample standard deviation of one quantity over repeated runs (seeds, draws).
struct SeedStat {
  double mean = 0, std = 0;  // std is 0 for one value
  std::vector<double> values;
  nlohmann::json to_json() const;
};
SeedStat seed_stat(const std::vector<double>& values);

}  // namespace bnrecal
