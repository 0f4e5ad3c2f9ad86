// Detection evaluation end to end on a tiny COCO folder: a model whose raw maps decode exactly to the
// ground truth scores AP 1, one whose boxes are shifted off it scores 0; image and category ids, the
// image limit, streaming calibration, a model of the wrong shape named, and the detection scorer's
// scores and paired comparisons.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "bnrecal/data/detection_source.h"
#include "bnrecal/eval/detection_eval.h"
#include "bnrecal/eval/task_scorer.h"
#include "bnrecal/nn/batch_norm.h"
#include "coco_fixture.h"
#include "test_support.h"

using namespace bnrecal;
using bnrecal::testing::CocoFixture;
using bnrecal::testing::input_error_message;
using bnrecal::testing::standard_coco_fixture;
using bnrecal::testing::write_coco_fixture;

namespace {

// A cell of the 8x8 grid (stride 8 on the fixture's 64x64 images) that holds an object of a class.
struct Cell {
  int64_t row = 0, column = 0, class_index = 0;
};

// A raw YOLO map for 2 classes on which exactly the given cells detect their class with score about
// 1: objectness and the class logit 20 there, -20 objectness elsewhere (sigmoid(-20) is about 2e-9,
// far below the decoder's 0.01 threshold). tx = ty = tw = th = 0: a 32x32 box centred on the cell.
at::Tensor raw_map(const std::vector<Cell>& cells, int64_t classes = 2, int64_t grid = 8) {
  at::Tensor map = at::zeros({yolo::kFirstClassChannel + classes, grid, grid});
  map[yolo::kObjectnessChannel].fill_(-20);
  for (const Cell& c : cells) {
    map[yolo::kObjectnessChannel][c.row][c.column] = 20;
    map[yolo::kFirstClassChannel + c.class_index][c.row][c.column] = 20;
  }
  return map;
}

// The fixture's objects (coco_fixture.h), one map per image in fixture order; shift moves every box
// that many cells left.
std::vector<at::Tensor> fixture_maps(int64_t shift = 0) {
  return {raw_map({{2, 2 - shift, 1}, {5, 5 - shift, 0}}),  // image 7: boot, shirt
          raw_map({{3, 4 - shift, 0}}),                     // image 9: shirt
          raw_map({})};                                     // image 4: nothing
}

// Answers each fixture image with its fixed map, recognising the image by its fill value (image k is
// filled with 40 * (k + 1)), so any batch size and order work. The BatchNorm on the input changes no
// map: it gives streaming calibration a layer to adapt.
class FixedMapNet : public Network {
 public:
  explicit FixedMapNet(std::vector<at::Tensor> maps) : maps_(std::move(maps)) {
    bn = register_module("bn", BatchNorm2d(3));
  }
  at::Tensor forward(at::Tensor x) override {
    bn(x);
    std::vector<at::Tensor> out;
    for (int64_t b = 0; b < x.size(0); ++b) {
      const double value = x[b][0][0][0].item<double>() * 255;  // the options below do not normalize
      out.push_back(maps_.at(static_cast<size_t>(std::lround(value / 40) - 1)));
    }
    return at::stack(out);
  }
  BatchNorm2d bn{nullptr};

 private:
  std::vector<at::Tensor> maps_;
};

const Normalization kRawPixels{{0, 0, 0}, {1, 1, 1}};

DetectionEvalOptions options() {
  DetectionEvalOptions o;
  o.batch_size = 2;  // batches of 2 and 1: ids must follow across batches
  o.normalization = kRawPixels;
  o.bootstrap_resamples = 20;
  return o;
}

std::unique_ptr<DetectionSource> fixture_source() {
  return open_coco_detection(write_coco_fixture(standard_coco_fixture()), Split::kTest);
}

}  // namespace

