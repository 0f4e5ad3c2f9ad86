#include "bnrecal/eval/segmentation_metrics.h"

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "bnrecal/core/error.h"

namespace bnrecal {
namespace {

using ClassCounts = SegmentationConfusion::ClassCounts;

// The scores of the images listed (repeats allowed, as in a bootstrap resample).
SegmentationScores scores_of(const SegmentationConfusion& c, const std::vector<int64_t>& images) {
  std::vector<ClassCounts> total(static_cast<size_t>(c.num_classes()), ClassCounts{0, 0, 0, 0});
  for (const int64_t i : images) {
    for (size_t e = c.image_start()[i]; e < c.image_start()[i + 1]; ++e) {
      const ClassCounts& counts = c.counts()[e];
      ClassCounts& t = total[counts.label];
      t.true_positive += counts.true_positive;
      t.predicted += counts.predicted;
      t.labelled += counts.labelled;
    }
  }
  SegmentationScores s;
  s.images = static_cast<int64_t>(images.size());
  s.class_iou.assign(total.size(), std::numeric_limits<double>::quiet_NaN());
  int64_t correct = 0, labelled_classes = 0;
  double iou_sum = 0, accuracy_sum = 0;
  for (size_t label = 0; label < total.size(); ++label) {
    const ClassCounts& t = total[label];
    correct += t.true_positive;
    s.pixels += t.labelled;
    const int64_t united = t.predicted + t.labelled - t.true_positive;  // TP + FP + FN
    if (united > 0) {
      s.class_iou[label] = static_cast<double>(t.true_positive) / static_cast<double>(united);
      iou_sum += s.class_iou[label];
      ++s.present_classes;
    }
    if (t.labelled > 0) {
      accuracy_sum += static_cast<double>(t.true_positive) / static_cast<double>(t.labelled);
      ++labelled_classes;
    }
  }
  if (s.pixels > 0) s.pixel_accuracy = static_cast<double>(correct) / static_cast<double>(s.pixels);
  if (s.present_classes > 0) s.mean_iou = iou_sum / static_cast<double>(s.present_classes);
  if (labelled_classes > 0) s.mean_class_accuracy = accuracy_sum / static_cast<double>(labelled_classes);
  return s;
}

std::vector<int64_t> all_images(const SegmentationConfusion& c) {
  std::vector<int64_t> images(static_cast<size_t>(c.images()));
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<int64_t>(i);
  return images;
}

// out[k][r]: the scores of confusions[k] on resample r; every confusion sees the same images drawn.
std::vector<std::vector<SegmentationScores>> resampled_scores(
    const std::vector<const SegmentationConfusion*>& confusions, int resamples, uint64_t seed) {
  if (resamples < 2) {
    throw std::invalid_argument("a bootstrap needs at least 2 resamples, not " + std::to_string(resamples));
  }
  const uint64_t n = static_cast<uint64_t>(confusions.front()->images());
  std::mt19937_64 rng(seed);  // mt19937_64's sequence is fixed by the standard, unlike the distributions'
  std::vector<int64_t> drawn(n);
  std::vector<std::vector<SegmentationScores>> out(confusions.size());
  for (int r = 0; r < resamples; ++r) {
    for (int64_t& i : drawn) i = static_cast<int64_t>(rng() % n);  // modulo bias below n / 2^64
    for (size_t k = 0; k < confusions.size(); ++k) out[k].push_back(scores_of(*confusions[k], drawn));
  }
  return out;
}

// The sample standard deviation over resamples of f(r).
template <class F>
double stddev(int resamples, F&& f) {
  double mean = 0, squares = 0;
  for (int r = 0; r < resamples; ++r) mean += f(r);
  mean /= resamples;
  for (int r = 0; r < resamples; ++r) squares += (f(r) - mean) * (f(r) - mean);
  return std::sqrt(squares / (resamples - 1));
}

// The ground-truth class counts of image i: (label, labelled) where labelled > 0.
std::vector<std::pair<int32_t, int64_t>> ground_truth_of(const SegmentationConfusion& c, int64_t i) {
  std::vector<std::pair<int32_t, int64_t>> out;
  for (size_t e = c.image_start()[i]; e < c.image_start()[i + 1]; ++e) {
    if (c.counts()[e].labelled > 0) out.emplace_back(c.counts()[e].label, c.counts()[e].labelled);
  }
  return out;
}

}  // namespace

nlohmann::json SegmentationScores::to_json() const {
  nlohmann::json iou = nlohmann::json::array();
  for (const double v : class_iou) iou.push_back(std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v));
  return {{"images", images},
          {"pixels", pixels},
          {"present_classes", present_classes},
          {"pixel_accuracy", pixel_accuracy},
          {"mean_iou", mean_iou},
          {"mean_class_accuracy", mean_class_accuracy},
          {"class_iou", iou}};
}

SegmentationConfusion::SegmentationConfusion(int num_classes, int64_t ignore_label)
    : num_classes_(num_classes), ignore_label_(ignore_label) {
  if (num_classes < 1) throw std::invalid_argument("segmentation needs at least one class");
  matrix_.assign(static_cast<size_t>(num_classes) * num_classes, 0);
}

