// What the Python package's recalibration takes from the library, so that it recalibrates a
// torch.nn model to the statistics `bnrecal recalibrate` computes, bit for bit:
//
//   torch.ops.bnrecal.recalibration_passes(bn_names, estimator, momentum, patterns, sequential)
//       -> [[layer indices of pass 1], ...]  # the selection and checks of recalibrate_bn
//   torch.ops.bnrecal.batch_norm_train(x, bn.weight, bn.bias, bn.running_mean, bn.running_var,
//                                      bn.num_batches_tracked, momentum, bn.eps)
//       -> (output, count, batch mean, batch M2)   # a training-mode no-grad forward of
//          bnrecal::BatchNorm2d: the batch moments in one read, the running update in float64
//   torch.ops.bnrecal.pooled_statistics(counts, means, m2s) -> (mean, unbiased variance)
//          # the pooled estimator's exact combination (recal/pooled_stats.h)
#include <torch/library.h>

#include <tuple>
#include <vector>

#include "bnrecal/nn/batch_norm.h"
#include "bnrecal/recal/pooled_stats.h"
#include "bnrecal/recal/recalibrate.h"
#include "op_errors.h"

namespace bnrecal::python {
namespace {

void check_float_cpu(const at::Tensor& t, const std::string& role) {
  require(t.scalar_type() == at::kFloat && t.device().is_cpu() && t.layout() == at::kStrided,
          "batch_norm_train: " + role + " must be a float32 CPU tensor, got " +
              std::string(c10::toString(t.scalar_type())) + " on " + t.device().str());
}

std::tuple<at::Tensor, int64_t, at::Tensor, at::Tensor> batch_norm_train(
    const at::Tensor& input, const c10::optional<at::Tensor>& weight, const c10::optional<at::Tensor>& bias,
    const at::Tensor& running_mean, const at::Tensor& running_var, const at::Tensor& num_batches_tracked,
    double momentum, double eps) {
  return reporting_input_errors([&] {
    check_float_cpu(input, "input");
    check_float_cpu(running_mean, "running_mean");
    check_float_cpu(running_var, "running_var");
    require(input.dim() == 4, "batch_norm_train: expected a 4D input [N, C, H, W], got shape " + c10::str(input.sizes()));
    const int64_t channels = running_mean.numel();
    require(input.size(1) == channels && running_var.numel() == channels,
            "batch_norm_train: input has " + std::to_string(input.size(1)) + " channels, the statistics " +
                std::to_string(channels));
    require(momentum >= 0 && momentum <= 1, "momentum must be in [0, 1] (PyTorch convention), got " + std::to_string(momentum));
    // A module over the caller's tensors: its forward updates them in place.
    BatchNorm2dImpl bn(BatchNorm2dOptions(channels).eps(eps).momentum(momentum).affine(weight.has_value()));
    if (weight) bn.weight = *weight;
    if (bias) bn.bias = *bias;
    bn.running_mean = running_mean;
    bn.running_var = running_var;
    bn.num_batches_tracked = num_batches_tracked;
    BatchMoments moments;
    bn.observe_batch_moments([&moments](const BatchMoments& m) { moments = m; });
    bn.train();
    at::NoGradGuard no_grad;
    at::Tensor output = bn.forward(input.contiguous());
    return std::make_tuple(output, moments.count, moments.mean, moments.m2);
  });
}

std::tuple<at::Tensor, at::Tensor> pooled_statistics(const std::vector<int64_t>& counts, const std::vector<at::Tensor>& means,
                                                     const std::vector<at::Tensor>& m2s) {
  return reporting_input_errors([&] {
    require(!counts.empty() && counts.size() == means.size() && counts.size() == m2s.size(),
            "pooled_statistics: needs one count, mean and M2 per batch (got " + std::to_string(counts.size()) + ", " +
                std::to_string(means.size()) + ", " + std::to_string(m2s.size()) + ")");
    PooledChannelStats pooled(means.front().numel());
    for (size_t i = 0; i < counts.size(); ++i) {
      require(means[i].scalar_type() == at::kDouble && m2s[i].scalar_type() == at::kDouble &&
                  means[i].numel() == means.front().numel() && m2s[i].numel() == means.front().numel(),
              "pooled_statistics: batch " + std::to_string(i) + ": mean and M2 must be float64 vectors of one length");
      pooled.merge(counts[i], means[i].cpu(), m2s[i].cpu());
    }
    return std::make_tuple(pooled.mean(), pooled.unbiased_variance());
  });
}

std::vector<std::vector<int64_t>> recalibration_passes(const std::vector<std::string>& names, const std::string& estimator,
                                                       double momentum, const std::vector<std::string>& layers,
                                                       bool sequential) {
  return reporting_input_errors([&] {
    RecalOptions options;
    options.estimator = parse_estimator(estimator);
    options.momentum = momentum;
    options.layers = layers;
    options.sequential = sequential;
    std::vector<std::vector<int64_t>> passes;
    for (const auto& pass : bnrecal::recalibration_passes(names, options)) passes.emplace_back(pass.begin(), pass.end());
    return passes;
  });
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(bnrecal, m) {
  m.def("recalibration_passes", &recalibration_passes);
  m.def("batch_norm_train(Tensor input, Tensor? weight, Tensor? bias, Tensor(a!) running_mean, Tensor(b!) running_var, "
        "Tensor(c!) num_batches_tracked, float momentum, float eps) -> (Tensor, int, Tensor, Tensor)",
        &batch_norm_train);
  m.def("pooled_statistics", &pooled_statistics);
}

}  // namespace bnrecal::python
