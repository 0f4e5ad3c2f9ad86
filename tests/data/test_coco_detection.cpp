// The COCO detection layout as a source: images in file order, classes as categories sorted by id,
// ground truths with COCO ids and per-image training boxes, and every kind of bad image or annotation
// named or skipped and counted.
#include <gtest/gtest.h>

#include <filesystem>

#include "bnrecal/data/detection_source.h"
#include "coco_fixture.h"
#include "test_support.h"

using namespace bnrecal;
using bnrecal::testing::CocoFixture;
using bnrecal::testing::input_error_message;
using bnrecal::testing::standard_coco_fixture;
using bnrecal::testing::temp_dir;
using bnrecal::testing::write_coco_fixture;

namespace {

void expect_box(const Box& got, const Box& want) {
  EXPECT_EQ(got.x, want.x);
  EXPECT_EQ(got.y, want.y);
  EXPECT_EQ(got.w, want.w);
  EXPECT_EQ(got.h, want.h);
}

}  // namespace

TEST(CocoDetection, ImagesInFileOrderAndClassesByCategoryId) {
  const auto val = open_coco_detection(write_coco_fixture(standard_coco_fixture()), Split::kTest);
  EXPECT_EQ(val->size(), 3);
  EXPECT_EQ(val->num_classes(), 2);
  EXPECT_EQ(val->class_names(), (std::vector<std::string>{"shirt", "boot"}));
  EXPECT_EQ(val->category_ids(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(val->image_id(0), 7);
  EXPECT_EQ(val->image_id(1), 9);
  EXPECT_EQ(val->image_id(2), 4);
  EXPECT_EQ(val->image_shape(), (std::vector<int64_t>{3, 64, 64}));
  EXPECT_EQ(val->default_normalization().mean, (std::vector<double>{0.485, 0.456, 0.406}));
  EXPECT_EQ(val->skipped(), 0);
  EXPECT_NE(input_error_message([&] { val->image_id(3); }).find("out of range"), std::string::npos);

  std::mt19937_64 rng;
  const Batch b = val->load({2, 0}, false, rng);
  ASSERT_EQ(b.images.sizes(), (std::vector<int64_t>{2, 3, 64, 64}));
  EXPECT_NEAR(b.images[0][1][10][20].item<float>(), 120 / 255.0, 1e-6);  // image 4 is filled with 120
  EXPECT_NEAR(b.images[1][2][63][0].item<float>(), 40 / 255.0, 1e-6);
  EXPECT_EQ(b.labels.sum().item<int64_t>(), 0);
  EXPECT_FALSE(b.masks.defined());
}

TEST(CocoDetection, GroundTruthsKeepCocoIdsAndBoxesGiveClassIndices) {
  const auto val = open_coco_detection(write_coco_fixture(standard_coco_fixture()), Split::kTest);
  const std::vector<GroundTruth>& truth = val->ground_truths();
  ASSERT_EQ(truth.size(), 4u);  // the crowd region too: the metrics need it to ignore detections on it
  EXPECT_EQ(truth[0].image_id, 7);
  EXPECT_EQ(truth[0].category_id, 10);
  expect_box(truth[0].box, {4, 4, 32, 32});
  EXPECT_EQ(truth[0].area, 32 * 32);  // no 'area' in the file: w * h
  EXPECT_TRUE(truth[3].iscrowd);

  const auto boxes = val->boxes({1, 0, 2});
  ASSERT_EQ(boxes.size(), 3u);
  ASSERT_EQ(boxes[0].size(), 1u);  // image 9: its shirt; the crowd of boots is no training target
  expect_box(boxes[0][0].box, {20, 12, 32, 32});
  EXPECT_EQ(boxes[0][0].class_index, 0);
  ASSERT_EQ(boxes[1].size(), 2u);  // image 7, file order: boot (class 1), shirt (class 0)
  EXPECT_EQ(boxes[1][0].class_index, 1);
  EXPECT_EQ(boxes[1][1].class_index, 0);
  expect_box(boxes[1][1].box, {28, 28, 32, 32});
  EXPECT_TRUE(boxes[2].empty());
  EXPECT_NE(input_error_message([&] { val->boxes({-1}); }).find("out of range"), std::string::npos);
}

TEST(CocoDetection, TheTrainSplitReadsTrainFiles) {
  const std::string root = write_coco_fixture(standard_coco_fixture(), "train");
  EXPECT_EQ(open_coco_detection(root, Split::kTrain)->name(), "coco:" + root + "/train");
  const std::string error = input_error_message([&] { open_coco_detection(root, Split::kTest); });
  EXPECT_NE(error.find("instances_val.json"), std::string::npos) << error;
}

TEST(CocoDetection, BatchesShareASizeAndAugmentationIsRefused) {
  CocoFixture f = standard_coco_fixture();
  f.images[1].height = f.images[1].stored_height = 48;  // its shirt {20, 12, 32, 32} still fits
  f.annotations.pop_back();                              // its crowd {0, 40, 20, 20} would not
  const auto val = open_coco_detection(write_coco_fixture(f), Split::kTest);
  std::mt19937_64 rng;
  EXPECT_EQ(val->load({1}, false, rng).images.size(2), 48);
  const std::string mixed = input_error_message([&] { val->load({0, 1}, false, rng); });
  EXPECT_NE(mixed.find("b.png"), std::string::npos) << mixed;
  EXPECT_NE(mixed.find("batch size 1"), std::string::npos) << mixed;
  EXPECT_NE(input_error_message([&] { val->load({0}, true, rng); }).find("augmentation"), std::string::npos);
}

TEST(CocoDetection, AMissingImageIsNamedOrSkippedWithItsAnnotations) {
  CocoFixture f = standard_coco_fixture();
  f.images[0].on_disk = false;
  const std::string root = write_coco_fixture(f);
  const std::string error = input_error_message([&] { open_coco_detection(root, Split::kTest); });
  EXPECT_NE(error.find("a.png"), std::string::npos) << error;
  EXPECT_NE(error.find("--skip-bad"), std::string::npos) << error;

  const auto val = open_coco_detection(root, Split::kTest, {true});
  EXPECT_EQ(val->size(), 2);
  EXPECT_EQ(val->image_id(0), 9);
  EXPECT_EQ(val->skipped(), 1);
  ASSERT_EQ(val->skip_reasons().size(), 1u);
  EXPECT_NE(val->skip_reasons()[0].find("a.png"), std::string::npos);
  EXPECT_EQ(val->ground_truths().size(), 2u);  // image 7's two objects went with it
  for (const GroundTruth& g : val->ground_truths()) EXPECT_EQ(g.image_id, 9);
}

TEST(CocoDetection, AnImageOfAnotherSizeThanTheJsonSaysIsNamedOrSkipped) {
  CocoFixture f = standard_coco_fixture();
  f.images[2].stored_width = 48;
  const std::string root = write_coco_fixture(f);
  const std::string error = input_error_message([&] { open_coco_detection(root, Split::kTest); });
  EXPECT_NE(error.find("c.png"), std::string::npos) << error;
  EXPECT_NE(error.find("48x64"), std::string::npos) << error;
  EXPECT_NE(error.find("64x64"), std::string::npos) << error;

  const auto val = open_coco_detection(root, Split::kTest, {true});
  EXPECT_EQ(val->size(), 2);
  EXPECT_EQ(val->skipped(), 1);
  EXPECT_EQ(val->ground_truths().size(), 4u);  // image 4 had none
}

TEST(CocoDetection, BadAnnotationsAreSkippedByTheReaderAndCounted) {
  CocoFixture f = standard_coco_fixture();
  f.annotations.push_back({5, 7, 99, {0, 0, 8, 8}, false});  // no category 99
  const std::string root = write_coco_fixture(f);
  EXPECT_NE(input_error_message([&] { open_coco_detection(root, Split::kTest); }).find("annotation 5"),
            std::string::npos);
  const auto val = open_coco_detection(root, Split::kTest, {true});
  EXPECT_EQ(val->size(), 3);
  EXPECT_EQ(val->skipped(), 1);
  EXPECT_EQ(val->ground_truths().size(), 4u);
}

TEST(CocoDetection, AFolderWithoutAnnotationsIsNamed) {
  const std::string root = temp_dir();
  const std::string error = input_error_message([&] { open_coco_detection(root, Split::kTest); });
  EXPECT_NE(error.find("annotations/instances_val.json"), std::string::npos) << error;

  CocoFixture f = standard_coco_fixture();
  for (auto& image : f.images) image.on_disk = false;
  const std::string empty = write_coco_fixture(f);
  EXPECT_NE(input_error_message([&] { open_coco_detection(empty, Split::kTest, {true}); }).find("every image"),
            std::string::npos);
}

TEST(CocoDetection, ALetterboxFitsEveryImageAndScalesTheTrainingBoxesOnly) {
  CocoFixture f = standard_coco_fixture();
  f.images[1].height = f.images[1].stored_height = 48;  // image 9: 64 wide, 48 high
  f.annotations.pop_back();                              // its crowd would not fit 48 rows
  CocoDetectionOptions options;
  options.letterbox = 32;
  const auto val = open_coco_detection(write_coco_fixture(f), Split::kTest, options);
  EXPECT_EQ(val->image_shape(), (std::vector<int64_t>{3, 32, 32}));

  std::mt19937_64 rng;
  const Batch b = val->load({0, 1}, false, rng);  // 64x64 and 64x48 share a batch now
  ASSERT_EQ(b.images.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_NEAR(b.images[0][0][31][31].item<float>(), 40 / 255.0, 1e-6);   // a square image fills it
  EXPECT_NEAR(b.images[1][2][23][31].item<float>(), 80 / 255.0, 1e-6);   // 64x48 becomes 32x24 ...
  EXPECT_NEAR(b.images[1][0][24][0].item<float>(), 0.485, 1e-6);         // ... over rows of the mean
  EXPECT_NEAR(b.images[1][2][31][31].item<float>(), 0.406, 1e-6);

  const ImageScale scale = val->image_scale(1);
  EXPECT_DOUBLE_EQ(scale.x, 0.5);
  EXPECT_DOUBLE_EQ(scale.y, 0.5);
  expect_box(val->boxes({1})[0][0].box, {10, 6, 16, 16});     // the shirt {20, 12, 32, 32}, halved
  expect_box(val->ground_truths()[2].box, {20, 12, 32, 32});  // scored where COCO scores it

  // Without a letterbox nothing is scaled.
  const ImageScale unscaled = open_coco_detection(write_coco_fixture(f), Split::kTest)->image_scale(1);
  EXPECT_EQ(unscaled.x, 1.0);
  EXPECT_EQ(unscaled.y, 1.0);
}

TEST(CocoDetection, TheSpecTakesALetterboxSide) {
  const std::string root = write_coco_fixture(standard_coco_fixture());
  EXPECT_EQ(open_dataset("coco:" + root + ":48", Split::kTest)->image_shape(), (std::vector<int64_t>{3, 48, 48}));
  EXPECT_EQ(open_dataset("coco:" + root, Split::kTest)->image_shape(), (std::vector<int64_t>{3, 64, 64}));
  const std::string zero = input_error_message([&] { open_dataset("coco:" + root + ":0", Split::kTest); });
  EXPECT_NE(zero.find("coco:DIR[:N]"), std::string::npos) << zero;
}

TEST(CocoDetection, Coco2017NamesAreFound) {
  const std::string root = write_coco_fixture(standard_coco_fixture());
  std::filesystem::rename(root + "/annotations/instances_val.json", root + "/annotations/instances_val2017.json");
  std::filesystem::rename(root + "/images/val", root + "/val2017");  // as COCO's val2017.zip unpacks
  EXPECT_TRUE(looks_like_coco_detection(root));
  const auto val = open_dataset(root, Split::kTest);
  EXPECT_EQ(val->size(), 3);
  std::mt19937_64 rng;
  EXPECT_NEAR(val->load({2}, false, rng).images[0][0][0][0].item<float>(), 120 / 255.0, 1e-6);
}
