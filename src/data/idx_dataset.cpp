#include "bnrecal/data/idx_dataset.h"

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/idx.h"

namespace bnrecal {

namespace {

// The first existing file among "<stem>.gz" and "<stem>"; the error names both.
std::string find_idx_file(const std::string& folder, const std::string& stem) {
  for (const std::string& candidate : {folder + "/" + stem + ".gz", folder + "/" + stem})
    if (file_exists(candidate)) return candidate;
  throw InputError("dataset file '" + folder + "/" + stem + "[.gz]' does not exist");
}

at::Tensor to_tensor(IdxArray&& array) {
  auto* holder = new std::vector<uint8_t>(std::move(array.data));
  return at::from_blob(holder->data(), array.dims, [holder](void*) { delete holder; }, at::kByte);
}

}  // namespace

IdxDataset::IdxDataset(const std::string& folder, Split split, IdxDatasetInfo info)
    : info_(std::move(info)), split_name_(split_name(split)) {
  const std::string prefix = split == Split::kTrain ? "train" : "t10k";
  const std::string images_path = find_idx_file(folder, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx_file(folder, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(images_path);
  IdxArray labels = read_idx(labels_path);
  if (images.dims.size() != 3)
    throw InputError("'" + images_path + "' must hold images [N, H, W], found " +
                     std::to_string(images.dims.size()) + " dimensions");
  if (labels.dims.size() != 1)
    throw InputError("'" + labels_path + "' must hold labels [N], found " +
                     std::to_string(labels.dims.size()) + " dimensions");
  if (images.dims[0] != labels.dims[0])
    throw InputError("image/label count mismatch: '" + images_path + "' has " +
                     std::to_string(images.dims[0]) + " images but '" + labels_path + "' has " +
                     std::to_string(labels.dims[0]) + " labels");
  images_ = to_tensor(std::move(images)).unsqueeze(1);
  labels_ = to_tensor(std::move(labels)).to(at::kLong);
  validate_and_count_classes();
}

IdxDataset::IdxDataset(at::Tensor images_u8, at::Tensor labels, IdxDatasetInfo info, std::string split)
    : info_(std::move(info)), split_name_(std::move(split)) {
  TORCH_CHECK(images_u8.scalar_type() == at::kByte, "images must be uint8");
  images_ = images_u8.dim() == 3 ? images_u8.unsqueeze(1) : images_u8;
  labels_ = labels.to(at::kLong);
  TORCH_CHECK(images_.dim() == 4 && labels_.dim() == 1 && images_.size(0) == labels_.size(0),
              "images [N,(C,)H,W] and labels [N] must agree");
  validate_and_count_classes();
}

void IdxDataset::validate_and_count_classes() {
  if (labels_.size(0) == 0) throw InputError("dataset '" + name() + "' is empty");
  const int64_t max_label = labels_.max().item<int64_t>();
  num_classes_ = info_.num_classes > 0 ? info_.num_classes : max_label + 1;
  if (max_label >= num_classes_)
    throw InputError("dataset '" + name() + "' has label " + std::to_string(max_label) +
                     " but only " + std::to_string(num_classes_) + " classes");
}

std::vector<int64_t> IdxDataset::image_shape() const {
  return {images_.size(1), images_.size(2), images_.size(3)};
}

Augmentation IdxDataset::default_augmentation() const {
  return {info_.crop_padding, info_.horizontal_flip};
}

Batch IdxDataset::load(const std::vector<int64_t>& indices, bool augment, std::mt19937_64& rng) const {
  const at::Tensor index = at::tensor(indices, at::kLong);
  at::Tensor images = images_.index_select(0, index).to(at::kFloat).div_(255.0f);
  if (augment) images = augment_batch(images, default_augmentation(), rng);
  return {images, labels_.index_select(0, index)};
}

at::Tensor augment_batch(const at::Tensor& images, const Augmentation& aug, std::mt19937_64& rng) {
  const int64_t pad = aug.crop_padding;
  if (pad == 0 && !aug.horizontal_flip) return images;
  const int64_t h = images.size(2), w = images.size(3);
  const at::Tensor padded = pad > 0 ? at::constant_pad_nd(images, {pad, pad, pad, pad}, 0.0) : images;
  at::Tensor out = at::empty_like(images);
  std::uniform_int_distribution<int64_t> offset(0, 2 * pad);
  std::bernoulli_distribution flip(0.5);
  for (int64_t i = 0; i < images.size(0); ++i) {
    // Draw in a fixed order (y, x, flip) so a seed always gives the same augmentation.
    const int64_t dy = offset(rng), dx = offset(rng);
    const bool do_flip = aug.horizontal_flip && flip(rng);
    at::Tensor crop = padded[i].narrow(1, dy, h).narrow(2, dx, w);
    out[i].copy_(do_flip ? crop.flip({2}) : crop);
  }
  return out;
}

}  // namespace bnrecal
