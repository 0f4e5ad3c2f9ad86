// ImageFolder and ImageNet-val layouts on small generated trees, including every bad-input case.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bnrecal/core/error.h"
#include "bnrecal/data/image_folder.h"
#include "test_support.h"

namespace bnrecal {
namespace {


namespace fs = std::filesystem;

Image solid(int64_t h, int64_t w, uint8_t value) {
  Image image;
  image.height = h;
  image.width = w;
  image.pixels.assign(h * w * 3, value);
  return image;
}

void write_text(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

void write_truncated_copy(const std::string& from, const std::string& to, double keep) {
  std::ifstream in(from, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(to, std::ios::binary) << bytes.substr(0, static_cast<size_t>(bytes.size() * keep));
}

// root/{cat,dog}/...: cat has 2 PNGs (values 10, 20), dog has 1 JPEG in a sub-folder + 1 PNG.
std::string make_tree() {
  const std::string root = testing::temp_dir();
  fs::create_directories(root + "/dog/sub");
  fs::create_directories(root + "/cat");
  write_png_file(root + "/cat/b.png", solid(40, 60, 20));
  write_png_file(root + "/cat/a.PNG", solid(30, 30, 10));
  write_jpeg_file(root + "/dog/sub/c.jpg", solid(50, 40, 200));
  write_png_file(root + "/dog/a.png", solid(20, 20, 100));
  write_text(root + "/dog/notes.txt", "not an image");
  return root;
}

TEST(ImageFolder, ListsClassesAndFilesLikeTorchvision) {
  const std::string root = make_tree();
  ASSERT_TRUE(looks_like_image_folder(root));
  ImageFolderOptions options;
  options.eval = {16, 8};
  auto source = open_image_folder(root, Split::kTest, options);
  ASSERT_EQ(source->size(), 4);
  EXPECT_EQ(source->num_classes(), 2);
  EXPECT_EQ(source->class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(source->entries()[0].path, root + "/cat/a.PNG");
  EXPECT_EQ(source->entries()[2].path, root + "/dog/a.png");  // dog/ sorts before dog/sub/
  EXPECT_EQ(source->entries()[3].path, root + "/dog/sub/c.jpg");
  EXPECT_EQ(source->image_shape(), (std::vector<int64_t>{3, 8, 8}));
  std::mt19937_64 rng(1);
  const Batch batch = source->load({3, 0, 1}, false, rng);
  EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{3, 3, 8, 8}));
  EXPECT_EQ(batch.labels[0].item<int64_t>(), 1);
  EXPECT_EQ(batch.labels[1].item<int64_t>(), 0);
  EXPECT_NEAR(batch.images[1].mean().item<double>(), 10 / 255.0, 1e-6);
  EXPECT_NEAR(batch.images[2].mean().item<double>(), 20 / 255.0, 1e-6);
  EXPECT_NEAR(batch.images[0].mean().item<double>(), 200 / 255.0, 3 / 255.0);
  const Normalization norm = source->default_normalization();
  EXPECT_DOUBLE_EQ(norm.mean[0], 0.485);
  EXPECT_DOUBLE_EQ(norm.std[2], 0.225);
}

TEST(ImageFolder, GivenClassNamesLabelFoldersByNameAndRejectUnknownOnes) {
  const std::string root = make_tree();  // cat/, dog/
  ImageFolderOptions options;
  options.eval = {16, 8};
  // A model with four classes; this folder holds two of them.
  options.classes = {"ant", "cat", "cow", "dog"};
  auto source = open_image_folder(root, Split::kTest, options);
  EXPECT_EQ(source->num_classes(), 4);
  EXPECT_EQ(source->class_names(), options.classes);
  EXPECT_EQ(source->entries()[0].label, 1);  // cat
  EXPECT_EQ(source->entries()[3].label, 3);  // dog
  std::mt19937_64 rng(1);
  EXPECT_EQ(source->load({3}, false, rng).labels[0].item<int64_t>(), 3);

  options.classes = {"ant", "dog"};
  try {
    open_image_folder(root, Split::kTest, options);
    FAIL() << "accepted a class folder the model does not have";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("class folder 'cat' is not one of the model's 2 classes"),
              std::string::npos) << e.what();
  }
}

TEST(ImageFolder, AugmentedLoadIsDeterministicAcrossThreadCounts) {
  const std::string root = make_tree();
  ImageFolderOptions options;
  options.train.size = 12;
  options.num_threads = 1;
  auto one = open_image_folder(root, Split::kTrain, options);
  options.num_threads = 4;
  auto four = open_image_folder(root, Split::kTrain, options);
  std::mt19937_64 rng_a(5), rng_b(5);
  const Batch a = one->load({0, 1, 2, 3, 0, 1}, true, rng_a);
  const Batch b = four->load({0, 1, 2, 3, 0, 1}, true, rng_b);
  EXPECT_EQ(a.images.sizes(), (std::vector<int64_t>{6, 3, 12, 12}));
  EXPECT_TRUE(at::equal(a.images, b.images));
}

TEST(ImageFolder, TrainAndValSubfoldersPickedBySplit) {
  const std::string root = testing::temp_dir();
  for (const char* split : {"train", "val"})
    for (const char* cls : {"x", "y", "z"}) {
      fs::create_directories(root + "/" + split + "/" + cls);
      write_png_file(root + "/" + split + "/" + cls + "/i.png", solid(8, 8, 1));
    }
  write_png_file(root + "/train/x/j.png", solid(8, 8, 1));
  EXPECT_TRUE(looks_like_image_folder(root));
  EXPECT_EQ(open_image_folder(root, Split::kTrain)->size(), 4);
  EXPECT_EQ(open_image_folder(root, Split::kTest)->size(), 3);
  auto spec = open_dataset("imagefolder:" + root, Split::kTrain);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->size(), 4);
  EXPECT_EQ(open_dataset(root, Split::kTest)->size(), 3);
  EXPECT_THROW(open_dataset("no-such-spec", Split::kTest), InputError);
}

TEST(ImageFolder, EmptyFolderAndEmptyClassAreErrors) {
  const std::string root = testing::temp_dir();
  EXPECT_FALSE(looks_like_image_folder(root));
  EXPECT_THROW(open_image_folder(root, Split::kTest), InputError);
  EXPECT_THROW(open_image_folder(root + "/missing", Split::kTest), InputError);
  fs::create_directories(root + "/empty_class");
  try {
    open_image_folder(root, Split::kTest);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("empty_class"), std::string::npos) << e.what();
  }
}

