// COCO instance annotations (object-detection ground truth) and detections in COCO's results
// format, read and checked against each other. Evaluated by eval/detection_metrics.h.
//
//   bnrecal::CocoInstances gt = bnrecal::read_coco_instances("instances_val2017.json");
//   bnrecal::CocoResults dt = bnrecal::read_coco_results("detections.json", gt);
//   bnrecal::CocoInstances messy = bnrecal::read_coco_instances("labels.json", {/*skip_bad=*/true});
//   messy.skipped.count;  messy.skipped.reasons;   // what was left out, and why (the first few)
//
// Instances file: {"images": [{id, file_name, height, width}], "annotations": [{id, image_id,
// category_id, bbox: [x, y, w, h], iscrowd, area}], "categories": [{id, name}]}; other keys (info,
// segmentation, ...) are not read. iscrowd may be absent (0). area may be absent (then w * h): COCO's
// is the segmentation's area, which only decides the small/medium/large ranges.
// Results file: [{image_id, category_id, bbox, score}], as detectors write it for pycocotools.
//
// A bad annotation or result (unknown image or category id, a bbox that is not 4 finite numbers, a
// negative width or height, a box more than 1 pixel outside its image, a missing or mistyped field)
// is an InputError naming the file and the annotation's id (a result's position in the array). With
// skip_bad it is left out and counted instead. Malformed JSON, or images or categories that are
// malformed or duplicated, are always an InputError: nothing sensible can be evaluated then.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bnrecal {

// An axis-aligned box in pixels as COCO writes it: top-left corner (x, y), width w, height h.
// Declared here rather than in detection_metrics.h because data sits below eval.
struct Box {
  double x = 0, y = 0, w = 0, h = 0;
};

// One ground-truth object as eval/detection_metrics.h scores it. Declared here for the same reason as
// Box: detection data sources (data/detection_source.h) hand it out.
struct GroundTruth {
  int64_t image_id = 0, category_id = 0;
  Box box;
  bool iscrowd = false;  // crowd regions are ignored ground truth (see detection_metrics.h)
  double area = 0;       // decides the area range; COCO's 'area' field, else box w * h
};

struct CocoImage {
  int64_t id = 0;
  std::string file_name;
  int64_t height = 0, width = 0;
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;
};

struct CocoAnnotation {
  int64_t id = 0, image_id = 0, category_id = 0;
  Box bbox;
  bool iscrowd = false;
  double area = 0;  // the file's area, or bbox w * h when it gives none
};

struct CocoResult {
  int64_t image_id = 0, category_id = 0;
  Box bbox;
  double score = 0;
};

// What skip_bad left out: how many records, and the messages of the first kSkipReasonsKept.
struct SkippedRecords {
  static constexpr size_t kSkipReasonsKept = 5;
  int64_t count = 0;
  std::vector<std::string> reasons;
};

struct CocoInstances {
  std::string path;
  std::vector<CocoImage> images;  // in file order, as are the others
  std::vector<CocoCategory> categories;
  std::vector<CocoAnnotation> annotations;
  SkippedRecords skipped;
  std::vector<int64_t> image_ids() const;  // every image, annotated or not
};

struct CocoResults {
  std::string path;
  std::vector<CocoResult> results;
  SkippedRecords skipped;
};

struct CocoReadOptions {
  bool skip_bad = false;  // leave out and count bad annotations / results instead of throwing
};

CocoInstances read_coco_instances(const std::string& path, const CocoReadOptions& options = {});
// Checks every result against instances' images (size included) and categories.
CocoResults read_coco_results(const std::string& path, const CocoInstances& instances,
                              const CocoReadOptions& options = {});

}  // namespace bnrecal
