// One pass of images through a model with probes (forwarding_policy.h) on some of its layers:
// how calibration, channel reordering and MAC counting look inside a forward pass.
//
//   std::vector<std::shared_ptr<bnrecal::ArithPolicy>> probes;
//   for (const auto& l : layers) probes.push_back(std::make_shared<MyProbe>(l.policy_ptr()));
//   int64_t images = bnrecal::instrumented_pass(*net, layers, probes, stream);
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "bnrecal/data/batch_stream.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/network.h"

namespace bnrecal {

// Installs probes[i] on layers[i] (a null probe leaves the layer as it is), runs every batch of
// the stream (rewound first) through the model in eval mode under no-grad, then puts back the
// layers' policies and the model's training flag, also when a forward throws. progress, when
// set, gets the images done after every batch. Returns the number of images.
int64_t instrumented_pass(Network& model, const std::vector<ArithLayerRef>& layers,
                          const std::vector<std::shared_ptr<ArithPolicy>>& probes,
                          BatchStream& stream,
                          const std::function<void(int64_t)>& progress = nullptr);

}  // namespace bnrecal
