#include "bnrecal/data/image_transforms.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace bnrecal {
namespace {

// Pillow's 8-bit resampling keeps coefficients in fixed point with this many fraction bits
// (32 - 8 bits of pixel - 2 bits of headroom), so sums of up to ~1000 taps cannot overflow.
constexpr int kPrecisionBits = 32 - 8 - 2;

// Per-output-pixel filter taps for one axis, as Pillow's precompute_coeffs +
// normalize_coeffs_8bpc compute them (same double arithmetic, same truncating casts).
struct AxisCoeffs {
  int64_t ksize = 0;
  std::vector<int64_t> first;  // first input index per output pixel
  std::vector<int64_t> count;  // number of taps
  std::vector<int32_t> weights;  // ksize per output pixel
};

double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

AxisCoeffs axis_coeffs(int64_t in_size, int64_t out_size, int64_t out_first, int64_t out_count) {
  const double scale = static_cast<double>(in_size) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);  // upscaling keeps the unit-width filter
  const double support = 1.0 * filterscale;         // bilinear support is 1
  AxisCoeffs c;
  c.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_count);
  c.count.resize(out_count);
  c.weights.assign(out_count * c.ksize, 0);
  std::vector<double> k(c.ksize);
  for (int64_t i = 0; i < out_count; ++i) {
    const int64_t xx = out_first + i;
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // (int) casts truncate toward zero, exactly as in Pillow.
    int64_t xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int64_t xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      k[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int64_t x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      c.weights[i * c.ksize + x] = w < 0 ? static_cast<int>(-0.5 + w * (1 << kPrecisionBits))
                                         : static_cast<int>(0.5 + w * (1 << kPrecisionBits));
    }
    c.first[i] = xmin;
    c.count[i] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t v) {
  if (v >= (1 << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<uint8_t>(v >> kPrecisionBits);
}

// One pass along x over `rows` rows: src pixels at src + r*src_stride + x*3.
void horizontal_pass(const uint8_t* src, int64_t src_stride, int64_t rows, const AxisCoeffs& c,
                     uint8_t* dst) {
  const int64_t out_width = static_cast<int64_t>(c.first.size());
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* in = src + r * src_stride;
    uint8_t* out = dst + r * out_width * 3;
    for (int64_t xx = 0; xx < out_width; ++xx) {
      const int32_t* k = &c.weights[xx * c.ksize];
      const uint8_t* p = in + c.first[xx] * 3;
      int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;  // + 0.5 for rounding
      for (int64_t x = 0; x < c.count[xx]; ++x) {
        s0 += p[x * 3 + 0] * k[x];
        s1 += p[x * 3 + 1] * k[x];
        s2 += p[x * 3 + 2] * k[x];
      }
      out[xx * 3 + 0] = clip8(s0);
      out[xx * 3 + 1] = clip8(s1);
      out[xx * 3 + 2] = clip8(s2);
    }
  }
}

// One pass along y: src rows (relative to row_offset) of `width` pixels, contiguous.
void vertical_pass(const uint8_t* src, int64_t width, int64_t row_offset, const AxisCoeffs& c,
                   uint8_t* dst) {
  const int64_t out_rows = static_cast<int64_t>(c.first.size());
  const int64_t stride = width * 3;
  for (int64_t yy = 0; yy < out_rows; ++yy) {
    const int32_t* k = &c.weights[yy * c.ksize];
    const uint8_t* base = src + (c.first[yy] - row_offset) * stride;
    uint8_t* out = dst + yy * stride;
    for (int64_t i = 0; i < stride; ++i) {
      int32_t s = 1 << (kPrecisionBits - 1);
      for (int64_t y = 0; y < c.count[yy]; ++y) s += base[y * stride + i] * k[y];
      out[i] = clip8(s);
    }
  }
}

// CHW float writer for an image window placed at (top, left) of an out_size^2 canvas that is
// zero elsewhere (CenterCrop's padding); flip mirrors the canvas horizontally.
void write_chw(const Image& window, int64_t top, int64_t left, int64_t out_h, int64_t out_w,
               bool flip, float* out) {
  const bool covers = top == 0 && left == 0 && window.height == out_h && window.width == out_w;
  if (!covers) std::fill(out, out + 3 * out_h * out_w, 0.0f);
  for (int64_t y = 0; y < window.height; ++y) {
    const uint8_t* row = window.row(y);
    for (int64_t x = 0; x < window.width; ++x) {
      const int64_t ox = flip ? out_w - 1 - (left + x) : left + x;
      const int64_t o = (top + y) * out_w + ox;
      // ToTensor divides by 255 (float division, matching x.float().div(255)).
      out[o] = row[x * 3 + 0] / 255.0f;
      out[out_h * out_w + o] = row[x * 3 + 1] / 255.0f;
      out[2 * out_h * out_w + o] = row[x * 3 + 2] / 255.0f;
    }
  }
}

int64_t python_round(double v) { return static_cast<int64_t>(std::nearbyint(v)); }  // half-even

}  // namespace