TEST(ImageFolder, CorruptJpegFailsOrIsSkipped) {
  const std::string root = make_tree();
  write_truncated_copy(root + "/dog/sub/c.jpg", root + "/dog/sub/d.jpg", 0.5);  // truncated
  write_text(root + "/dog/sub/e.jpg", "\xFF\xD8 garbage that is no JPEG");     // corrupt header
  std::mt19937_64 rng(1);
  ImageFolderOptions options;
  options.eval = {16, 8};
  auto failing = open_image_folder(root, Split::kTest, options);
  ASSERT_EQ(failing->size(), 6);
  for (int64_t bad : {4, 5}) {
    try {
      failing->load({0, bad}, false, rng);
      FAIL() << "expected InputError";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(bad == 4 ? "d.jpg" : "e.jpg"), std::string::npos) << e.what();
    }
  }
  options.on_corrupt = OnCorrupt::kSkip;
  auto skipping = open_image_folder(root, Split::kTest, options);
  const Batch batch = skipping->load({4, 5, 0}, false, rng);  // both replaced by image 0 (wraps)
  EXPECT_EQ(batch.images.size(0), 3);
  EXPECT_TRUE(at::equal(batch.images[0], batch.images[2]));
  EXPECT_EQ(batch.labels[0].item<int64_t>(), 0);
  EXPECT_EQ(skipping->corrupt_count(), 2);

  options.verify_on_open = true;
  auto verified = open_image_folder(root, Split::kTest, options);
  EXPECT_EQ(verified->size(), 4);
  EXPECT_EQ(verified->corrupt_files(), (std::vector<std::string>{root + "/dog/sub/d.jpg", root + "/dog/sub/e.jpg"}));
  options.on_corrupt = OnCorrupt::kFail;
  EXPECT_THROW(open_image_folder(root, Split::kTest, options), InputError);
}

