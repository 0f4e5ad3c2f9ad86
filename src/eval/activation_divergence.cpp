#include "bnrecal/eval/activation_divergence.h"

#include <algorithm>
#include <optional>

#include "bnrecal/core/error.h"
#include "bnrecal/eval/histogram_divergence.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/recal/pooled_stats.h"

namespace bnrecal {

nlohmann::json StatisticsGap::to_json() const { return {{"mean", mean}, {"variance", variance}}; }

nlohmann::json BnLayerDivergence::to_json() const {
  return {{"name", name},
          {"kl_plain", kl_plain},
          {"js_plain", js_plain},
          {"kl_recalibrated", kl_recalibrated},
          {"js_recalibrated", js_recalibrated},
          {"statistics_gap_original", original.to_json()},
          {"statistics_gap_recalibrated", recalibrated.to_json()}};
}

nlohmann::json DivergenceResult::to_json() const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& l : layers) rows.push_back(l.to_json());
  return {{"layers", rows}, {"images", images}, {"study", config}};
}

namespace {

// What one pass over the held-out images records for one BN layer.
struct LayerPass {
  at::Tensor lo, hi;                        // output range per channel (ranges pass)
  std::optional<ChannelHistogram> outputs;  // output histogram (when ranges are given)
  std::optional<PooledChannelStats> inputs;
};

// One evaluation-mode pass of the model's current arithmetic over the first `images` test images,
// with every BN layer probed. With `ranges` empty it records output ranges; otherwise output
// histograms on those ranges and the exact input moments.
std::vector<LayerPass> probe_pass(Network& model, const std::vector<BnLayerRef>& bns, const StudyData& data,
                                  const StudyProtocol& protocol, const DivergenceOptions& opt,
                                  const std::vector<LayerPass>* ranges) {
  std::vector<LayerPass> pass(bns.size());
  for (size_t i = 0; i < bns.size(); ++i) {
    LayerPass& p = pass[i];
    if (ranges) {
      p.outputs.emplace((*ranges)[i].lo, (*ranges)[i].hi, opt.bins);
      p.inputs.emplace(bns[i].bn->options.num_features());
    }
    bns[i].bn->probe_activations([&p](const at::Tensor& in, const at::Tensor& out) {
      if (p.outputs) {
        p.outputs->add(out);
        const BatchMoments m = batch_moments(in.contiguous());
        p.inputs->merge(m.count, m.mean, m.m2);
        return;
      }
      const at::Tensor per_channel = out.transpose(0, 1).reshape({out.size(1), -1}).to(at::kDouble);
      const at::Tensor lo = std::get<0>(per_channel.min(1)), hi = std::get<0>(per_channel.max(1));
      p.lo = p.lo.defined() ? at::minimum(p.lo, lo) : lo;
      p.hi = p.hi.defined() ? at::maximum(p.hi, hi) : hi;
    });
  }
  try {
    evaluate_test(model, data.test, protocol.eval, opt.images);
  } catch (...) {
    for (const auto& b : bns) b.bn->probe_activations(nullptr);
    throw;
  }
  for (const auto& b : bns) b.bn->probe_activations(nullptr);
  return pass;
}

// The running statistics of `bn` against the input moments it saw.
StatisticsGap statistics_gap(const BatchNorm2dImpl& bn, const PooledChannelStats& seen) {
  constexpr double kTiny = 1e-12;
  const at::Tensor var = seen.biased_variance() + kTiny;
  const at::Tensor run_mean = bn.running_mean.to(at::kDouble), run_var = bn.running_var.to(at::kDouble) + kTiny;
  StatisticsGap gap;
  gap.mean = ((run_mean - seen.mean()).abs() / var.sqrt()).mean().item<double>();
  gap.variance = (run_var / var).log().abs().mean().item<double>();
  return gap;
}

// Mean over channels of KL(clean || other) and JS(clean, other).
std::pair<double, double> channel_divergence(const ChannelHistogram& clean, const ChannelHistogram& other) {
  double kl = 0, js = 0;
  const int64_t channels = clean.counts().size(0);
  for (int64_t c = 0; c < channels; ++c) {
    kl += kl_divergence(clean.counts()[c], other.counts()[c]);
    js += js_divergence(clean.counts()[c], other.counts()[c]);
  }
  return {kl / static_cast<double>(channels), js / static_cast<double>(channels)};
}

}  // namespace

DivergenceResult measure_activation_divergence(Network& model, const ModelCalibration& calibration,
                                               const PolicySpec& clean_spec, const PolicySpec& perturbed,
                                               uint64_t seed, const StudyData& data,
                                               const StudyProtocol& protocol, const DivergenceOptions& opt) {
  require(opt.images > 0, "the divergence needs at least one test image");
  require(opt.bins >= 2, "the divergence histograms need at least 2 bins");
  check_study_inputs(model, data, protocol);
  const std::vector<BnLayerRef> bns = bn_layers(model);
  const BnSnapshot original(model);

  apply_policy(model, clean_spec, seed, calibration);
  const std::vector<LayerPass> ranges = probe_pass(model, bns, data, protocol, opt, nullptr);
  const std::vector<LayerPass> clean = probe_pass(model, bns, data, protocol, opt, &ranges);
  apply_policy(model, perturbed, seed, calibration);
  const std::vector<LayerPass> plain = probe_pass(model, bns, data, protocol, opt, &ranges);

  DivergenceResult result;
  result.images = std::min<int64_t>(opt.images, data.test.size());
  for (size_t i = 0; i < bns.size(); ++i) {
    BnLayerDivergence l;
    l.name = bns[i].name;
    std::tie(l.kl_plain, l.js_plain) = channel_divergence(*clean[i].outputs, *plain[i].outputs);
    l.original = statistics_gap(*bns[i].bn, *plain[i].inputs);
    result.layers.push_back(l);
  }
  recalibrate_on_training_draw(model, data, protocol, seed);
  const std::vector<LayerPass> recalibrated = probe_pass(model, bns, data, protocol, opt, &ranges);
  for (size_t i = 0; i < bns.size(); ++i) {
    BnLayerDivergence& l = result.layers[i];
    std::tie(l.kl_recalibrated, l.js_recalibrated) = channel_divergence(*clean[i].outputs, *recalibrated[i].outputs);
    l.recalibrated = statistics_gap(*bns[i].bn, *recalibrated[i].inputs);
  }
  original.restore(model);
  apply_policy(model, clean_spec, seed, calibration);
  result.config = {{"clean", clean_spec.to_json()}, {"perturbed", perturbed.to_json()}, {"seed", seed},
                   {"images", opt.images}, {"bins", opt.bins}, {"recal", protocol.recal.to_json()},
                   {"divergence_at", "BN output, per channel, mean over channels"},
                   {"statistics_at", "BN input, exact moments on the test images"}};
  return result;
}

}  // namespace bnrecal
