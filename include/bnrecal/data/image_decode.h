// Decoding JPEG and PNG files into 8-bit RGB pixels, the way PIL's `Image.open(f).convert("RGB")`
// does for torchvision's ImageFolder (same libjpeg-turbo defaults: islow DCT, fancy upsampling).
//
//   bnrecal::Image image = bnrecal::decode_image_file("val/n01440764/x.JPEG");
//   // image.height, image.width, image.pixels (RGB, row-major HWC, uint8)
//
// Corrupt, truncated or unreadable files throw bnrecal::InputError naming the file; libjpeg and
// libpng errors are caught with setjmp/longjmp so they never abort the process.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bnrecal {

// An 8-bit RGB image, row-major, channels interleaved (HWC).
struct Image {
  int64_t height = 0;
  int64_t width = 0;
  std::vector<uint8_t> pixels;  // height * width * 3

  uint8_t* row(int64_t y) { return pixels.data() + y * width * 3; }
  const uint8_t* row(int64_t y) const { return pixels.data() + y * width * 3; }
};

// Picks the codec from the file's magic bytes (not its extension). `name` is used in errors.
Image decode_image(const std::string& bytes, const std::string& name);
Image decode_image_file(const std::string& path);

// Gray, CMYK (Adobe-inverted as PIL reads it) and RGB JPEGs -> RGB. Truncated data is an error
// (as PIL's "image file is truncated"); recoverable warnings such as extraneous bytes are not.
Image decode_jpeg(const std::string& bytes, const std::string& name);
// Gray, gray+alpha, RGB, RGBA, palette, 1/2/4/16-bit PNGs -> 8-bit RGB. Alpha and tRNS are
// dropped (as PIL's convert("RGB")); 16-bit samples keep their high byte (PIL does this for RGB;
// for 16-bit gray PIL clips instead, which no real dataset relies on).
Image decode_png(const std::string& bytes, const std::string& name);

// Encoders for test fixtures and benchmarks. Throw InputError when the file cannot be written.
void write_png_file(const std::string& path, const Image& image);
// progressive: libjpeg's standard progression script (several scans) instead of one baseline scan.
void write_jpeg_file(const std::string& path, const Image& image, int quality = 90, bool progressive = false);

}  // namespace bnrecal
