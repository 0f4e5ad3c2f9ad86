// A tiny COCO detection folder (images/<split>/, annotations/instances_<split>.json) for the tests of
// the COCO detection source and of detection evaluation, with known boxes, and the means to spoil it.
//
//   bnrecal::testing::CocoFixture f = bnrecal::testing::standard_coco_fixture();
//   f.images[1].on_disk = false;                                   // an image the JSON lists but lacks
//   const std::string root = bnrecal::testing::write_coco_fixture(f);
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/core/files.h"
#include "bnrecal/data/coco_annotations.h"
#include "bnrecal/data/image_decode.h"
#include "test_support.h"

namespace bnrecal::testing {

struct FixtureImage {
  int64_t id = 0;
  std::string file_name;
  int64_t height = 64, width = 64;                 // as the JSON says
  int64_t stored_height = 64, stored_width = 64;   // as the file is
  bool on_disk = true;
  uint8_t value = 0;  // every pixel and channel: lets a test model tell the images apart
};

struct FixtureAnnotation {
  int64_t id = 0, image_id = 0, category_id = 0;
  Box box;
  bool crowd = false;
};

struct CocoFixture {
  std::vector<FixtureImage> images;
  std::vector<std::pair<int64_t, std::string>> categories;  // {id, name} in file order
  std::vector<FixtureAnnotation> annotations;
};

// Three 64x64 images in the file order 7, 9, 4 (not sorted by id, so split order shows), filled with
// 40, 80 and 120. Categories 10 "boot" and 3 "shirt", listed in that order: class 0 is category 3.
// Every box is 32x32 and centred on a cell centre of an 8-pixel grid, (j + 0.5) * 8, so a YOLO map
// with tx = ty = tw = th = 0 at that cell decodes to it exactly (models/yolo_box_coding.h):
//   image 7: boot  {4, 4, 32, 32}    (cell row 2, column 2)
//            shirt {28, 28, 32, 32}  (cell 5, 5)
//   image 9: shirt {20, 12, 32, 32}  (cell 3, 4), and a crowd region of boots {0, 40, 20, 20}
//   image 4: nothing
inline CocoFixture standard_coco_fixture() {
  CocoFixture f;
  f.images = {{7, "a.png", 64, 64, 64, 64, true, 40}, {9, "b.png", 64, 64, 64, 64, true, 80},
              {4, "c.png", 64, 64, 64, 64, true, 120}};
  f.categories = {{10, "boot"}, {3, "shirt"}};
  f.annotations = {{1, 7, 10, {4, 4, 32, 32}, false},
                   {2, 7, 3, {28, 28, 32, 32}, false},
                   {3, 9, 3, {20, 12, 32, 32}, false},
                   {4, 9, 10, {0, 40, 20, 20}, true}};
  return f;
}

// Writes the fixture's `split` ("val" or "train") into a fresh folder and returns its path.
inline std::string write_coco_fixture(const CocoFixture& f, const std::string& split = "val") {
  const std::string root = temp_dir() + "/coco";
  std::filesystem::create_directories(root + "/images/" + split);
  std::filesystem::create_directories(root + "/annotations");
  nlohmann::json images = nlohmann::json::array(), categories = nlohmann::json::array(),
                 annotations = nlohmann::json::array();
  for (const FixtureImage& image : f.images) {
    images.push_back({{"id", image.id}, {"file_name", image.file_name}, {"height", image.height},
                      {"width", image.width}});
    if (!image.on_disk) continue;
    const size_t bytes = static_cast<size_t>(image.stored_height * image.stored_width * 3);
    write_png_file(root + "/images/" + split + "/" + image.file_name,
                   Image{image.stored_height, image.stored_width, std::vector<uint8_t>(bytes, image.value)});
  }
  for (const auto& [id, name] : f.categories) categories.push_back({{"id", id}, {"name", name}});
  for (const FixtureAnnotation& a : f.annotations) {
    annotations.push_back({{"id", a.id},
                           {"image_id", a.image_id},
                           {"category_id", a.category_id},
                           {"bbox", {a.box.x, a.box.y, a.box.w, a.box.h}},
                           {"iscrowd", a.crowd ? 1 : 0}});
  }
  const nlohmann::json instances{{"images", images}, {"categories", categories}, {"annotations", annotations}};
  write_file_atomic(root + "/annotations/instances_" + split + ".json", instances.dump());
  return root;
}

}  // namespace bnrecal::testing
