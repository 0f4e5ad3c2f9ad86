// The model zoo: architectures by name, built with random initialisation.
//
//   for (const auto& entry : bnrecal::model_zoo()) std::cout << entry.name << "\n";
//   auto net = bnrecal::build_model("resnet20", {.num_classes = 10, .in_channels = 1});
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bnrecal/nn/network.h"

namespace bnrecal {

struct ModelOptions {
  int64_t num_classes = 10;
  int64_t in_channels = 3;
};

struct ZooEntry {
  std::string name;         // "resnet20"
  std::string family;       // "small-image" (CIFAR/MNIST sized inputs) or "imagenet"
  std::string description;  // one line for `bnrecal models`
  std::vector<int64_t> default_input;  // {C, H, W} it was designed for
  std::function<std::shared_ptr<Network>(const ModelOptions&)> build;
};

// Every registered architecture, sorted by name.
std::vector<ZooEntry> model_zoo();
// Throws InputError listing the known names when name is unknown.
std::shared_ptr<Network> build_model(const std::string& name, const ModelOptions& options);

// Each architecture family adds its entries here (explicit calls from zoo.cpp rather than static
// registrars, which a static library would silently drop at link time).
namespace detail {
void add_resnet_models(std::vector<ZooEntry>& zoo);
void add_googlenet_models(std::vector<ZooEntry>& zoo);
void add_inception_small_models(std::vector<ZooEntry>& zoo);
void add_densenet_models(std::vector<ZooEntry>& zoo);
void add_mobilenet_v1_models(std::vector<ZooEntry>& zoo);
void add_mobilenet_v2_models(std::vector<ZooEntry>& zoo);
void add_vgg_small_models(std::vector<ZooEntry>& zoo);
void add_fcn_models(std::vector<ZooEntry>& zoo);  // fcn.cpp
void add_detection_models(std::vector<ZooEntry>& zoo);  // yolo.cpp
}  // namespace detail

}  // namespace bnrecal
