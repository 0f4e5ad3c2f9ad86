#include "bnrecal/data/palette_png.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include <png.h>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/input_limits.h"
#include "png_memory_reader.h"

namespace bnrecal {
namespace {

using detail::PngMemoryReader;

std::string format_name(int color_type, int bit_depth) {
  const char* kind = color_type == PNG_COLOR_TYPE_PALETTE ? "palette"
                     : color_type == PNG_COLOR_TYPE_GRAY  ? "gray"
                     : color_type == PNG_COLOR_TYPE_RGB   ? "RGB"
                     : color_type == PNG_COLOR_TYPE_RGBA  ? "RGBA"
                                                          : "gray+alpha";
  return std::to_string(bit_depth) + "-bit " + kind;
}

// Returns an empty string on success, the error text otherwise.
std::string decode_into(const std::string& bytes, IndexedImage& out) {
  PngMemoryReader reader{&bytes, 0, {0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, detail::png_record_error,
                                           detail::png_ignore_warning);
  if (!png) return "out of memory";
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> rows;
  std::string error;  // before setjmp, like rows: a longjmp must not skip a destructor
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    return reader.message[0] ? reader.message : "cannot decode PNG";
  }
  png_set_read_fn(png, &reader, detail::png_read_from_memory);
  png_read_info(png, info);
  const int64_t width = png_get_image_width(png, info), height = png_get_image_height(png, info);
  try {
    check_input_limit("declared size " + std::to_string(width) + "x" + std::to_string(height), "pixel count",
                      width * height, "image_pixels");
  } catch (const InputError& e) {
    error = e.what();
  }
  if (!error.empty()) png_error(png, error.c_str());
  const int color_type = png_get_color_type(png, info), bit_depth = png_get_bit_depth(png, info);
  if ((color_type != PNG_COLOR_TYPE_PALETTE && color_type != PNG_COLOR_TYPE_GRAY) || bit_depth != 8) {
    error = format_name(color_type, bit_depth) + ", not an 8-bit palette or gray image of class indices";
    png_error(png, error.c_str());
  }
  png_set_interlace_handling(png);  // no transform is set: the rows come out as the stored indices
  png_read_update_info(png, info);
  out.height = height;
  out.width = width;
  out.indices.resize(static_cast<size_t>(height * width));
  rows.resize(static_cast<size_t>(height));
  for (int64_t y = 0; y < height; ++y) rows[y] = out.indices.data() + y * width;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return "";
}

}  // namespace

IndexedImage decode_palette_png(const std::string& bytes, const std::string& name) {
  IndexedImage image;
  const std::string error = decode_into(bytes, image);
  if (!error.empty()) throw InputError("cannot read mask PNG '" + name + "': " + error);
  return image;
}

IndexedImage read_palette_png(const std::string& path) { return decode_palette_png(read_file(path), path); }

std::array<uint8_t, 3> voc_color(uint8_t index) {
  std::array<uint8_t, 3> rgb{0, 0, 0};
  for (int bit = 7, c = index; c > 0; --bit, c >>= 3) {
    for (int channel = 0; channel < 3; ++channel) rgb[channel] |= ((c >> channel) & 1) << bit;
  }
  return rgb;
}

// libpng's simplified API writes an 8-bit palette PNG from the indices and a 256-entry colour map
// (fewer entries would make it pack the indices into fewer bits).
void write_palette_png(const std::string& path, const IndexedImage& image) {
  if (image.indices.size() != static_cast<size_t>(image.height * image.width)) {
    throw std::invalid_argument("palette PNG '" + path + "': " + std::to_string(image.indices.size()) +
                                " indices for " + std::to_string(image.height) + "x" +
                                std::to_string(image.width) + " pixels");
  }
  std::vector<uint8_t> colormap;
  for (int index = 0; index < 256; ++index) {
    const std::array<uint8_t, 3> rgb = voc_color(static_cast<uint8_t>(index));
    colormap.insert(colormap.end(), rgb.begin(), rgb.end());
  }
  png_image desc;
  std::memset(&desc, 0, sizeof desc);
  desc.version = PNG_IMAGE_VERSION;
  desc.width = static_cast<png_uint_32>(image.width);
  desc.height = static_cast<png_uint_32>(image.height);
  desc.format = PNG_FORMAT_RGB_COLORMAP;
  desc.colormap_entries = 256;
  if (!png_image_write_to_file(&desc, path.c_str(), 0, image.indices.data(), 0, colormap.data()))
    throw InputError("cannot write PNG '" + path + "': " + desc.message);
}

}  // namespace bnrecal