std::pair<int64_t, int64_t> shorter_side_resize_shape(int64_t height, int64_t width, int64_t size) {
  const int64_t short_side = std::min(height, width), long_side = std::max(height, width);
  // Python: int(size * long / short), a float division then truncation.
  const int64_t new_long = static_cast<int64_t>(static_cast<double>(size * long_side) /
                                                static_cast<double>(short_side));
  return width <= height ? std::make_pair(new_long, size) : std::make_pair(size, new_long);
}

CropBox center_crop_box(int64_t height, int64_t width, int64_t crop_height, int64_t crop_width) {
  CropBox box;
  box.height = crop_height;
  box.width = crop_width;
  // torchvision pads first (left pad = (crop - in) // 2), then crops at round((padded - crop)/2),
  // which is 0 for the padded axis: the image starts at -pad in crop coordinates.
  box.top = crop_height > height ? -((crop_height - height) / 2)
                                 : python_round((height - crop_height) / 2.0);
  box.left = crop_width > width ? -((crop_width - width) / 2)
                                : python_round((width - crop_width) / 2.0);
  return box;
}

CropBox random_resized_crop_box(int64_t height, int64_t width, const TrainTransform& options,
                                std::mt19937_64& rng) {
  const double area = static_cast<double>(height * width);
  std::uniform_real_distribution<double> scale_dist(options.scale_min, options.scale_max);
  std::uniform_real_distribution<double> log_ratio_dist(std::log(options.ratio_min),
                                                        std::log(options.ratio_max));
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * scale_dist(rng);
    const double aspect = std::exp(log_ratio_dist(rng));
    const int64_t w = python_round(std::sqrt(target_area * aspect));
    const int64_t h = python_round(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int64_t top = std::uniform_int_distribution<int64_t>(0, height - h)(rng);
      const int64_t left = std::uniform_int_distribution<int64_t>(0, width - w)(rng);
      return {top, left, h, w};
    }
  }
  // Fallback: the largest central crop whose aspect ratio is within range.
  const double in_ratio = static_cast<double>(width) / static_cast<double>(height);
  int64_t w = width, h = height;
  if (in_ratio < options.ratio_min) {
    h = python_round(w / options.ratio_min);
  } else if (in_ratio > options.ratio_max) {
    w = python_round(h * options.ratio_max);
  }
  return {(height - h) / 2, (width - w) / 2, h, w};
}

