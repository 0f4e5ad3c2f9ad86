#include "bnrecal/nn/calibration.h"

#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/forwarding_policy.h"
#include "bnrecal/nn/instrumented_pass.h"

namespace bnrecal {

nlohmann::json ActivationCalibration::to_json() const {
  nlohmann::json ls = nlohmann::json::object();
  for (const auto& [name, r] : layers) {
    ls[name] = {{"a_max", r.a_max}, {"max_abs", r.max_abs}, {"min", r.min}};
  }
  return {{"stat", stat}, {"images", images}, {"source", source}, {"layers", ls}};
}

ActivationCalibration ActivationCalibration::from_json(const nlohmann::json& j) {
  const std::string context = std::string("checkpoint metadata '") + kCalibrationKey + "' is malformed: ";
  return with_input_errors<nlohmann::json::exception>(context, [&] {
    ActivationCalibration c;
    c.stat = j.value("stat", "mean_max");
    c.images = j.value("images", int64_t{0});
    c.source = j.value("source", nlohmann::json::object());
    for (const auto& [name, r] : j.at("layers").items()) {
      const LayerRange range{r.at("a_max").get<double>(), r.value("max_abs", 0.0), r.value("min", 0.0)};
      // Used as float scales (a_max / 255): outside this span they overflow or lose all precision.
      auto usable = [](double v, bool zero_ok) { return (zero_ok && v == 0) || (v >= 1e-20 && v <= 1e20); };
      require(usable(range.a_max, false) && usable(range.max_abs, true),
              context + "layer '" + name + "' has a_max " + r.at("a_max").dump() + " / max_abs " +
                  r.value("max_abs", nlohmann::json(0)).dump() + " outside [1e-20, 1e20]");
      c.layers[name] = range;
    }
    return c;
  });
}

namespace {

// Records the inputs' per-image maxima on their way to the layer's own policy.
class RangeProbe : public ForwardingPolicy {
 public:
  using ForwardingPolicy::ForwardingPolicy;
  double sum_of_max = 0, max = -INFINITY, min = INFINITY;
  int64_t images = 0;

 protected:
  void before(const ArithCall& call) override {
    const at::Tensor& x = call.input;
    at::Tensor flat = x.detach().reshape({x.size(0), -1}).to(at::kDouble);
    at::Tensor per_image_max = std::get<0>(flat.max(1));
    sum_of_max += per_image_max.sum().item<double>();
    images += x.size(0);
    max = std::max(max, per_image_max.max().item<double>());
    min = std::min(min, flat.min().item<double>());
  }
};

}  // namespace

ActivationCalibration calibrate_activations(Network& model, BatchStream& stream,
                                            const std::string& stat) {
  require(stat == "mean_max" || stat == "max",
          "unknown calibration statistic '" + stat + "' (known: mean_max, max)");
  std::vector<ArithLayerRef> layers = arith_layers(model);
  std::vector<std::shared_ptr<RangeProbe>> probes;
  for (const auto& layer : layers) probes.push_back(std::make_shared<RangeProbe>(layer.policy_ptr()));
  ActivationCalibration cal;
  cal.stat = stat;
  cal.images = instrumented_pass(model, layers, {probes.begin(), probes.end()}, stream);
  require(cal.images > 0, "calibration saw no images");
  for (size_t i = 0; i < layers.size(); ++i) {
    const RangeProbe& o = *probes[i];
    LayerRange r;
    r.min = o.min;
    r.max_abs = std::max(std::abs(o.min), std::abs(o.max));
    r.a_max = stat == "max" ? o.max : o.sum_of_max / static_cast<double>(o.images);
    // A layer whose inputs never exceeded 0 would get s_x = 0; any positive range quantizes
    // all-zero inputs to code 0 exactly, so use 1.
    if (!(r.a_max > 0)) r.a_max = 1.0;
    if (!(r.max_abs > 0)) r.max_abs = 1.0;
    cal.layers[layers[i].name] = r;
  }
  return cal;
}

}  // namespace bnrecal
