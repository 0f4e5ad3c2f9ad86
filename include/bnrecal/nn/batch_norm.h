// The BatchNorm2d every bnrecal model uses. Same options, parameter and buffer names, and
// training/eval semantics as torch::nn::BatchNorm2d (checkpoints are interchangeable), with one
// difference that BN recalibration needs: a training-mode forward under no-grad computes the batch
// statistics with the channel_moments kernel, which reads each activation once (ATen reads it
// twice, in scalar float64 loops), and reports them to an optional observer (the pooled
// estimator). With grad enabled (training) or in eval mode, forward is the stock computation.
//
// It is a module of its own rather than a subclass of torch::nn::BatchNorm2dImpl because
// libtorch does not export the base's virtual pretty_print, which a derived class needs to link.
//
//   bnrecal::BatchNorm2d bn(bnrecal::BatchNorm2dOptions(64).eps(1e-3));
//   bn->observe_batch_moments([&](const bnrecal::BatchMoments& m) { ... m.count, m.mean ... });
//   bn->probe_activations([&](const at::Tensor& in, const at::Tensor& out) { ... });  // diagnostics
#pragma once
#include <functional>
#include <optional>
#include <ostream>

#include <ATen/ATen.h>
#include <torch/nn/cloneable.h>
#include <torch/nn/options/batchnorm.h>

namespace bnrecal {

using BatchNorm2dOptions = torch::nn::BatchNormOptions;

// Per-channel statistics of one NCHW batch: values per channel, mean and M2 (float64 [C]).
struct BatchMoments {
  int64_t count = 0;
  at::Tensor mean, m2;
};

// Streaming calibration (recal/streaming_calibration.h): in eval mode, fold each batch's statistics
// into the running ones with this momentum, before or after normalizing the batch with them.
struct StreamingUpdate {
  double momentum = 0;
  bool before_normalizing = false;
  // Also fold in the spread of the batch mean around the running one, m (1 - m) (b_mean - r_mean)^2:
  // the variance of the mixture, which a batch of one image otherwise leaves out.
  bool mixture_variance = false;
};

// Contiguous float32 CPU input: the channel_moments kernel, channels in parallel; anything else
// (other dtypes, devices, layouts): ATen in float64.
BatchMoments batch_moments(const at::Tensor& x);

class BatchNorm2dImpl : public torch::nn::Cloneable<BatchNorm2dImpl> {
 public:
  explicit BatchNorm2dImpl(int64_t num_features) : BatchNorm2dImpl(BatchNorm2dOptions(num_features)) {}
  explicit BatchNorm2dImpl(const BatchNorm2dOptions& options);

  at::Tensor forward(const at::Tensor& input);

  void reset() override;            // (re)registers parameters and buffers, then initializes them
  void reset_running_stats();       // mean 0, var 1, batches 0
  void reset_parameters();          // running stats, and gamma 1, beta 0
  // The running-statistics update of one training-mode forward with these batch moments, as
  // PyTorch does it: r = (1 - factor) r + factor b, from the unbiased batch variance, and one more
  // batch tracked. Recalibration across processes replays other processes' batches with it.
  void update_running_statistics(const BatchMoments& m, double factor);
  void pretty_print(std::ostream& stream) const override;
  // Streaming calibration while set (eval-mode, no-grad forwards only); nullopt stops it.
  void stream_statistics(std::optional<StreamingUpdate> update) { streaming_ = update; }

  // Called with the batch statistics of every training-mode no-grad forward; empty to stop.
  using MomentsObserver = std::function<void(const BatchMoments&)>;
  void observe_batch_moments(MomentsObserver observer) { observer_ = std::move(observer); }
  // Called with the input and output of every forward (any mode); empty to stop. For diagnostics
  // that compare activations across arithmetics (eval/activation_divergence.h).
  using ActivationProbe = std::function<void(const at::Tensor& input, const at::Tensor& output)>;
  void probe_activations(ActivationProbe probe) { probe_ = std::move(probe); }

  BatchNorm2dOptions options;
  at::Tensor weight, bias;                                  // gamma, beta (when affine)
  at::Tensor running_mean, running_var, num_batches_tracked;  // when track_running_stats

 private:
  at::Tensor normalize(const at::Tensor& input);
  at::Tensor normalize_with_batch_statistics(const at::Tensor& input, double factor);
  at::Tensor normalize_streaming(const at::Tensor& input, const StreamingUpdate& update);
  void blend_running_statistics(const BatchMoments& m, double factor);
  MomentsObserver observer_;
  std::optional<StreamingUpdate> streaming_;
  ActivationProbe probe_;
};
TORCH_MODULE(BatchNorm2d);

}  // namespace bnrecal
