#include "bnrecal/data/cifar.h"

#include <cstring>
#include <filesystem>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"

namespace bnrecal {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kPixels = 3 * 32 * 32;

struct Layout {
  std::string folder;
  bool cifar100 = false;
};

// Finds the folder holding the binary files; empty folder string when none.
Layout find_layout(const std::string& path) {
  for (const std::string& dir : {path, path + "/cifar-10-batches-bin", path + "/cifar-100-binary"}) {
    if (file_exists(dir + "/test_batch.bin")) return {dir, false};
    if (file_exists(dir + "/test.bin") && file_exists(dir + "/train.bin")) return {dir, true};
  }
  return {};
}

// Appends the records of one file; label_offset is the byte holding the label used.
void read_records(const std::string& path, int64_t label_bytes, int64_t num_classes,
                  std::vector<uint8_t>& pixels, std::vector<int64_t>& labels) {
  if (!file_exists(path)) throw InputError("CIFAR file '" + path + "' is missing");
  const std::string bytes = read_file(path);
  const int64_t record = label_bytes + kPixels;
  const int64_t size = static_cast<int64_t>(bytes.size());
  if (size == 0 || size % record != 0)
    throw InputError("CIFAR file '" + path + "' has " + std::to_string(size) +
                     " bytes, not a whole number of " + std::to_string(record) +
                     "-byte records (truncated or not a CIFAR" + (label_bytes == 2 ? "-100" : "-10") +
                     " file)");
  const int64_t n = size / record;
  for (int64_t i = 0; i < n; ++i) {
    const auto* r = reinterpret_cast<const uint8_t*>(bytes.data()) + i * record;
    const int64_t label = r[label_bytes - 1];  // CIFAR-100: fine label is the second byte
    if (label >= num_classes)
      throw InputError("CIFAR file '" + path + "' record " + std::to_string(i) + " has label " +
                       std::to_string(label) + ", expected < " + std::to_string(num_classes));
    labels.push_back(label);
    pixels.insert(pixels.end(), r + label_bytes, r + record);
  }
}

}  // namespace

CifarSource::CifarSource(std::string name, at::Tensor images, at::Tensor labels, int64_t num_classes)
    : name_(std::move(name)), images_(std::move(images)), labels_(std::move(labels)),
      num_classes_(num_classes) {}

Normalization CifarSource::default_normalization() const {
  if (num_classes_ == 100) return {{0.5071, 0.4865, 0.4409}, {0.2673, 0.2564, 0.2762}};
  return {{0.4914, 0.4822, 0.4465}, {0.2470, 0.2435, 0.2616}};
}

Batch CifarSource::load(const std::vector<int64_t>& indices, bool augment,
                        std::mt19937_64& rng) const {
  const int64_t b = static_cast<int64_t>(indices.size());
  at::Tensor images = at::zeros({b, 3, 32, 32}, at::kFloat);
  at::Tensor labels = at::empty({b}, at::kLong);
  const uint8_t* src = images_.data_ptr<uint8_t>();
  float* dst = images.data_ptr<float>();
  int64_t* label_out = labels.data_ptr<int64_t>();
  std::uniform_int_distribution<int> offset(0, 8);  // RandomCrop(32, padding=4): shift in [-4, 4]
  std::bernoulli_distribution flip(0.5);
  for (int64_t i = 0; i < b; ++i) {
    const int64_t index = indices[i];
    if (index < 0 || index >= size())
      throw std::out_of_range("CIFAR index " + std::to_string(index) + " out of range");
    label_out[i] = labels_.data_ptr<int64_t>()[index];
    const uint8_t* image = src + index * kPixels;
    int dy = 0, dx = 0;
    bool mirror = false;
    if (augment) {
      dy = offset(rng) - 4;
      dx = offset(rng) - 4;
      mirror = flip(rng);
    }
    // Output pixel (y, x) reads source (y + dy, x + dx); outside the source is zero padding.
    for (int c = 0; c < 3; ++c)
      for (int y = 0; y < 32; ++y) {
        const int sy = y + dy;
        if (sy < 0 || sy >= 32) continue;
        for (int x = 0; x < 32; ++x) {
          const int sx = x + dx;
          if (sx < 0 || sx >= 32) continue;
          const int ox = mirror ? 31 - x : x;
          dst[((i * 3 + c) * 32 + y) * 32 + ox] = image[(c * 32 + sy) * 32 + sx] / 255.0f;
        }
      }
  }
  return {images, labels};
}

std::unique_ptr<CifarSource> open_cifar(const std::string& path, Split split) {
  const Layout layout = find_layout(path);
  if (layout.folder.empty())
    throw InputError("'" + path + "' holds no CIFAR binary files (test_batch.bin or "
                     "train.bin/test.bin, directly or in cifar-10-batches-bin/ or cifar-100-binary/)");
  std::vector<std::string> files;
  if (layout.cifar100) {
    files.push_back(layout.folder + (split == Split::kTrain ? "/train.bin" : "/test.bin"));
  } else if (split == Split::kTrain) {
    for (int i = 1; i <= 5; ++i) files.push_back(layout.folder + "/data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back(layout.folder + "/test_batch.bin");
  }
  const int64_t num_classes = layout.cifar100 ? 100 : 10;
  std::vector<uint8_t> pixels;
  std::vector<int64_t> labels;
  for (const auto& f : files) read_records(f, layout.cifar100 ? 2 : 1, num_classes, pixels, labels);
  const int64_t n = static_cast<int64_t>(labels.size());
  at::Tensor images = at::empty({n, 3, 32, 32}, at::kByte);
  std::memcpy(images.data_ptr<uint8_t>(), pixels.data(), pixels.size());
  at::Tensor label_tensor = at::empty({n}, at::kLong);
  std::memcpy(label_tensor.data_ptr<int64_t>(), labels.data(), n * sizeof(int64_t));
  const std::string name = std::string(layout.cifar100 ? "cifar100/" : "cifar10/") + (split == Split::kTrain ? "train" : "test");
  return std::make_unique<CifarSource>(name, images, label_tensor, num_classes);
}

bool looks_like_cifar(const std::string& path) { return !find_layout(path).folder.empty(); }

namespace {

// Opens `cifar<classes>:PATH`. A folder of the other CIFAR is a mistake, not a choice.
DatasetOpener cifar_opener(int64_t classes) {
  return [classes](const std::string& path, Split split, const std::vector<std::string>&) {
    auto source = open_cifar(path, split);
    if (source->num_classes() != classes)
      throw InputError("'cifar" + std::to_string(classes) + ":" + path + "': '" + path + "' holds CIFAR-" +
                       std::to_string(source->num_classes()) + ", not CIFAR-" + std::to_string(classes));
    return source;
  };
}

}  // namespace

void register_cifar_datasets(DatasetRegistry& registry) {
  registry.add({"cifar10:PATH", "CIFAR-10 binary format (data_batch_{1..5}.bin, test_batch.bin; or their folder's parent)",
                cifar_opener(10)});
  registry.add({"cifar100:PATH", "CIFAR-100 binary format (train.bin, test.bin; fine labels; or their folder's parent)",
                cifar_opener(100)});
}

PathFallback cifar_path_fallback() {
  return {"CIFAR folder",
          "test_batch.bin for CIFAR-10, train.bin + test.bin for CIFAR-100, or a folder holding "
          "cifar-10-batches-bin/ or cifar-100-binary/",
          looks_like_cifar, [](const std::string& path, Split split, const std::vector<std::string>&) {
            return open_cifar(path, split);
          }};
}

}  // namespace bnrecal
