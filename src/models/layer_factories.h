// The conv and BN constructors every architecture file uses, so each reads like its torchvision
// original: conv(in, out, 3, stride, 1) is nn.Conv2d(in, out, 3, stride, 1, bias=False).
#pragma once
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"

namespace bnrecal::layers {

// Bias-free (a BN follows) perturbation-aware conv.
inline ArithConv2d conv(int64_t in, int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0,
                        int64_t groups = 1) {
  return ArithConv2d(ArithConv2dOptions(in, out, kernel).stride(stride).padding(padding).groups(groups));
}

// eps 1e-5 is PyTorch's default; TF-derived models (GoogLeNet, MobileNet v1) use 1e-3.
inline BatchNorm2d batch_norm(int64_t channels, double eps = 1e-5) {
  return BatchNorm2d(BatchNorm2dOptions(channels).eps(eps));
}

}  // namespace bnrecal::layers
