// torchvision 0.14 image transforms on decoded RGB images, reproducing PIL's arithmetic so that
// pretrained torchvision weights see the pixels they were evaluated with.
//
//   bnrecal::Image image = bnrecal::decode_image_file(path);
//   std::vector<float> chw(3 * 224 * 224);
//   bnrecal::apply_eval_transform(image, {/*resize_size=*/256, /*crop_size=*/224}, chw.data());
//   bnrecal::apply_train_transform(image, bnrecal::TrainTransform{}, rng, chw.data());
//
// Outputs are float CHW in [0, 1] (ToTensor), not normalized: the batch loader normalizes.
#pragma once
#include <ATen/ATen.h>

#include <cstdint>
#include <random>

#include "bnrecal/data/image_decode.h"

namespace bnrecal {

// A rectangle in pixel coordinates; top/left may be negative for a crop that pads.
struct CropBox {
  int64_t top = 0;
  int64_t left = 0;
  int64_t height = 0;
  int64_t width = 0;
};

// Resize(resize_size) (shorter side, aspect kept) + CenterCrop(crop_size) + ToTensor.
struct EvalTransform {
  int64_t resize_size = 256;
  int64_t crop_size = 224;
};

// RandomResizedCrop(size, scale, ratio) + RandomHorizontalFlip(0.5) + ToTensor.
struct TrainTransform {
  int64_t size = 224;
  double scale_min = 0.08, scale_max = 1.0;
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;
  bool horizontal_flip = true;
};

// torchvision's Resize(int) output size {height, width}: the shorter side becomes `size`, the
// longer one int(size * long / short) (truncated, as Python's int()).
std::pair<int64_t, int64_t> shorter_side_resize_shape(int64_t height, int64_t width, int64_t size);

// torchvision's CenterCrop box: offsets int(round((in - crop) / 2.0)) with Python's
// round-half-to-even; negative offsets mean zero padding (crop larger than the image).
CropBox center_crop_box(int64_t height, int64_t width, int64_t crop_height, int64_t crop_width);

// RandomResizedCrop.get_params: 10 tries of (area scale, log-uniform ratio), then the
// central-crop fallback clamped to the ratio range. Draws from rng.
CropBox random_resized_crop_box(int64_t height, int64_t width, const TrainTransform& options,
                                std::mt19937_64& rng);

// PIL's Image.resize(BILINEAR) of the region src_box of src to out_height x out_width, returning
// only the output window out_box (which must lie inside the output). Bit-exact with Pillow 9:
// separable triangle filter whose support grows with the downscale factor, 22-bit fixed-point
// coefficients, horizontal pass first with 8-bit rounding between passes.
Image resample_bilinear(const Image& src, const CropBox& src_box, int64_t out_height,
                        int64_t out_width, const CropBox& out_box);

// Full-image resize (convenience over resample_bilinear).
Image resize_bilinear(const Image& src, int64_t out_height, int64_t out_width);

// Writes 3 * crop_size^2 floats (CHW, [0, 1]).
void apply_eval_transform(const Image& image, const EvalTransform& options, float* out);
// Writes 3 * size^2 floats (CHW, [0, 1]).
void apply_train_transform(const Image& image, const TrainTransform& options,
                           std::mt19937_64& rng, float* out);

// ToTensor: uint8 HWC -> float32 [3, H, W] in [0, 1].
at::Tensor image_to_tensor(const Image& image);

}  // namespace bnrecal
