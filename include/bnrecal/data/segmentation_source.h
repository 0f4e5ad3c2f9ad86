// Semantic-segmentation data: a split's images as a DataSource (labels all 0, so activation
// calibration, recalibration and streaming read it as any other split) plus each image's class
// mask, and the PASCAL VOC 2012 segmentation layout as a source (what `bnrecal make-task
// segmentation` writes, and what a user with VOC has).
//
//   auto val = bnrecal::open_voc_segmentation("/data/VOCdevkit/VOC2012", bnrecal::Split::kTest, {520});
//   std::mt19937_64 rng;
//   bnrecal::Batch b = val->load({0}, false, rng);        // images [1, 3, H, W] in [0, 1]
//   at::Tensor m = val->masks({0});                       // uint8 [1, H, W]; 255 = ignore
//
// VOC layout: ROOT/ImageSets/Segmentation/{train,val}.txt (image ids, one per line; Split::kTrain
// reads train.txt, Split::kTest val.txt), ROOT/JPEGImages/<id>.jpg, ROOT/SegmentationClass/<id>.png
// (8-bit palette PNG of class indices, 255 on object boundaries = ignored). The classes are VOC's
// 21 (background first) unless ROOT/task.json lists "class_names" (the generated tasks do).
//
// Training augmentation: a random horizontal flip of image and mask together (Batch::masks holds the
// masks of every loaded batch).
//
// Evaluation transform: torchvision's segmentation preset: the shorter side resized to `resize`
// pixels (images bilinear as PIL, masks nearest), no crop; resize 0 keeps the files' size. Images
// of one batch must share a size (VOC's do not: evaluate those with batch size 1).
//
// Every image and mask is checked when the source opens: a missing file, an undecodable one or a
// mask whose size differs from its image's is an InputError naming the file, or, with skip_bad, the
// image is left out and counted (skipped(), skip_reasons()).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "bnrecal/data/data_source.h"

namespace bnrecal {

class SegmentationSource : public DataSource {
 public:
  static constexpr int64_t kIgnoreLabel = 255;
  // uint8 [B, H, W] class masks of the images at indices, aligned pixel for pixel with
  // load(indices, false, rng).images.
  virtual at::Tensor masks(const std::vector<int64_t>& indices) const = 0;
  // Images left out by skip_bad, and the first few reasons.
  virtual int64_t skipped() const { return 0; }
  virtual std::vector<std::string> skip_reasons() const { return {}; }
};

struct VocOptions {
  int64_t resize = 0;  // shorter side in pixels (torchvision's preset: 520); 0: as stored
  bool skip_bad = false;
  int threads = 0;     // decoding threads (0: all cores)
};

// The 21 PASCAL VOC classes, "background" first.
const std::vector<std::string>& voc_class_names();

std::unique_ptr<SegmentationSource> open_voc_segmentation(const std::string& root, Split split,
                                                          const VocOptions& options = {});

// --data forms: "voc:DIR", or DIR itself when it looks like the VOC segmentation layout.
class DatasetRegistry;
struct PathFallback;
bool looks_like_voc_segmentation(const std::string& path);
void register_voc_datasets(DatasetRegistry& registry);
PathFallback voc_path_fallback();

}  // namespace bnrecal
