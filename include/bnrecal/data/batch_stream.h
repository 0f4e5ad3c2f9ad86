// A replayable stream of image batches: calibration and recalibration read N training images
// through it, and sequential recalibration replays the same images once per BN layer.
//
//   bnrecal::LoaderBatchStream stream(*train, loader_options);   // seeded order + augmentation
//   for (at::Tensor x; stream.next(x);) model.forward(x);
//   stream.rewind();                                              // same images, same order
#pragma once
#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "bnrecal/data/data_source.h"

namespace bnrecal {

class BatchStream {
 public:
  virtual ~BatchStream() = default;
  virtual void rewind() = 0;
  virtual bool next(at::Tensor& images) = 0;
  // Passes over the next batch (false at the end); a stream that can do so without producing the
  // images overrides it.
  virtual bool skip() {
    at::Tensor discarded;
    return next(discarded);
  }
  virtual int64_t num_images() const = 0;
};

// Fixed tensors (tests, benchmarks).
class TensorBatchStream : public BatchStream {
 public:
  explicit TensorBatchStream(std::vector<at::Tensor> batches) : batches_(std::move(batches)) {}
  void rewind() override { position_ = 0; }
  bool next(at::Tensor& images) override {
    if (position_ >= batches_.size()) return false;
    images = batches_[position_++];
    return true;
  }
  int64_t num_images() const override {
    int64_t n = 0;
    for (const auto& b : batches_) n += b.size(0);
    return n;
  }

 private:
  std::vector<at::Tensor> batches_;
  size_t position_ = 0;
};

// A BatchLoader over a data source; rewind() restarts epoch 0, so the order and augmentations
// repeat exactly (they depend only on the loader seed and the epoch).
class LoaderBatchStream : public BatchStream {
 public:
  LoaderBatchStream(const DataSource& source, LoaderOptions options)
      : loader_(source, std::move(options)) { loader_.start_epoch(0); }
  void rewind() override { loader_.start_epoch(0); }
  bool next(at::Tensor& images) override {
    Batch batch;
    if (!loader_.next(batch)) return false;
    images = batch.images;
    return true;
  }
  bool skip() override { return loader_.skip(); }
  int64_t num_images() const override { return loader_.num_images(); }

 private:
  BatchLoader loader_;
};

}  // namespace bnrecal
