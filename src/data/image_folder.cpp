#include "bnrecal/data/image_folder.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/thread_pool.h"

namespace bnrecal {
namespace {

namespace fs = std::filesystem;

bool is_image_file(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

bool is_dir(const fs::path& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

// Image files under dir, recursively, sorted by (folder, name) like torchvision's
// sorted(os.walk(...)) + sorted(fnames).
std::vector<std::string> list_images(const fs::path& dir, bool recursive) {
  std::vector<std::pair<std::string, std::string>> found;
  auto add = [&](const fs::directory_entry& e) {
    if (e.is_regular_file() && is_image_file(e.path()))
      found.emplace_back(e.path().parent_path().string(), e.path().filename().string());
  };
  if (recursive) {
    for (const auto& e : fs::recursive_directory_iterator(dir, fs::directory_options::follow_directory_symlink)) add(e);
  } else {
    for (const auto& e : fs::directory_iterator(dir)) add(e);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (const auto& [folder, name] : found) paths.push_back(folder + "/" + name);
  return paths;
}

std::vector<std::string> split_whitespace(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> tokens;
  for (std::string t; in >> t;) tokens.push_back(t);
  return tokens;
}

// The options the registry's forms use: defaults, labelled by the model's class names.
ImageFolderOptions options_for(const std::vector<std::string>& classes) {
  ImageFolderOptions options;
  options.classes = classes;
  return options;
}

int64_t parse_label(const std::string& text, const std::string& file, int64_t line) {
  try {
    size_t used = 0;
    const long long v = std::stoll(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  throw InputError("ground-truth file '" + file + "' line " + std::to_string(line) +
                   ": '" + text + "' is not an integer label");
}

}  // namespace

ImageListSource::ImageListSource(std::string name, std::vector<Entry> entries, int64_t num_classes,
                                 std::vector<std::string> class_names, ImageFolderOptions options)
    : name_(std::move(name)), entries_(std::move(entries)), num_classes_(num_classes),
      class_names_(std::move(class_names)), options_(std::move(options)) {
  if (options_.verify_on_open) verify();
}

std::vector<int64_t> ImageListSource::image_shape() const {
  return {3, options_.eval.crop_size, options_.eval.crop_size};
}

Normalization ImageListSource::default_normalization() const {
  return {{0.485, 0.456, 0.406}, {0.229, 0.224, 0.225}};
}

Augmentation ImageListSource::default_augmentation() const { return {0, true}; }

std::vector<std::string> ImageListSource::corrupt_files() const {
  std::lock_guard<std::mutex> lock(corrupt_mutex_);
  return corrupt_;
}

void ImageListSource::mark_corrupt(const std::string& path) const {
  std::lock_guard<std::mutex> lock(corrupt_mutex_);
  const auto at = std::lower_bound(corrupt_.begin(), corrupt_.end(), path);
  if (at == corrupt_.end() || *at != path) corrupt_.insert(at, path);
}

void ImageListSource::verify() {
  std::vector<char> bad(entries_.size(), 0);
  parallel_for_each(size(), options_.num_threads, [&](int64_t i) {
    try {
      decode_image_file(entries_[i].path);
    } catch (const InputError&) {
      if (options_.on_corrupt == OnCorrupt::kFail) throw;
      bad[i] = 1;
    }
  });
  std::vector<Entry> kept;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (bad[i]) mark_corrupt(entries_[i].path);
    else kept.push_back(entries_[i]);
  }
  if (kept.empty()) throw InputError("'" + name_ + "': no decodable image");
  entries_ = std::move(kept);
}

int64_t ImageListSource::decode_into(int64_t index, bool augment, uint64_t seed, float* out) const {
  // With kSkip a corrupt file is replaced by the next decodable one (wrapping around), so batch
  // shapes and labels stay valid; corrupt_files() reports what was replaced.
  for (int64_t attempt = 0; attempt < size(); ++attempt) {
    const Entry& entry = entries_[(index + attempt) % size()];
    Image image;
    try {
      image = decode_image_file(entry.path);
    } catch (const InputError&) {
      if (options_.on_corrupt == OnCorrupt::kFail) throw;
      mark_corrupt(entry.path);
      continue;
    }
    if (augment) {
      std::mt19937_64 rng(seed);
      apply_train_transform(image, options_.train, rng, out);
    } else {
      apply_eval_transform(image, options_.eval, out);
    }
    return entry.label;
  }
  throw InputError("'" + name_ + "': no decodable image");
}

Batch ImageListSource::load(const std::vector<int64_t>& indices, bool augment,
                            std::mt19937_64& rng) const {
  const int64_t b = static_cast<int64_t>(indices.size());
  const int64_t side = augment ? options_.train.size : options_.eval.crop_size;
  at::Tensor images = at::empty({b, 3, side, side}, at::kFloat);
  at::Tensor labels = at::empty({b}, at::kLong);
  for (int64_t index : indices)
    if (index < 0 || index >= size())
      throw std::out_of_range("image index " + std::to_string(index) + " out of range");
  // One seed per image, drawn in batch order: augmentations do not depend on thread scheduling.
  std::vector<uint64_t> seeds(b, 0);
  if (augment)
    for (auto& s : seeds) s = rng();
  float* dst = images.data_ptr<float>();
  int64_t* label_out = labels.data_ptr<int64_t>();
  parallel_for_each(b, options_.num_threads, [&](int64_t i) {
    label_out[i] = decode_into(indices[i], augment, seeds[i], dst + i * 3 * side * side);
  });
  return {images, labels};
}

std::unique_ptr<ImageListSource> open_image_folder(const std::string& root, Split split,
                                                   const ImageFolderOptions& options) {
  if (!is_dir(root)) throw InputError("image folder '" + root + "' does not exist or is not a folder");
  fs::path dir = root;
  if (is_dir(dir / "train") && is_dir(dir / "val")) dir /= split == Split::kTrain ? "train" : "val";
  std::vector<std::string> classes;
  for (const auto& e : fs::directory_iterator(dir, fs::directory_options::follow_directory_symlink))
    if (is_dir(e.path())) classes.push_back(e.path().filename().string());
  std::sort(classes.begin(), classes.end());
  if (classes.empty()) throw InputError("image folder '" + dir.string() + "' has no class sub-folders");
  // Label of each class folder: its rank, or its index in the given class list.
  const std::vector<std::string>& names = options.classes.empty() ? classes : options.classes;
  std::vector<ImageListSource::Entry> entries;
  for (const std::string& folder : classes) {
    const auto it = std::find(names.begin(), names.end(), folder);
    if (it == names.end())
      throw InputError("image folder '" + dir.string() + "': class folder '" + folder +
                       "' is not one of the model's " + std::to_string(names.size()) +
                       " classes (checkpoint metadata \"classes\")");
    const auto files = list_images(dir / folder, true);
    if (files.empty())
      throw InputError("image folder '" + dir.string() + "': class folder '" + folder +
                       "' has no .jpg/.jpeg/.png files");
    for (const auto& f : files) entries.push_back({f, static_cast<int64_t>(it - names.begin())});
  }
  return std::make_unique<ImageListSource>("imagefolder:" + dir.string(), std::move(entries),
                                           static_cast<int64_t>(names.size()), names, options);
}

std::unique_ptr<ImageListSource> open_imagenet_val(const std::string& folder,
                                                   const std::string& ground_truth,
                                                   const ImageFolderOptions& options) {
  if (!is_dir(folder)) throw InputError("ImageNet val folder '" + folder + "' does not exist");
  if (!file_exists(ground_truth))
    throw InputError("ground-truth file '" + ground_truth + "' does not exist (ImageNet val '" + folder + "')");
  const auto files = list_images(folder, false);
  if (files.empty()) throw InputError("ImageNet val folder '" + folder + "' has no .jpg/.jpeg/.png files");
  std::vector<std::vector<std::string>> lines;
  std::istringstream text(read_file(ground_truth));
  for (std::string line; std::getline(text, line);) {
    auto tokens = split_whitespace(line);
    if (!tokens.empty()) lines.push_back(std::move(tokens));
  }
  if (lines.empty()) throw InputError("ground-truth file '" + ground_truth + "' is empty");
  GroundTruthFormat format = options.ground_truth_format;
  if (format == GroundTruthFormat::kAuto)
    format = lines[0].size() == 1 ? GroundTruthFormat::kDevkit : GroundTruthFormat::kFileLabel;
  if (lines.size() != files.size())
    throw InputError("ground-truth file '" + ground_truth + "' has " + std::to_string(lines.size()) +
                     " labels but '" + folder + "' has " + std::to_string(files.size()) + " images");
  std::vector<ImageListSource::Entry> entries;
  auto check_range = [&](int64_t label, int64_t line) {
    if (label < 0 || label >= options.num_classes)
      throw InputError("ground-truth file '" + ground_truth + "' line " + std::to_string(line) +
                       ": label out of range for " + std::to_string(options.num_classes) + " classes" +
                       (format == GroundTruthFormat::kDevkit ? " (devkit labels are 1-based)" : ""));
  };
  if (format == GroundTruthFormat::kDevkit) {
    for (size_t i = 0; i < files.size(); ++i) {
      if (lines[i].size() != 1)
        throw InputError("ground-truth file '" + ground_truth + "' line " + std::to_string(i + 1) +
                         ": expected one 1-based label (devkit format)");
      const int64_t label = parse_label(lines[i][0], ground_truth, i + 1) - 1;
      check_range(label, i + 1);
      entries.push_back({files[i], label});
    }
  } else {
    std::map<std::string, int64_t> by_name;
    for (size_t i = 0; i < lines.size(); ++i) {
      if (lines[i].size() != 2)
        throw InputError("ground-truth file '" + ground_truth + "' line " + std::to_string(i + 1) +
                         ": expected 'file_name label'");
      const int64_t label = parse_label(lines[i][1], ground_truth, i + 1);
      check_range(label, i + 1);
      by_name[fs::path(lines[i][0]).filename().string()] = label;
    }
    for (const auto& f : files) {
      const auto it = by_name.find(fs::path(f).filename().string());
      if (it == by_name.end())
        throw InputError("ground-truth file '" + ground_truth + "' has no label for '" + f + "'");
      entries.push_back({f, it->second});
    }
  }
  return std::make_unique<ImageListSource>("imagenet-val:" + folder, std::move(entries),
                                           options.num_classes, std::vector<std::string>{}, options);
}

bool looks_like_image_folder(const std::string& path) {
  std::error_code ec;
  if (!is_dir(path)) return false;
  if (is_dir(fs::path(path) / "train") && is_dir(fs::path(path) / "val"))
    return looks_like_image_folder(path + "/val");
  // Enough to find one class folder with one image file directly inside it.
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    if (!is_dir(it->path())) continue;
    std::error_code inner;
    for (fs::directory_iterator f(it->path(), inner), fend; !inner && f != fend; f.increment(inner))
      if (is_image_file(f->path())) return true;
  }
  return false;
}

std::unique_ptr<ImageListSource> open_imagenet_val_spec(const std::string& argument, Split split,
                                                        const ImageFolderOptions& options) {
  const std::string spec = "imagenet-val:" + argument;
  if (split != Split::kTest)
    throw InputError("'" + spec + "': the ImageNet validation set has only a test split");
  const size_t colon = argument.find(':');
  const std::string folder = argument.substr(0, colon);
  if (colon != std::string::npos) return open_imagenet_val(folder, argument.substr(colon + 1), options);
  for (const std::string& candidate :
       {folder + "/val.txt", folder + "/../val.txt", folder + "/ILSVRC2012_validation_ground_truth.txt",
        folder + "/../ILSVRC2012_validation_ground_truth.txt"})
    if (file_exists(candidate)) return open_imagenet_val(folder, candidate, options);
  throw InputError("'" + spec + "': no ground-truth file given and none found beside '" + folder +
                   "' (use imagenet-val:FOLDER:GROUND_TRUTH)");
}

void register_image_folder_datasets(DatasetRegistry& registry) {
  registry.add({"imagefolder:PATH",
                "an ImageFolder root (one subfolder per class; train/ and val/ picked by split), "
                "JPEG/PNG, torchvision's eval transform (resize 256, crop 224)",
                [](const std::string& path, Split split, const std::vector<std::string>& classes) {
                  return open_image_folder(path, split, options_for(classes));
                }});
  registry.add({"imagenet-val:DIR[:GT]", "ILSVRC2012 validation images in one folder plus a ground-truth file",
                [](const std::string& argument, Split split, const std::vector<std::string>& classes) {
                  return open_imagenet_val_spec(argument, split, options_for(classes));
                }});
}

PathFallback image_folder_path_fallback() {
  return {"ImageFolder", "class sub-folders of JPEG/PNG files, or train/ and val/ holding them",
          looks_like_image_folder,
          [](const std::string& path, Split split, const std::vector<std::string>& classes) {
            return open_image_folder(path, split, options_for(classes));
          }};
}

}  // namespace bnrecal