template <class T>
void SegmentationConfusion::add_image(const std::vector<T>& prediction, const std::vector<T>& target) {
  if (prediction.size() != target.size()) {
    throw std::invalid_argument("segmentation of " + std::to_string(prediction.size()) + " predicted and " +
                                std::to_string(target.size()) + " labelled pixels: one label per pixel each");
  }
  const int64_t k = num_classes_;
  // The image's own matrix first, so that a bad label leaves the accumulator as it was.
  std::vector<int64_t> image(matrix_.size(), 0);
  for (size_t i = 0; i < target.size(); ++i) {
    const int64_t t = target[i], p = prediction[i];
    if (t == ignore_label_) continue;
    if (t < 0 || t >= k || p < 0 || p >= k) {
      const bool bad_target = t < 0 || t >= k;
      throw InputError(std::string(bad_target ? "ground-truth" : "predicted") + " label " +
                       std::to_string(bad_target ? t : p) + " at pixel " + std::to_string(i) +
                       " is not a class (0.." + std::to_string(k - 1) + ")" +
                       (bad_target ? " nor the ignore label " + std::to_string(ignore_label_) : ""));
    }
    ++image[t * k + p];
  }
  for (int64_t label = 0; label < k; ++label) {
    ClassCounts c{static_cast<int32_t>(label), image[label * k + label], 0, 0};
    for (int64_t other = 0; other < k; ++other) {
      c.labelled += image[label * k + other];
      c.predicted += image[other * k + label];
    }
    if (c.labelled > 0 || c.predicted > 0) counts_.push_back(c);
  }
  for (size_t i = 0; i < matrix_.size(); ++i) matrix_[i] += image[i];
  image_start_.push_back(counts_.size());
}

void SegmentationConfusion::add(const std::vector<uint8_t>& prediction, const std::vector<uint8_t>& target) {
  add_image(prediction, target);
}

void SegmentationConfusion::add(const std::vector<int64_t>& prediction, const std::vector<int64_t>& target) {
  add_image(prediction, target);
}

SegmentationScores SegmentationConfusion::scores() const { return scores_of(*this, all_images(*this)); }

nlohmann::json SegmentationEstimate::to_json() const {
  return {{"scores", scores.to_json()},
          {"mean_iou_stderr", mean_iou_stderr},
          {"pixel_accuracy_stderr", pixel_accuracy_stderr},
          {"resamples", resamples},
          {"seed", seed}};
}

SegmentationEstimate bootstrap_segmentation(const SegmentationConfusion& c, int resamples, uint64_t seed) {
  const auto draws = resampled_scores({&c}, resamples, seed);
  const std::vector<SegmentationScores>& d = draws[0];
  SegmentationEstimate e;
  e.scores = c.scores();
  e.mean_iou_stderr = stddev(resamples, [&](int r) { return d[r].mean_iou; });
  e.pixel_accuracy_stderr = stddev(resamples, [&](int r) { return d[r].pixel_accuracy; });
  e.resamples = resamples;
  e.seed = seed;
  return e;
}

nlohmann::json PairedSegmentation::to_json() const {
  return {{"a", a.to_json()},
          {"b", b.to_json()},
          {"mean_iou_difference", mean_iou_difference},
          {"mean_iou_stderr", mean_iou_stderr},
          {"pixel_accuracy_difference", pixel_accuracy_difference},
          {"pixel_accuracy_stderr", pixel_accuracy_stderr},
          {"resamples", resamples},
          {"seed", seed}};
}

PairedSegmentation compare_segmentation(const SegmentationConfusion& a, const SegmentationConfusion& b,
                                        int resamples, uint64_t seed) {
  bool same = a.num_classes() == b.num_classes() && a.images() == b.images();
  for (int64_t i = 0; same && i < a.images(); ++i) same = ground_truth_of(a, i) == ground_truth_of(b, i);
  if (!same) {
    throw std::invalid_argument("paired segmentation comparison of different ground truths (" +
                                std::to_string(a.images()) + " and " + std::to_string(b.images()) +
                                " images): both must be evaluated on the same images in the same order");
  }
  const auto draws = resampled_scores({&a, &b}, resamples, seed);
  const std::vector<SegmentationScores>& da = draws[0];
  const std::vector<SegmentationScores>& db = draws[1];
  PairedSegmentation p;
  p.a = a.scores();
  p.b = b.scores();
  p.mean_iou_difference = p.b.mean_iou - p.a.mean_iou;
  p.pixel_accuracy_difference = p.b.pixel_accuracy - p.a.pixel_accuracy;
  p.mean_iou_stderr = stddev(resamples, [&](int r) { return db[r].mean_iou - da[r].mean_iou; });
  p.pixel_accuracy_stderr =
      stddev(resamples, [&](int r) { return db[r].pixel_accuracy - da[r].pixel_accuracy; });
  p.resamples = resamples;
  p.seed = seed;
  return p;
}

}  // namespace bnrecal
