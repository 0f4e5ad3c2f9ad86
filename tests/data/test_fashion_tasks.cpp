// The Fashion-MNIST segmentation (VOC layout) and detection (COCO layout) tasks: tiny tasks are
// byte-identical for the same options and differ for another seed; masks hold only 0, 1..10 and 255
// and agree with the image (class where bright, background where dark); boxes lie inside their image
// on bright pixels and the COCO files pass the project's own reader; train and val draw from
// different Fashion-MNIST splits; a non-empty output folder is refused and a failure leaves nothing.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "bnrecal/data/coco_annotations.h"
#include "bnrecal/data/fashion_tasks.h"
#include "bnrecal/data/idx.h"
#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/palette_png.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;
namespace fs = std::filesystem;

namespace {

// Quality-95 JPEG moves pixels next to sharp edges: over the 7000 default images a class pixel (true
// value >= 48) decodes to >= 40 and a background pixel (< 16) to <= 22.
constexpr int kJpegMargin = 16;

const char* kFashionMnist = "/usr/share/datasets/fashion-mnist";

#define REQUIRE_FASHION_MNIST() \
  if (!fs::exists(kFashionMnist)) GTEST_SKIP() << "Fashion-MNIST is not installed at " << kFashionMnist

// The first items of each real split, written raw: every task below reads these instead of the whole
// gzipped files, which take most of a second to inflate.
const std::string& real_subset() {
  static const std::string dir = [] {
    const std::string out = temp_dir(), source = std::string(kFashionMnist) + "/";
    for (auto [prefix, count] : {std::pair{"train", 600}, std::pair{"t10k", 300}})
      for (const char* kind : {"-images-idx3-ubyte", "-labels-idx1-ubyte"}) {
        IdxArray array = read_idx(source + prefix + kind + ".gz");
        array.data.resize(array.data.size() / array.dims[0] * count);
        array.dims[0] = count;
        write_idx(out + "/" + prefix + kind, array);
      }
    return out;
  }();
  return dir;
}

FashionMosaicOptions tiny_mosaic(const std::string& source) {
  FashionMosaicOptions o;
  o.fashion_mnist_dir = source;
  o.train_images = 8;
  o.val_images = 4;
  return o;
}

FashionScatterOptions tiny_scatter(const std::string& source) {
  FashionScatterOptions o;
  o.fashion_mnist_dir = source;
  o.train_images = 8;
  o.val_images = 4;
  return o;
}

// Every file under root by relative path, with its bytes.
std::map<std::string, std::string> read_tree(const std::string& root) {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file())
      files[fs::relative(entry.path(), root).string()] = read_file(entry.path().string());
  return files;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::istringstream in(read_file(path));
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Made once per process: several tests read the same tiny tasks.
const std::string& mosaic_task() {
  static const std::string out = [] {
    const std::string dir = temp_dir() + "/voc";
    make_fashion_mosaic(dir, tiny_mosaic(real_subset()));
    return dir;
  }();
  return out;
}

const std::string& scatter_task() {
  static const std::string out = [] {
    const std::string dir = temp_dir() + "/coco";
    make_fashion_scatter(dir, tiny_scatter(real_subset()));
    return dir;
  }();
  return out;
}

// A stand-in Fashion-MNIST folder whose training items all have label train_label and test items
// test_label: a 20x20 bright square (200) in a 1-pixel rim of 30, inside a 28x28 black item.
std::string fake_fashion_mnist(uint8_t train_label, uint8_t test_label) {
  const std::string dir = temp_dir();
  using Split = std::tuple<const char*, uint8_t, int>;
  for (auto [prefix, label, count] : {Split{"train", train_label, 50}, Split{"t10k", test_label, 20}}) {
    IdxArray images{{count, 28, 28}, std::vector<uint8_t>(size_t(count) * 28 * 28, 0)};
    for (int i = 0; i < count; ++i)
      for (int y = 3; y < 25; ++y)
        for (int x = 3; x < 25; ++x)
          images.data[size_t(i) * 784 + y * 28 + x] = (y == 3 || y == 24 || x == 3 || x == 24) ? 30 : 200;
    write_idx(dir + "/" + prefix + "-images-idx3-ubyte", images);
    write_idx(dir + "/" + prefix + "-labels-idx1-ubyte", {{count}, std::vector<uint8_t>(count, label)});
  }
  return dir;
}

}  // namespace

TEST(FashionTasks, MosaicIsDeterministicAndSeeded) {
  REQUIRE_FASHION_MNIST();
  const std::string again = temp_dir() + "/voc";
  make_fashion_mosaic(again, tiny_mosaic(real_subset()));
  const auto first = read_tree(mosaic_task()), second = read_tree(again);
  EXPECT_EQ(first.size(), 2u * 12 + 3);  // image and mask per id, two lists, task.json
  EXPECT_TRUE(first == second);
  FashionMosaicOptions other = tiny_mosaic(real_subset());
  other.seed = 1;
  const std::string reseeded = temp_dir() + "/voc";
  make_fashion_mosaic(reseeded, other);
  for (const char* file : {"JPEGImages/fm_train_000001.jpg", "SegmentationClass/fm_val_000001.png"})
    EXPECT_NE(first.at(file), read_file(reseeded + "/" + file)) << file;
}

