// Helpers shared by the sysmt policy tests: a policy built directly from parameters, and an
// independent reference for its conv (explicit im2col + the scalar reference GEMM).
#pragma once
#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "bnrecal/arith/sysmt.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/calibration.h"
#include "bnrecal/nn/model_calibration.h"
#include "bnrecal/nn/quantizer.h"
#include "bnrecal/nn/sysmt_policy.h"
#include "tiny_net.h"

namespace bnrecal::testing {

inline sysmt::SysmtConfig sysmt_config(int threads,
                                       sysmt::IdleRule idle = sysmt::IdleRule::kEither,
                                       sysmt::Rounding rounding = sysmt::Rounding::kRne) {
  sysmt::SysmtConfig c;
  c.threads = threads;
  c.idle = idle;
  c.rounding = rounding;
  return c;
}

inline ConvGeometry conv_geometry(int64_t groups, int64_t stride, int64_t padding) {
  ConvGeometry g;
  g.groups = groups;
  g.stride = {stride, stride};
  g.padding = {padding, padding};
  return g;
}

// A policy for a layer named "c" (LayerInfo without shapes: channel_order's length is checked
// against the input at forward time).
inline SysmtPolicy make_sysmt_policy(double a_max, const sysmt::SysmtConfig& c, bool diag = false,
                                     std::vector<int64_t> channel_order = {}) {
  LayerInfo info;
  info.name = "c";
  SysmtParams p;
  p.a8w8.a_max = a_max;
  p.config = c;
  p.collect_diagnostics = diag;
  p.channel_order = std::move(channel_order);
  return SysmtPolicy(info, p);
}

// The A8W8 policy of a layer (by default the layer "c" make_sysmt_policy builds, which it reduces
// to at one thread).
inline A8W8Policy make_a8w8_policy(double a_max, const std::string& name = "c", bool linear = false) {
  LayerInfo info;
  info.name = name;
  info.is_linear = linear;
  A8W8Params p;
  p.a_max = a_max;
  return A8W8Policy(info, p);
}

// Explicit im2col in the spec's order k = (i*kw + j)*C + c, written independently of the policy
// (plain loops over accessors), then sysmt_gemm_ref and the a8w8 rescale. groups == 1.
inline at::Tensor reference_sysmt_conv(const at::Tensor& x, const at::Tensor& w,
                                       const at::Tensor& b, double a_max, const ConvGeometry& g,
                                       const sysmt::SysmtConfig& c, at::Tensor* acc_out = nullptr) {
  ActivationCodes xq = quantize_activations(x, a_max, "ref");
  WeightCodes wq = quantize_weights(w);
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t O = w.size(0), kh = w.size(2), kw = w.size(3);
  const int64_t OH = (H + 2 * g.padding[0] - kh) / g.stride[0] + 1;
  const int64_t OW = (W + 2 * g.padding[1] - kw) / g.stride[1] + 1;
  const int64_t K = C * kh * kw, M = N * OH * OW;
  std::vector<uint8_t> A(M * K, 0);
  std::vector<int8_t> Wm(O * K);
  auto xa = xq.codes.accessor<uint8_t, 4>();
  auto wa = wq.codes.accessor<int8_t, 4>();
  for (int64_t o = 0; o < O; ++o)
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j)
        for (int64_t ch = 0; ch < C; ++ch) Wm[o * K + (i * kw + j) * C + ch] = wa[o][ch][i][j];
  for (int64_t n = 0; n < N; ++n)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        const int64_t m = (n * OH + oh) * OW + ow;
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t ih = oh * g.stride[0] - g.padding[0] + i;
            const int64_t iw = ow * g.stride[1] - g.padding[1] + j;
            if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
            for (int64_t ch = 0; ch < C; ++ch) A[m * K + (i * kw + j) * C + ch] = xa[n][ch][ih][iw];
          }
      }
  at::Tensor acc = at::empty({M, O}, at::kInt);
  sysmt::sysmt_gemm_ref(A.data(), Wm.data(), acc.data_ptr<int32_t>(), M, O, K, c);
  at::Tensor acc_nchw = acc.reshape({N, OH, OW, O}).permute({0, 3, 1, 2});
  if (acc_out) *acc_out = acc_nchw;
  at::Tensor scale =
      (wq.scales.to(at::kDouble) * static_cast<double>(xq.scale)).reshape({1, -1, 1, 1});
  at::Tensor y = (acc_nchw.to(at::kDouble) * scale).to(at::kFloat);
  return b.defined() ? y + b.reshape({1, -1, 1, 1}) : y;
}

// Checkpoint metadata with a TinyNet's activation calibration (4 random images).
inline nlohmann::json calibrated_metadata(TinyNetImpl& net) {
  TensorBatchStream stream(random_batches({4}));
  return {{kCalibrationKey, calibrate_activations(net, stream, "mean_max").to_json()}};
}

// The same calibration as the model card's section policies read.
inline ModelCalibration calibration_of(TinyNetImpl& net) {
  return ModelCalibration::from_metadata(calibrated_metadata(net));
}

}  // namespace bnrecal::testing
