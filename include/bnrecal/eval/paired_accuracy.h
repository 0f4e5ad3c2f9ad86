// Paired comparison of two classifiers (or one model under two arithmetics) on the same test
// images. Two accuracies measured on the same images share most of their sampling noise, so their
// difference is judged by the images on which they disagree, not by two independent error bars:
//
//   n      images, only_a / only_b  images only A / only B classifies correctly (discordant)
//   d      = (only_b - only_a) / n                          top-1(B) - top-1(A)
//   SE(d)  = sqrt((only_a + only_b) / n - d^2) / sqrt(n)    (the paired-proportions standard error)
//   p      exact two-sided McNemar test: 2 P(X <= min(only_a, only_b)), X ~ Bin(only_a + only_b, 1/2)
//
//   bnrecal::PairedAccuracy gain = bnrecal::compare_paired(plain.correct, recalibrated.correct);
//   gain.difference;  gain.standard_error;  gain.significant();   // percent, percent, p < 0.05
//
// RepeatedGain summarizes several B's against one A (e.g. recalibration on several independent
// draws of training images, each compared with the same plain model); PooledDifference pools many
// pairs into one estimate.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/eval/metrics.h"

namespace bnrecal {

struct PairedAccuracy {
  int64_t n = 0, only_a = 0, only_b = 0;
  double difference = 0;      // percent, B - A
  double standard_error = 0;  // percent
  double p_value = 1;
  bool significant() const { return p_value < 0.05; }
  nlohmann::json to_json() const;
};

// a and b: per-image top-1 outcomes (1 = right) of the same images in the same order. Throws
// std::invalid_argument when their lengths differ.
PairedAccuracy compare_paired(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

// Exact two-sided McNemar p-value for the discordant counts (1 when both are 0).
double mcnemar_exact_p(int64_t only_a, int64_t only_b);

struct RepeatedGain {
  std::vector<PairedAccuracy> draws;  // each B against A
  SeedStat difference;                // the paired differences over draws
  double standard_error = 0;          // root mean square of the draws' paired standard errors
  int64_t significant_draws = 0;      // draws whose McNemar test rejects at 95 %
  nlohmann::json to_json() const;
};
RepeatedGain repeated_gain(std::vector<PairedAccuracy> draws);

// Many (A, B) pairs on the same images, e.g. every seed and recalibration draw of a study, as one
// estimate: each image's B - A averaged over the pairs, then the mean and its standard error over
// the images. The images are the unit, so pairs that share them do not count as independent
// evidence. With one pair it is compare_paired's difference and standard error; p is the normal
// approximation (two-sided).
class PooledDifference {
 public:
  // Throws std::invalid_argument when a or b differs in length from the pairs before.
  void add(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);
  int64_t pairs() const { return pairs_; }
  int64_t images() const { return static_cast<int64_t>(sum_.size()); }
  double difference() const;      // percent, B - A
  double standard_error() const;  // percent
  double p_value() const;
  nlohmann::json to_json() const;

 private:
  std::vector<int64_t> sum_;  // per image: sum over pairs of b - a
  int64_t pairs_ = 0;
};

// "+0.56 +- 0.18 *" (the star: significant at 95 %); for repeated draws "+0.56 +- 0.18 (3/3 *)".
std::string paired_text(const PairedAccuracy& d);
std::string paired_text(const RepeatedGain& g);
// "-0.03 +- 0.05 (9 pairs)", a star when p < 0.05.
std::string paired_text(const PooledDifference& g);

}  // namespace bnrecal
