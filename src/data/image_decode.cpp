#include "bnrecal/data/image_decode.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/input_limits.h"
#include "png_memory_reader.h"

namespace bnrecal {
namespace {

// ---- JPEG ------------------------------------------------------------------------------------
// libjpeg reports fatal errors through error_exit, which must not return: we longjmp back to the
// decode function. Only C structs live between setjmp and longjmp, so no destructor is skipped.
struct JpegErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool truncated;
};

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

// Warnings (level -1) are recoverable corruption. Premature end of data means the file is
// truncated: PIL refuses such files, so we do too (the rest would be filled with gray).
void jpeg_emit_message(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) err->truncated = true;
}

// The pixel-limit check's message, or "" within the limit. The decoders report errors as text, and
// the PNG one from a libpng callback, so the check's exception is turned into text here.
std::string pixel_limit_error(int64_t width, int64_t height) {
  try {
    check_input_limit("declared size " + std::to_string(width) + "x" + std::to_string(height), "pixel count",
                      width * height, "image_pixels");
    return "";
  } catch (const InputError& e) {
    return e.what();
  }
}

// A progressive JPEG may hold any number of scans, each a full pass over the image: a small file
// with thousands of them decodes for hours. Real encoders write about ten.
constexpr int kMaxJpegScans = 500;

void jpeg_limit_scans(j_common_ptr common) {
  auto* cinfo = reinterpret_cast<j_decompress_ptr>(common);
  if (cinfo->input_scan_number > kMaxJpegScans) {
    auto* err = reinterpret_cast<JpegErrorManager*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "more than %d progressive scans (a decompression bomb?)",
                  kMaxJpegScans);
    std::longjmp(err->jump, 1);
  }
}

uint8_t mul_div255(int a, int b) {
  const int t = a * b + 128;  // PIL's MULDIV255: exact rounding of a*b/255
  return static_cast<uint8_t>(((t >> 8) + t) >> 8);
}

// Returns an empty string on success, the error text otherwise.
std::string decode_jpeg_into(const std::string& bytes, Image& out) {
  jpeg_decompress_struct cinfo;
  JpegErrorManager err;
  std::memset(&err, 0, sizeof err);
  std::vector<uint8_t> cmyk_row;  // declared before setjmp so a longjmp never skips its destructor
  std::string limit_error;
  jpeg_progress_mgr progress{};
  progress.progress_monitor = jpeg_limit_scans;
  cinfo.err = jpeg_std_error(&err.base);
  err.base.error_exit = jpeg_error_exit;
  err.base.emit_message = jpeg_emit_message;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    return err.message;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  limit_error = pixel_limit_error(cinfo.image_width, cinfo.image_height);
  if (!limit_error.empty()) {
    jpeg_destroy_decompress(&cinfo);
    return limit_error;
  }
  cinfo.progress = &progress;
  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;  // libjpeg-turbo expands gray to RGB itself
  jpeg_start_decompress(&cinfo);
  out.height = cinfo.output_height;
  out.width = cinfo.output_width;
  out.pixels.resize(static_cast<size_t>(out.height * out.width * 3));
  if (cmyk) cmyk_row.resize(static_cast<size_t>(out.width * 4));
  while (cinfo.output_scanline < cinfo.output_height && !err.truncated) {
    JSAMPROW row = cmyk ? cmyk_row.data() : out.row(cinfo.output_scanline);
    const int64_t y = cinfo.output_scanline;
    if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) break;
    if (!cmyk) continue;
    // Adobe writes CMYK inverted; PIL reads it as "CMYK;I" and converts with
    // R = (255 - C) * (255 - K) / 255, which on the stored (inverted) values is c * k / 255.
    const bool inverted = cinfo.saw_Adobe_marker;
    uint8_t* dst = out.row(y);
    for (int64_t x = 0; x < out.width; ++x) {
      const uint8_t* p = &cmyk_row[x * 4];
      const int k = inverted ? p[3] : 255 - p[3];
      for (int c = 0; c < 3; ++c) dst[x * 3 + c] = mul_div255(inverted ? p[c] : 255 - p[c], k);
    }
  }
  if (err.truncated || cinfo.output_scanline < cinfo.output_height) {
    jpeg_destroy_decompress(&cinfo);
    return "truncated JPEG data (premature end of file)";
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  return "";
}