TEST(DetectionEval, MapsThatDecodeToTheGroundTruthScoreOne) {
  const auto val = fixture_source();
  FixedMapNet net(fixture_maps());
  const DetectionEvalResult r = evaluate_detector(net, *val, options());
  EXPECT_EQ(r.image_ids, (std::vector<int64_t>{7, 9, 4}));
  ASSERT_EQ(r.detections.size(), 3u);
  // Equal scores keep cell order: image 7's boot (class 1 = category 10) before its shirt.
  EXPECT_EQ(r.detections[0].image_id, 7);
  EXPECT_EQ(r.detections[0].category_id, 10);
  EXPECT_EQ(r.detections[0].box.x, 4);
  EXPECT_EQ(r.detections[0].box.w, 32);
  EXPECT_EQ(r.detections[1].category_id, 3);
  EXPECT_EQ(r.detections[2].image_id, 9);
  EXPECT_EQ(r.detections[2].category_id, 3);
  EXPECT_EQ(r.detections[2].box.x, 20);
  EXPECT_EQ(r.detections[2].box.y, 12);
  const DetectionMetrics& m = r.estimate.metrics;
  EXPECT_DOUBLE_EQ(m.ap50, 1.0);
  EXPECT_DOUBLE_EQ(m.ar50, 1.0);
  EXPECT_DOUBLE_EQ(m.ap, 1.0);  // the boxes are exact: every IoU threshold matches
  EXPECT_EQ(m.per_category.size(), 2u);
  EXPECT_NEAR(r.estimate.ap50_stderr, 0.0, 1e-12);  // every resample scores 1 (up to rounding in the mean)
  const nlohmann::json j = r.to_json();
  EXPECT_EQ(j.at("images"), 3);
  EXPECT_EQ(j.at("detections"), 3);
  EXPECT_TRUE(j.contains("images_per_second"));
}

TEST(DetectionEval, BoxesShiftedOffTheObjectsScoreZero) {
  const auto val = fixture_source();
  FixedMapNet net(fixture_maps(2));  // two cells (16 px) left: IoU 1/3 or 0.44 with each object
  const DetectionEvalResult r = evaluate_detector(net, *val, options());
  EXPECT_EQ(r.detections.size(), 3u);
  EXPECT_DOUBLE_EQ(r.estimate.metrics.ap50, 0.0);
  EXPECT_DOUBLE_EQ(r.estimate.metrics.ar50, 0.0);
}

TEST(DetectionEval, ALimitScoresTheFirstImagesAgainstTheirOwnGroundTruthOnly) {
  const auto val = fixture_source();
  FixedMapNet net(fixture_maps());
  DetectionEvalOptions o = options();
  o.limit = 1;
  const DetectionEvalResult r = evaluate_detector(net, *val, o);
  EXPECT_EQ(r.image_ids, (std::vector<int64_t>{7}));
  EXPECT_EQ(r.detections.size(), 2u);
  EXPECT_DOUBLE_EQ(r.estimate.metrics.ar50, 1.0);  // image 9's shirt, never shown, is not missed
  EXPECT_EQ(ground_truths_on(val->ground_truths(), {9}).size(), 2u);
}

