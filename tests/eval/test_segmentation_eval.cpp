// Segmentation evaluation end to end on a tiny VOC folder: per-pixel argmax against the masks,
// logits upsampled to the mask size, streaming calibration, and a model of the wrong shape named.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/eval/evaluate.h"
#include "bnrecal/eval/segmentation_eval.h"
#include "bnrecal/nn/batch_norm.h"
#include "tensor_source.h"
#include "test_support.h"
#include "voc_fixture.h"

using namespace bnrecal;

namespace {

// Predicts class 1 where the (normalized) red channel is above zero, class 0 elsewhere; BN on the
// class scores so streaming calibration has a layer to adapt. `stride` 2 answers at half size.
class ThresholdNet : public Network {
 public:
  explicit ThresholdNet(int64_t classes, int64_t stride = 1) : classes_(classes), stride_(stride) {
    bn = register_module("bn", BatchNorm2d(1));
  }
  at::Tensor forward(at::Tensor x) override {
    at::Tensor bright = bn(x.slice(1, 0, 1)) > 0;  // running mean 0, var 1: the sign of x
    if (stride_ > 1) bright = bright.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_);
    at::Tensor logits = at::zeros({x.size(0), classes_, bright.size(2), bright.size(3)});
    logits.select(1, 1).copy_(bright.squeeze(1).to(at::kFloat));
    return logits;
  }
  BatchNorm2d bn{nullptr};

 private:
  int64_t classes_, stride_;
};

SegmentationEvalOptions options() {
  SegmentationEvalOptions o;
  o.batch_size = 2;
  o.normalization = {{0.5, 0.5, 0.5}, {0.5, 0.5, 0.5}};  // 200/255 > 0.5 > 0: bright is positive
  o.bootstrap_resamples = 20;
  return o;
}

}  // namespace

// Image 0's left half is class 1 (predicted 1: right), image 1's is class 2 (predicted 1: wrong);
// right halves are ignored. Pixel accuracy 1/2; IoU(1) = 24 / (24 + 24) = 1/2, IoU(2) = 0.
TEST(SegmentationEval, ScoresEveryPixelAgainstTheMask) {
  const auto val = open_voc_segmentation(bnrecal::testing::make_voc_fixture({{6, 8}, {6, 8}}), Split::kTest);
  ThresholdNet net(val->num_classes());
  const SegmentationEvalResult r = evaluate_segmentation(net, *val, options());
  EXPECT_EQ(r.confusion.images(), 2);
  EXPECT_DOUBLE_EQ(r.estimate.scores.pixel_accuracy, 0.5);
  EXPECT_DOUBLE_EQ(r.estimate.scores.mean_iou, 0.25);
  EXPECT_EQ(r.estimate.scores.present_classes, 2);
  EXPECT_TRUE(r.to_json().contains("images_per_second"));

  ThresholdNet half(val->num_classes(), 2);  // answers at 3x4, upsampled to 6x8
  EXPECT_DOUBLE_EQ(evaluate_segmentation(half, *val, options()).estimate.scores.pixel_accuracy, 0.5);
}

TEST(SegmentationEval, StreamingAtMomentumZeroChangesNothingAndRestoresTheModel) {
  const auto val = open_voc_segmentation(bnrecal::testing::make_voc_fixture({{6, 8}, {6, 8}, {6, 8}}), Split::kTest);
  ThresholdNet net(val->num_classes());
  const SegmentationEvalResult plain = evaluate_segmentation(net, *val, options());
  SegmentationEvalOptions o = options();
  o.batch_size = 1;
  o.streaming = StreamingOptions{0.0, false, false, {}};
  const SegmentationEvalResult streamed = evaluate_segmentation(net, *val, o);
  EXPECT_EQ(streamed.confusion.matrix(), plain.confusion.matrix());
  o.streaming->momentum = 0.5;
  evaluate_segmentation(net, *val, o);
  EXPECT_EQ(net.bn->running_mean.item<float>(), 0.0f);
  EXPECT_EQ(net.bn->num_batches_tracked.item<int64_t>(), 0);
}

TEST(SegmentationEval, AModelOfTheWrongShapeIsNamed) {
  const auto val = open_voc_segmentation(bnrecal::testing::make_voc_fixture({{6, 8}}), Split::kTest);
  ThresholdNet net(5);  // 5 classes for a 21-class source
  const std::string error =
      bnrecal::testing::input_error_message([&] { evaluate_segmentation(net, *val, options()); });
  EXPECT_NE(error.find("21, H, W"), std::string::npos) << error;
}

TEST(SegmentationEval, TopOneEvaluationRefusesPerPixelScores) {
  ThresholdNet net(3);
  const std::string error = bnrecal::testing::input_error_message(
      [&] { evaluate(net, bnrecal::testing::TensorSource(4, 1), EvalOptions{}); });
  EXPECT_NE(error.find("segmentation model"), std::string::npos) << error;
}
