#include "bnrecal/nn/instrumented_pass.h"

#include <torch/torch.h>

namespace bnrecal {

int64_t instrumented_pass(Network& model, const std::vector<ArithLayerRef>& layers,
                          const std::vector<std::shared_ptr<ArithPolicy>>& probes,
                          BatchStream& stream, const std::function<void(int64_t)>& progress) {
  TORCH_CHECK(layers.size() == probes.size(), "instrumented_pass: one probe per layer");
  PolicyRestorer restore(model, layers);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (probes[i]) layers[i].set_policy(probes[i]);
  }
  torch::NoGradGuard no_grad;
  model.eval();
  stream.rewind();
  int64_t images = 0;
  for (at::Tensor x; stream.next(x);) {
    model.forward(x);
    images += x.size(0);
    if (progress) progress(images);
  }
  return images;
}

}  // namespace bnrecal
