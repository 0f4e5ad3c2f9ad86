// Segmentation masks stored as palette PNGs, the way PASCAL VOC ships them
// (SegmentationClass/*.png): each pixel's palette index is its class (0 background, 1..20 the
// objects, 255 boundary / ignore) and the palette only colours them for viewing. So the indices
// are read as they are, never through the palette (decode_png in image_decode.h would turn them
// into colours, which is right for photos and wrong here).
//
//   bnrecal::IndexedImage mask = bnrecal::read_palette_png("SegmentationClass/2007_000032.png");
//   // mask.height, mask.width, mask.indices (row-major, one class index per pixel)
//   bnrecal::write_palette_png("out.png", mask);   // with the VOC colours, viewable as VOC's masks
//
// Reading accepts 8-bit palette and 8-bit gray PNGs (a mask saved as gray holds the same indices).
// Anything else (RGB, alpha, 1/2/4/16-bit), corrupt or unreadable data throws bnrecal::InputError
// naming the file: an RGB rendering of a mask would need its colours mapped back, which we refuse
// to guess.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace bnrecal {

struct IndexedImage {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> indices;  // height * width, row-major
};

// `name` is used in errors.
IndexedImage decode_palette_png(const std::string& bytes, const std::string& name);
IndexedImage read_palette_png(const std::string& path);

// Writes an 8-bit palette PNG with the 256 VOC colours. Throws std::invalid_argument when indices
// does not hold height * width values, InputError when the file cannot be written.
void write_palette_png(const std::string& path, const IndexedImage& image);

// The VOC colour map's RGB for an index: the index's bits dealt out in turn to R, G and B, from
// each channel's most significant bit down (bit 0 -> R bit 7, bit 1 -> G bit 7, bit 2 -> B bit 7,
// bit 3 -> R bit 6, ...), so that neighbouring classes get distinct colours. 1 = (128, 0, 0),
// 2 = (0, 128, 0), 255 = (224, 224, 192).
std::array<uint8_t, 3> voc_color(uint8_t index);

}  // namespace bnrecal
