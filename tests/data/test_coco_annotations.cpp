// The COCO instances and results readers on small files: what they read, the defaults, every kind of
// bad annotation named by file and id, and skip_bad's counts.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/coco_annotations.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using nlohmann::json;

// Image 1 is 100 x 50 (width x height); categories 1 (person) and 3 (car).
json instances(json annotations) {
  return {{"images",
           {{{"id", 1}, {"file_name", "a.jpg"}, {"height", 50}, {"width", 100}},
            {{"id", 2}, {"file_name", "b.jpg"}, {"height", 10}, {"width", 10}}}},
          {"categories", {{{"id", 1}, {"name", "person"}}, {{"id", 3}, {"name", "car"}}}},
          {"annotations", std::move(annotations)},
          {"info", {{"year", 2017}}}};
}

json annotation(int64_t id, json bbox, int64_t image_id = 1, int64_t category_id = 3) {
  return {{"id", id}, {"image_id", image_id}, {"category_id", category_id}, {"bbox", std::move(bbox)}};
}

std::string write(const std::string& name, const std::string& text) {
  const std::string path = testing::temp_dir() + "/" + name;
  write_file_atomic(path, text);
  return path;
}

TEST(CocoAnnotations, ReadsImagesCategoriesAndAnnotations) {
  json crowd = annotation(8, {10, 10, 20, 20}, 1, 1);
  crowd["iscrowd"] = 1;
  crowd["area"] = 123.5;
  const std::string path =
      write("instances.json", instances({annotation(7, {0.5, 1, 99.5, 49}), crowd}).dump());
  const CocoInstances c = read_coco_instances(path);
  EXPECT_EQ(c.path, path);
  ASSERT_EQ(c.images.size(), 2u);
  EXPECT_EQ(c.images[0].file_name, "a.jpg");
  EXPECT_EQ(c.images[0].width, 100);
  EXPECT_EQ(c.image_ids(), (std::vector<int64_t>{1, 2}));
  ASSERT_EQ(c.categories.size(), 2u);
  EXPECT_EQ(c.categories[1].name, "car");
  ASSERT_EQ(c.annotations.size(), 2u);
  const CocoAnnotation& a = c.annotations[0];
  EXPECT_EQ(a.id, 7);
  EXPECT_EQ(a.category_id, 3);
  EXPECT_EQ(a.bbox.w, 99.5);
  EXPECT_FALSE(a.iscrowd);       // absent: 0
  EXPECT_EQ(a.area, 99.5 * 49);  // absent: the box's
  EXPECT_TRUE(c.annotations[1].iscrowd);
  EXPECT_EQ(c.annotations[1].area, 123.5);
  EXPECT_EQ(c.skipped.count, 0);
}

TEST(CocoAnnotations, MalformedJsonNamesTheFile) {
  const std::string path = write("broken.json", "{\"images\": [");
  const std::string message = testing::input_error_message([&] { read_coco_instances(path); });
  EXPECT_NE(message.find("'" + path + "'"), std::string::npos) << message;
  EXPECT_NE(message.find("not JSON"), std::string::npos) << message;
}

TEST(CocoAnnotations, EachBadAnnotationIsNamedByFileAndId) {
  json missing_image = annotation(7, {0, 0, 1, 1});
  missing_image.erase("image_id");
  const std::vector<std::pair<json, std::string>> cases = {
      {annotation(7, {0, 0, 1, 1}, 9), "unknown image_id 9"},
      {annotation(7, {0, 0, 1, 1}, 1, 2), "unknown category_id 2"},
      {annotation(7, {0, 0, 1}), "bbox is not 4 finite numbers"},
      {annotation(7, {0, 0, "1", 1}), "bbox is not 4 finite numbers"},
      {annotation(7, {0, 0, -1, 1}), "negative width or height"},
      {annotation(7, {50, 0, 51.5, 10}), "more than 1 pixel outside image 1 (100x50)"},  // right edge 101.5
      {annotation(7, {0, -1.5, 10, 10}), "more than 1 pixel outside"},
      {missing_image, "missing 'image_id'"},
  };
  for (const auto& [bad, reason] : cases) {
    const std::string path = write("bad.json", instances({annotation(6, {0, 0, 1, 1}), bad}).dump());
    const std::string message = testing::input_error_message([&] { read_coco_instances(path); });
    EXPECT_EQ(message.find("'" + path + "': annotation 7: "), 0u) << message;
    EXPECT_NE(message.find(reason), std::string::npos) << message;
  }
  // Overhanging by up to a pixel is inside.
  const std::string path = write("edge.json", instances({annotation(7, {-1, -0.5, 101, 51})}).dump());
  EXPECT_EQ(read_coco_instances(path).annotations.size(), 1u);
}

TEST(CocoAnnotations, SkipBadCountsAndKeepsTheFirstReasons) {
  json annotations = {annotation(1, {0, 0, 1, 1})};
  for (int64_t id = 10; id < 17; ++id) annotations.push_back(annotation(id, {0, 0, 1, 1}, 99));
  annotations.push_back(annotation(2, {0, 0, 5, 5}, 2));
  const std::string path = write("messy.json", instances(annotations).dump());
  EXPECT_THROW(read_coco_instances(path), InputError);
  const CocoInstances c = read_coco_instances(path, {true});
  EXPECT_EQ(c.annotations.size(), 2u);
  EXPECT_EQ(c.skipped.count, 7);
  ASSERT_EQ(c.skipped.reasons.size(), SkippedRecords::kSkipReasonsKept);
  EXPECT_EQ(c.skipped.reasons[0], "'" + path + "': annotation 10: unknown image_id 99");
}

TEST(CocoAnnotations, BadImagesAreNeverSkipped) {
  json file = instances({annotation(1, {0, 0, 1, 1})});
  file["images"].push_back({{"id", 2}, {"file_name", "c.jpg"}, {"height", 5}, {"width", 5}});
  const std::string path = write("images.json", file.dump());
  const std::string message = testing::input_error_message([&] { read_coco_instances(path, {true}); });
  EXPECT_EQ(message, "'" + path + "': images[2]: duplicate image id 2");
}

TEST(CocoAnnotations, ReadsAndChecksResults) {
  const CocoInstances c =
      read_coco_instances(write("gt.json", instances({annotation(1, {0, 0, 1, 1})}).dump()));
  json results = {{{"image_id", 1}, {"category_id", 1}, {"bbox", {1, 2, 3, 4}}, {"score", 0.75}},
                  {{"image_id", 5}, {"category_id", 1}, {"bbox", {1, 2, 3, 4}}, {"score", 0.5}},
                  {{"image_id", 2}, {"category_id", 3}, {"bbox", {1, 2, 3, 4}}, {"score", "high"}}};
  const std::string path = write("results.json", results.dump());
  const std::string message = testing::input_error_message([&] { read_coco_results(path, c); });
  EXPECT_EQ(message, "'" + path + "': result [1]: unknown image_id 5");
  const CocoResults r = read_coco_results(path, c, {true});
  ASSERT_EQ(r.results.size(), 1u);
  EXPECT_EQ(r.results[0].score, 0.75);
  EXPECT_EQ(r.results[0].bbox.h, 4);
  EXPECT_EQ(r.skipped.count, 2);
  EXPECT_EQ(r.skipped.reasons[1], "'" + path + "': result [2]: 'score' is not a finite number");
  const std::string object = write("object.json", "{}");
  EXPECT_NE(testing::input_error_message([&] { read_coco_results(object, c); }).find("expected an array"),
            std::string::npos);
}

}  // namespace
}  // namespace bnrecal
