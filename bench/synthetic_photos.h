// Synthetic photo-like JPEGs for the image benchmarks: generated once per machine into a temp
// folder and reused by later runs, so no dataset is needed to measure the image pipeline.
//
//   auto files = bnrecal::bench::synthetic_jpeg_files(tmp / "photos", 32);       // flat folder
//   auto root = bnrecal::bench::synthetic_jpeg_image_folder(tmp / "folder", 4, 16);  // ImageFolder
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "bnrecal/core/files.h"
#include "bnrecal/data/image_decode.h"

namespace bnrecal::bench {

// A 500x375 RGB image (ImageNet's most common size): smooth content plus mild noise, so the JPEGs
// have realistic sizes (~60 KB at quality 90) and decode at realistic speed.
inline Image synthetic_photo(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 8);
  Image image;
  image.height = 375;
  image.width = 500;
  image.pixels.resize(image.height * image.width * 3);
  for (int64_t y = 0; y < image.height; ++y)
    for (int64_t x = 0; x < image.width; ++x)
      for (int c = 0; c < 3; ++c) {
        const double v = 128 + 90 * std::sin(0.02 * x * (c + 1) + 0.03 * y + seed) + noise(rng);
        image.row(y)[x * 3 + c] = static_cast<uint8_t>(std::clamp(v, 0.0, 255.0));
      }
  return image;
}

// dir/img<i>.jpg for i in [0, count), photo seeds first_seed + i, quality 90. Files already there
// are kept (each is renamed into place only once complete, so an interrupted run leaves none
// half-written). Returns the paths in index order.
inline std::vector<std::string> synthetic_jpeg_files(const std::filesystem::path& dir, int count,
                                                     uint64_t first_seed = 0) {
  std::filesystem::create_directories(dir);
  std::vector<std::string> paths;
  for (int i = 0; i < count; ++i) {
    const std::string path = (dir / ("img" + std::to_string(i) + ".jpg")).string();
    if (!file_exists(path)) {
      const std::string partial = path + ".partial";
      write_jpeg_file(partial, synthetic_photo(first_seed + i), 90);
      std::filesystem::rename(partial, path);
    }
    paths.push_back(path);
  }
  return paths;
}

// An ImageFolder tree root/class<k>/img<i>.jpg with `classes` x `per_class` distinct photos.
// Returns root.
inline std::string synthetic_jpeg_image_folder(const std::filesystem::path& root, int classes,
                                               int per_class) {
  for (int k = 0; k < classes; ++k)
    synthetic_jpeg_files(root / ("class" + std::to_string(k)), per_class,
                         static_cast<uint64_t>(k) * per_class);
  return root.string();
}

}  // namespace bnrecal::bench
