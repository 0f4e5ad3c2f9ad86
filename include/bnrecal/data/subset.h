// A view of some images of another DataSource, e.g. a held-out validation part of the
// training split.
//
//   auto [train, val] = bnrecal::split_for_validation(*full_train, 0.1, seed);
#pragma once
#include <memory>
#include <utility>

#include "bnrecal/data/data_source.h"

namespace bnrecal {

class SubsetSource : public DataSource {
 public:
  SubsetSource(std::shared_ptr<const DataSource> base, std::vector<int64_t> indices, std::string name);
  std::string name() const override { return name_; }
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  int64_t num_classes() const override { return base_->num_classes(); }
  std::vector<int64_t> image_shape() const override { return base_->image_shape(); }
  Normalization default_normalization() const override { return base_->default_normalization(); }
  Augmentation default_augmentation() const override { return base_->default_augmentation(); }
  std::vector<std::string> class_names() const override { return base_->class_names(); }
  Batch load(const std::vector<int64_t>& indices, bool augment, std::mt19937_64& rng) const override;

 private:
  std::shared_ptr<const DataSource> base_;
  std::vector<int64_t> indices_;
  std::string name_;
};

// Seeded random split: (remaining training part, validation part of `fraction` of the images).
std::pair<std::shared_ptr<DataSource>, std::shared_ptr<DataSource>> split_for_validation(
    std::shared_ptr<const DataSource> source, double fraction, uint64_t seed);

}  // namespace bnrecal
