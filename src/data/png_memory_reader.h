// libpng callbacks for decoding a PNG held in memory, shared by the RGB decoder (image_decode.cpp)
// and the class-index decoder (palette_png.cpp). libpng reports fatal errors through the error
// callback, which must not return: it records the message and longjmps back to the decoder's setjmp.
// Only C structs and objects declared before setjmp live across the jump, so no destructor is skipped.
#pragma once
#include <png.h>

#include <cstdio>
#include <cstring>
#include <string>

namespace bnrecal::detail {

struct PngMemoryReader {
  const std::string* bytes;
  size_t position;
  char message[256];
};

inline void png_read_from_memory(png_structp png, png_bytep data, png_size_t length) {
  auto* reader = static_cast<PngMemoryReader*>(png_get_io_ptr(png));
  if (reader->position + length > reader->bytes->size()) png_error(png, "truncated PNG data");
  std::memcpy(data, reader->bytes->data() + reader->position, length);
  reader->position += length;
}

inline void png_record_error(png_structp png, png_const_charp message) {
  auto* reader = static_cast<PngMemoryReader*>(png_get_error_ptr(png));
  std::snprintf(reader->message, sizeof reader->message, "%s", message);
  png_longjmp(png, 1);
}

// Warnings (bad ancillary chunks such as iCCP, which PIL ignores too) change no pixel or index.
inline void png_ignore_warning(png_structp, png_const_charp) {}

}  // namespace bnrecal::detail
