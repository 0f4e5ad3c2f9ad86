// The PASCAL VOC segmentation layout as a source: images and masks aligned, class names, the
// shorter-side resize, and every kind of bad file named or skipped.
#include <gtest/gtest.h>

#include <filesystem>

#include "bnrecal/core/files.h"
#include "bnrecal/data/fashion_tasks.h"
#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/palette_png.h"
#include "bnrecal/data/segmentation_source.h"
#include "test_support.h"
#include "voc_fixture.h"

using namespace bnrecal;
using bnrecal::testing::input_error_message;

using bnrecal::testing::make_voc_fixture;

TEST(VocSegmentation, ImagesAndMasksLineUp) {
  const std::string root = make_voc_fixture({{6, 8}, {6, 8}});
  const auto val = open_voc_segmentation(root, Split::kTest);
  EXPECT_EQ(val->size(), 2);
  EXPECT_EQ(val->num_classes(), 21);
  EXPECT_EQ(val->class_names()[15], "person");
  EXPECT_EQ(val->image_shape(), (std::vector<int64_t>{3, 6, 8}));
  std::mt19937_64 rng;
  const Batch b = val->load({1, 0}, false, rng);
  const at::Tensor m = val->masks({1, 0});
  ASSERT_EQ(b.images.sizes(), (std::vector<int64_t>{2, 3, 6, 8}));
  ASSERT_EQ(m.sizes(), (std::vector<int64_t>{2, 6, 8}));
  EXPECT_EQ(m[0][3][1].item<int>(), 2);    // image 1's left half is class 2
  EXPECT_EQ(m[1][3][1].item<int>(), 1);
  EXPECT_EQ(m[0][3][6].item<int>(), 255);  // right half ignored
  EXPECT_NEAR(b.images[0][0][3][1].item<float>(), 200 / 255.0, 1e-6);
  EXPECT_EQ(b.images[0][0][3][6].item<float>(), 0);
  EXPECT_NE(input_error_message([&] { open_voc_segmentation(root, Split::kTrain); }).find("train.txt"),
            std::string::npos);
}

TEST(VocSegmentation, ResizesTheShorterSideWithNearestMasks) {
  const auto val = open_voc_segmentation(make_voc_fixture({{4, 8}}), Split::kTest, {8});
  EXPECT_EQ(val->image_shape(), (std::vector<int64_t>{3, 8, 16}));
  const at::Tensor m = val->masks({0});
  EXPECT_EQ(m[0][5][7].item<int>(), 1);  // still the left half
  EXPECT_EQ(m[0][5][8].item<int>(), 255);
}

TEST(VocSegmentation, ImagesOfDifferentSizesCannotShareABatch) {
  const auto val = open_voc_segmentation(make_voc_fixture({{6, 8}, {6, 10}}), Split::kTest);
  std::mt19937_64 rng;
  EXPECT_EQ(val->load({1}, false, rng).images.size(3), 10);
  EXPECT_NE(input_error_message([&] { val->load({0, 1}, false, rng); }).find("batch size 1"), std::string::npos);
}

TEST(VocSegmentation, BadFilesAreNamedOrSkippedAndCounted) {
  const std::string root = make_voc_fixture({{6, 8}, {6, 8}, {6, 8}});
  write_palette_png(root + "/SegmentationClass/img1.png", IndexedImage{5, 8, std::vector<uint8_t>(40, 0)});
  std::filesystem::remove(root + "/JPEGImages/img2.jpg");
  const std::string error = input_error_message([&] { open_voc_segmentation(root, Split::kTest); });
  EXPECT_NE(error.find("img1.png"), std::string::npos) << error;
  EXPECT_NE(error.find("--skip-bad"), std::string::npos) << error;
  VocOptions skip;
  skip.skip_bad = true;
  const auto val = open_voc_segmentation(root, Split::kTest, skip);
  EXPECT_EQ(val->size(), 1);
  EXPECT_EQ(val->skipped(), 2);
  ASSERT_EQ(val->skip_reasons().size(), 2u);
  EXPECT_NE(val->skip_reasons()[1].find("img2.jpg"), std::string::npos) << val->skip_reasons()[1];

  write_palette_png(root + "/SegmentationClass/img0.png", IndexedImage{6, 8, std::vector<uint8_t>(48, 30)});
  EXPECT_NE(input_error_message([&] { open_voc_segmentation(root, Split::kTest); }).find("class 30"),
            std::string::npos);
}

TEST(VocSegmentation, ReadsTheGeneratedFashionMosaic) {
  if (!file_exists("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const std::string root = bnrecal::testing::temp_dir() + "/mosaic";
  FashionMosaicOptions o;
  o.train_images = 4;
  o.val_images = 3;
  make_fashion_mosaic(root, o);
  const auto train = open_voc_segmentation(root, Split::kTrain);
  const auto val = open_voc_segmentation(root, Split::kTest);
  EXPECT_EQ(train->size(), 4);
  EXPECT_EQ(val->size(), 3);
  EXPECT_EQ(val->num_classes(), 11);
  EXPECT_EQ(val->class_names()[10], "Ankle boot");
  const at::Tensor m = val->masks({0, 1, 2});
  EXPECT_EQ(m.sizes(), (std::vector<int64_t>{3, 64, 64}));
  EXPECT_TRUE(((m <= 10) | (m == 255)).all().item<bool>());
}

// Training augmentation flips an image and its mask together; the batch carries the masks.
TEST(VocSegmentation, AugmentationFlipsImageAndMaskTogether) {
  const std::string root = make_voc_fixture({{4, 6}, {4, 6}});
  const auto val = open_voc_segmentation(root, Split::kTest);
  EXPECT_TRUE(val->default_augmentation().horizontal_flip);
  std::mt19937_64 rng(3);
  const Batch plain = val->load({0, 1}, false, rng);
  ASSERT_TRUE(plain.masks.defined());
  EXPECT_TRUE(plain.masks.equal(val->masks({0, 1})));
  int flipped = 0, kept = 0;
  for (int draw = 0; draw < 8; ++draw) {
    const Batch b = val->load({0, 1}, true, rng);
    for (int64_t i = 0; i < 2; ++i) {
      const bool same = b.images[i].equal(plain.images[i]) && b.masks[i].equal(plain.masks[i]);
      const bool mirrored = b.images[i].equal(plain.images[i].flip({2})) && b.masks[i].equal(plain.masks[i].flip({1}));
      ASSERT_TRUE(same != mirrored) << "image and mask must flip together (draw " << draw << ", image " << i << ")";
      (mirrored ? flipped : kept)++;
    }
  }
  EXPECT_GT(flipped, 0);
  EXPECT_GT(kept, 0);
}

TEST(VocSegmentation, IsADataSpecFormAndAPlainPath) {
  const std::string root = make_voc_fixture({{4, 6}});
  EXPECT_TRUE(looks_like_voc_segmentation(root));
  EXPECT_FALSE(looks_like_voc_segmentation(bnrecal::testing::temp_dir()));
  for (const std::string& spec : {"voc:" + root, root}) {
    const auto source = open_dataset(spec, Split::kTest);
    EXPECT_NE(dynamic_cast<const SegmentationSource*>(source.get()), nullptr) << spec;
  }
  // voc:DIR:SIZE resizes the shorter side (4 -> 8), as torchvision's preset does to 520.
  EXPECT_EQ(open_dataset("voc:" + root + ":8", Split::kTest)->image_shape(), (std::vector<int64_t>{3, 8, 12}));
}