Image resample_bilinear(const Image& src, const CropBox& src_box, int64_t out_height,
                        int64_t out_width, const CropBox& out_box) {
  if (src_box.top < 0 || src_box.left < 0 || src_box.height <= 0 || src_box.width <= 0 ||
      src_box.top + src_box.height > src.height || src_box.left + src_box.width > src.width ||
      out_box.top < 0 || out_box.left < 0 || out_box.top + out_box.height > out_height ||
      out_box.left + out_box.width > out_width)
    throw std::invalid_argument("resample_bilinear: box outside the image");
  const uint8_t* origin = src.pixels.data() + (src_box.top * src.width + src_box.left) * 3;
  const int64_t src_stride = src.width * 3;
  Image out;
  out.height = out_box.height;
  out.width = out_box.width;
  out.pixels.resize(out.height * out.width * 3);
  const bool need_h = out_width != src_box.width;
  const bool need_v = out_height != src_box.height;

  // Horizontal pass first (as Pillow), over just the source rows the vertical taps will read.
  int64_t row_first = out_box.top, row_count = out_box.height;
  AxisCoeffs vc;
  if (need_v) {
    vc = axis_coeffs(src_box.height, out_height, out_box.top, out_box.height);
    row_first = vc.first.front();
    row_count = vc.first.back() + vc.count.back() - row_first;
  }
  Image temp;
  const uint8_t* rows = origin + row_first * src_stride;
  int64_t rows_stride = src_stride, rows_width = src_box.width;
  if (need_h) {
    const AxisCoeffs hc = axis_coeffs(src_box.width, out_width, out_box.left, out_box.width);
    temp.height = row_count;
    temp.width = out_box.width;
    temp.pixels.resize(temp.height * temp.width * 3);
    horizontal_pass(rows, src_stride, row_count, hc, temp.pixels.data());
    rows = temp.pixels.data();
    rows_stride = temp.width * 3;
    rows_width = temp.width;
  } else {
    rows += out_box.left * 3;  // no horizontal resampling: the window is a plain column range
    rows_width = out_box.width;
  }
  if (need_v) {
    if (rows_stride != rows_width * 3) {  // make rows contiguous for the vertical pass
      temp.height = row_count;
      temp.width = rows_width;
      temp.pixels.resize(row_count * rows_width * 3);
      for (int64_t r = 0; r < row_count; ++r)
        std::copy_n(rows + r * rows_stride, rows_width * 3, temp.row(r));
      rows = temp.pixels.data();
    }
    vertical_pass(rows, rows_width, row_first, vc, out.pixels.data());
  } else {
    for (int64_t r = 0; r < out.height; ++r)
      std::copy_n(rows + r * rows_stride, out.width * 3, out.row(r));
  }
  return out;
}

Image resize_bilinear(const Image& src, int64_t out_height, int64_t out_width) {
  return resample_bilinear(src, {0, 0, src.height, src.width}, out_height, out_width,
                           {0, 0, out_height, out_width});
}

void apply_eval_transform(const Image& image, const EvalTransform& options, float* out) {
  const auto [new_h, new_w] =
      shorter_side_resize_shape(image.height, image.width, options.resize_size);
  const CropBox crop = center_crop_box(new_h, new_w, options.crop_size, options.crop_size);
  // Only the part of the resized image inside the crop is computed; Pillow's taps depend only on
  // the output pixel index, so this equals resizing everything and cropping afterwards.
  CropBox window;
  window.top = std::max<int64_t>(crop.top, 0);
  window.left = std::max<int64_t>(crop.left, 0);
  window.height = std::min(crop.top + crop.height, new_h) - window.top;
  window.width = std::min(crop.left + crop.width, new_w) - window.left;
  const Image resized =
      resample_bilinear(image, {0, 0, image.height, image.width}, new_h, new_w, window);
  write_chw(resized, window.top - crop.top, window.left - crop.left, options.crop_size,
            options.crop_size, false, out);
}

void apply_train_transform(const Image& image, const TrainTransform& options,
                           std::mt19937_64& rng, float* out) {
  const CropBox box = random_resized_crop_box(image.height, image.width, options, rng);
  const Image resized = resample_bilinear(image, box, options.size, options.size,
                                          {0, 0, options.size, options.size});
  const bool flip =
      options.horizontal_flip && std::uniform_real_distribution<double>(0.0, 1.0)(rng) < 0.5;
  write_chw(resized, 0, 0, options.size, options.size, flip, out);
}

at::Tensor image_to_tensor(const Image& image) {
  at::Tensor t = at::empty({3, image.height, image.width}, at::kFloat);
  write_chw(image, 0, 0, image.height, image.width, false, t.data_ptr<float>());
  return t;
}

}  // namespace bnrecal
