// Small segmentation and detection tasks made from Fashion-MNIST, written in the real PASCAL VOC 2012
// segmentation and COCO detection layouts.
//
// Why: recalibration has to be studied on dense tasks too, and those need real images with real
// ground truth. These are built from the installed Fashion-MNIST files (no downloads, seconds to make)
// and written exactly as VOC and COCO ship, so the readers and metrics that serve them serve a user's
// real VOC or COCO unchanged.
//
//   bnrecal::FashionMosaicOptions seg;              // 6000 train + 1000 val images, 64x64
//   bnrecal::make_fashion_mosaic("/tmp/fashion-voc", seg);
//   bnrecal::FashionScatterOptions det;             // 6000 train + 1000 val images, 96x96
//   det.seed = 1;
//   bnrecal::make_fashion_scatter("/tmp/fashion-coco", det, [](int64_t done, int64_t total) { ... });
//
// Both tasks paint Fashion-MNIST items (28x28 gray, 0 dark .. 255 bright) onto a black square canvas,
// one after the other. An item pixel whose value is >= low_threshold covers whatever is under it (the
// later item is on top); a fainter pixel only shows where no item has covered the canvas (the brighter
// of the faint values). The canvas is saved as an RGB JPEG (R = G = B, jpeg_quality 95). Train images use
// only items of Fashion-MNIST's training split, val images only items of its test split, so no item
// is seen in both. Each image draws from its own random stream (seed, split, image number), so the
// first N images of a split do not depend on how many are made.
//
// fashion-mosaic (segmentation, VOC layout), per image: 1..4 items (uniform), each at a uniform integer
// position fully inside the canvas, unscaled. Mask of the pixel, from the item on top there (the one
// whose value the image shows): its class + 1 (1..10) where that value is >= high_threshold, 255
// (VOC's ignore label: the blurry rim, whose class is ambiguous) where it is in [low, high), and 0
// (background) where no item covers the pixel, i.e. wherever the image is < low_threshold.
//   OUT/JPEGImages/<id>.jpg  OUT/SegmentationClass/<id>.png (palette PNG, VOC colours)
//   OUT/ImageSets/Segmentation/{train,val}.txt (ids, one per line)   OUT/task.json
//   ids: fm_train_000001, ..., fm_val_000001, ...
//
// fashion-scatter (detection, COCO layout), per image: 1..5 item slots (uniform). A slot draws an item,
// a size uniform among the whole pixel sizes 28 * [min_scale, max_scale] (rounded), resamples the item
// bilinearly to that square size, and a uniform position fully inside the canvas. Its box is the tight
// extent of its pixels >= high_threshold (before anything is drawn over it), its area their count. The
// draw is repeated (up to placement_attempts times, then the slot is left empty) while the item has
// no such pixel or its box overlaps an earlier box of the image with IoU > max_iou, so that objects
// stay separable and countable.
//   OUT/images/{train,val}/<id>.jpg   OUT/annotations/instances_{train,val}.json   OUT/task.json
//   COCO instances: images [{id, file_name (relative to images/<split>/), height, width}],
//   annotations [{id, image_id, category_id 1..10, bbox [x, y, w, h] (whole pixels), area, iscrowd 0}],
//   categories [{id, name, supercategory "fashion"}]; image and annotation ids count from 1 per file.
//
// task.json: generator name and version, every option (seed included), class names, and per split the
// image count and per class counts (segmentation: mask pixels, index 0 background, plus ignored pixels;
// detection: instances and their areas).
//
// The same options give byte-identical files on every run and machine with the same libjpeg / zlib
// (integer arithmetic only; random numbers from std::mt19937_64, which the standard fully specifies).
// The task is written into OUT.tmp-<pid> and renamed to OUT when complete, so OUT is never half
// written. An OUT that exists and is not an empty folder is refused (InputError naming it); errors
// name the file concerned.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bnrecal {

// Called after each image with (images written, images in all).
using TaskProgress = std::function<void(int64_t done, int64_t total)>;

struct FashionMosaicOptions {
  std::string fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";  // {train,t10k}-*-ubyte[.gz]
  int64_t train_images = 6000;
  int64_t val_images = 1000;
  uint64_t seed = 0;
  int canvas = 64;  // square side in pixels, >= 28
  int min_items = 1, max_items = 4;
  int low_threshold = 16;   // item pixels below: not painted over other items; mask background
  int high_threshold = 48;  // mask class from here; [low, high) is the ignored rim (255)
  int jpeg_quality = 95;
};

struct FashionScatterOptions {
  std::string fashion_mnist_dir = "/usr/share/datasets/fashion-mnist";
  int64_t train_images = 6000;
  int64_t val_images = 1000;
  uint64_t seed = 0;
  int canvas = 96;  // square side in pixels, >= the largest scaled item
  int min_items = 1, max_items = 5;
  double min_scale = 0.75, max_scale = 1.75;  // item side 28 * scale, rounded to whole pixels
  double max_iou = 0.3;                        // a box overlapping an earlier one more is redrawn
  int placement_attempts = 50;                 // per item slot
  int low_threshold = 16;   // item pixels below: not painted over other items
  int high_threshold = 48;  // pixels from here make the box and the area
  int jpeg_quality = 95;
};

// "T-shirt/top", "Trouser", ..., "Ankle boot": Fashion-MNIST's labels 0..9 (class k + 1 in the tasks).
const std::vector<std::string>& fashion_mnist_class_names();

// Write the task into the folder out (created; an existing empty folder is replaced). Throws
// InputError for bad options, missing or malformed Fashion-MNIST files, a non-empty out, or a write
// failure, naming the option or file.
void make_fashion_mosaic(const std::string& out, const FashionMosaicOptions& options,
                         const TaskProgress& progress = {});
void make_fashion_scatter(const std::string& out, const FashionScatterOptions& options,
                          const TaskProgress& progress = {});

}  // namespace bnrecal
