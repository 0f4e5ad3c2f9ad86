// Compares the C++ decode + transforms with torchvision 0.14 / PIL run through /usr/bin/python3.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <random>

#include "bnrecal/core/files.h"
#include "bnrecal/data/image_decode.h"
#include "bnrecal/data/image_transforms.h"
#include "test_support.h"

namespace bnrecal {
namespace {


// Gradients, a hard edge and noise: exercises both smooth interpolation and clipping.
Image make_image(int64_t height, int64_t width, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> noise(-40, 40);
  Image image;
  image.height = height;
  image.width = width;
  image.pixels.resize(height * width * 3);
  for (int64_t y = 0; y < height; ++y)
    for (int64_t x = 0; x < width; ++x) {
      const int edge = (x * 3 > width * 2) ? 120 : 0;
      const int base[3] = {static_cast<int>(255 * x / width), static_cast<int>(255 * y / height),
                           static_cast<int>(128 + 100 * std::sin(0.05 * (x + y)))};
      for (int c = 0; c < 3; ++c)
        image.row(y)[x * 3 + c] = static_cast<uint8_t>(std::clamp(base[c] + edge * (c == 2) + noise(rng), 0, 255));
    }
  return image;
}

std::vector<float> read_floats(const std::string& path) {
  const std::string bytes = read_file(path);
  std::vector<float> v(bytes.size() / sizeof(float));
  std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

// Runs scripts/torchvision_transform_reference.py once on a manifest of jobs. The script exits
// with 3 when PIL, numpy or torchvision cannot be imported; the caller then skips.
testing::CommandResult run_reference(const std::string& manifest) {
  return testing::run_command("/usr/bin/python3 " + testing::source_dir() +
                              "/scripts/torchvision_transform_reference.py " + manifest);
}
constexpr int kReferenceUnavailable = 3;

// Runs the reference on a manifest; skips the test when /usr/bin/python3 cannot run it.
#define RUN_REFERENCE_OR_SKIP(manifest_path)                                             \
  do {                                                                                   \
    const auto result = run_reference(manifest_path);                                    \
    if (result.exit_code == kReferenceUnavailable)                                       \
      GTEST_SKIP() << "/usr/bin/python3 lacks the reference: " << result.output          \
                   << " (apt-get install python3-torchvision)";                           \
    ASSERT_EQ(result.exit_code, 0) << result.output;                                     \
  } while (0)

// Largest difference between a decoded image and the reference's raw bytes (uint8 levels).
int max_byte_diff(const Image& image, const std::string& reference) {
  EXPECT_EQ(reference.size(), image.pixels.size());
  int m = 0;
  for (size_t i = 0; i < std::min(reference.size(), image.pixels.size()); ++i)
    m = std::max(m, std::abs(int(uint8_t(reference[i])) - image.pixels[i]));
  return m;
}

bool is_png(const std::string& path) { return path.substr(path.size() - 4) == ".png"; }

struct EvalJob { std::string image; int64_t resize, crop; std::string out; };
struct CropJob { std::string image; CropBox box; int64_t size; std::string out; };

// Reference jobs for every file: three eval transforms, one resized crop, one decode.
struct Jobs {
  std::vector<EvalJob> eval;
  std::vector<CropJob> crop;
  std::vector<std::string> decode;
};

Jobs write_jobs(const std::string& dir, const std::vector<std::string>& files, std::ofstream& manifest) {
  Jobs jobs;
  int n = 0;
  for (const auto& f : files) {
    for (auto [r, c] : {std::pair<int64_t, int64_t>{256, 224}, {160, 128}, {32, 40}}) {
      jobs.eval.push_back({f, r, c, dir + "/out" + std::to_string(n++)});
      manifest << "eval " << f << " " << r << " " << c << " " << jobs.eval.back().out << "\n";
    }
    const Image header = decode_image_file(f);
    const CropBox box{header.height / 5, header.width / 7, header.height / 2, header.width * 3 / 5};
    jobs.crop.push_back({f, box, 224, dir + "/out" + std::to_string(n++)});
    manifest << "crop " << f << " " << box.top << " " << box.left << " " << box.height << " " << box.width
             << " 224 " << jobs.crop.back().out << "\n";
    jobs.decode.push_back(f);
    manifest << "decode " << f << " " << f << ".rgb\n";
  }
  manifest.close();
  return jobs;
}

double max_crop_diff(const std::vector<CropJob>& jobs) {
  double m = 0;
  for (const auto& job : jobs) {
    const Image image = decode_image_file(job.image);
    const Image resized = resample_bilinear(image, job.box, job.size, job.size, {0, 0, job.size, job.size});
    const at::Tensor mine = image_to_tensor(resized).contiguous();
    std::vector<float> v(mine.data_ptr<float>(), mine.data_ptr<float>() + mine.numel());
    m = std::max(m, max_abs_diff(v, read_floats(job.out)));
  }
  return m;
}

TEST(ImageTransforms, MatchTorchvisionOnPngAndJpeg) {
  const std::string dir = testing::temp_dir();
  const std::vector<std::pair<int64_t, int64_t>> shapes = {
      {300, 400}, {500, 260}, {256, 256}, {50, 70}, {375, 500}, {231, 229}};
  std::vector<std::string> pngs, jpegs;
  for (size_t i = 0; i < shapes.size(); ++i) {
    const Image image = make_image(shapes[i].first, shapes[i].second, i + 1);
    pngs.push_back(dir + "/img" + std::to_string(i) + ".png");
    jpegs.push_back(dir + "/img" + std::to_string(i) + ".jpg");
    write_png_file(pngs.back(), image);
    write_jpeg_file(jpegs.back(), image, 85);
  }
  std::ofstream manifest(dir + "/manifest.txt");
  std::vector<std::string> files = pngs;
  files.insert(files.end(), jpegs.begin(), jpegs.end());
  const Jobs jobs = write_jobs(dir, files, manifest);
  RUN_REFERENCE_OR_SKIP(dir + "/manifest.txt");

  // Decoders: libpng is lossless, and PIL links the same libjpeg-turbo, so both should be exact.
  double png_decode = 0, jpeg_decode = 0;
  for (const auto& f : jobs.decode) {
    double& slot = is_png(f) ? png_decode : jpeg_decode;
    slot = std::max<double>(slot, max_byte_diff(decode_image_file(f), read_file(f + ".rgb")));
  }
  double png_eval = 0, jpeg_eval = 0;
  for (const auto& job : jobs.eval) {
    std::vector<float> mine(3 * job.crop * job.crop);
    apply_eval_transform(decode_image_file(job.image), {job.resize, job.crop}, mine.data());
    double& slot = is_png(job.image) ? png_eval : jpeg_eval;
    slot = std::max(slot, max_abs_diff(mine, read_floats(job.out)));
  }
  const double crop_max = max_crop_diff(jobs.crop);
  std::printf("max |decode - PIL|: png %g, jpeg %g (uint8 levels)\n", png_decode, jpeg_decode);
  std::printf("max |eval transform - torchvision|: png %g (%g/255), jpeg %g (%g/255)\n", png_eval,
              png_eval * 255, jpeg_eval, jpeg_eval * 255);
  std::printf("max |resized crop - torchvision|: %g (%g/255)\n", crop_max, crop_max * 255);
  // Bit-exact replication is the goal; tolerate 2/255 (one rounding step per pass) for PNG and
  // 3/255 for JPEG in case PIL is ever linked against a different libjpeg build.
  EXPECT_LE(png_eval, 2.0 / 255 + 1e-7);
  EXPECT_LE(jpeg_eval, 3.0 / 255 + 1e-7);
  EXPECT_LE(crop_max, 3.0 / 255 + 1e-7);
  EXPECT_EQ(png_decode, 0);
}

// Pixel formats PIL writes: every one must decode to exactly what PIL's convert("RGB") gives
// (16-bit gray: the high byte, where PIL would clip instead).
TEST(ImageTransforms, DecodesPixelFormatsLikePil) {
  const std::string dir = testing::temp_dir();
  write_png_file(dir + "/base.png", make_image(37, 53, 11));
  const std::vector<std::pair<std::string, std::string>> formats = {
      {"L", "png"}, {"LA", "png"}, {"RGBA", "png"}, {"P", "png"}, {"PT", "png"}, {"1", "png"},
      {"L", "jpg"}, {"CMYK", "jpg"}, {"I16", "png"}};
  std::ofstream manifest(dir + "/manifest.txt");
  std::vector<std::string> files;
  for (const auto& [mode, ext] : formats) {
    files.push_back(dir + "/" + mode + "." + ext);
    manifest << "make " << mode << " " << dir << "/base.png " << files.back() << "\n";
    if (mode != "I16") manifest << "decode " << files.back() << " " << files.back() << ".rgb\n";
  }
  manifest.close();
  RUN_REFERENCE_OR_SKIP(dir + "/manifest.txt");
  for (const auto& f : files) {
    const bool i16 = f.find("I16") != std::string::npos;
    EXPECT_EQ(max_byte_diff(decode_image_file(f), read_file(f + (i16 ? ".high" : ".rgb"))), 0) << f;
  }
}

TEST(ImageTransforms, ResizeShapeAndCenterCropFollowTorchvision) {
  EXPECT_EQ(shorter_side_resize_shape(375, 500, 256), (std::pair<int64_t, int64_t>{256, 341}));
  EXPECT_EQ(shorter_side_resize_shape(500, 333, 256), (std::pair<int64_t, int64_t>{384, 256}));
  EXPECT_EQ(shorter_side_resize_shape(256, 256, 256), (std::pair<int64_t, int64_t>{256, 256}));
  // (341 - 224) / 2 = 58.5 rounds half to even -> 58.
  EXPECT_EQ(center_crop_box(256, 341, 224, 224).left, 58);
  EXPECT_EQ(center_crop_box(256, 343, 224, 224).left, 60);  // 59.5 -> 60
  EXPECT_EQ(center_crop_box(30, 30, 35, 35).top, -2);       // pads 2 before, 3 after
}

TEST(ImageTransforms, RandomResizedCropBoxStaysInsideAndFallsBack) {
  std::mt19937_64 rng(7);
  TrainTransform options;
  for (int i = 0; i < 1000; ++i) {
    const CropBox b = random_resized_crop_box(300, 400, options, rng);
    ASSERT_GE(b.top, 0);
    ASSERT_GE(b.left, 0);
    ASSERT_LE(b.top + b.height, 300);
    ASSERT_LE(b.left + b.width, 400);
    const double ratio = double(b.width) / b.height;
    ASSERT_GT(ratio, 0.7);
    ASSERT_LT(ratio, 1.4);
  }
  // A 1x100 strip can never satisfy the ratio range: fallback to the central 1x1 crop... of
  // width round(1 * 4/3) = 1.
  const CropBox f = random_resized_crop_box(1, 100, options, rng);
  EXPECT_EQ(f.height, 1);
  EXPECT_EQ(f.width, 1);
  EXPECT_EQ(f.left, 49);
  std::vector<float> out(3 * 224 * 224);
  apply_train_transform(make_image(40, 60, 3), options, rng, out.data());
  for (float v : out) ASSERT_TRUE(v >= 0 && v <= 1);
}

}  // namespace
}  // namespace bnrecal
