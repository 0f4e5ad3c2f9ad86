// Streaming BatchNorm calibration: the BN statistics follow the evaluation stream itself, batch by
// batch (down to batch size 1), instead of being re-estimated offline on training images. This is
// the setting of a deployed accelerator that adapts as inputs arrive: no training images, no
// labels, no second pass.
//
//   bnrecal::StreamingOptions opt;  opt.momentum = 0.001;   // TensorFlow decay 0.999
//   {
//     bnrecal::StreamingCalibration streaming(*net, opt);   // selected BN layers now stream
//     ...evaluate batch after batch in eval mode...
//   }                                                       // statistics and mode restored
//
// Each eval-mode forward of a streaming BN layer measures the batch's per-channel mean and
// variance of its input and folds them into the running statistics, r = (1 - m) r + m b, either
//   after  (default) normalizing the batch with the statistics of the batches before it: causal,
//          an image's prediction never depends on the image itself; or
//   before normalizing it: the prediction sees its own batch's statistics (transductive).
// The two differ by one batch and converge as the momentum shrinks. The variance folded in is the
// batch's biased one (M2 / n), the variance a training-mode forward normalizes with; with
// mixture_variance also m (1 - m) (b_mean - r_mean)^2, which makes the update the variance of the
// mixture of old and new values: a batch of one image has no between-image spread of its own, so
// without it an EMA of one-image variances underestimates the population variance. Either way:
//   momentum 0 (either order)      = plain evaluation, bit for bit;
//   momentum 1, before normalizing = evaluation with training-mode BN, bit for bit.
// Every layer updates in the same forward, so each sees its inputs as the upstream layers
// normalized them with their current statistics (self-consistent, as the deployed model is).
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {

struct StreamingOptions {
  double momentum = 0.001;          // PyTorch convention; the noise paper's TF decay 0.999
  bool update_before_predicting = false;
  bool mixture_variance = false;    // false: the paper's EMA of batch variances
  std::vector<std::string> layers;  // BN name patterns (exact or glob); empty = every BN layer
  nlohmann::json to_json() const;
};

// "after" or "before"; parse_streaming_order throws InputError on anything else.
const char* streaming_order_name(bool update_before_predicting);
bool parse_streaming_order(const std::string& name);
// "batch" or "mixture"; parse_streaming_variance throws InputError on anything else.
bool parse_streaming_variance(const std::string& name);

// Switches the selected BN layers of `model` to streaming while it lives; its destructor stops
// them and restores every BN layer's statistics bit for bit (unless keep_statistics()). Throws
// InputError (model unchanged) when the model has no BN layers, the patterns select none or the
// momentum is outside [0, 1].
class StreamingCalibration {
 public:
  StreamingCalibration(torch::nn::Module& model, const StreamingOptions& options);
  ~StreamingCalibration();
  StreamingCalibration(const StreamingCalibration&) = delete;
  StreamingCalibration& operator=(const StreamingCalibration&) = delete;

  const std::vector<std::string>& layers() const { return names_; }
  // The destructor then leaves the streamed statistics in the model instead of restoring them (a
  // warm-up whose state the next stream starts from).
  void keep_statistics() { keep_ = true; }

 private:
  torch::nn::Module& model_;
  BnSnapshot snapshot_;
  std::vector<std::string> names_;
  std::vector<BatchNorm2dImpl*> streaming_;
  bool keep_ = false;
};

}  // namespace bnrecal
