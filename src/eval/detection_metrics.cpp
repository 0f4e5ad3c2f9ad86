#include "bnrecal/eval/detection_metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <random>
#include <stdexcept>
#include <string>

namespace bnrecal {

namespace {

constexpr int kThresholds = 10;
// numpy.linspace(.5, .95, 10) as pycocotools builds it, written out: the 9th is not 0.9.
constexpr std::array<double, kThresholds> kIouThresholds = {
    0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.8999999999999999, 0.95};
constexpr int kThreshold50 = 0, kThreshold75 = 5;
constexpr int kRecallPoints = 101;
constexpr size_t kMaxDetections = 100;  // per image and category
constexpr double kAreaMax = 1e10;       // COCO's 'all' range is [0, 1e5^2]

enum Outcome : int8_t { kFalsePositive, kTruePositive, kIgnored };

// One detection after matching in its image, in its category's ranking over all images.
struct Ranked {
  double score;
  size_t image;  // index into the sorted image ids
  std::array<int8_t, kThresholds> outcome;
};

// A category's matching results. Matching never looks across images, so the bootstrap reuses them
// and only redoes the ranking's precision / recall with each image counted as often as it is drawn.
struct CategoryEval {
  int64_t category_id = 0;
  std::vector<std::pair<size_t, int64_t>> positives;  // (image, its non-ignored ground truths)
  std::vector<Ranked> ranked;                         // by score, ties in image order then in the image's
};

// pycocotools' bbIou, in its order of operations, so that an IoU on a threshold compares the same.
double iou(const Box& d, const Box& g, bool crowd) {
  const double w = std::min(d.w + d.x, g.w + g.x) - std::max(d.x, g.x);
  if (w <= 0) return 0;
  const double h = std::min(d.h + d.y, g.h + g.y) - std::max(d.y, g.y);
  if (h <= 0) return 0;
  const double inter = w * h, detection_area = d.w * d.h;
  return inter / (crowd ? detection_area : detection_area + g.w * g.h - inter);
}

bool by_score(const Detection* a, const Detection* b) { return a->score > b->score; }

// Matches one image's ground truths and detections of one category at every threshold; appends the
// kept detections to `out` in rank order. Returns the number of non-ignored ground truths.
int64_t match_image(std::vector<const GroundTruth*> gts, std::vector<const Detection*> dts, size_t image,
                    std::vector<Ranked>& out) {
  auto ignored = [](const GroundTruth* g) { return g->iscrowd || g->area < 0 || g->area > kAreaMax; };
  // Ignored ground truths last: the scan below stops at them once it holds an ordinary match.
  std::stable_sort(gts.begin(), gts.end(), [&](auto* a, auto* b) { return !ignored(a) && ignored(b); });
  std::stable_sort(dts.begin(), dts.end(), by_score);
  if (dts.size() > kMaxDetections) dts.resize(kMaxDetections);
  const size_t G = gts.size();
  std::vector<double> ious(dts.size() * G);
  for (size_t d = 0; d < dts.size(); ++d) {
    for (size_t g = 0; g < G; ++g) ious[d * G + g] = iou(dts[d]->box, gts[g]->box, gts[g]->iscrowd);
  }
  const size_t first = out.size();
  for (const Detection* d : dts) out.push_back({d->score, image, {}});
  for (int t = 0; t < kThresholds; ++t) {
    std::vector<bool> taken(G, false);
    for (size_t d = 0; d < dts.size(); ++d) {
      double best = std::min(kIouThresholds[t], 1 - 1e-10);
      int64_t m = -1;
      for (size_t g = 0; g < G; ++g) {
        if (taken[g] && !gts[g]->iscrowd) continue;
        if (m >= 0 && !ignored(gts[m]) && ignored(gts[g])) break;
        // >=, and a later ground truth with the same IoU wins: both as in pycocotools.
        if (ious[d * G + g] < best) continue;
        best = ious[d * G + g];
        m = static_cast<int64_t>(g);
      }
      const double area = dts[d]->box.w * dts[d]->box.h;
      int8_t& outcome = out[first + d].outcome[t];
      if (m < 0) {
        outcome = area < 0 || area > kAreaMax ? kIgnored : kFalsePositive;
      } else {
        taken[m] = true;
        outcome = ignored(gts[m]) ? kIgnored : kTruePositive;
      }
    }
  }
  return std::count_if(gts.begin(), gts.end(), [&](auto* g) { return !ignored(g); });
}

// image_ids: sorted, unique. Categories are those of any ground truth or detection, by id.
std::vector<CategoryEval> match_all(const std::vector<int64_t>& image_ids,
                                    const std::vector<GroundTruth>& gts, const std::vector<Detection>& dts) {
  auto image_index = [&](int64_t id) {
    const auto it = std::lower_bound(image_ids.begin(), image_ids.end(), id);
    if (it == image_ids.end() || *it != id) {
      throw std::invalid_argument("detection evaluation: image " + std::to_string(id) +
                                  " is not among the images");
    }
    return static_cast<size_t>(it - image_ids.begin());
  };
  using Group = std::pair<std::vector<const GroundTruth*>, std::vector<const Detection*>>;
  std::map<int64_t, std::map<size_t, Group>> groups;  // category -> image -> its annotations, in input order
  for (const GroundTruth& g : gts) groups[g.category_id][image_index(g.image_id)].first.push_back(&g);
  for (const Detection& d : dts) {
    if (!std::isfinite(d.score)) {
      throw std::invalid_argument("detection evaluation: a score of category " +
                                  std::to_string(d.category_id) + " on image " + std::to_string(d.image_id) +
                                  " is not finite");
    }
    groups[d.category_id][image_index(d.image_id)].second.push_back(&d);
  }
  std::vector<CategoryEval> categories;
  for (const auto& [category_id, images] : groups) {
    CategoryEval c;
    c.category_id = category_id;
    for (const auto& [image, group] : images) {
      const int64_t positives = match_image(group.first, group.second, image, c.ranked);
      if (positives > 0) c.positives.emplace_back(image, positives);
    }
    // Stable over the detections in image order: pycocotools' mergesort over the images' concatenation.
    std::stable_sort(c.ranked.begin(), c.ranked.end(),
                     [](const Ranked& a, const Ranked& b) { return a.score > b.score; });
    categories.push_back(std::move(c));
  }
  return categories;
}

struct CategoryScores {
  int64_t positives = 0;  // 0: no non-ignored ground truth, no scores
  std::array<double, kThresholds> ap{}, recall{};
};

// The precision / recall curve of one category with image i counted draws[i] times (once each
// without draws).
CategoryScores accumulate(const CategoryEval& c, const std::vector<int64_t>* draws) {
  auto times = [&](size_t image) { return draws ? (*draws)[image] : int64_t{1}; };
  CategoryScores s;
  for (const auto& [image, n] : c.positives) s.positives += times(image) * n;
  if (s.positives == 0) return s;
  const double positives = static_cast<double>(s.positives);
  std::vector<double> precision, recall;
  for (int t = 0; t < kThresholds; ++t) {
    precision.clear();
    recall.clear();
    double tp = 0, fp = 0;
    // A block: an image's detections with one score. k copies of the image rank its block k times
    // in a row (equal scores go in image order), not each detection k times.
    for (size_t begin = 0, end = 0; begin < c.ranked.size(); begin = end) {
      const Ranked& head = c.ranked[begin];
      auto same_block = [&](const Ranked& d) { return d.image == head.image && d.score == head.score; };
      while (end < c.ranked.size() && same_block(c.ranked[end])) ++end;
      for (int64_t k = times(head.image); k > 0; --k) {
        for (size_t i = begin; i < end; ++i) {
          // An ignored detection adds a point that repeats the previous one, as in pycocotools.
          tp += c.ranked[i].outcome[t] == kTruePositive;
          fp += c.ranked[i].outcome[t] == kFalsePositive;
          recall.push_back(tp / positives);
          // numpy.spacing(1) keeps 0 / 0 away, as in pycocotools.
          precision.push_back(tp / (tp + fp + std::numeric_limits<double>::epsilon()));
        }
      }
    }
    s.recall[t] = recall.empty() ? 0 : recall.back();
    for (size_t i = precision.size(); i-- > 1;) precision[i - 1] = std::max(precision[i - 1], precision[i]);
    double sum = 0;
    for (int r = 0; r < kRecallPoints; ++r) {
      // numpy.linspace(0, 1, 101): r * 0.01, which is not r / 100 for 10 of the points (0.35 is
      // 0.35000000000000003), and exactly 1 at the end.
      const double point = r + 1 == kRecallPoints ? 1.0 : r * 0.01;
      const size_t i = std::lower_bound(recall.begin(), recall.end(), point) - recall.begin();
      if (i == recall.size()) break;  // this recall and the higher ones are never reached: precision 0
      sum += precision[i];
    }
    s.ap[t] = sum / kRecallPoints;
  }
  return s;
}

double mean(const std::array<double, kThresholds>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return sum / kThresholds;
}

DetectionMetrics summarize(const std::vector<CategoryEval>& categories, const std::vector<int64_t>* draws,
                           bool per_category) {
  DetectionMetrics m;
  double ap = 0, ap50 = 0, ap75 = 0, ar100 = 0, ar50 = 0;
  int64_t n = 0;
  for (const CategoryEval& c : categories) {
    const CategoryScores s = accumulate(c, draws);
    if (s.positives == 0) continue;
    ++n;
    ap += mean(s.ap);
    ap50 += s.ap[kThreshold50];
    ap75 += s.ap[kThreshold75];
    ar100 += mean(s.recall);
    ar50 += s.recall[kThreshold50];
    if (per_category) m.per_category.push_back({c.category_id, s.positives, mean(s.ap), s.ap[kThreshold50]});
  }
  if (n == 0) return m;
  const double k = static_cast<double>(n);
  m.ap = ap / k;
  m.ap50 = ap50 / k;
  m.ap75 = ap75 / k;
  m.ar100 = ar100 / k;
  m.ar50 = ar50 / k;
  return m;
}

std::vector<int64_t> sorted(std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  return ids;
}

// The bootstrap's image list: sorted, each once.
std::vector<int64_t> bootstrap_images(const std::vector<int64_t>& image_ids, int resamples) {
  if (resamples < 2) throw std::invalid_argument("detection bootstrap: resamples must be at least 2");
  std::vector<int64_t> images = sorted(image_ids);
  if (std::adjacent_find(images.begin(), images.end()) != images.end()) {
    throw std::invalid_argument("detection bootstrap: an image id is given twice");
  }
  return images;
}

struct Spread {
  std::array<double, 3> stderrs{};  // of (ap, ap50, ar50)
  int64_t resamples = 0;
};

// The standard deviations of (ap, ap50, ar50) of b, or of b - a, over the resamples of n images.
Spread spread(const std::vector<CategoryEval>* a, const std::vector<CategoryEval>& b, size_t n, int resamples,
              uint64_t seed) {
  std::vector<std::array<double, 3>> replicates;
  std::mt19937_64 rng(seed);
  std::vector<int64_t> draws(n);
  for (int r = 0; r < resamples; ++r) {
    std::fill(draws.begin(), draws.end(), 0);
    // The modulo's bias (n / 2^64) is nothing, and unlike std::uniform_int_distribution it draws the
    // same images with every standard library.
    for (size_t i = 0; i < n; ++i) ++draws[rng() % n];
    const DetectionMetrics mb = summarize(b, &draws, false);
    if (mb.ap < 0) continue;  // no non-ignored ground truth drawn: no metric (a's has none either)
    replicates.push_back({mb.ap, mb.ap50, mb.ar50});
    if (!a) continue;
    const DetectionMetrics ma = summarize(*a, &draws, false);
    replicates.back() = {mb.ap - ma.ap, mb.ap50 - ma.ap50, mb.ar50 - ma.ar50};
  }
  Spread s;
  s.resamples = static_cast<int64_t>(replicates.size());
  if (replicates.size() < 2) return s;
  const double count = static_cast<double>(replicates.size());
  for (int k = 0; k < 3; ++k) {
    double sum = 0, squares = 0;
    for (const auto& v : replicates) sum += v[k];
    const double average = sum / count;
    for (const auto& v : replicates) squares += (v[k] - average) * (v[k] - average);
    s.stderrs[k] = std::sqrt(squares / (count - 1));
  }
  return s;
}

}  // namespace

std::vector<GroundTruth> ground_truths_of(const CocoInstances& instances) {
  std::vector<GroundTruth> gts;
  for (const CocoAnnotation& a : instances.annotations) {
    gts.push_back({a.image_id, a.category_id, a.bbox, a.iscrowd, a.area});
  }
  return gts;
}

std::vector<Detection> detections_of(const CocoResults& results) {
  std::vector<Detection> dts;
  for (const CocoResult& r : results.results) dts.push_back({r.image_id, r.category_id, r.bbox, r.score});
  return dts;
}

nlohmann::json DetectionMetrics::to_json() const {
  nlohmann::json categories = nlohmann::json::array();
  for (const CategoryAp& c : per_category) {
    categories.push_back(
        {{"category_id", c.category_id}, {"ground_truths", c.ground_truths}, {"ap", c.ap}, {"ap50", c.ap50}});
  }
  return {{"ap", ap},       {"ap50", ap50}, {"ap75", ap75},
          {"ar100", ar100}, {"ar50", ar50}, {"per_category", categories}};
}

DetectionMetrics evaluate_detections(const std::vector<GroundTruth>& ground_truths,
                                     const std::vector<Detection>& detections) {
  std::vector<int64_t> images;
  for (const GroundTruth& g : ground_truths) images.push_back(g.image_id);
  for (const Detection& d : detections) images.push_back(d.image_id);
  images = sorted(std::move(images));
  images.erase(std::unique(images.begin(), images.end()), images.end());
  return summarize(match_all(images, ground_truths, detections), nullptr, true);
}

nlohmann::json DetectionEstimate::to_json() const {
  return {{"metrics", metrics.to_json()}, {"ap_stderr", ap_stderr}, {"ap50_stderr", ap50_stderr},
          {"ar50_stderr", ar50_stderr},   {"resamples", resamples}, {"seed", seed}};
}

DetectionEstimate bootstrap_detections(const std::vector<int64_t>& image_ids,
                                       const std::vector<GroundTruth>& ground_truths,
                                       const std::vector<Detection>& detections, int resamples,
                                       uint64_t seed) {
  const std::vector<int64_t> images = bootstrap_images(image_ids, resamples);
  const std::vector<CategoryEval> eval = match_all(images, ground_truths, detections);
  DetectionEstimate e;
  e.metrics = summarize(eval, nullptr, true);
  const Spread s = spread(nullptr, eval, images.size(), resamples, seed);
  e.ap_stderr = s.stderrs[0];
  e.ap50_stderr = s.stderrs[1];
  e.ar50_stderr = s.stderrs[2];
  e.resamples = s.resamples;
  e.seed = seed;
  return e;
}

nlohmann::json PairedDetection::to_json() const {
  return {{"a", a.to_json()},
          {"b", b.to_json()},
          {"ap_difference", ap_difference},
          {"ap_stderr", ap_stderr},
          {"ap50_difference", ap50_difference},
          {"ap50_stderr", ap50_stderr},
          {"ar50_difference", ar50_difference},
          {"ar50_stderr", ar50_stderr},
          {"resamples", resamples},
          {"seed", seed}};
}

PairedDetection compare_detections(const std::vector<int64_t>& image_ids,
                                   const std::vector<GroundTruth>& ground_truths,
                                   const std::vector<Detection>& a, const std::vector<Detection>& b,
                                   int resamples, uint64_t seed) {
  const std::vector<int64_t> images = bootstrap_images(image_ids, resamples);
  const std::vector<CategoryEval> eval_a = match_all(images, ground_truths, a);
  const std::vector<CategoryEval> eval_b = match_all(images, ground_truths, b);
  PairedDetection d;
  d.a = summarize(eval_a, nullptr, true);
  d.b = summarize(eval_b, nullptr, true);
  // Without a non-ignored ground truth both are -1: no difference to speak of.
  if (d.b.ap >= 0) {
    d.ap_difference = d.b.ap - d.a.ap;
    d.ap50_difference = d.b.ap50 - d.a.ap50;
    d.ar50_difference = d.b.ar50 - d.a.ar50;
  }
  const Spread s = spread(&eval_a, eval_b, images.size(), resamples, seed);
  d.ap_stderr = s.stderrs[0];
  d.ap50_stderr = s.stderrs[1];
  d.ar50_stderr = s.stderrs[2];
  d.resamples = s.resamples;
  d.seed = seed;
  return d;
}

}  // namespace bnrecal
