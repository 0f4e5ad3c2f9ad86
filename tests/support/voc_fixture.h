// A tiny PASCAL VOC segmentation folder for the tests of the VOC source and of segmentation
// evaluation.
#pragma once
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/palette_png.h"
#include "test_support.h"

namespace bnrecal::testing {

// One val image per entry of `sizes` ({height, width}); image k is bright (200) with mask class
// k + 1 in its left half, black with mask 255 (ignored) in its right half.
inline std::string make_voc_fixture(const std::vector<std::pair<int64_t, int64_t>>& sizes) {
  const std::string root = temp_dir() + "/voc";
  for (const char* d : {"/JPEGImages", "/SegmentationClass", "/ImageSets/Segmentation"})
    std::filesystem::create_directories(root + d);
  std::ofstream val(root + "/ImageSets/Segmentation/val.txt");
  for (size_t k = 0; k < sizes.size(); ++k) {
    const auto [h, w] = sizes[k];
    const std::string id = "img" + std::to_string(k);
    val << id << "\n";
    Image image{h, w, std::vector<uint8_t>(static_cast<size_t>(h * w * 3), 0)};
    IndexedImage mask{h, w, std::vector<uint8_t>(static_cast<size_t>(h * w), 255)};
    for (int64_t y = 0; y < h; ++y) {
      for (int64_t x = 0; x < w / 2; ++x) {
        mask.indices[static_cast<size_t>(y * w + x)] = static_cast<uint8_t>(k + 1);
        for (int c = 0; c < 3; ++c) image.pixels[static_cast<size_t>((y * w + x) * 3 + c)] = 200;
      }
    }
    write_png_file(root + "/JPEGImages/" + id + ".jpg", image);  // decoded by content, not extension
    write_palette_png(root + "/SegmentationClass/" + id + ".png", mask);
  }
  return root;
}

}  // namespace bnrecal::testing