TEST(FashionTasks, MosaicMasksAgreeWithTheImages) {
  REQUIRE_FASHION_MNIST();
  const std::string root = mosaic_task();
  const FashionMosaicOptions o = tiny_mosaic(real_subset());
  const nlohmann::json task = nlohmann::json::parse(read_file(root + "/task.json"));
  EXPECT_EQ(task["generator"], "fashion-mosaic");
  EXPECT_EQ(task["class_names"].size(), 11u);
  EXPECT_EQ(task["class_names"][0], "background");
  EXPECT_EQ(task["class_names"][10], "Ankle boot");
  for (const char* split : {"train", "val"}) {
    const std::vector<std::string> ids = read_lines(root + "/ImageSets/Segmentation/" + split + ".txt");
    ASSERT_EQ(int64_t(ids.size()), std::string(split) == "train" ? o.train_images : o.val_images);
    std::vector<int64_t> pixels(11, 0);
    int64_t ignored = 0, objects = 0;
    for (const std::string& id : ids) {
      EXPECT_EQ(id.rfind(std::string("fm_") + split + "_", 0), 0u) << id;
      const Image image = decode_image_file(root + "/JPEGImages/" + id + ".jpg");
      const IndexedImage mask = read_palette_png(root + "/SegmentationClass/" + id + ".png");
      ASSERT_EQ(image.height, o.canvas);
      ASSERT_EQ(image.width, o.canvas);
      ASSERT_EQ(mask.height, o.canvas);
      ASSERT_EQ(mask.width, o.canvas);
      for (int64_t i = 0; i < o.canvas * o.canvas; ++i) {
        const int m = mask.indices[i], v = image.pixels[i * 3];
        ASSERT_TRUE(m <= 10 || m == 255) << id << " pixel " << i << " mask " << m;
        if (m == 255) ++ignored;
        else ++pixels[m];
        objects += m >= 1 && m <= 10;
        if (m >= 1 && m <= 10) {
          EXPECT_GE(v, o.high_threshold - kJpegMargin) << id << " pixel " << i;
        } else if (m == 0) {
          EXPECT_LT(v, o.low_threshold + kJpegMargin) << id << " pixel " << i;
        }
      }
    }
    EXPECT_GT(objects, 0);
    EXPECT_EQ(task["splits"][split]["pixels_per_class"].get<std::vector<int64_t>>(), pixels);
    EXPECT_EQ(task["splits"][split]["ignored_pixels"].get<int64_t>(), ignored);
  }
}

TEST(FashionTasks, ScatterIsDeterministicAndSeeded) {
  REQUIRE_FASHION_MNIST();
  const std::string again = temp_dir() + "/coco";
  make_fashion_scatter(again, tiny_scatter(real_subset()));
  const auto first = read_tree(scatter_task());
  EXPECT_EQ(first.size(), 12u + 3);  // images, two annotation files, task.json
  EXPECT_TRUE(first == read_tree(again));
  FashionScatterOptions other = tiny_scatter(real_subset());
  other.seed = 1;
  const std::string reseeded = temp_dir() + "/coco";
  make_fashion_scatter(reseeded, other);
  EXPECT_NE(read_file(scatter_task() + "/annotations/instances_train.json"),
            read_file(reseeded + "/annotations/instances_train.json"));
  EXPECT_NE(read_file(scatter_task() + "/images/val/fm_val_000001.jpg"),
            read_file(reseeded + "/images/val/fm_val_000001.jpg"));
}

