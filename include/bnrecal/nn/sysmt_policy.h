// SySMT (NB-SMT) policy: the A8W8 quantization of a8w8_policy.h, but the integer GEMM runs on
// the perturbed T-thread arithmetic of sysmt-arithmetic.md (sections 1-5, 7, 8).
//
//   apply_policy(*net, PolicySpec::parse("sysmt smt=2 idle=either round=rne"), 1, metadata);
//   // or directly:
//   SysmtParams p;  p.a8w8.a_max = 3.7;  p.config.threads = 4;
//   conv.set_policy(std::make_shared<bnrecal::SysmtPolicy>(conv.info(), p));
//
// conv2d: uint8 input codes -> im2col in the spec's k order k = (i*kw + j)*C_in/groups + c
// (channel fastest), tiled over output rows (kSysmtTileRows at a time) -> sysmt_gemm_packed with
// the layer's int8 per-channel weight codes (packed once per weight tensor version) ->
// y = float(double(acc) * (double(s_w[o]) * double(s_x))) + bias[o], exactly the a8w8 rescale.
// So T=1 is bit-identical to the a8w8 policy. groups > 1 is computed per group.
#pragma once
#include <cstdint>
#include <mutex>
#include <vector>

#include "bnrecal/arith/sysmt.h"
#include "bnrecal/arith/sysmt_diagnostics.h"
#include "bnrecal/models/network.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {

constexpr int64_t kSysmtTileRows = 4096;  // output rows (batch x out_h x out_w) per im2col tile

struct SysmtParams {
  A8W8Params a8w8;             // calibrated input range, as the a8w8 policy uses it
  sysmt::SysmtConfig config;   // T, idle rule, rounding
  bool collect_diagnostics = false;  // O(M*N*K) extra work per forward when on
  nlohmann::json to_json() const;
};

// Work done by one layer so far (summed over forwards), spec section 8.
struct SysmtLayerCost {
  int64_t k = 0;        // reduction length per output (C_in/groups * kh * kw or in_features)
  int threads = 1;      // T
  int64_t outputs = 0;  // accumulators computed
  int64_t macs = 0;     // outputs * K
  int64_t cycles = 0;   // outputs * ceil(K / T)
  nlohmann::json to_json() const;
};

class SysmtPolicy : public ArithPolicy {
 public:
  SysmtPolicy(const LayerInfo& layer, SysmtParams params);
  std::string name() const override { return "sysmt"; }
  // params, cost and (when collected) the diagnostics summary.
  nlohmann::json describe() const override;
  at::Tensor conv2d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias,
                    const ConvGeometry& geometry) override;
  at::Tensor linear(const at::Tensor& input, const at::Tensor& weight,
                    const at::Tensor& bias) override;

  const SysmtParams& params() const { return params_; }
  const LayerInfo& layer() const { return layer_; }
  void set_collect_diagnostics(bool on) { params_.collect_diagnostics = on; }
  // Merged over every forward since construction / the last reset (threads == 0 if none).
  sysmt::SysmtDiagnostics diagnostics() const;
  SysmtLayerCost cost() const;
  void reset_statistics();

 private:
  struct Packed {
    const void* impl = nullptr;  // weight TensorImpl
    const void* data = nullptr;
    int64_t version = -1;
    at::Tensor scales;                    // float32 [O]
    std::vector<at::Tensor> w;            // per group: int8 [O/groups, K] in spec k order
    std::vector<sysmt::SysmtPackedWeights> packed;  // per group
  };
  const Packed& packed_for(const at::Tensor& weight, int64_t groups);
  ActivationCodes quantize_input(const at::Tensor& input) const;
  // Y rows of one group: A [rows, K] uint8 -> dequantized into out (float [M, O], row stride O).
  void gemm_tile(const uint8_t* a, int64_t rows, int64_t group, const Packed& p, float x_scale,
                 const at::Tensor& bias, float* out, int64_t out_stride, int64_t col0);

  LayerInfo layer_;
  SysmtParams params_;
  Packed packed_;
  mutable std::mutex stats_mutex_;
  sysmt::SysmtDiagnostics diagnostics_;
  SysmtLayerCost cost_;
};

// The registry entry for "sysmt" (added by the registry itself; see policy_registry.cpp).
PolicyEntry sysmt_policy_entry();

// Per-layer MACs for one forward of `sample` through model (every conv/linear layer, whatever
// its policy): runs one no-grad forward in eval mode with counting wrappers, then restores the
// policies and the training flag. MACs = output elements x K (K = C_in/groups*kh*kw or in).
struct LayerMacs {
  std::string name;
  int64_t k = 0;
  int64_t macs = 0;
};
std::vector<LayerMacs> count_layer_macs(Network& model, const at::Tensor& sample);

}  // namespace bnrecal
