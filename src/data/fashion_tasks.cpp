#include "bnrecal/data/fashion_tasks.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/idx.h"
#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/palette_png.h"

namespace bnrecal {

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;  // keys in the order written: task.json reads top-down

constexpr int kItemSide = 28;
constexpr int kClasses = 10;
constexpr int kVersion = 1;  // bump when the same options would give different files

// One split of Fashion-MNIST: items of kItemSide^2 bytes and their labels 0..9.
struct Items {
  std::vector<uint8_t> pixels;
  std::vector<uint8_t> labels;
  int64_t count = 0;
  const uint8_t* item(int64_t i) const { return pixels.data() + i * kItemSide * kItemSide; }
};

std::string find_idx_file(const std::string& folder, const std::string& stem) {
  for (const std::string& candidate : {folder + "/" + stem + ".gz", folder + "/" + stem})
    if (file_exists(candidate)) return candidate;
  throw InputError("Fashion-MNIST file '" + folder + "/" + stem + "[.gz]' does not exist");
}

Items load_items(const std::string& folder, const std::string& prefix) {
  const std::string images_path = find_idx_file(folder, prefix + "-images-idx3-ubyte");
  const std::string labels_path = find_idx_file(folder, prefix + "-labels-idx1-ubyte");
  IdxArray images = read_idx(images_path), labels = read_idx(labels_path);
  require(images.dims.size() == 3 && images.dims[0] > 0 && images.dims[1] == kItemSide &&
              images.dims[2] == kItemSide,
          "'" + images_path + "' does not hold 28x28 images");
  require(labels.dims.size() == 1 && labels.dims[0] == images.dims[0],
          "'" + labels_path + "' does not hold one label per image of '" + images_path + "'");
  for (uint8_t label : labels.data)
    require(label < kClasses, "'" + labels_path + "' holds label " + std::to_string(label) + ", not 0..9");
  return {std::move(images.data), std::move(labels.data), images.dims[0]};
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// std::mt19937_64's output is fixed by the standard, but std::uniform_int_distribution's mapping to a
// range is implementation-defined (libstdc++ and libc++ differ), so ranges are mapped here: unbiased,
// by rejecting the top 2^64 mod n raw values.
class Random {
 public:
  // Each image has its own stream, so an image does not depend on how many images come before it.
  Random(uint64_t seed, uint64_t task, uint64_t split, uint64_t image)
      : engine_(splitmix64(splitmix64(splitmix64(splitmix64(seed) ^ task) ^ split) ^ image)) {}
  uint64_t below(uint64_t n) {
    const uint64_t excess = (UINT64_MAX % n + 1) % n;
    for (;;) {
      const uint64_t x = engine_();
      if (x <= UINT64_MAX - excess) return x % n;
    }
  }
  int between(int lo, int hi) { return lo + static_cast<int>(below(static_cast<uint64_t>(hi - lo) + 1)); }

 private:
  std::mt19937_64 engine_;
};

// The gray canvas and, per pixel, the item on top (-1: none). The canvas shows the top item's value.
struct Canvas {
  int side;
  std::vector<uint8_t> value;
  std::vector<int> owner;
  explicit Canvas(int s) : side(s), value(size_t(s) * s, 0), owner(size_t(s) * s, -1) {}

  // Faint item pixels (< low) cover nothing: painting them over an earlier item would cut a dark
  // outline into it, which no photo of overlapping objects shows.
  void paint(const uint8_t* item, int item_side, int x0, int y0, int id, int low) {
    for (int y = 0; y < item_side; ++y)
      for (int x = 0; x < item_side; ++x) {
        const uint8_t v = item[y * item_side + x];
        const size_t at = size_t(y0 + y) * side + (x0 + x);
        if (v >= low) {
          value[at] = v;
          owner[at] = id;
        } else if (owner[at] < 0) {
          value[at] = std::max(value[at], v);
        }
      }
  }

  Image rgb() const {
    Image image;
    image.height = image.width = side;
    image.pixels.resize(value.size() * 3);
    for (size_t i = 0; i < value.size(); ++i) std::fill_n(&image.pixels[i * 3], 3, value[i]);
    return image;
  }
};

// Bilinear resampling of a square item to side m, pixel centres aligned (as PIL's and OpenCV's
// resize without antialiasing), in 1/256-pixel fixed point so every machine gets the same bytes.
std::vector<uint8_t> resize_item(const uint8_t* src, int m) {
  constexpr int n = kItemSide;
  std::vector<int> at(m), frac(m);
  for (int i = 0; i < m; ++i) {
    const int pos = std::clamp((2 * i + 1) * n * 256 / (2 * m) - 128, 0, (n - 1) * 256);
    at[i] = pos >> 8;
    frac[i] = pos & 255;
  }
  std::vector<uint8_t> out(size_t(m) * m);
  for (int y = 0; y < m; ++y) {
    const uint8_t* r0 = src + at[y] * n;
    const uint8_t* r1 = src + std::min(at[y] + 1, n - 1) * n;
    const int fy = frac[y];
    for (int x = 0; x < m; ++x) {
      const int x0 = at[x], x1 = std::min(at[x] + 1, n - 1), fx = frac[x];
      const int top = r0[x0] * (256 - fx) + r0[x1] * fx, bottom = r1[x0] * (256 - fx) + r1[x1] * fx;
      out[size_t(y) * m + x] = static_cast<uint8_t>((top * (256 - fy) + bottom * fy + 32768) >> 16);
    }
  }
  return out;
}

// The task is built in "<out>.tmp-<pid>" and renamed to out by commit(); otherwise it is removed.
class Staging {
 public:
  Staging(std::string out, const char* generator) : out_(std::move(out)) {
    while (out_.size() > 1 && out_.back() == '/') out_.pop_back();
    require(!out_.empty(), std::string(generator) + ": the output folder is empty");
    std::error_code ec;
    if (fs::exists(out_, ec)) {
      require(fs::is_directory(out_, ec), "output '" + out_ + "' exists and is not a folder");
      require(fs::is_empty(out_, ec),
              "output folder '" + out_ + "' exists and is not empty: remove it or choose another");
    }
    path_ = out_ + ".tmp-" + std::to_string(::getpid());
    fs::remove_all(path_, ec);
    fs::create_directories(path_, ec);
    require(!ec, "cannot create '" + path_ + "': " + ec.message());
  }
  ~Staging() {
    std::error_code ec;
    if (!committed_) fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string dir(const std::string& relative) const {
    const std::string full = path_ + "/" + relative;
    std::error_code ec;
    fs::create_directories(full, ec);
    require(!ec, "cannot create '" + full + "': " + ec.message());
    return full;
  }
  // rename() replaces an empty folder and fails on a non-empty one, so a folder filled meanwhile is kept.
  void commit() {
    std::error_code ec;
    fs::rename(path_, out_, ec);
    require(!ec, "cannot rename '" + path_ + "' to '" + out_ + "': " + ec.message());
    committed_ = true;
  }

 private:
  std::string out_, path_;
  bool committed_ = false;
};

std::string image_id(const char* split, int64_t number) {
  char text[64];
  std::snprintf(text, sizeof text, "fm_%s_%06lld", split, static_cast<long long>(number));
  return text;
}

void check_common(const char* generator, int64_t train, int64_t val, int min_items, int max_items, int low,
                  int high, int quality) {
  const std::string g = std::string(generator) + ": ";
  require(train >= 0 && val >= 0, g + "image counts must be >= 0");
  require(min_items >= 1 && max_items >= min_items, g + "item counts must be 1 <= min_items <= max_items");
  require(low >= 0 && high >= std::max(low, 1) && high <= 255,
          g + "thresholds must be 0 <= low_threshold <= high_threshold, 1 <= high_threshold <= 255");
  require(quality >= 1 && quality <= 100, g + "jpeg_quality must be in 1..100");
}

Json class_names_json() {
  Json names = Json::array({"background"});
  for (const std::string& name : fashion_mnist_class_names()) names.push_back(name);
  return names;
}

void write_json(const std::string& path, const Json& value) { write_file_atomic(path, value.dump(1) + "\n"); }

struct SplitSpec {
  const char* name;    // train, val
  const char* prefix;  // Fashion-MNIST file prefix
  int64_t images;
};

}  // namespace

const std::vector<std::string>& fashion_mnist_class_names() {
  static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                 "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

void make_fashion_mosaic(const std::string& out, const FashionMosaicOptions& o,
                         const TaskProgress& progress) {
  check_common("fashion-mosaic", o.train_images, o.val_images, o.min_items, o.max_items, o.low_threshold,
               o.high_threshold, o.jpeg_quality);
  require(o.canvas >= kItemSide && o.canvas <= 4096, "fashion-mosaic: canvas must be in 28..4096");
  Staging staging(out, "fashion-mosaic");
  const std::string images_dir = staging.dir("JPEGImages"), masks_dir = staging.dir("SegmentationClass");
  const std::string lists_dir = staging.dir("ImageSets/Segmentation");
  const int64_t total = o.train_images + o.val_images;
  int64_t done = 0;
  Json splits = Json::object();
  const SplitSpec specs[] = {{"train", "train", o.train_images}, {"val", "t10k", o.val_images}};
  for (const SplitSpec& split : specs) {
    const Items items = split.images ? load_items(o.fashion_mnist_dir, split.prefix) : Items{};
    std::vector<int64_t> pixels(kClasses + 1, 0);
    int64_t ignored = 0, placed = 0;
    std::string list;
    for (int64_t n = 1; n <= split.images; ++n) {
      Random random(o.seed, /*task=*/1, split.name[0] == 'v', static_cast<uint64_t>(n));
      Canvas canvas(o.canvas);
      std::vector<int> labels;
      const int count = random.between(o.min_items, o.max_items);
      for (int k = 0; k < count; ++k) {
        const int64_t index = static_cast<int64_t>(random.below(static_cast<uint64_t>(items.count)));
        const int x = random.between(0, o.canvas - kItemSide), y = random.between(0, o.canvas - kItemSide);
        canvas.paint(items.item(index), kItemSide, x, y, k, o.low_threshold);
        labels.push_back(items.labels[index]);
      }
      placed += count;
      IndexedImage mask;
      mask.height = mask.width = o.canvas;
      mask.indices.resize(canvas.value.size());
      for (size_t i = 0; i < canvas.value.size(); ++i) {
        const int owner = canvas.owner[i];
        // owner >= 0 implies value >= low (see paint), so background is exactly value < low.
        const uint8_t m = owner < 0 ? 0 : canvas.value[i] >= o.high_threshold ? labels[owner] + 1 : 255;
        mask.indices[i] = m;
        if (m == 255) ++ignored;
        else ++pixels[m];
      }
      const std::string id = image_id(split.name, n);
      write_jpeg_file(images_dir + "/" + id + ".jpg", canvas.rgb(), o.jpeg_quality);
      write_palette_png(masks_dir + "/" + id + ".png", mask);
      list += id + "\n";
      if (progress) progress(++done, total);
    }
    write_file_atomic(lists_dir + "/" + split.name + ".txt", list);
    splits[split.name] = {{"images", split.images}, {"items", placed}, {"pixels_per_class", pixels},
                          {"ignored_pixels", ignored}};
  }
  write_json(staging.path() + "/task.json",
             {{"generator", "fashion-mosaic"},
              {"version", kVersion},
              {"task", "semantic segmentation, PASCAL VOC 2012 layout"},
              {"source", "Fashion-MNIST (train split -> train, test split -> val)"},
              {"options",
               {{"seed", o.seed}, {"train_images", o.train_images}, {"val_images", o.val_images},
                {"canvas", o.canvas}, {"min_items", o.min_items}, {"max_items", o.max_items},
                {"low_threshold", o.low_threshold}, {"high_threshold", o.high_threshold},
                {"jpeg_quality", o.jpeg_quality}}},
              {"ignore_index", 255},
              {"class_names", class_names_json()},
              {"splits", splits}});
  staging.commit();
}

void make_fashion_scatter(const std::string& out, const FashionScatterOptions& o,
                          const TaskProgress& progress) {
  check_common("fashion-scatter", o.train_images, o.val_images, o.min_items, o.max_items, o.low_threshold,
               o.high_threshold, o.jpeg_quality);
  require(o.min_scale > 0 && o.max_scale >= o.min_scale && o.max_scale <= 100,
          "fashion-scatter: scales must satisfy 0 < min_scale <= max_scale <= 100");
  const int min_side = std::max(1, static_cast<int>(std::lround(kItemSide * o.min_scale)));
  const int max_side = static_cast<int>(std::lround(kItemSide * o.max_scale));
  require(o.canvas >= max_side && o.canvas <= 4096,
          "fashion-scatter: canvas must be in " + std::to_string(max_side) + "..4096 (the largest item)");
  require(o.max_iou >= 0 && o.max_iou <= 1, "fashion-scatter: max_iou must be in [0, 1]");
  require(o.placement_attempts >= 1, "fashion-scatter: placement_attempts must be >= 1");
  Staging staging(out, "fashion-scatter");
  const std::string annotations_dir = staging.dir("annotations");
  Json categories = Json::array();
  for (int c = 0; c < kClasses; ++c)
    categories.push_back(
        {{"id", c + 1}, {"name", fashion_mnist_class_names()[c]}, {"supercategory", "fashion"}});
  const int64_t total = o.train_images + o.val_images;
  int64_t done = 0;
  Json splits = Json::object();
  const SplitSpec specs[] = {{"train", "train", o.train_images}, {"val", "t10k", o.val_images}};
  for (const SplitSpec& split : specs) {
    const Items items = split.images ? load_items(o.fashion_mnist_dir, split.prefix) : Items{};
    const std::string images_dir = staging.dir(std::string("images/") + split.name);
    std::vector<int64_t> instances(kClasses, 0), areas(kClasses, 0);
    int64_t empty_slots = 0;
    Json images = Json::array(), annotations = Json::array();
    for (int64_t n = 1; n <= split.images; ++n) {
      Random random(o.seed, /*task=*/2, split.name[0] == 'v', static_cast<uint64_t>(n));
      Canvas canvas(o.canvas);
      struct Placed {
        int x, y, w, h;
      };
      std::vector<Placed> boxes;
      const int count = random.between(o.min_items, o.max_items);
      for (int k = 0; k < count; ++k) {
        bool placed = false;
        for (int attempt = 0; attempt < o.placement_attempts && !placed; ++attempt) {
          const int64_t index = static_cast<int64_t>(random.below(static_cast<uint64_t>(items.count)));
          const int side = random.between(min_side, max_side);
          const int x = random.between(0, o.canvas - side), y = random.between(0, o.canvas - side);
          const std::vector<uint8_t> item = resize_item(items.item(index), side);
          int x0 = side, y0 = side, x1 = -1, y1 = -1;
          int64_t area = 0;
          for (int r = 0; r < side; ++r)
            for (int c = 0; c < side; ++c)
              if (item[size_t(r) * side + c] >= o.high_threshold) {
                x0 = std::min(x0, c), x1 = std::max(x1, c), y0 = std::min(y0, r), y1 = std::max(y1, r);
                ++area;
              }
          if (area == 0) continue;
          const Placed box{x + x0, y + y0, x1 - x0 + 1, y1 - y0 + 1};
          bool overlaps = false;
          for (const Placed& b : boxes) {
            const int64_t iw = std::max(0, std::min(b.x + b.w, box.x + box.w) - std::max(b.x, box.x));
            const int64_t ih = std::max(0, std::min(b.y + b.h, box.y + box.h) - std::max(b.y, box.y));
            const int64_t inter = iw * ih, uni = int64_t(b.w) * b.h + int64_t(box.w) * box.h - inter;
            overlaps = overlaps || static_cast<double>(inter) > o.max_iou * static_cast<double>(uni);
          }
          if (overlaps) continue;
          canvas.paint(item.data(), side, x, y, k, o.low_threshold);
          boxes.push_back(box);
          const int label = items.labels[index];
          ++instances[label];
          areas[label] += area;
          annotations.push_back({{"id", static_cast<int64_t>(annotations.size()) + 1}, {"image_id", n},
                                 {"category_id", label + 1}, {"bbox", {box.x, box.y, box.w, box.h}},
                                 {"area", area}, {"iscrowd", 0}});
          placed = true;
        }
        if (!placed) ++empty_slots;
      }
      const std::string file_name = image_id(split.name, n) + ".jpg";
      write_jpeg_file(images_dir + "/" + file_name, canvas.rgb(), o.jpeg_quality);
      images.push_back({{"id", n}, {"file_name", file_name}, {"height", o.canvas}, {"width", o.canvas}});
      if (progress) progress(++done, total);
    }
    write_json(annotations_dir + "/instances_" + split.name + ".json",
               {{"info", {{"description", "fashion-scatter " + std::string(split.name) + " (Fashion-MNIST)"},
                          {"version", std::to_string(kVersion)}}},
                {"images", images},
                {"annotations", annotations},
                {"categories", categories}});
    splits[split.name] = {{"images", split.images}, {"instances", static_cast<int64_t>(annotations.size())},
                          {"instances_per_class", instances}, {"area_per_class", areas},
                          {"empty_slots", empty_slots}};
  }
  write_json(staging.path() + "/task.json",
             {{"generator", "fashion-scatter"},
              {"version", kVersion},
              {"task", "object detection, COCO instances layout"},
              {"source", "Fashion-MNIST (train split -> train, test split -> val)"},
              {"options",
               {{"seed", o.seed}, {"train_images", o.train_images}, {"val_images", o.val_images},
                {"canvas", o.canvas}, {"min_items", o.min_items}, {"max_items", o.max_items},
                {"min_scale", o.min_scale}, {"max_scale", o.max_scale}, {"max_iou", o.max_iou},
                {"placement_attempts", o.placement_attempts}, {"low_threshold", o.low_threshold},
                {"high_threshold", o.high_threshold}, {"jpeg_quality", o.jpeg_quality}}},
              {"class_names", class_names_json()},
              {"splits", splits}});
  staging.commit();
}

}  // namespace bnrecal