TEST(FashionTasks, ScatterBoxesLieOnBrightPixelsInsideTheirImages) {
  REQUIRE_FASHION_MNIST();
  const std::string root = scatter_task();
  const FashionScatterOptions o = tiny_scatter(real_subset());
  for (const char* split : {"train", "val"}) {
    const std::string path = root + "/annotations/instances_" + std::string(split) + ".json";
    const nlohmann::json coco = nlohmann::json::parse(read_file(path));
    ASSERT_EQ(coco["categories"].size(), 10u);
    EXPECT_EQ(coco["categories"][9]["name"], "Ankle boot");
    EXPECT_EQ(coco["categories"][9]["supercategory"], "fashion");
    std::map<int64_t, Image> images;
    for (const auto& entry : coco["images"]) {
      const int64_t id = entry["id"];
      EXPECT_EQ(id, int64_t(images.size()) + 1);
      const std::string file_name = entry["file_name"];
      Image image = decode_image_file(root + "/images/" + split + "/" + file_name);
      EXPECT_EQ(image.height, entry["height"].get<int64_t>());
      EXPECT_EQ(image.width, entry["width"].get<int64_t>());
      EXPECT_EQ(image.width, o.canvas);
      images.emplace(id, std::move(image));
    }
    ASSERT_EQ(int64_t(images.size()), std::string(split) == "train" ? o.train_images : o.val_images);
    std::set<int64_t> annotation_ids, annotated;
    for (const auto& a : coco["annotations"]) {
      EXPECT_TRUE(annotation_ids.insert(a["id"].get<int64_t>()).second);
      const int64_t category = a["category_id"], image_id = a["image_id"];
      EXPECT_GE(category, 1);
      EXPECT_LE(category, 10);
      EXPECT_EQ(a["iscrowd"], 0);
      ASSERT_TRUE(images.count(image_id)) << a.dump();
      annotated.insert(image_id);
      const Image& image = images.at(image_id);
      const int x = a["bbox"][0], y = a["bbox"][1], w = a["bbox"][2], h = a["bbox"][3];
      ASSERT_TRUE(x >= 0 && y >= 0 && w >= 1 && h >= 1 && x + w <= image.width && y + h <= image.height)
          << a.dump();
      EXPECT_GT(a["area"].get<int64_t>(), 0);
      EXPECT_LE(a["area"].get<int64_t>(), int64_t(w) * h);
      int brightest = 0;
      for (int r = y; r < y + h; ++r)
        for (int c = x; c < x + w; ++c) brightest = std::max<int>(brightest, image.row(r)[c * 3]);
      EXPECT_GE(brightest, o.high_threshold - kJpegMargin) << a.dump();
    }
    EXPECT_EQ(annotated.size(), images.size());  // every image keeps at least its first item
    const CocoInstances read = read_coco_instances(path);  // the reader a user's COCO goes through
    EXPECT_EQ(read.images.size(), images.size());
    EXPECT_EQ(read.annotations.size(), coco["annotations"].size());
    EXPECT_EQ(read.skipped.count, 0);
  }
}

TEST(FashionTasks, TrainAndValDrawFromTheirOwnSplits) {
  const std::string fake = fake_fashion_mnist(/*train_label=*/2, /*test_label=*/6);
  FashionMosaicOptions seg = tiny_mosaic(fake);
  const std::string voc = temp_dir() + "/voc";
  make_fashion_mosaic(voc, seg);
  for (auto [split, label] : {std::pair{"train", 3}, std::pair{"val", 7}})
    for (const std::string& id : read_lines(voc + "/ImageSets/Segmentation/" + split + ".txt")) {
      std::set<int> seen;
      for (uint8_t m : read_palette_png(voc + "/SegmentationClass/" + id + ".png").indices) seen.insert(m);
      EXPECT_TRUE(seen.count(label)) << id;
      seen.erase(0), seen.erase(255), seen.erase(label);
      EXPECT_TRUE(seen.empty()) << id;
    }
  FashionScatterOptions det = tiny_scatter(fake);
  const std::string coco = temp_dir() + "/coco";
  make_fashion_scatter(coco, det);
  for (auto [split, category] : {std::pair{"train", 3}, std::pair{"val", 7}}) {
    const auto json = nlohmann::json::parse(read_file(coco + "/annotations/instances_" + split + ".json"));
    EXPECT_FALSE(json["annotations"].empty());
    for (const auto& a : json["annotations"]) EXPECT_EQ(a["category_id"], category) << split;
  }
}

TEST(FashionTasks, RefusesANonEmptyOutputAndLeavesNothingOnFailure) {
  const std::string fake = fake_fashion_mnist(0, 1);
  const std::string parent = temp_dir(), out = parent + "/task";
  fs::create_directories(out);
  write_file_atomic(out + "/keep.txt", "mine");
  FashionMosaicOptions seg = tiny_mosaic(fake);
  EXPECT_NE(input_error_message([&] { make_fashion_mosaic(out, seg); }).find("'" + out + "'"),
            std::string::npos);
  FashionScatterOptions det = tiny_scatter(fake);
  EXPECT_NE(input_error_message([&] { make_fashion_scatter(out + "/", det); }).find(out), std::string::npos);
  EXPECT_EQ(read_file(out + "/keep.txt"), "mine");
  // An empty folder is taken over.
  fs::remove(out + "/keep.txt");
  make_fashion_mosaic(out, seg);
  EXPECT_TRUE(fs::exists(out + "/task.json"));
  // Missing Fashion-MNIST files are named, and neither the output nor its staging folder remains.
  seg.fashion_mnist_dir = parent + "/nowhere";
  const std::string missing = parent + "/missing";
  const std::string message = input_error_message([&] { make_fashion_mosaic(missing, seg); });
  EXPECT_NE(message.find(parent + "/nowhere/train-images"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(missing));
  size_t entries = 0;
  for (const auto& entry : fs::directory_iterator(parent)) entries += entry.path().filename() != "task";
  EXPECT_EQ(entries, 0u);
  // Bad options name the option.
  det.canvas = 40;
  EXPECT_NE(input_error_message([&] { make_fashion_scatter(parent + "/x", det); }).find("canvas"),
            std::string::npos);
}
