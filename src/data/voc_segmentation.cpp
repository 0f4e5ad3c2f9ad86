#include "bnrecal/data/segmentation_source.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <random>

#include <nlohmann/json.hpp>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/thread_pool.h"
#include "bnrecal/data/dataset_registry.h"
#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/image_transforms.h"
#include "bnrecal/data/palette_png.h"

namespace bnrecal {

const std::vector<std::string>& voc_class_names() {
  static const std::vector<std::string> names = {
      "background", "aeroplane", "bicycle", "bird",  "boat",        "bottle", "bus",
      "car",        "cat",       "chair",   "cow",   "diningtable", "dog",    "horse",
      "motorbike",  "person",    "pottedplant", "sheep", "sofa",    "train",  "tvmonitor"};
  return names;
}

namespace {

// PIL's NEAREST resize, as torchvision resizes masks: output pixel o samples input
// floor((o + 0.5) * in / out), the input pixel whose area holds the output pixel's centre.
IndexedImage resize_nearest(const IndexedImage& src, int64_t out_height, int64_t out_width) {
  if (out_height == src.height && out_width == src.width) return src;
  IndexedImage out{out_height, out_width, std::vector<uint8_t>(static_cast<size_t>(out_height * out_width))};
  const auto source = [](int64_t o, int64_t in, int64_t n) {
    return std::min(in - 1, static_cast<int64_t>((static_cast<double>(o) + 0.5) * static_cast<double>(in) /
                                                 static_cast<double>(n)));
  };
  for (int64_t y = 0; y < out_height; ++y) {
    const int64_t sy = source(y, src.height, out_height);
    for (int64_t x = 0; x < out_width; ++x) {
      out.indices[static_cast<size_t>(y * out_width + x)] =
          src.indices[static_cast<size_t>(sy * src.width + source(x, src.width, out_width))];
    }
  }
  return out;
}

class VocSegmentation : public SegmentationSource {
 public:
  VocSegmentation(const std::string& root, Split split, const VocOptions& options)
      : root_(root), split_(split), options_(options) {
    require(options.resize >= 0, "VOC: the resize size must be >= 0, got " + std::to_string(options.resize));
    const std::string list = root + "/ImageSets/Segmentation/" + (split == Split::kTrain ? "train" : "val") + ".txt";
    std::ifstream in(list);
    require(static_cast<bool>(in), "cannot open '" + list + "' (is '" + root + "' a VOC 2012 folder?)");
    std::vector<std::string> ids;
    for (std::string line; std::getline(in, line);) {
      line.erase(std::find_if(line.rbegin(), line.rend(), [](unsigned char c) { return !std::isspace(c); }).base(),
                 line.end());
      if (!line.empty()) ids.push_back(line);
    }
    require(!ids.empty(), "'" + list + "' lists no images");
    read_class_names();
    check_files(ids);
    require(!ids_.empty(), "VOC '" + root + "': every image of " + list + " was skipped as bad");
  }

  std::string name() const override { return "voc:" + root_ + "/" + (split_ == Split::kTrain ? "train" : "val"); }
  int64_t size() const override { return static_cast<int64_t>(ids_.size()); }
  int64_t num_classes() const override { return static_cast<int64_t>(classes_.size()); }
  std::vector<std::string> class_names() const override { return classes_; }
  // The first image's shape; the others may differ (then batches must hold one image).
  std::vector<int64_t> image_shape() const override { return {3, shapes_[0].first, shapes_[0].second}; }
  Normalization default_normalization() const override { return {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}}; }
  // Horizontal flips only: they keep every mask pixel on its image pixel, and unlike crops they
  // never cut an item's outline, so the masks stay exact.
  Augmentation default_augmentation() const override { return {0, true}; }

  Batch load(const std::vector<int64_t>& indices, bool augment, std::mt19937_64& rng) const override {
    check_one_size(indices);
    std::vector<at::Tensor> images(indices.size());
    parallel_for_each(static_cast<int64_t>(indices.size()), options_.threads, [&](int64_t i) {
      Image image = decode_image_file(image_path(indices[static_cast<size_t>(i)]));
      const auto [h, w] = shape_of(image.height, image.width);
      if (h != image.height || w != image.width) image = resize_bilinear(image, h, w);
      images[static_cast<size_t>(i)] = image_to_tensor(image);
    });
    Batch batch{at::stack(images), at::zeros({static_cast<int64_t>(indices.size())}, at::kLong), masks(indices)};
    if (augment) {
      // One draw per image in batch order, so a seed gives the same flips on any thread count.
      std::bernoulli_distribution flip(0.5);
      for (int64_t i = 0; i < batch.images.size(0); ++i) {
        if (!flip(rng)) continue;
        batch.images[i].copy_(batch.images[i].flip({2}));
        batch.masks[i].copy_(batch.masks[i].flip({1}));
      }
    }
    return batch;
  }

  at::Tensor masks(const std::vector<int64_t>& indices) const override {
    check_one_size(indices);
    const auto [h, w] = shapes_[static_cast<size_t>(indices.at(0))];
    at::Tensor out = at::empty({static_cast<int64_t>(indices.size()), h, w}, at::kByte);
    parallel_for_each(static_cast<int64_t>(indices.size()), options_.threads, [&](int64_t i) {
      const IndexedImage mask = resize_nearest(read_palette_png(mask_path(indices[static_cast<size_t>(i)])), h, w);
      std::copy(mask.indices.begin(), mask.indices.end(), out[i].data_ptr<uint8_t>());
    });
    return out;
  }

  int64_t skipped() const override { return skipped_; }
  std::vector<std::string> skip_reasons() const override { return reasons_; }

