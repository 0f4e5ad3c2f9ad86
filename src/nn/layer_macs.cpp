#include "bnrecal/nn/layer_macs.h"

#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/forwarding_policy.h"
#include "bnrecal/nn/instrumented_pass.h"

namespace bnrecal {

namespace {
// Counts output elements x K on the way through an fp32 policy.
class MacProbe : public ForwardingPolicy {
 public:
  MacProbe() : ForwardingPolicy(std::make_shared<Fp32Policy>()) {}
  int64_t k = 0, macs = 0;

 protected:
  void after(const ArithCall& call, const at::Tensor& output) override {
    k = call.weight.numel() / call.weight.size(0);
    macs += output.numel() * k;
  }
};
}  // namespace

std::vector<LayerMacs> count_layer_macs(Network& model, const at::Tensor& sample) {
  std::vector<ArithLayerRef> layers = arith_layers(model);
  std::vector<std::shared_ptr<MacProbe>> probes;
  for (size_t i = 0; i < layers.size(); ++i) probes.push_back(std::make_shared<MacProbe>());
  TensorBatchStream stream({sample});
  instrumented_pass(model, layers, {probes.begin(), probes.end()}, stream);
  std::vector<LayerMacs> out;
  for (size_t i = 0; i < layers.size(); ++i) out.push_back({layers[i].name, probes[i]->k, probes[i]->macs});
  return out;
}

}  // namespace bnrecal
