#include "bnrecal/nn/calibration.h"

#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/arith_layers.h"

namespace bnrecal {

nlohmann::json ActivationCalibration::to_json() const {
  nlohmann::json ls = nlohmann::json::object();
  for (const auto& [name, r] : layers) {
    ls[name] = {{"a_max", r.a_max}, {"max_abs", r.max_abs}, {"min", r.min}};
  }
  return {{"stat", stat}, {"images", images}, {"source", source}, {"layers", ls}};
}

ActivationCalibration ActivationCalibration::from_json(const nlohmann::json& j) {
  ActivationCalibration c;
  c.stat = j.value("stat", "mean_max");
  c.images = j.value("images", int64_t{0});
  c.source = j.value("source", nlohmann::json::object());
  for (const auto& [name, r] : j.at("layers").items()) {
    c.layers[name] = {r.at("a_max").get<double>(), r.value("max_abs", 0.0), r.value("min", 0.0)};
  }
  return c;
}

namespace {

// Records the inputs' per-image maxima and passes the computation to the wrapped policy.
class ObserverPolicy : public ArithPolicy {
 public:
  explicit ObserverPolicy(std::shared_ptr<ArithPolicy> inner) : inner_(std::move(inner)) {}
  std::string name() const override { return inner_->name(); }
  nlohmann::json describe() const override { return inner_->describe(); }
  at::Tensor conv2d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b,
                    const ConvGeometry& g) override {
    observe(x);
    return inner_->conv2d(x, w, b, g);
  }
  at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) override {
    observe(x);
    return inner_->linear(x, w, b);
  }
  void observe(const at::Tensor& x) {
    at::Tensor flat = x.detach().reshape({x.size(0), -1}).to(at::kDouble);
    at::Tensor per_image_max = std::get<0>(flat.max(1));
    sum_of_max_ += per_image_max.sum().item<double>();
    images_ += x.size(0);
    max_ = std::max(max_, per_image_max.max().item<double>());
    min_ = std::min(min_, flat.min().item<double>());
  }
  std::shared_ptr<ArithPolicy> inner_;
  double sum_of_max_ = 0, max_ = -INFINITY, min_ = INFINITY;
  int64_t images_ = 0;
};

}  // namespace

ActivationCalibration calibrate_activations(Network& model, BatchStream& stream,
                                            const std::string& stat) {
  require(stat == "mean_max" || stat == "max",
          "unknown calibration statistic '" + stat + "' (known: mean_max, max)");
  std::vector<ArithLayerRef> layers = arith_layers(model);
  std::vector<std::shared_ptr<ObserverPolicy>> observers;
  ActivationCalibration cal;
  cal.stat = stat;
  {
    PolicyRestorer restore(model, layers);
    for (const auto& layer : layers) {
      observers.push_back(std::make_shared<ObserverPolicy>(layer.policy_ptr()));
      layer.set_policy(observers.back());
    }
    torch::NoGradGuard no_grad;
    model.eval();
    stream.rewind();
    for (at::Tensor x; stream.next(x);) {
      model.forward(x);
      cal.images += x.size(0);
    }
  }
  require(cal.images > 0, "calibration saw no images");
  for (size_t i = 0; i < layers.size(); ++i) {
    const ObserverPolicy& o = *observers[i];
    LayerRange r;
    r.min = o.min_;
    r.max_abs = std::max(std::abs(o.min_), std::abs(o.max_));
    r.a_max = stat == "max" ? o.max_ : o.sum_of_max_ / static_cast<double>(o.images_);
    // A layer whose inputs never exceeded 0 would get s_x = 0; any positive range quantizes
    // all-zero inputs to code 0 exactly, so use 1.
    if (!(r.a_max > 0)) r.a_max = 1.0;
    if (!(r.max_abs > 0)) r.max_abs = 1.0;
    cal.layers[layers[i].name] = r;
  }
  return cal;
}

}  // namespace bnrecal