TEST(DetectionEval, StreamingChangesNoMapAndRestoresTheModel) {
  const auto val = fixture_source();
  FixedMapNet net(fixture_maps());
  net.train();
  DetectionEvalOptions o = options();
  o.batch_size = 1;
  o.streaming = StreamingOptions{0.5, false, false, {}};
  const DetectionEvalResult r = evaluate_detector(net, *val, o);
  EXPECT_DOUBLE_EQ(r.estimate.metrics.ap50, 1.0);
  EXPECT_EQ(r.detections.size(), 3u);
  EXPECT_TRUE(net.is_training());
  EXPECT_EQ(net.bn->running_mean.abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(net.bn->num_batches_tracked.item<int64_t>(), 0);
}

TEST(DetectionEval, AModelOfTheWrongShapeIsNamed) {
  const auto val = fixture_source();
  FixedMapNet three_classes({raw_map({}, 3), raw_map({}, 3), raw_map({}, 3)});
  std::string error = input_error_message([&] { evaluate_detector(three_classes, *val, options()); });
  EXPECT_NE(error.find("[2, 8, 8, 8]"), std::string::npos) << error;  // what the model gave
  EXPECT_NE(error.find("[2, 7, 8, 8]"), std::string::npos) << error;  // what 2 classes at stride 8 need
  EXPECT_NE(error.find("stride 8"), std::string::npos) << error;

  FixedMapNet coarse({raw_map({}, 2, 4), raw_map({}, 2, 4), raw_map({}, 2, 4)});  // a stride-16 grid
  error = input_error_message([&] { evaluate_detector(coarse, *val, options()); });
  EXPECT_NE(error.find("[2, 7, 8, 8]"), std::string::npos) << error;
  EXPECT_TRUE(coarse.is_training());  // the mode is restored after the error too
}

TEST(DetectionScorer, ScoresInPercentAndComparesRunsPaired) {
  const auto val = fixture_source();
  const auto scorer = detection_scorer(*val);
  EXPECT_EQ(scorer->task(), "detection");
  EXPECT_EQ(scorer->metrics(), (std::vector<std::string>{"ap50", "ar50", "ap"}));
  EXPECT_EQ(&scorer->test_data(), val.get());
  EvalProtocol eval;
  eval.batch_size = 2;
  eval.normalization = kRawPixels;

  FixedMapNet exact(fixture_maps()), shifted(fixture_maps(2));
  const ScoredRun a = scorer->score(exact, eval, std::nullopt);
  ASSERT_EQ(a.scores.size(), 3u);
  EXPECT_EQ(a.scores[0].metric, "ap50");
  EXPECT_DOUBLE_EQ(a.scores[0].value, 100.0);
  EXPECT_DOUBLE_EQ(a.scores[1].value, 100.0);
  EXPECT_DOUBLE_EQ(a.scores[2].value, 100.0);
  EXPECT_EQ(a.images, 3);
  EXPECT_TRUE(a.json.contains("ap50_stderr"));

  for (const ScoreDifference& d : scorer->compare(a, a)) {
    EXPECT_EQ(d.difference, 0.0) << d.metric;
    EXPECT_EQ(d.standard_error, 0.0) << d.metric;
  }
  const ScoredRun b = scorer->score(shifted, eval, StreamingProtocol{StreamingOptions{0.1, false, false, {}}, 1});
  const std::vector<ScoreDifference> d = scorer->compare(a, b);
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].metric, "ap50");
  EXPECT_DOUBLE_EQ(d[0].difference, -100.0);
  EXPECT_DOUBLE_EQ(d[1].difference, -100.0);

  eval.limit = 1;
  const ScoredRun first = scorer->score(exact, eval, std::nullopt);
  EXPECT_THROW(scorer->compare(a, first), std::invalid_argument);
  EXPECT_THROW(scorer->compare(a, ScoredRun{}), std::invalid_argument);
}

TEST(DetectionScorer, ImagesWithoutObjectsHaveNothingToScore) {
  CocoFixture f = standard_coco_fixture();
  std::rotate(f.images.begin(), f.images.begin() + 2, f.images.end());  // image 4, without objects, first
  const auto val = open_coco_detection(write_coco_fixture(f), Split::kTest);
  FixedMapNet net(fixture_maps());
  EvalProtocol eval;
  eval.limit = 1;
  eval.normalization = kRawPixels;
  const std::string error = input_error_message([&] { detection_scorer(*val)->score(net, eval, std::nullopt); });
  EXPECT_NE(error.find("no ground-truth object"), std::string::npos) << error;
}

TEST(DetectionEval, LetterboxedDetectionsAreScoredInTheStoredImagesPixels) {
  CocoDetectionOptions letterbox;
  letterbox.letterbox = 128;  // the 64x64 images doubled: a 16x16 grid
  const auto val = open_coco_detection(write_coco_fixture(standard_coco_fixture()), Split::kTest, letterbox);
  // Cell (2, 2) of the doubled image decodes to {4, 4, 32, 32} there, {2, 2, 16, 16} in the stored one.
  FixedMapNet net({raw_map({{2, 2, 1}}, 2, 16), raw_map({}, 2, 16), raw_map({}, 2, 16)});
  const DetectionEvalResult r = evaluate_detector(net, *val, options());
  ASSERT_EQ(r.detections.size(), 1u);
  EXPECT_DOUBLE_EQ(r.detections[0].box.x, 2);
  EXPECT_DOUBLE_EQ(r.detections[0].box.y, 2);
  EXPECT_DOUBLE_EQ(r.detections[0].box.w, 16);
  EXPECT_DOUBLE_EQ(r.detections[0].box.h, 16);
}
