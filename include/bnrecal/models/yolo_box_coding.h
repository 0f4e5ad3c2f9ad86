// How a YOLO-style detector's grid cell describes a box: the one parametrisation that the model's
// output (models/yolo.h), the decoding into boxes (eval/box_decoding.h) and the training targets
// (train/detection_targets.h) all read, so the three cannot drift apart.
//
//   const double width = bnrecal::yolo::box_side(tw, bnrecal::yolo::kStride);   // 32 px for tw = 0
//   const double tw_target = bnrecal::yolo::log_side(width, bnrecal::yolo::kStride);
//
// The network's output is a map [B, 5 + C, H / s, W / s] at stride s. Cell (i, j) (row i, column j)
// carries, channel by channel:
//   0         objectness logit: sigmoid is the probability that an object's centre lies in this cell
//   1, 2      tx, ty: centre x = (j + sigmoid(tx)) * s, centre y = (i + sigmoid(ty)) * s (in input
//             pixels), so the centre can only lie inside its own cell
//   3, 4      tw, th: width = exp(tw) * s * kSizePriorCells, height = exp(th) * s * kSizePriorCells,
//             with tw, th clamped to [-kLogSizeLimit, kLogSizeLimit] first
//   5 ..      C class logits (softmax over the classes: which class the object is, given one is there)
// Why a single fixed size prior instead of anchor boxes: the fashion-scatter objects are 21-49 px
// squares' tight extents, one size range, and an anchor-free cell keeps the target assignment (one
// responsible cell per object) simple. The prior, 4 cells (32 px at stride 8), is about the geometric
// mean of that range, so every object's tw, th target lies within log(49 / 32) of 0.
// Why the clamp: a perturbed model can emit huge tw; exp(6) * 32 px is already far past any image
// and still finite, so decoding never overflows to inf (a box is then clipped to the image).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace bnrecal::yolo {

constexpr int64_t kStride = 8;           // output stride of YoloSmall: a 96x96 input gives a 12x12 grid
constexpr double kSizePriorCells = 4.0;  // box side for tw = 0, in cells
constexpr double kLogSizeLimit = 6.0;    // |tw|, |th| beyond this are clamped before exp

// Channels of the raw output map.
constexpr int64_t kObjectnessChannel = 0;
constexpr int64_t kOffsetXChannel = 1, kOffsetYChannel = 2;
constexpr int64_t kLogWidthChannel = 3, kLogHeightChannel = 4;
constexpr int64_t kFirstClassChannel = 5;  // = the number of channels besides the class logits

// Side in pixels (width or height) from tw or th. NaN stays NaN (callers drop such boxes).
inline double box_side(double log_size, int64_t stride) {
  return std::exp(std::clamp(log_size, -kLogSizeLimit, kLogSizeLimit)) * static_cast<double>(stride) *
         kSizePriorCells;
}

// The tw (th) whose box_side is side_pixels: the training target. side_pixels > 0.
inline double log_side(double side_pixels, int64_t stride) {
  return std::log(side_pixels / (static_cast<double>(stride) * kSizePriorCells));
}

}  // namespace bnrecal::yolo
