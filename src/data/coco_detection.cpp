#include "bnrecal/data/detection_source.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/thread_pool.h"
#include "bnrecal/data/dataset_registry.h"
#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/image_transforms.h"

namespace bnrecal {

namespace {

std::string size_text(int64_t width, int64_t height) { return std::to_string(width) + "x" + std::to_string(height); }

// annotations/instances_<split>.json, else COCO 2017's instances_<split>2017.json when only it exists.
std::string annotations_path(const std::string& root, const std::string& split) {
  const std::string plain = root + "/annotations/instances_" + split + ".json";
  const std::string coco2017 = root + "/annotations/instances_" + split + "2017.json";
  return !file_exists(plain) && file_exists(coco2017) ? coco2017 : plain;
}

// images/<split>, else COCO 2017's <split>2017 (as unpacked) or images/<split>2017.
std::string images_folder(const std::string& root, const std::string& split) {
  for (const std::string& folder : {root + "/images/" + split, root + "/" + split + "2017", root + "/images/" + split + "2017"}) {
    std::error_code ec;
    if (std::filesystem::is_directory(folder, ec)) return folder;
  }
  return root + "/images/" + split;  // missing: the first image names it
}

class CocoDetection : public DetectionSource {
 public:
  CocoDetection(const std::string& root, Split split, const CocoDetectionOptions& options)
      : root_(root), split_dir_(split == Split::kTrain ? "train" : "val"), options_(options) {
    require(options.letterbox >= 0, "COCO detection: the letterbox side must not be negative");
    const std::string json = annotations_path(root, split_dir_);
    require(file_exists(json), "cannot open '" + json + "' (is '" + root + "' a COCO detection folder?)");
    image_dir_ = images_folder(root, split_dir_);
    const CocoInstances instances = read_coco_instances(json, {options.skip_bad});
    require(!instances.images.empty(), "'" + json + "' lists no images");
    skipped_ = instances.skipped.count;
    reasons_ = instances.skipped.reasons;
    read_categories(instances);
    check_images(instances);
    require(!images_.empty(), "COCO '" + root + "': every image of " + json + " was skipped as bad");
    collect_annotations(instances);
  }

  std::string name() const override { return "coco:" + root_ + "/" + split_dir_; }
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  int64_t num_classes() const override { return static_cast<int64_t>(category_ids_.size()); }
  std::vector<std::string> class_names() const override { return class_names_; }
  // The first image's shape; the others may differ (then batches must hold one image).
  std::vector<int64_t> image_shape() const override {
    if (options_.letterbox > 0) return {3, options_.letterbox, options_.letterbox};
    return {3, images_[0].height, images_[0].width};
  }
  Normalization default_normalization() const override { return {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}}; }
  Augmentation default_augmentation() const override { return {0, false}; }

  Batch load(const std::vector<int64_t>& indices, bool augment, std::mt19937_64&) const override {
    require(!augment, "COCO detection '" + name() +
                          "': training augmentation is not defined for detection yet (it would have to move the "
                          "boxes with the pixels)");
    check_one_size(indices);
    std::vector<at::Tensor> images(indices.size());
    parallel_for_each(static_cast<int64_t>(indices.size()), options_.threads, [&](int64_t i) {
      const int64_t index = indices[static_cast<size_t>(i)];
      const Image image = decode_image_file(image_path(index));
      images[static_cast<size_t>(i)] = options_.letterbox > 0 ? letterboxed(image, index) : image_to_tensor(image);
    });
    return {at::stack(images), at::zeros({static_cast<int64_t>(indices.size())}, at::kLong), at::Tensor()};
  }

  const std::vector<GroundTruth>& ground_truths() const override { return ground_truths_; }
  int64_t image_id(int64_t index) const override { return images_[checked(index)].id; }
  const std::vector<int64_t>& category_ids() const override { return category_ids_; }
  ImageScale image_scale(int64_t index) const override {
    if (options_.letterbox == 0) return {};
    const CocoImage& image = images_[checked(index)];
    const auto [height, width] = letterbox_shape(image);
    return {static_cast<double>(width) / static_cast<double>(image.width),
            static_cast<double>(height) / static_cast<double>(image.height)};
  }

