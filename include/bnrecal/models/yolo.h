// YoloSmall: an anchor-free, YOLO-style single-stage detector with BatchNorm throughout, for the 96x96
// fashion-scatter task (data/fashion_tasks.h) and any input whose sides are multiples of 8. It is a
// plain Network whose forward returns the raw prediction map, so every perturbation policy, BN
// recalibration and checkpoint path treats it like a classifier; turning the map into boxes is
// eval/box_decoding.h's job and training it train/detection_targets.h's.
//
//   auto net = bnrecal::build_model("yolo_small", {.num_classes = 10, .in_channels = 3});
//   at::Tensor raw = net->forward(images);                 // [B, 5 + 10, H / 8, W / 8]
//   auto dets = bnrecal::decode_detections(raw, {}, image_ids);
//
// Per grid cell the map holds [objectness logit, tx, ty, tw, th, C class logits]; their meaning (cell
// offsets, the fixed 32 px size prior, the clamp) is in models/yolo_box_coding.h.
//
// Backbone: ResNet-20's three stages (basic blocks, widths 16/32/64, the stride-1 small-image stem)
// plus a fourth stage of 2 basic blocks, width 128, stride 2: output stride 8, a 12x12 grid for 96x96.
// Why an extra stage rather than a stride-2 stem: ResNet-20's stages then see the image at full
// resolution as in classification (a 21 px item keeps its detail through layer1), the ResNet class is
// used unchanged (dilation, its other means of setting the stride, needs bottleneck blocks), and the
// extra stage widens what one cell sees (receptive field 169 px at the head's output against 97 without
// it) so that a cell judges a 49 px item whole; it costs about a sixth of the backbone's 0.44 GMACs.
// Names follow torchvision: backbone.conv1, backbone.layer4.1.bn2.
// Head: head_convs x (3x3 conv, BN, ReLU) at head_width channels (head.conv1, head.bn1, ...), then a
// 1x1 conv with bias to 5 + C channels (head.predict). Its weights start small (normal, std 0.01) and
// the objectness bias at -log((1 - 0.01) / 0.01), so every cell first predicts "object" with
// probability about 0.01 (RetinaNet's prior): without it the many empty cells' loss swamps the first
// steps of training.
#pragma once
#include <memory>
#include <vector>

#include "bnrecal/models/resnet.h"
#include "bnrecal/models/yolo_box_coding.h"

namespace bnrecal {

struct YoloConfig {
  ResNetConfig backbone{BlockKind::kBasic, StemKind::kSmallImage, {3, 3, 3, 2}, {16, 32, 64, 128}};
  int64_t head_width = 64;
  int64_t head_convs = 2;
};

// The prediction head on the backbone's map: [B, in, h, w] -> [B, outputs, h, w].
class YoloHead : public torch::nn::Module {
 public:
  YoloHead(int64_t in_channels, int64_t width, int64_t convs, int64_t outputs);
  at::Tensor forward(at::Tensor x);

 private:
  std::vector<ArithConv2d> convs_;
  std::vector<BatchNorm2d> norms_;
  ArithConv2d predict_{nullptr};
};

class YoloSmall : public Network {
 public:
  YoloSmall(const YoloConfig& config, const ModelOptions& options);
  // input [B, in_channels, H, W] with H and W multiples of stride() -> [B, 5 + C, H / stride, W / stride].
  at::Tensor forward(at::Tensor input) override;
  int64_t stride() const { return stride_; }
  int64_t num_classes() const { return num_classes_; }

 private:
  std::shared_ptr<ResNet> backbone_;
  std::shared_ptr<YoloHead> head_;
  int64_t stride_ = 0, num_classes_ = 0;
};

// The prior probability an untrained head assigns to "an object's centre is in this cell".
constexpr double kYoloObjectnessPrior = 0.01;

}  // namespace bnrecal
