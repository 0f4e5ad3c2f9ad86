#include "bnrecal/models/zoo.h"

#include <algorithm>

#include "bnrecal/core/error.h"

namespace bnrecal {

std::vector<ZooEntry> model_zoo() {
  std::vector<ZooEntry> zoo;
  detail::add_resnet_models(zoo);
  detail::add_googlenet_models(zoo);
  detail::add_inception_small_models(zoo);
  detail::add_densenet_models(zoo);
  detail::add_mobilenet_v1_models(zoo);
  detail::add_mobilenet_v2_models(zoo);
  detail::add_vgg_small_models(zoo);
  detail::add_fcn_models(zoo);
  detail::add_detection_models(zoo);
  std::sort(zoo.begin(), zoo.end(), [](const ZooEntry& a, const ZooEntry& b) { return a.name < b.name; });
  return zoo;
}

std::shared_ptr<Network> build_model(const std::string& name, const ModelOptions& options) {
  require(options.num_classes > 0, "number of classes must be positive");
  require(options.in_channels > 0, "number of input channels must be positive");
  std::string known;
  for (const ZooEntry& entry : model_zoo()) {
    if (entry.name == name) return entry.build(options);
    known += (known.empty() ? "" : ", ") + entry.name;
  }
  throw InputError("unknown model '" + name + "'; known: " + known);
}

}  // namespace bnrecal
