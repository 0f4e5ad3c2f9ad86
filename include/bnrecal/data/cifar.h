// CIFAR-10 / CIFAR-100 in their binary distribution format, held in memory as uint8.
//
//   auto train = bnrecal::open_cifar("/data/cifar-10-batches-bin", bnrecal::Split::kTrain);
//   auto test = bnrecal::open_cifar("/data", bnrecal::Split::kTest);  // finds the sub-folder
//
// CIFAR-10: data_batch_{1..5}.bin (train) and test_batch.bin, records of 1 label byte + 3072
// pixel bytes (1024 R, 1024 G, 1024 B, row-major 32x32). CIFAR-100: train.bin / test.bin,
// records of a coarse and a fine label byte + 3072 pixel bytes; the fine label (100 classes) is
// used. Augmentation (load with augment = true): 4-pixel zero padding + random 32x32 crop, then a
// horizontal flip with probability 0.5 (torchvision RandomCrop(32, 4) + RandomHorizontalFlip).
#pragma once
#include <memory>
#include <string>

#include "bnrecal/data/data_source.h"
#include "bnrecal/data/dataset_registry.h"

namespace bnrecal {

class CifarSource : public DataSource {
 public:
  // images uint8 [N, 3, 32, 32], labels int64 [N].
  CifarSource(std::string name, at::Tensor images, at::Tensor labels, int64_t num_classes);

  std::string name() const override { return name_; }
  int64_t size() const override { return images_.size(0); }
  int64_t num_classes() const override { return num_classes_; }
  std::vector<int64_t> image_shape() const override { return {3, 32, 32}; }
  // Per-channel statistics of the training set (population std, not the often-quoted
  // 0.2023/0.1994/0.2010 which come from a per-image std).
  Normalization default_normalization() const override;
  Augmentation default_augmentation() const override { return {4, true}; }
  Batch load(const std::vector<int64_t>& indices, bool augment,
             std::mt19937_64& rng) const override;

 private:
  std::string name_;
  at::Tensor images_;
  at::Tensor labels_;
  int64_t num_classes_;
};

// Reads the split from a CIFAR-10 or CIFAR-100 binary folder (the folder itself, or a parent
// holding cifar-10-batches-bin/ or cifar-100-binary/). InputError on missing files, sizes that
// are not whole records (truncated), or labels out of range.
std::unique_ptr<CifarSource> open_cifar(const std::string& path, Split split);

// True when open_cifar would find CIFAR files at path.
bool looks_like_cifar(const std::string& path);

// Registers "cifar10:PATH" and "cifar100:PATH": open_cifar, and an InputError when PATH holds the
// other CIFAR.
void register_cifar_datasets(DatasetRegistry& registry);
// A path that looks_like_cifar, either CIFAR.
PathFallback cifar_path_fallback();

}  // namespace bnrecal