  std::vector<std::vector<GroundTruthBox>> boxes(const std::vector<int64_t>& indices) const override {
    std::vector<std::vector<GroundTruthBox>> out;
    out.reserve(indices.size());
    for (int64_t i : indices) out.push_back(boxes_[checked(i)]);
    return out;
  }

  int64_t skipped() const override { return skipped_; }
  std::vector<std::string> skip_reasons() const override { return reasons_; }

 private:
  std::string image_path(int64_t index) const { return image_path(images_[checked(index)]); }
  std::string image_path(const CocoImage& image) const { return image_dir_ + "/" + image.file_name; }

  // {height, width} of the image scaled into the letterbox: the longer side fills it exactly.
  std::pair<int64_t, int64_t> letterbox_shape(const CocoImage& image) const {
    const int64_t side = options_.letterbox, longer = std::max(image.height, image.width);
    const auto scaled = [&](int64_t extent) {
      return std::max<int64_t>(1, static_cast<int64_t>(std::lround(static_cast<double>(extent * side) / longer)));
    };
    return {scaled(image.height), scaled(image.width)};
  }

  at::Tensor letterboxed(const Image& image, int64_t index) const {
    const auto [height, width] = letterbox_shape(images_[checked(index)]);
    const Image scaled =
        height == image.height && width == image.width ? image : resize_bilinear(image, height, width);
    const std::vector<double>& mean = default_normalization().mean;
    at::Tensor canvas = at::empty({3, options_.letterbox, options_.letterbox}, at::kFloat);
    for (int64_t c = 0; c < 3; ++c) canvas[c].fill_(mean[static_cast<size_t>(c)]);
    canvas.slice(1, 0, height).slice(2, 0, width).copy_(image_to_tensor(scaled));
    return canvas;
  }

  size_t checked(int64_t index) const {
    require(index >= 0 && index < size(), "COCO detection '" + name() + "': image index " + std::to_string(index) +
                                              " out of range (" + std::to_string(size()) + " images)");
    return static_cast<size_t>(index);
  }

  // Sorted by id so that class indices do not depend on the order a tool wrote the categories in.
  void read_categories(const CocoInstances& instances) {
    std::vector<CocoCategory> categories = instances.categories;
    require(!categories.empty(), "'" + instances.path + "' lists no categories");
    std::sort(categories.begin(), categories.end(),
              [](const CocoCategory& a, const CocoCategory& b) { return a.id < b.id; });
    for (const CocoCategory& c : categories) {
      category_ids_.push_back(c.id);
      class_names_.push_back(c.name);
    }
  }

  // Decodes every image once: it must exist, decode and have the size the JSON gives it (the
  // annotations' boxes were checked against that size).
  void check_images(const CocoInstances& instances) {
    const std::vector<CocoImage>& listed = instances.images;
    std::vector<std::string> problem(listed.size());
    parallel_for_each(static_cast<int64_t>(listed.size()), options_.threads, [&](int64_t k) {
      const CocoImage& image = listed[static_cast<size_t>(k)];
      const std::string path = image_path(image);
      try {
        const Image decoded = decode_image_file(path);
        require(decoded.width == image.width && decoded.height == image.height,
                "image '" + path + "' is " + size_text(decoded.width, decoded.height) + " but '" + instances.path +
                    "' says " + size_text(image.width, image.height) + " (image id " + std::to_string(image.id) +
                    ")");
      } catch (const InputError& e) {
        problem[static_cast<size_t>(k)] = e.what();
      }
    });
    for (size_t i = 0; i < listed.size(); ++i) {
      if (problem[i].empty()) {
        images_.push_back(listed[i]);
        continue;
      }
      if (!options_.skip_bad) throw InputError(problem[i] + " (or skip such images with --skip-bad)");
      ++skipped_;
      if (reasons_.size() < SkippedRecords::kSkipReasonsKept) reasons_.push_back(problem[i]);
    }
  }

