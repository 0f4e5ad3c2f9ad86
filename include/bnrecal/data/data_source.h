// A split of a dataset that can hand out images by index, and the batch loader on top of it.
// In-memory IDX data and streamed image folders both implement DataSource, so training,
// evaluation, calibration and recalibration never care where images come from.
//
//   auto test = bnrecal::open_dataset("fashion-mnist", bnrecal::Split::kTest);
//   bnrecal::BatchLoader loader(*test, {.batch_size = 256, .normalization = norm});
//   for (bnrecal::Batch batch; loader.next(batch);) { ... batch.images, batch.labels ... }
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace bnrecal {

enum class Split { kTrain, kTest };
const char* split_name(Split split);

// Per-channel mean and std applied after scaling pixels to [0, 1].
struct Normalization {
  std::vector<double> mean;
  std::vector<double> std;
};

// Training-time augmentation (applied only when a loader asks for it).
struct Augmentation {
  int64_t crop_padding = 0;   // random crop of the original size from a zero-padded image
  bool horizontal_flip = false;
};

struct Batch {
  at::Tensor images;  // float32 [B, C, H, W]: in [0, 1] from DataSource::load, normalized from BatchLoader
  at::Tensor labels;  // int64 [B]
  // The members below have initializers so that `Batch{images, labels}` still says all a classification
  // source has to say.
  // Segmentation sources only: uint8 [B, H, W] class masks aligned pixel for pixel with the images
  // (after the same augmentation); 255 = ignore. Undefined for classification data.
  at::Tensor masks{};
  // Which images of the source these are (set by BatchLoader): what a detection source's boxes are
  // looked up by.
  std::vector<int64_t> indices{};
};

class DataSource {
 public:
  virtual ~DataSource() = default;
  virtual std::string name() const = 0;          // e.g. "fashion-mnist/test"
  virtual int64_t size() const = 0;
  virtual int64_t num_classes() const = 0;
  virtual std::vector<int64_t> image_shape() const = 0;  // {C, H, W} as delivered
  virtual Normalization default_normalization() const = 0;
  virtual Augmentation default_augmentation() const = 0;
  // Class names in label order, where the data has them (image folders); empty otherwise.
  virtual std::vector<std::string> class_names() const { return {}; }
  // Images scaled to [0, 1] (not normalized), float32 [B, C, H, W], and labels.
  // When augment is set, random transforms draw from rng.
  virtual Batch load(const std::vector<int64_t>& indices, bool augment, std::mt19937_64& rng) const = 0;
};

struct LoaderOptions {
  int64_t batch_size = 256;
  bool shuffle = false;
  bool augment = false;
  bool drop_last = false;
  uint64_t seed = 0;
  int64_t limit = -1;          // use only the first `limit` images of the (shuffled) order
  Normalization normalization;  // empty = the source's default

  // `images` seeded-random images in batches: how calibration and recalibration read a split.
  static LoaderOptions sample(int64_t images, int64_t batch_size, uint64_t seed, bool augment,
                              Normalization normalization) {
    LoaderOptions o;
    o.batch_size = batch_size;
    o.shuffle = true;
    o.augment = augment;
    o.seed = seed;
    o.limit = images;
    o.normalization = std::move(normalization);
    return o;
  }
};

// Seeded, reproducible batching: the order and augmentations depend only on seed and epoch.
class BatchLoader {
 public:
  BatchLoader(const DataSource& source, LoaderOptions options);
  // Starts an epoch (reshuffles with seed + epoch when shuffling).
  void start_epoch(int64_t epoch);
  bool next(Batch& batch);
  // Passes over the next batch without loading it (returns false at the end): what a process
  // does with the batches another one evaluates. With augmentation the batch is loaded anyway,
  // since its random transforms advance the generator the batches after it draw from.
  bool skip();
  int64_t num_images() const { return static_cast<int64_t>(order_.size()); }
  int64_t num_batches() const;

 private:
  size_t next_batch_images() const;  // 0 at the end of the epoch

  const DataSource& source_;
  LoaderOptions options_;
  std::vector<int64_t> order_;
  size_t position_ = 0;
  std::mt19937_64 rng_;
  at::Tensor mean_, std_;
};

// Opens a --data spec: a name ("fashion-mnist", the default), a prefix form ("cifar10:PATH") or a
// plain folder, as builtin_datasets() registers them (dataset_registry.h; `bnrecal models` lists
// them). InputError listing the known forms for anything else.
// classes: for image folders, the model's class names in label order (checkpoint metadata
// "classes"): folders are labelled by name, so a folder holding only some of the classes gets the
// model's labels, and a folder that is not one of them is an InputError. Other sources ignore it.
std::unique_ptr<DataSource> open_dataset(const std::string& spec, Split split,
                                         const std::vector<std::string>& classes = {});

// The forms open_dataset knows, with one-line descriptions (`bnrecal models`).
std::vector<std::pair<std::string, std::string>> known_datasets();
// The forms in one line, for --data help texts: "fashion-mnist, mnist, ... or PATH (...)".
std::string dataset_spec_help();

}  // namespace bnrecal
