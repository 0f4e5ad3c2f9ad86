#include "bnrecal/data/data_source.h"

#include <algorithm>
#include <numeric>

#include "bnrecal/core/error.h"

namespace bnrecal {

const char* split_name(Split split) { return split == Split::kTrain ? "train" : "test"; }

BatchLoader::BatchLoader(const DataSource& source, LoaderOptions options)
    : source_(source), options_(std::move(options)) {
  require(options_.batch_size > 0, "batch size must be positive, got " + std::to_string(options_.batch_size));
  if (options_.normalization.mean.empty()) options_.normalization = source_.default_normalization();
  const int64_t channels = source_.image_shape()[0];
  const auto& norm = options_.normalization;
  require(static_cast<int64_t>(norm.mean.size()) == channels && norm.std.size() == norm.mean.size(),
          "normalization has " + std::to_string(norm.mean.size()) + " channels but '" +
              source_.name() + "' images have " + std::to_string(channels));
  mean_ = at::tensor(std::vector<float>(norm.mean.begin(), norm.mean.end())).view({1, channels, 1, 1});
  std_ = at::tensor(std::vector<float>(norm.std.begin(), norm.std.end())).view({1, channels, 1, 1});
  if (options_.limit > source_.size())
    throw InputError("asked for " + std::to_string(options_.limit) + " images but '" + source_.name() +
                     "' has only " + std::to_string(source_.size()));
  start_epoch(0);
}

void BatchLoader::start_epoch(int64_t epoch) {
  order_.resize(static_cast<size_t>(source_.size()));
  std::iota(order_.begin(), order_.end(), 0);
  // One generator per epoch, derived from (seed, epoch): resuming at epoch e reproduces it.
  rng_.seed(options_.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
  if (options_.shuffle) std::shuffle(order_.begin(), order_.end(), rng_);
  if (options_.limit >= 0) order_.resize(static_cast<size_t>(options_.limit));
  position_ = 0;
}

int64_t BatchLoader::num_batches() const {
  const int64_t n = num_images(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

size_t BatchLoader::next_batch_images() const {
  const size_t take = std::min(order_.size() - position_, static_cast<size_t>(options_.batch_size));
  return options_.drop_last && take < static_cast<size_t>(options_.batch_size) ? 0 : take;
}

bool BatchLoader::next(Batch& batch) {
  const size_t take = next_batch_images();
  if (take == 0) return false;
  std::vector<int64_t> indices(order_.begin() + position_, order_.begin() + position_ + take);
  position_ += take;
  batch = source_.load(indices, options_.augment, rng_);
  batch.images = batch.images.sub_(mean_).div_(std_);
  batch.indices = std::move(indices);
  return true;
}

bool BatchLoader::skip() {
  if (options_.augment) {
    Batch discarded;
    return next(discarded);
  }
  const size_t take = next_batch_images();
  if (take == 0) return false;
  position_ += take;
  return true;
}

}  // namespace bnrecal