// ---- PNG -------------------------------------------------------------------------------------
using detail::PngMemoryReader;

std::string decode_png_into(const std::string& bytes, Image& out) {
  PngMemoryReader reader{&bytes, 0, {0}};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, detail::png_record_error,
                                           detail::png_ignore_warning);
  if (!png) return "out of memory";
  png_infop info = png_create_info_struct(png);
  std::vector<png_bytep> rows;
  std::string limit_error;  // before setjmp, like rows: a longjmp must not skip a destructor
  if (!info || setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, info ? &info : nullptr, nullptr);
    return reader.message[0] ? reader.message : "cannot decode PNG";
  }
  png_set_read_fn(png, &reader, detail::png_read_from_memory);
  png_read_info(png, info);
  limit_error = pixel_limit_error(png_get_image_width(png, info), png_get_image_height(png, info));
  if (!limit_error.empty()) png_error(png, limit_error.c_str());
  const int color_type = png_get_color_type(png, info);
  // Everything becomes 8-bit RGB: palette -> RGB, low-bit gray -> 8 bit, 16 -> 8 (high byte),
  // gray -> RGB, alpha stripped. tRNS is left alone so it never turns into an alpha channel.
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_16(png);
  if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA)
    png_set_gray_to_rgb(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8)
    png_error(png, "unsupported PNG pixel format");
  out.height = png_get_image_height(png, info);
  out.width = png_get_image_width(png, info);
  out.pixels.resize(static_cast<size_t>(out.height * out.width * 3));
  rows.resize(static_cast<size_t>(out.height));
  for (int64_t y = 0; y < out.height; ++y) rows[y] = out.row(y);
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return "";
}

bool starts_with(const std::string& bytes, const char* magic, size_t n) {
  return bytes.size() >= n && std::memcmp(bytes.data(), magic, n) == 0;
}

}  // namespace

Image decode_jpeg(const std::string& bytes, const std::string& name) {
  Image image;
  const std::string error = decode_jpeg_into(bytes, image);
  if (!error.empty()) throw InputError("cannot decode JPEG '" + name + "': " + error);
  return image;
}

Image decode_png(const std::string& bytes, const std::string& name) {
  Image image;
  const std::string error = decode_png_into(bytes, image);
  if (!error.empty()) throw InputError("cannot decode PNG '" + name + "': " + error);
  return image;
}

Image decode_image(const std::string& bytes, const std::string& name) {
  if (starts_with(bytes, "\xFF\xD8", 2)) return decode_jpeg(bytes, name);
  if (starts_with(bytes, "\x89PNG\r\n\x1A\n", 8)) return decode_png(bytes, name);
  throw InputError("cannot decode '" + name + "': not a JPEG or PNG file");
}

Image decode_image_file(const std::string& path) { return decode_image(read_file(path), path); }

// ---- Encoders (fixtures only, so plain error handling via the return of fopen suffices) -------
void write_png_file(const std::string& path, const Image& image) {
  png_image desc;
  std::memset(&desc, 0, sizeof desc);
  desc.version = PNG_IMAGE_VERSION;
  desc.width = static_cast<png_uint_32>(image.width);
  desc.height = static_cast<png_uint_32>(image.height);
  desc.format = PNG_FORMAT_RGB;
  if (!png_image_write_to_file(&desc, path.c_str(), 0, image.pixels.data(), 0, nullptr))
    throw InputError("cannot write PNG '" + path + "': " + desc.message);
}

void write_jpeg_file(const std::string& path, const Image& image, int quality, bool progressive) {
  FILE* file = std::fopen(path.c_str(), "wb");
  if (!file) throw InputError("cannot write JPEG '" + path + "'");
  jpeg_compress_struct cinfo;
  jpeg_error_mgr err;
  cinfo.err = jpeg_std_error(&err);  // encoding our own in-memory pixels cannot hit data errors
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, file);
  cinfo.image_width = static_cast<JDIMENSION>(image.width);
  cinfo.image_height = static_cast<JDIMENSION>(image.height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(image.row(cinfo.next_scanline));
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  const bool ok = std::fclose(file) == 0;
  if (!ok) throw InputError("cannot write JPEG '" + path + "'");
}

}  // namespace bnrecal
