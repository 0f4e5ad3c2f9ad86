// A DataSource of seeded random images in memory, for tests of code that reads data sources
// (studies, loaders) without a dataset on disk.
#pragma once
#include <torch/torch.h>

#include "bnrecal/data/data_source.h"

namespace bnrecal::testing {

class TensorSource : public DataSource {
 public:
  // `size` images 1 x side x side in [0, 1] (`classes` labels), drawn from `seed`.
  TensorSource(int64_t size, uint64_t seed, int64_t classes = 3, int64_t side = 8) : classes_(classes) {
    torch::manual_seed(seed);
    images_ = torch::rand({size, 1, side, side});
    labels_ = torch::randint(0, classes, {size}, torch::kLong);
  }
  std::string name() const override { return "tensors"; }
  int64_t size() const override { return images_.size(0); }
  int64_t num_classes() const override { return classes_; }
  std::vector<int64_t> image_shape() const override { return {1, images_.size(2), images_.size(3)}; }
  Normalization default_normalization() const override { return {{0.5}, {0.25}}; }
  Augmentation default_augmentation() const override { return {}; }
  Batch load(const std::vector<int64_t>& indices, bool, std::mt19937_64&) const override {
    const at::Tensor index = torch::tensor(indices, torch::kLong);
    return {images_.index_select(0, index), labels_.index_select(0, index)};
  }
  const at::Tensor& images() const { return images_; }

 private:
  int64_t classes_;
  at::Tensor images_, labels_;
};

}  // namespace bnrecal::testing