TEST(ImageFolder, TruncatedAndGarbagePngAreInputErrors) {
  const std::string dir = testing::temp_dir();
  write_png_file(dir + "/ok.png", solid(64, 64, 7));
  write_truncated_copy(dir + "/ok.png", dir + "/cut.png", 0.6);
  write_text(dir + "/text.png", "hello");
  EXPECT_EQ(decode_image_file(dir + "/ok.png").width, 64);
  for (const char* name : {"/cut.png", "/text.png"}) {
    try {
      decode_image_file(dir + name);
      FAIL() << "expected InputError for " << name;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(name + 1), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(decode_image_file(dir + "/missing.png"), InputError);
}

// Flat val folder with 3 images of values 0, 1, 2.
std::string make_val_folder() {
  const std::string dir = testing::temp_dir() + "/val";
  fs::create_directories(dir);
  for (int i = 1; i <= 3; ++i)
    write_png_file(dir + "/ILSVRC2012_val_0000000" + std::to_string(i) + ".JPEG", solid(10, 12, i));
  return dir;
}

TEST(ImageNetVal, DevkitAndFileLabelGroundTruth) {
  const std::string dir = make_val_folder();
  ImageFolderOptions options;
  options.num_classes = 10;
  write_text(dir + "/../devkit.txt", "3\n1\n10\n");
  auto devkit = open_imagenet_val(dir, dir + "/../devkit.txt", options);
  ASSERT_EQ(devkit->size(), 3);
  EXPECT_EQ(devkit->entries()[0].label, 2);
  EXPECT_EQ(devkit->entries()[2].label, 9);
  write_text(dir + "/../val.txt",
             "ILSVRC2012_val_00000003.JPEG 4\nILSVRC2012_val_00000001.JPEG 0\nILSVRC2012_val_00000002.JPEG 7\n");
  auto file_label = open_imagenet_val(dir, dir + "/../val.txt", options);
  EXPECT_EQ(file_label->entries()[0].label, 0);
  EXPECT_EQ(file_label->entries()[2].label, 4);
  auto spec = open_imagenet_val_spec(dir, Split::kTest, options);  // finds ../val.txt
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->num_classes(), 10);
  EXPECT_EQ(spec->entries()[2].label, 4);
  EXPECT_THROW(open_imagenet_val_spec(dir, Split::kTrain, options), InputError);
  EXPECT_EQ(open_dataset("imagenet-val:" + dir, Split::kTest)->num_classes(), 1000);  // the default
}

TEST(ImageNetVal, MissingGroundTruthCountMismatchAndBadLabels) {
  const std::string dir = make_val_folder();
  ImageFolderOptions options;
  options.num_classes = 10;
  auto expect_error = [&](const std::string& gt, const std::string& needle) {
    try {
      open_imagenet_val(dir, gt, options);
      FAIL() << "expected InputError containing " << needle;
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(dir + "/../nothing.txt", "does not exist");
  write_text(dir + "/../short.txt", "1\n2\n");
  expect_error(dir + "/../short.txt", "has 2 labels but");
  write_text(dir + "/../zero.txt", "0\n1\n2\n");
  expect_error(dir + "/../zero.txt", "1-based");
  write_text(dir + "/../word.txt", "1\ntwo\n3\n");
  expect_error(dir + "/../word.txt", "not an integer");
  write_text(dir + "/../unlisted.txt", "ILSVRC2012_val_00000001.JPEG 0\nother.JPEG 1\nILSVRC2012_val_00000002.JPEG 2\n");
  expect_error(dir + "/../unlisted.txt", "no label for");
  const std::string empty_dir = testing::temp_dir();
  EXPECT_THROW(open_imagenet_val(empty_dir, dir + "/../short.txt", options), InputError);
}

}  // namespace
}  // namespace bnrecal
