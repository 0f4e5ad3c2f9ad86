// Image files on disk as a DataSource: torchvision-style ImageFolder trees and the flat
// ILSVRC2012 validation folder with a ground-truth file. Images are decoded on demand, in
// parallel per batch, and transformed like torchvision's ImageNet recipe (image_transforms.h).
//
//   bnrecal::ImageFolderOptions options;           // Resize(256) + CenterCrop(224) for eval
//   options.on_corrupt = bnrecal::OnCorrupt::kSkip;
//   auto val = bnrecal::open_image_folder("/data/imagenet", bnrecal::Split::kTest, options);
//   auto val2 = bnrecal::open_imagenet_val("/data/val", "/data/val.txt", options);
//   auto any = bnrecal::open_dataset("imagenet-val:/data/val:/data/val.txt", split);  // registry
//
// Layouts:
//   ImageFolder  root/<class>/**/<file>.{jpg,jpeg,png} (extension case-insensitive). Classes are
//                the sub-folder names sorted (label = rank), files sorted by folder then name,
//                exactly as torchvision.datasets.ImageFolder. A root holding train/ and val/
//                sub-folders picks train/ for Split::kTrain and val/ for Split::kTest.
//   ImageNet val a flat folder of images (ILSVRC2012_val_00000001.JPEG ...) plus a ground-truth
//                file in one of two formats (GroundTruthFormat, auto-detected by default):
//     kDevkit    one 1-based label per line; line k belongs to the k-th image in sorted name
//                order (ILSVRC2012_validation_ground_truth.txt from the devkit). NOTE: devkit ids
//                follow the devkit's synset order, not torchvision's sorted-wnid order, so
//                torchvision weights need the file-label format below.
//     kFileLabel "file_name label" per line, 0-based labels (e.g. caffe's val.txt, which uses
//                torchvision's sorted-wnid class order). Every image must be listed exactly once.
#pragma once
#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bnrecal/data/data_source.h"
#include "bnrecal/data/dataset_registry.h"
#include "bnrecal/data/image_transforms.h"

namespace bnrecal {

// What to do with an image that cannot be decoded.
enum class OnCorrupt {
  kFail,  // load() throws InputError naming the file
  kSkip,  // load() substitutes the next decodable image (label included) and counts the file
};

enum class GroundTruthFormat { kAuto, kDevkit, kFileLabel };

struct ImageFolderOptions {
  EvalTransform eval;    // load(..., augment = false)
  TrainTransform train;  // load(..., augment = true)
  OnCorrupt on_corrupt = OnCorrupt::kFail;
  // Decode every image once when opening; with kSkip the corrupt ones are dropped from the
  // source (so size() excludes them), with kFail the first one throws.
  bool verify_on_open = false;
  int num_threads = 0;  // decoding threads per batch; 0 = std::thread::hardware_concurrency()
  GroundTruthFormat ground_truth_format = GroundTruthFormat::kAuto;
  int64_t num_classes = 1000;  // ImageNet val only (ImageFolder counts its class folders)
  // ImageFolder only: the class names in label order (a model's, from checkpoint metadata
  // "classes"). Class folders are then labelled by name and may be any subset; a folder that is
  // not in the list is an InputError. Empty: the sorted folder names, as torchvision does.
  std::vector<std::string> classes;
};

// A list of labelled image files; both layouts produce one.
class ImageListSource : public DataSource {
 public:
  struct Entry {
    std::string path;
    int64_t label;
  };
  ImageListSource(std::string name, std::vector<Entry> entries, int64_t num_classes,
                  std::vector<std::string> class_names, ImageFolderOptions options);

  std::string name() const override { return name_; }
  int64_t size() const override { return static_cast<int64_t>(entries_.size()); }
  int64_t num_classes() const override { return num_classes_; }
  std::vector<int64_t> image_shape() const override;
  Normalization default_normalization() const override;  // ImageNet mean/std
  // Flip only: load(augment = true) itself applies RandomResizedCrop + flip, which the
  // crop_padding field cannot describe; loaders must not augment these images again.
  Augmentation default_augmentation() const override;
  Batch load(const std::vector<int64_t>& indices, bool augment,
             std::mt19937_64& rng) const override;

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<std::string> class_names() const override { return class_names_; }  // may be empty
  // Files found corrupt so far (by verify_on_open or by load with kSkip), sorted.
  std::vector<std::string> corrupt_files() const;
  int64_t corrupt_count() const { return static_cast<int64_t>(corrupt_files().size()); }

 private:
  void verify();
  // Decodes entry `index` (or, with kSkip, the next decodable one) and transforms it into out.
  int64_t decode_into(int64_t index, bool augment, uint64_t seed, float* out) const;
  void mark_corrupt(const std::string& path) const;

  std::string name_;
  std::vector<Entry> entries_;
  int64_t num_classes_;
  std::vector<std::string> class_names_;
  ImageFolderOptions options_;
  mutable std::mutex corrupt_mutex_;
  mutable std::vector<std::string> corrupt_;
};

// ImageFolder tree (or a root with train/ and val/, chosen by split). InputError when the
// folder is missing, has no class folders, or a class has no image files.
std::unique_ptr<ImageListSource> open_image_folder(const std::string& root, Split split,
                                                   const ImageFolderOptions& options = {});
// ILSVRC2012 validation folder + ground truth. InputError when the ground-truth file is missing,
// malformed, its count differs from the number of images, or a label is out of range.
std::unique_ptr<ImageListSource> open_imagenet_val(const std::string& folder,
                                                   const std::string& ground_truth,
                                                   const ImageFolderOptions& options = {});

// True for a folder with class sub-folders holding images, or with train/ and val/ such folders.
bool looks_like_image_folder(const std::string& path);

// The argument of `imagenet-val:FOLDER[:GT]` (test split only; InputError for the train split).
// GT defaults to the first of FOLDER/val.txt, FOLDER/../val.txt,
// FOLDER/ILSVRC2012_validation_ground_truth.txt, FOLDER/../ILSVRC2012_validation_ground_truth.txt.
std::unique_ptr<ImageListSource> open_imagenet_val_spec(const std::string& argument, Split split,
                                                        const ImageFolderOptions& options = {});

// Registers "imagefolder:PATH" (open_image_folder) and "imagenet-val:DIR[:GT]"
// (open_imagenet_val_spec), with default options and the model's class names.
void register_image_folder_datasets(DatasetRegistry& registry);
// A path that looks_like_image_folder.
PathFallback image_folder_path_fallback();

}  // namespace bnrecal