 private:
  std::string image_path(int64_t i) const { return root_ + "/JPEGImages/" + ids_.at(static_cast<size_t>(i)) + ".jpg"; }
  std::string mask_path(int64_t i) const {
    return root_ + "/SegmentationClass/" + ids_.at(static_cast<size_t>(i)) + ".png";
  }
  std::pair<int64_t, int64_t> shape_of(int64_t height, int64_t width) const {
    return options_.resize > 0 ? shorter_side_resize_shape(height, width, options_.resize)
                               : std::pair<int64_t, int64_t>{height, width};
  }

  void read_class_names() {
    classes_ = voc_class_names();
    const std::string task = root_ + "/task.json";
    if (!file_exists(task)) return;
    const nlohmann::json j = with_input_errors<nlohmann::json::exception>(
        "'" + task + "': ", [&] { return nlohmann::json::parse(read_file(task)); });
    if (!j.contains("class_names")) return;
    classes_ = with_input_errors<nlohmann::json::exception>(
        "'" + task + "': class_names: ", [&] { return j.at("class_names").get<std::vector<std::string>>(); });
    require(classes_.size() >= 2 && classes_.size() <= 255,
            "'" + task + "': class_names must hold 2 to 255 names (index 255 is the ignore label)");
  }

  // Decodes every image and mask once: sizes must agree and masks hold only class indices or 255.
  void check_files(const std::vector<std::string>& ids) {
    std::vector<std::string> problem(ids.size());
    std::vector<std::pair<int64_t, int64_t>> shapes(ids.size());
    parallel_for_each(static_cast<int64_t>(ids.size()), options_.threads, [&](int64_t k) {
      const size_t i = static_cast<size_t>(k);
      const std::string image = root_ + "/JPEGImages/" + ids[i] + ".jpg";
      const std::string mask = root_ + "/SegmentationClass/" + ids[i] + ".png";
      try {
        const Image decoded = decode_image_file(image);
        const IndexedImage labels = read_palette_png(mask);
        require(labels.height == decoded.height && labels.width == decoded.width,
                "mask '" + mask + "' is " + std::to_string(labels.width) + "x" + std::to_string(labels.height) +
                    " but its image '" + image + "' is " + std::to_string(decoded.width) + "x" +
                    std::to_string(decoded.height));
        for (uint8_t v : labels.indices) {
          require(v == kIgnoreLabel || v < classes_.size(),
                  "mask '" + mask + "' holds class " + std::to_string(v) + " but the task has " +
                      std::to_string(classes_.size()) + " classes");
        }
        shapes[i] = shape_of(decoded.height, decoded.width);
      } catch (const InputError& e) {
        problem[i] = e.what();
      }
    });
    for (size_t i = 0; i < ids.size(); ++i) {
      if (problem[i].empty()) {
        ids_.push_back(ids[i]);
        shapes_.push_back(shapes[i]);
        continue;
      }
      if (!options_.skip_bad) throw InputError(problem[i] + " (or skip such images with --skip-bad)");
      ++skipped_;
      if (reasons_.size() < 5) reasons_.push_back(problem[i]);
    }
  }

  void check_one_size(const std::vector<int64_t>& indices) const {
    require(!indices.empty(), "VOC segmentation: an empty batch");
    for (int64_t i : indices) {
      require(i >= 0 && i < size(), "VOC segmentation: image index " + std::to_string(i) + " out of range");
      if (shapes_[static_cast<size_t>(i)] == shapes_[static_cast<size_t>(indices[0])]) continue;
      throw InputError("VOC images '" + ids_[static_cast<size_t>(indices[0])] + "' and '" +
                       ids_[static_cast<size_t>(i)] +
                       "' differ in size and cannot share a batch: use batch size 1 (or a resize)");
    }
  }

  std::string root_;
  Split split_;
  VocOptions options_;
  std::vector<std::string> classes_, ids_, reasons_;
  std::vector<std::pair<int64_t, int64_t>> shapes_;  // {height, width} after the resize
  int64_t skipped_ = 0;
};

}  // namespace

std::unique_ptr<SegmentationSource> open_voc_segmentation(const std::string& root, Split split,
                                                          const VocOptions& options) {
  return std::make_unique<VocSegmentation>(root, split, options);
}

bool looks_like_voc_segmentation(const std::string& path) {
  std::error_code ec;
  return file_exists(path + "/ImageSets/Segmentation/val.txt") &&
         std::filesystem::is_directory(path + "/SegmentationClass", ec);
}

namespace {

// "DIR" or "DIR:SIZE" (the shorter side resized to SIZE pixels, torchvision's preset being 520).
std::unique_ptr<DataSource> open_voc_spec(const std::string& argument, Split split) {
  const auto [root, size] = split_size_suffix(argument, "voc:DIR[:SIZE]");
  VocOptions options;
  options.resize = size;
  return open_voc_segmentation(root, split, options);
}

}  // namespace

void register_voc_datasets(DatasetRegistry& registry) {
  registry.add({"voc:DIR[:SIZE]",
                "PASCAL VOC 2012 segmentation layout (train.txt / val.txt; `bnrecal make-task segmentation` writes "
                "one); SIZE resizes the shorter side (torchvision's evaluation preset: 520)",
                [](const std::string& argument, Split split, const std::vector<std::string>&) {
                  return open_voc_spec(argument, split);
                }});
}

PathFallback voc_path_fallback() {
  return {"VOC segmentation folder", "ImageSets/Segmentation/val.txt and SegmentationClass/",
          looks_like_voc_segmentation, [](const std::string& root, Split split, const std::vector<std::string>&) {
            return std::unique_ptr<DataSource>(open_voc_segmentation(root, split));
          }};
}

}  // namespace bnrecal
