#include "bnrecal/eval/metrics.h"

#include <cmath>

namespace bnrecal {

double binomial_stderr_percent(double percent, int64_t n) {
  if (n <= 0) return 0.0;
  const double p = percent / 100.0;
  return 100.0 * std::sqrt(p * (1.0 - p) / static_cast<double>(n));
}

BatchOutcome score_batch(const at::Tensor& logits, const at::Tensor& labels) {
  TORCH_CHECK(logits.dim() == 2 && labels.dim() == 1 && logits.size(0) == labels.size(0),
              "logits [B, classes] and labels [B] expected");
  const at::Tensor target = labels.to(at::kLong).unsqueeze(1);
  const int64_t k = std::min<int64_t>(5, logits.size(1));
  const at::Tensor topk = std::get<1>(logits.topk(k, /*dim=*/1));
  const at::Tensor hits = topk.eq(target);
  const at::Tensor top1_hits = hits.select(1, 0).to(at::kByte).contiguous();
  const uint8_t* h = top1_hits.data_ptr<uint8_t>();
  BatchOutcome out;
  out.hits.assign(h, h + top1_hits.numel());
  out.correct1 = hits.narrow(1, 0, 1).sum().item<int64_t>();
  out.correct5 = hits.any(1).sum().item<int64_t>();
  out.loss_sum = at::cross_entropy_loss(logits.to(at::kFloat), labels.to(at::kLong), {}, at::Reduction::Sum)
                     .item<double>();
  return out;
}

nlohmann::json BatchOutcome::to_json() const {
  return {{"correct1", correct1}, {"correct5", correct5}, {"loss_sum", loss_sum}, {"hits", hits}};
}

BatchOutcome BatchOutcome::from_json(const nlohmann::json& j) {
  BatchOutcome out;
  out.correct1 = j.at("correct1").get<int64_t>();
  out.correct5 = j.at("correct5").get<int64_t>();
  out.loss_sum = j.at("loss_sum").get<double>();
  out.hits = j.at("hits").get<std::vector<uint8_t>>();
  return out;
}

void AccuracyCounter::add(const BatchOutcome& batch) {
  hits_.insert(hits_.end(), batch.hits.begin(), batch.hits.end());
  correct1_ += batch.correct1;
  correct5_ += batch.correct5;
  loss_sum_ += batch.loss_sum;
  n_ += static_cast<int64_t>(batch.hits.size());
}

double AccuracyCounter::top1() const { return n_ ? 100.0 * correct1_ / n_ : 0.0; }
double AccuracyCounter::top5() const { return n_ ? 100.0 * correct5_ / n_ : 0.0; }
double AccuracyCounter::top1_stderr() const { return binomial_stderr_percent(top1(), n_); }
double AccuracyCounter::top5_stderr() const { return binomial_stderr_percent(top5(), n_); }
double AccuracyCounter::mean_loss() const { return n_ ? loss_sum_ / n_ : 0.0; }

SeedStat seed_stat(const std::vector<double>& values) {
  SeedStat s;
  s.values = values;
  if (values.empty()) return s;
  for (double v : values) s.mean += v;
  s.mean /= static_cast<double>(values.size());
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / static_cast<double>(values.size() - 1));
  }
  return s;
}

nlohmann::json SeedStat::to_json() const { return {{"mean", mean}, {"std", std}, {"values", values}}; }

}  // namespace bnrecal
