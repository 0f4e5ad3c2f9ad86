// One pass of a model over the first images of a split, in order, as the dense tasks' evaluations
// (segmentation_eval.h, detection_eval.h) make it: eval mode and no gradients, optional streaming
// calibration, progress and timing. The caller scores each batch's output; the model leaves in the
// mode and with the BN statistics it came with, also when scoring throws.
//
//   bnrecal::PassOptions o;  o.batch_size = 16;  o.streaming = StreamingOptions{0.001};
//   bnrecal::PassTiming t = bnrecal::run_evaluation_pass(*net, *val, o,
//       [&](const bnrecal::Batch& batch, const at::Tensor& output) { /* score output against batch */ });
#pragma once
#include <functional>
#include <optional>

#include "bnrecal/data/data_source.h"
#include "bnrecal/nn/network.h"
#include "bnrecal/recal/streaming_calibration.h"

namespace bnrecal {

struct PassOptions {
  int64_t batch_size = 16;
  int64_t limit = -1;           // first `limit` images (-1: all)
  Normalization normalization;  // empty: the source's default
  std::optional<StreamingOptions> streaming;  // BN statistics follow the images (restored afterwards)
  std::function<void(int64_t, int64_t)> progress;  // (images done, images total)
};

struct PassTiming {
  int64_t images = 0;
  double seconds = 0, images_per_second = 0;
};

// score(batch, output) for each batch (batch.indices name its images).
PassTiming run_evaluation_pass(Network& model, const DataSource& source, const PassOptions& options,
                               const std::function<void(const Batch&, const at::Tensor&)>& score);

}  // namespace bnrecal
