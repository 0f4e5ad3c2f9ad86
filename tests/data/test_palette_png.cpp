// Segmentation masks as palette PNGs: indices (255 included) survive a write and a read, the VOC
// colour map's known entries, 8-bit gray masks are read as indices too, and PNGs holding colours
// or wide samples are refused with the file's name and what was found.
#include <gtest/gtest.h>
#include <png.h>

#include <cstring>

#include "bnrecal/core/files.h"
#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/palette_png.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {

// A gray PNG through libpng's simplified API: 8-bit from bytes, 16-bit from linear samples.
void write_gray_png(const std::string& path, int width, int height, const void* samples, bool sixteen_bit) {
  png_image desc;
  std::memset(&desc, 0, sizeof desc);
  desc.version = PNG_IMAGE_VERSION;
  desc.width = static_cast<png_uint_32>(width);
  desc.height = static_cast<png_uint_32>(height);
  desc.format = sixteen_bit ? PNG_FORMAT_LINEAR_Y : PNG_FORMAT_GRAY;
  ASSERT_TRUE(png_image_write_to_file(&desc, path.c_str(), 0, samples, 0, nullptr)) << desc.message;
}

}  // namespace

TEST(PalettePng, IndicesIncludingTheIgnoreLabelSurviveWriteAndRead) {
  IndexedImage mask;
  mask.height = 3;
  mask.width = 4;
  mask.indices = {0, 1, 2, 255, 20, 20, 255, 0, 7, 0, 15, 1};  // not symmetric: catches transposes
  const std::string path = temp_dir() + "/mask.png";
  write_palette_png(path, mask);
  const IndexedImage back = read_palette_png(path);
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(back.width, 4);
  EXPECT_EQ(back.indices, mask.indices);
  // The file is a real palette PNG: a colour decoder sees the VOC colours.
  const Image colours = decode_image_file(path);
  EXPECT_EQ(colours.row(0)[3], 128);  // index 1 = (128, 0, 0)
  EXPECT_EQ(colours.row(0)[9], 224);  // index 255 = (224, 224, 192)
  EXPECT_EQ(colours.row(0)[11], 192);
  IndexedImage wrong_size = mask;
  wrong_size.indices.pop_back();
  EXPECT_THROW(write_palette_png(path, wrong_size), std::invalid_argument);
}

TEST(PalettePng, VocColourMapEntries) {
  using Rgb = std::array<uint8_t, 3>;
  EXPECT_EQ(voc_color(0), (Rgb{0, 0, 0}));
  EXPECT_EQ(voc_color(1), (Rgb{128, 0, 0}));
  EXPECT_EQ(voc_color(2), (Rgb{0, 128, 0}));
  EXPECT_EQ(voc_color(3), (Rgb{128, 128, 0}));
  EXPECT_EQ(voc_color(4), (Rgb{0, 0, 128}));
  EXPECT_EQ(voc_color(8), (Rgb{64, 0, 0}));     // bit 3 -> R bit 6
  EXPECT_EQ(voc_color(15), (Rgb{192, 128, 128}));  // person
  EXPECT_EQ(voc_color(255), (Rgb{224, 224, 192}));
}

TEST(PalettePng, EightBitGrayIsReadAsIndices) {
  const std::string path = temp_dir() + "/gray.png";
  const uint8_t samples[] = {0, 5, 255, 21, 3, 9};
  write_gray_png(path, 3, 2, samples, false);
  const IndexedImage mask = read_palette_png(path);
  EXPECT_EQ(mask.height, 2);
  EXPECT_EQ(mask.width, 3);
  EXPECT_EQ(mask.indices, std::vector<uint8_t>(samples, samples + 6));
}

TEST(PalettePng, ColourAndWideSamplesAreRefusedNamingTheFile) {
  const std::string dir = temp_dir();
  Image rgb;
  rgb.height = rgb.width = 2;
  rgb.pixels.assign(12, 128);
  write_png_file(dir + "/photo.png", rgb);
  std::string message = input_error_message([&] { read_palette_png(dir + "/photo.png"); });
  EXPECT_NE(message.find(dir + "/photo.png"), std::string::npos) << message;
  EXPECT_NE(message.find("8-bit RGB"), std::string::npos) << message;

  const uint16_t wide[] = {0, 1000, 65535, 7};
  write_gray_png(dir + "/wide.png", 2, 2, wide, true);
  message = input_error_message([&] { read_palette_png(dir + "/wide.png"); });
  EXPECT_NE(message.find("16-bit gray"), std::string::npos) << message;

  write_file_atomic(dir + "/text.png", "not a PNG");
  message = input_error_message([&] { read_palette_png(dir + "/text.png"); });
  EXPECT_NE(message.find("text.png"), std::string::npos) << message;
}
