// Semantic-segmentation scores as PASCAL VOC defines them, from a confusion matrix over all
// pixels of a test set, with standard errors bootstrapped over images. Scores are fractions in
// [0, 1] (VOC quotes them in percent); pixels whose ground truth is the ignore label (VOC's 255,
// object boundaries and "difficult" regions) count nowhere, whatever was predicted there.
//
//   TP_c, FP_c, FN_c   pixels of class c predicted as c, predicted as c but labelled otherwise,
//                      labelled c but predicted otherwise (summed over all images, not per image)
//   IoU_c              = TP_c / (TP_c + FP_c + FN_c)
//   mIoU               = mean of IoU_c over the classes present: TP_c + FP_c + FN_c > 0
//   pixel accuracy     = sum_c TP_c / non-ignored pixels
//   mean class acc.    = mean of TP_c / (TP_c + FN_c) over the classes in the ground truth
//
// Which classes the mean covers: VOC's devkit averages over all classes and torchvision's
// reference (a plain mean with NaN for 0/0) does too, which coincide with ours on the full VOC
// test sets, where every class occurs. On a subset (a few images, a bootstrap resample) a class
// may be absent from ground truth and prediction alike: its IoU is 0/0, so averaging over all
// classes is undefined (torchvision) or needs a made-up value. We average over the classes
// present in the ground truth or the prediction (mmsegmentation's nanmean), so a class predicted
// where it does not occur still counts, with IoU 0, as it would in VOC's own score.
//
// Standard errors: the images are the sampled units (pixels of one image are far from
// independent), so the test set is resampled by image with replacement and the scores recomputed
// from the resample's summed counts. The paired version draws the same resamples for two
// predictions of the same images (e.g. plain vs recalibrated model), so the shared difficulty of
// the images cancels out of SE(B - A), as in paired_accuracy.h.
//
//   bnrecal::SegmentationConfusion plain(21), recal(21);   // VOC: 21 classes, 255 ignored
//   for (...) { plain.add(pred_a, mask);  recal.add(pred_b, mask); }   // one call per image
//   plain.scores().mean_iou;                                 // 0.652
//   bnrecal::PairedSegmentation gain = bnrecal::compare_segmentation(plain, recal);
//   gain.mean_iou_difference;  gain.mean_iou_stderr;         // B - A and its bootstrap SE
#pragma once
#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

namespace bnrecal {

struct SegmentationScores {
  int64_t images = 0, pixels = 0;  // pixels: not ignored
  int64_t present_classes = 0;     // the classes mIoU averages over
  double pixel_accuracy = 0, mean_iou = 0, mean_class_accuracy = 0;  // 0 when nothing was counted
  std::vector<double> class_iou;   // per class; NaN (null in JSON) for a class not present
  nlohmann::json to_json() const;
};

class SegmentationConfusion {
 public:
  explicit SegmentationConfusion(int num_classes, int64_t ignore_label = 255);

  // One image: predicted and ground-truth label per pixel, in the same order. Throws
  // std::invalid_argument when the lengths differ, InputError naming the value for a label
  // outside [0, num_classes) that is not the ignore label (in the ground truth; in the prediction
  // any label outside the classes is an error, since the prediction has no ignore label).
  void add(const std::vector<uint8_t>& prediction, const std::vector<uint8_t>& target);
  void add(const std::vector<int64_t>& prediction, const std::vector<int64_t>& target);

  int num_classes() const { return num_classes_; }
  int64_t images() const { return static_cast<int64_t>(image_start_.size()) - 1; }
  // matrix()[t * num_classes + p]: pixels labelled t and predicted p, over all images.
  const std::vector<int64_t>& matrix() const { return matrix_; }
  SegmentationScores scores() const;

  // Per image, the classes occurring in its ground truth or prediction (a VOC image has two or
  // three of them, so this is far smaller than a matrix per image): what the bootstrap resamples.
  struct ClassCounts {
    int32_t label;
    int64_t true_positive, predicted, labelled;
  };
  const std::vector<ClassCounts>& counts() const { return counts_; }
  // counts()[image_start()[i] .. image_start()[i + 1]) belong to image i.
  const std::vector<size_t>& image_start() const { return image_start_; }

 private:
  template <class T>
  void add_image(const std::vector<T>& prediction, const std::vector<T>& target);

  int num_classes_;
  int64_t ignore_label_;
  std::vector<int64_t> matrix_;
  std::vector<ClassCounts> counts_;
  std::vector<size_t> image_start_{0};
};

// mIoU and pixel accuracy over all images, with standard errors: the standard deviation of the
// scores over `resamples` bootstrap resamples of the images. Deterministic for a given seed and
// resample count. Throws std::invalid_argument for resamples < 2.
struct SegmentationEstimate {
  SegmentationScores scores;
  double mean_iou_stderr = 0, pixel_accuracy_stderr = 0;
  int resamples = 0;
  uint64_t seed = 0;
  nlohmann::json to_json() const;
};
SegmentationEstimate bootstrap_segmentation(const SegmentationConfusion& c, int resamples = 200,
                                            uint64_t seed = 0);

// B - A for two predictions of the same images, added in the same order, with the standard error
// of each difference over shared resamples. Throws std::invalid_argument when a and b differ in
// class count, image count or any image's ground-truth class counts (not the same images).
struct PairedSegmentation {
  SegmentationScores a, b;
  double mean_iou_difference = 0, mean_iou_stderr = 0;
  double pixel_accuracy_difference = 0, pixel_accuracy_stderr = 0;
  int resamples = 0;
  uint64_t seed = 0;
  nlohmann::json to_json() const;
};
PairedSegmentation compare_segmentation(const SegmentationConfusion& a, const SegmentationConfusion& b,
                                        int resamples = 200, uint64_t seed = 0);

}  // namespace bnrecal
