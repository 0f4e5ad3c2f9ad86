// Object-detection data: a split's images as a DataSource (labels all 0, so activation calibration,
// recalibration and streaming read it as any other split) plus its ground-truth boxes, both as COCO
// evaluation scores them and as training targets; and the COCO instances layout as a source (what
// `bnrecal make-task detection` writes, and what a user with COCO has).
//
//   auto val = bnrecal::open_coco_detection("/data/fashion-scatter", bnrecal::Split::kTest);
//   std::mt19937_64 rng;
//   bnrecal::Batch b = val->load({0, 1}, false, rng);        // images [2, 3, H, W] in [0, 1]
//   val->image_id(0);                                        // COCO image id of image 0
//   auto truth = val->ground_truths();                       // the whole split, COCO ids
//   auto targets = val->boxes({0, 1});                       // per image: xywh + class index
//
// Layout: ROOT/images/{train,val}/<file_name>, ROOT/annotations/instances_{train,val}.json (COCO
// instances, read by data/coco_annotations.h; Split::kTrain reads train, Split::kTest val). COCO
// 2017's own names are found too: annotations/instances_val2017.json with its images in
// ROOT/val2017/ or ROOT/images/val2017/ (likewise train). Images are in the JSON's order. The
// classes are the JSON's categories sorted by id: class index c is the c-th smallest category id
// (COCO's ids have gaps, 1..90 for 80 classes; the generated tasks' are 1..10), and class_names()
// are those categories' names.
//
// Transform: none by default: images are delivered at their stored size, so the boxes stay in the
// pixels the model sees, and images of one batch must share a size. letterbox N (`coco:DIR:N`)
// fits every image into N x N, as COCO's images of many sizes need: scaled bilinearly (as PIL),
// aspect kept, so that the longer side is N; placed at the top left; the rest filled with the
// ImageNet mean (zero once normalized). Training boxes are scaled with the pixels; ground_truths()
// stay in the stored images' pixels, where COCO scores, and image_scale() says how an evaluation
// maps decoded boxes back (eval/detection_eval.h does).
// No training augmentation yet: load(augment = true) is an InputError, because the boxes live
// outside the Batch and a flip of the images alone would silently contradict them.
//
// Every image is decoded once when the source opens: a missing or undecodable file, or one whose
// size differs from the width and height the JSON records for it, is an InputError naming the file,
// or, with skip_bad, the image and its annotations are left out and the image counted. skip_bad
// also reaches the JSON reader, which then leaves out and counts bad annotations (skipped(),
// skip_reasons() report both).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "bnrecal/data/coco_annotations.h"
#include "bnrecal/data/data_source.h"

namespace bnrecal {

// A training target: an object's box in the pixels the model sees and its 0-based class index.
struct GroundTruthBox {
  Box box;  // xywh, pixels
  int64_t class_index = 0;
};

// Model pixels per stored pixel, per axis: a box the model places at x (in what load() delivers)
// lies at x / x_scale in the stored image.
struct ImageScale {
  double x = 1, y = 1;
};

class DetectionSource : public DataSource {
 public:
  // Every ground-truth object of the split (crowd regions included), with COCO image and category
  // ids: what eval/detection_metrics.h scores detections against.
  virtual const std::vector<GroundTruth>& ground_truths() const = 0;
  // The COCO image id of the image at index (ground truths and detections name images by it).
  virtual int64_t image_id(int64_t index) const = 0;
  // COCO category id of each class index, ascending: how a model's class c becomes a detection's
  // category_id.
  virtual const std::vector<int64_t>& category_ids() const = 0;
  // How load() scaled the image at index (1, 1 without a transform).
  virtual ImageScale image_scale(int64_t index) const = 0;
  // Per image at indices, its objects for training, crowd regions left out: a crowd is not one
  // object with one box, and the COCO metrics neither reward nor punish detections inside one.
  virtual std::vector<std::vector<GroundTruthBox>> boxes(const std::vector<int64_t>& indices) const = 0;
  // Images and annotations left out by skip_bad, and the first few reasons.
  virtual int64_t skipped() const { return 0; }
  virtual std::vector<std::string> skip_reasons() const { return {}; }
};

struct CocoDetectionOptions {
  bool skip_bad = false;
  int threads = 0;        // decoding threads (0: all cores)
  int64_t letterbox = 0;  // N: every image fitted into N x N (see above); 0: as stored
};

std::unique_ptr<DetectionSource> open_coco_detection(const std::string& root, Split split,
                                                     const CocoDetectionOptions& options = {});

// --data forms: "coco:DIR[:N]" (N: the letterbox side), or DIR itself when it holds
// annotations/instances_val.json or instances_val2017.json.
class DatasetRegistry;
struct PathFallback;
bool looks_like_coco_detection(const std::string& path);
void register_coco_datasets(DatasetRegistry& registry);
PathFallback coco_path_fallback();

}  // namespace bnrecal