  // The annotations of the kept images, in file order; a skipped image takes its annotations along.
  void collect_annotations(const CocoInstances& instances) {
    std::map<int64_t, size_t> index_of_image;
    for (size_t i = 0; i < images_.size(); ++i) index_of_image[images_[i].id] = i;
    std::map<int64_t, int64_t> class_of_category;
    for (size_t c = 0; c < category_ids_.size(); ++c) class_of_category[category_ids_[c]] = static_cast<int64_t>(c);
    boxes_.resize(images_.size());
    for (const CocoAnnotation& a : instances.annotations) {
      const auto image = index_of_image.find(a.image_id);
      if (image == index_of_image.end()) continue;
      ground_truths_.push_back({a.image_id, a.category_id, a.bbox, a.iscrowd, a.area});
      if (a.iscrowd) continue;
      const ImageScale scale = image_scale(static_cast<int64_t>(image->second));
      const Box box{a.bbox.x * scale.x, a.bbox.y * scale.y, a.bbox.w * scale.x, a.bbox.h * scale.y};
      boxes_[image->second].push_back({box, class_of_category.at(a.category_id)});
    }
  }

  void check_one_size(const std::vector<int64_t>& indices) const {
    require(!indices.empty(), "COCO detection '" + name() + "': an empty batch");
    if (options_.letterbox > 0) return;
    const CocoImage& first = images_[checked(indices[0])];
    for (int64_t i : indices) {
      const CocoImage& image = images_[checked(i)];
      if (image.height == first.height && image.width == first.width) continue;
      throw InputError("COCO images '" + first.file_name + "' (" + size_text(first.width, first.height) + ") and '" +
                       image.file_name + "' (" + size_text(image.width, image.height) +
                       ") differ in size and cannot share a batch: use batch size 1, or a letterbox (coco:DIR:N)");
    }
  }

  std::string root_, split_dir_, image_dir_;
  CocoDetectionOptions options_;
  std::vector<CocoImage> images_;  // the kept images, in file order
  std::vector<int64_t> category_ids_;
  std::vector<std::string> class_names_, reasons_;
  std::vector<GroundTruth> ground_truths_;
  std::vector<std::vector<GroundTruthBox>> boxes_;  // per kept image
  int64_t skipped_ = 0;
};

}  // namespace

std::unique_ptr<DetectionSource> open_coco_detection(const std::string& root, Split split,
                                                     const CocoDetectionOptions& options) {
  return std::make_unique<CocoDetection>(root, split, options);
}

bool looks_like_coco_detection(const std::string& path) { return file_exists(annotations_path(path, "val")); }

namespace {

std::unique_ptr<DataSource> open_coco_spec(const std::string& argument, Split split) {
  const auto [root, side] = split_size_suffix(argument, "coco:DIR[:N]");
  CocoDetectionOptions options;
  options.letterbox = side;
  return open_coco_detection(root, split, options);
}

}  // namespace

void register_coco_datasets(DatasetRegistry& registry) {
  registry.add({"coco:DIR[:N]",
                "COCO instances layout: images/{train,val}/ and annotations/instances_{train,val}.json, or COCO "
                "2017's names (`bnrecal make-task detection` writes one); N letterboxes every image into N x N",
                [](const std::string& argument, Split split, const std::vector<std::string>&) {
                  return open_coco_spec(argument, split);
                }});
}

PathFallback coco_path_fallback() {
  return {"COCO detection folder", "annotations/instances_val.json or instances_val2017.json", looks_like_coco_detection,
          [](const std::string& root, Split split, const std::vector<std::string>&) {
            return std::unique_ptr<DataSource>(open_coco_detection(root, split));
          }};
}

}  // namespace bnrecal
