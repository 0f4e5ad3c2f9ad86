// Image decoding refuses declared sizes past the image_pixels limit before allocating them, and a
// progressive JPEG with more scans than any encoder writes (each scan a full pass: a small file
// could decode for hours).
#include <gtest/gtest.h>
#include <zlib.h>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/image_decode.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {

Image gray_square(int64_t side) {
  Image image;
  image.width = image.height = side;
  image.pixels.assign(static_cast<size_t>(side * side * 3), 128);
  return image;
}

void put_be(std::string& bytes, size_t at, uint32_t value, int width) {
  for (int i = 0; i < width; ++i) bytes[at + i] = static_cast<char>((value >> (8 * (width - 1 - i))) & 0xff);
}

}  // namespace

TEST(ImageLimits, APngDeclaringBillionsOfPixelsIsRefusedBeforeDecoding) {
  const std::string path = temp_dir() + "/big.png";
  write_png_file(path, gray_square(8));
  std::string bytes = read_file(path);
  // IHDR: length (8), "IHDR" (12), width (16), height (20), ..., CRC over type and data (29).
  put_be(bytes, 16, 60000, 4);
  put_be(bytes, 20, 60000, 4);
  put_be(bytes, 29, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(bytes.data() + 12), 17)), 4);
  const std::string message = input_error_message([&] { decode_image(bytes, "big.png"); });
  EXPECT_NE(message.find("exceeds the limit image_pixels"), std::string::npos) << message;
  EXPECT_NE(message.find("60000x60000"), std::string::npos) << message;
  EXPECT_EQ(decode_image(read_file(path), "ok.png").width, 8);  // the unpatched file decodes
}

TEST(ImageLimits, AJpegDeclaringBillionsOfPixelsIsRefusedBeforeDecoding) {
  const std::string path = temp_dir() + "/big.jpg";
  write_jpeg_file(path, gray_square(8), 90);
  std::string bytes = read_file(path);
  const size_t sof = bytes.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  put_be(bytes, sof + 5, 65000, 2);  // SOF0: marker, length (2), precision (1), height, width
  put_be(bytes, sof + 7, 65000, 2);
  const std::string message = input_error_message([&] { decode_image(bytes, "big.jpg"); });
  EXPECT_NE(message.find("exceeds the limit image_pixels"), std::string::npos) << message;
}

TEST(ImageLimits, AProgressiveJpegWithThousandsOfScansIsRefused) {
  const std::string path = temp_dir() + "/p.jpg";
  write_jpeg_file(path, gray_square(16), 90, /*progressive=*/true);
  const std::string bytes = read_file(path);
  EXPECT_EQ(decode_image(bytes, "p.jpg").width, 16);
  // Repeat the last scan (SOS segment up to the end-of-image marker) 600 times: libjpeg treats a
  // repeated refinement as a recoverable warning and would decode every one.
  const size_t last_scan = bytes.rfind("\xFF\xDA"), end = bytes.rfind("\xFF\xD9");
  ASSERT_TRUE(last_scan != std::string::npos && end != std::string::npos && last_scan < end);
  std::string bomb = bytes.substr(0, end);
  for (int i = 0; i < 600; ++i) bomb += bytes.substr(last_scan, end - last_scan);
  bomb += "\xFF\xD9";
  const std::string message = input_error_message([&] { decode_image(bomb, "bomb.jpg"); });
  EXPECT_NE(message.find("progressive scans"), std::string::npos) << message;
}
