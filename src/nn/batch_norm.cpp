#include "bnrecal/nn/batch_norm.h"

#include "bnrecal/core/stage_profile.h"

#include <torch/nn/init.h>

#include <algorithm>
#include <vector>

#include "bnrecal/arith/channel_moments.h"

namespace bnrecal {

BatchMoments batch_moments(const at::Tensor& x) {
  TORCH_CHECK(x.dim() >= 2, "batch_moments needs an [N, C, ...] tensor, got ", x.sizes());
  const int64_t channels = x.size(1);
  BatchMoments m;
  m.count = channels == 0 ? 0 : x.numel() / channels;
  if (x.device().is_cpu() && x.scalar_type() == at::kFloat && x.is_contiguous()) {
    m.mean = at::empty({channels}, at::kDouble);
    m.m2 = at::empty({channels}, at::kDouble);
    const float* data = x.data_ptr<float>();
    double* mean = m.mean.data_ptr<double>();
    double* m2 = m.m2.data_ptr<double>();
    const int64_t batch = x.size(0), plane = m.count / std::max<int64_t>(batch, 1);
    std::vector<ChannelMoments> per_channel(static_cast<size_t>(channels));
    all_channel_moments(data, batch, channels, plane, per_channel.data());
    for (int64_t c = 0; c < channels; ++c) {
      mean[c] = per_channel[c].mean;
      m2[c] = per_channel[c].m2;
    }
    return m;
  }
  std::vector<int64_t> dims = {0};
  for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
  const at::Tensor xd = x.to(at::kDouble);
  m.mean = xd.mean(dims);
  std::vector<int64_t> shape(static_cast<size_t>(x.dim()), 1);
  shape[1] = channels;
  m.m2 = (xd - m.mean.view(shape)).pow(2).sum(dims);
  return m;
}

BatchNorm2dImpl::BatchNorm2dImpl(const BatchNorm2dOptions& options) : options(options) { reset(); }

void BatchNorm2dImpl::reset() {
  const int64_t c = options.num_features();
  const bool affine = options.affine(), track = options.track_running_stats();
  weight = register_parameter("weight", affine ? at::empty({c}) : at::Tensor(), affine);
  bias = register_parameter("bias", affine ? at::empty({c}) : at::Tensor(), affine);
  running_mean = register_buffer("running_mean", track ? at::zeros({c}) : at::Tensor());
  running_var = register_buffer("running_var", track ? at::ones({c}) : at::Tensor());
  num_batches_tracked = register_buffer(
      "num_batches_tracked", track ? at::zeros({}, at::kLong) : at::Tensor());
  reset_parameters();
}

void BatchNorm2dImpl::reset_running_stats() {
  if (!options.track_running_stats()) return;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

void BatchNorm2dImpl::reset_parameters() {
  reset_running_stats();
  if (!options.affine()) return;
  torch::nn::init::ones_(weight);
  torch::nn::init::zeros_(bias);
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "bnrecal::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps()
         << ", momentum=";
  if (options.momentum()) {
    stream << *options.momentum();
  } else {
    stream << "None";
  }
  stream << ", affine=" << std::boolalpha << options.affine()
         << ", track_running_stats=" << options.track_running_stats() << ")";
}

at::Tensor BatchNorm2dImpl::forward(const at::Tensor& input) {
  const StageTimer timer(Stage::kBatchNorm);
  if (!probe_) return normalize(input);
  at::Tensor output = normalize(input);
  probe_(input, output);
  return output;
}

at::Tensor BatchNorm2dImpl::normalize(const at::Tensor& input) {
  TORCH_CHECK(input.dim() == 4, "expected 4D input (got ", input.dim(), "D input)");
  const bool update_stats = is_training() && options.track_running_stats();
  // The running-average factor exactly as torch::nn::BatchNorm2d picks it.
  double factor = options.momentum().value_or(0.0);
  if (update_stats && num_batches_tracked.defined()) {
    num_batches_tracked += 1;
    if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
  }
  if (update_stats && !at::GradMode::is_enabled()) {
    return normalize_with_batch_statistics(input, factor);
  }
  if (streaming_ && !is_training() && options.track_running_stats()) {
    TORCH_CHECK(!at::GradMode::is_enabled(), "streaming BatchNorm calibration runs under no-grad only");
    return normalize_streaming(input, *streaming_);
  }
  const bool use_batch_stats = is_training() || !options.track_running_stats();
  if (use_batch_stats) {
    TORCH_CHECK(input.numel() / input.size(1) > 1,
                "Expected more than 1 value per channel when training, got input size ",
                input.sizes());
  }
  return at::batch_norm(input, weight, bias, running_mean, running_var, use_batch_stats, factor,
                        options.eps(), at::globalContext().userEnabledCuDNN());
}

void BatchNorm2dImpl::blend_running_statistics(const BatchMoments& m, double factor) {
  const double n = static_cast<double>(m.count);
  running_mean.copy_(m.mean * factor + running_mean.to(at::kDouble) * (1.0 - factor));
  running_var.copy_(m.m2 * (factor / (n - 1.0)) + running_var.to(at::kDouble) * (1.0 - factor));
}

void BatchNorm2dImpl::update_running_statistics(const BatchMoments& m, double factor) {
  if (num_batches_tracked.defined()) num_batches_tracked += 1;
  blend_running_statistics(m, factor);
}

at::Tensor BatchNorm2dImpl::normalize_streaming(const at::Tensor& input, const StreamingUpdate& update) {
  const BatchMoments m = batch_moments(input);
  // The biased variance, as normalize_with_batch_statistics normalizes with: at momentum 1 and
  // before normalizing, the running statistics become exactly the ones a training-mode forward uses.
  const at::Tensor var = m.m2 / static_cast<double>(m.count);
  const auto fold = [&] {
    num_batches_tracked += 1;
    const double k = update.momentum;
    const at::Tensor old_mean = running_mean.to(at::kDouble);
    at::Tensor new_var = var * k + running_var.to(at::kDouble) * (1.0 - k);
    // Zero at momentum 0 and 1, so both exact equalities below hold for either variance.
    if (update.mixture_variance) new_var += (m.mean - old_mean).square() * (k * (1.0 - k));
    running_mean.copy_(m.mean * k + old_mean * (1.0 - k));
    running_var.copy_(new_var);
  };
  if (update.before_normalizing) fold();
  at::Tensor output = at::batch_norm(input, weight, bias, running_mean, running_var, /*training=*/false, 0.0,
                                     options.eps(), at::globalContext().userEnabledCuDNN());
  if (!update.before_normalizing) fold();
  return output;
}

at::Tensor BatchNorm2dImpl::normalize_with_batch_statistics(const at::Tensor& input,
                                                            double factor) {
  const BatchMoments m = batch_moments(input);
  TORCH_CHECK(m.count > 1, "Expected more than 1 value per channel when training, got input size ",
              input.sizes());
  if (observer_) observer_(m);
  // As ATen: the running update in float64 from the unbiased batch variance, normalization with
  // the biased one (through ATen's inference kernel, which reads the input once).
  const double n = static_cast<double>(m.count);
  blend_running_statistics(m, factor);
  return at::batch_norm(input, weight, bias, m.mean.to(input.options()),
                        (m.m2 / n).to(input.options()), /*training=*/false, 0.0, options.eps(),
                        at::globalContext().userEnabledCuDNN());
}

}  // namespace bnrecal
