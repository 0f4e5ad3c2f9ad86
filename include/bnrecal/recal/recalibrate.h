// Post-training BatchNorm recalibration (docs/methods.md section 2): re-estimate the running mean and
// variance of BN layers on unlabeled training images with the perturbation active. gamma and
// beta are never touched. BN layers must be bnrecal::BatchNorm2d (nn/batch_norm.h): its no-grad
// training-mode forward computes the batch statistics in one read and reports them.
//
//   bnrecal::BnSnapshot undo(*net);                       // bit-exact copy of the statistics
//   bnrecal::LoaderBatchStream stream(*train, {.batch_size = 256, .shuffle = true, .limit = 2048});
//   bnrecal::RecalOptions opt;  opt.estimator = bnrecal::Estimator::kPooled;
//   bnrecal::RecalReport r = bnrecal::recalibrate_bn(*net, stream, opt);
//   ...evaluate...
//   undo.restore(*net);
//
// Estimators (stored variance is always the UNBIASED one, as PyTorch stores it):
//   ema         r = (1-m) r + m b from the current statistics (PyTorch momentum m; TF decay = 1-m)
//   ema-reset   the same after resetting the statistics to mean 0 / var 1
//   cumulative  equal-weight average of the per-batch statistics (m = 1/(t+1) at batch t, after
//               reset; PyTorch momentum=None); per-batch var unbiased with n = B*H*W
//   final       the last batch's statistics only (momentum 1, "BN-final")
//   pooled      exact population mean/var over all N*H*W values per channel: per-batch
//               (count, mean, M2) in float64 combined with Chan's formula, so the result does not
//               depend on batch order or size; var unbiased with n = total count; a BN module called
//               more than once per forward pools the values of every call
//
// All estimators run forward passes under no-grad with only the selected BN layers in training
// mode (dropout and everything else in eval). sequential = one BN layer at a time in network
// (registration) order; each pass sees upstream layers already using their new statistics.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/core/work_group.h"
#include "bnrecal/nn/network.h"
#include "bnrecal/nn/batch_norm.h"
#include "bnrecal/data/batch_stream.h"

namespace bnrecal {

enum class Estimator { kEma, kEmaReset, kCumulative, kFinal, kPooled };
const char* estimator_name(Estimator e);
// Throws InputError listing the known names.
Estimator parse_estimator(const std::string& name);
std::vector<std::string> estimator_names();

// TensorFlow/Keras decay d == PyTorch momentum 1 - d. Throws InputError outside [0, 1].
double momentum_from_decay(double decay);
void check_momentum(double momentum);

struct RecalOptions {
  Estimator estimator = Estimator::kPooled;  // exact and independent of batch order and size
  double momentum = 0.1;            // PyTorch convention; ema and ema-reset only
  std::vector<std::string> layers;  // BN name patterns (exact or glob); empty = every BN layer
  bool sequential = false;
  // Called after every batch: (images done, images total over all passes).
  std::function<void(int64_t, int64_t)> progress;
  // Several processes (dist/process_group.h) share each pass: a rank runs the batches it owns and
  // records every BN call's batch moments; the ranks exchange them and each replays every batch
  // in stream order through the estimator, so all ranks end with the single-process statistics,
  // bit for bit, for every estimator (EMA included: its order is the stream's batch order).
  // Every rank must read the same stream. Progress then counts this rank's images.
  WorkGroup* group = nullptr;
  nlohmann::json to_json() const;
};

struct RecalReport {
  RecalOptions options;
  std::vector<std::string> layers;  // the BN layers recalibrated, in order
  int64_t images = 0;               // per pass
  int64_t batches = 0;              // per pass
  int64_t passes = 0;
  double seconds = 0;
  nlohmann::json to_json() const;   // includes "variance": "unbiased ..." note
};

struct BnLayerRef {
  std::string name;
  BatchNorm2dImpl* bn = nullptr;
};
// Every BatchNorm2d with running statistics, in registration (= network) order. Throws
// InputError on a stock torch::nn::BatchNorm2d.
std::vector<BnLayerRef> bn_layers(torch::nn::Module& model);
// The BN layers of the given exact names, in that order; InputError naming an unknown one.
std::vector<BatchNorm2dImpl*> bn_layers_named(torch::nn::Module& model, const std::vector<std::string>& names);

// Copies of every BN layer's running_mean, running_var, num_batches_tracked, momentum and
// affine gamma/beta (re-normalization layers change gamma/beta when they take a new target);
// restore() puts them back bit for bit.
class BnSnapshot {
 public:
  explicit BnSnapshot(torch::nn::Module& model);
  void restore(torch::nn::Module& model) const;

 private:
  struct Entry {
    std::string name;
    at::Tensor mean, var, batches, weight, bias;
    c10::optional<double> momentum;
  };
  std::vector<Entry> entries_;
};

// Sets gamma = sqrt(running_var + eps) and beta = running_mean in the named BN layers, making
// each the identity on inputs with its running statistics. InputError for an unknown name.
void make_identity_at_running_statistics(torch::nn::Module& model, const std::vector<std::string>& layers);

// Re-normalization layers (onnx/batch_norm_folding.h) learn the statistics of their inputs under
// the model's current arithmetic, then become the identity at them. The named layers are first
// reset to the identity (mean 0, var 1 - eps, gamma 1, beta 0) and the pass runs in eval mode, the
// inputs' exact per-channel moments pooled over the stream (as the pooled estimator): so every
// layer sees the model's own activations, which a training-mode pass, normalizing each layer's
// output to zero mean and unit variance, would not give the layers after it.
RecalReport estimate_renormalization(Network& model, BatchStream& stream, const std::vector<std::string>& layers);

// The passes recalibrate_bn makes over a model whose BN layers are `names` (in network order): one
// group of indices into names holding every layer the options select, or one group per selected
// layer when sequential. InputError when names is empty, the patterns select none or the momentum
// is outside [0, 1].
std::vector<std::vector<size_t>> recalibration_passes(const std::vector<std::string>& names, const RecalOptions& options);

// Throws InputError (model unchanged) when the model has no BN layers, the patterns select none,
// the momentum is outside [0, 1], or the stream is empty.
RecalReport recalibrate_bn(Network& model, BatchStream& stream, const RecalOptions& options);

}  // namespace bnrecal
