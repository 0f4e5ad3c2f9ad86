// SySMT (NB-SMT) policy: the A8W8 quantization of a8w8_policy.h, but the integer GEMM runs on
// the perturbed T-thread arithmetic of docs/sysmt-arithmetic.md (sections 1-5, 7, 8).
//
//   apply_policy(*net, PolicySpec::parse("sysmt smt=2 idle=either round=rne"), 1, card.calibration);
//   // or directly:
//   SysmtParams p;  p.a8w8.a_max = 3.7;  p.config.threads = 4;
//   conv.set_policy(std::make_shared<bnrecal::SysmtPolicy>(conv.info(), p));
//
// conv2d and linear run the shared integer path of integer_gemm.h (quantize to uint8 codes, im2col
// in the spec's k order, sysmt_gemm_packed with the layer's int8 per-channel weight codes, the
// a8w8 rescale), so T=1 is bit-identical to the a8w8 policy. groups > 1 is computed per group.
//
// Optional reordering (spec section 1): SysmtParams::channel_order permutes the input channels
// (within each conv group; the in_features of a linear layer) before they are grouped into
// thread lanes. The weight codes are permuted once when packed and the uint8 input codes once
// per forward, so every product x[c]*w[o][c] stays paired: only which lanes share a thread
// group (and so which collide) changes, never the exact (1T) result. The registry's factory
// reads it from checkpoint metadata "channel_order" = {"layer name": [c0, c1, ...], ...}
// (written by `bnrecal reorder`, see channel_order.h); layers without an entry use identity.
#pragma once
#include <cstdint>
#include <mutex>
#include <vector>

#include "bnrecal/arith/sysmt.h"
#include "bnrecal/arith/sysmt_diagnostics.h"
#include "bnrecal/nn/a8w8_policy.h"
#include "bnrecal/nn/channel_order.h"
#include "bnrecal/nn/integer_gemm.h"
#include "bnrecal/nn/policy_params.h"

namespace bnrecal {

struct SysmtParams {
  A8W8Params a8w8;             // calibrated input range, as the a8w8 policy uses it
  sysmt::SysmtConfig config;   // T, idle rule, rounding
  bool collect_diagnostics = false;  // O(M*N*K) extra work per forward when on
  // Input channel placed at each position before grouping into lanes: a permutation of
  // 0..C_in/groups-1 (conv, the same in every group) or 0..in_features-1 (linear). Empty means
  // identity; the policy validates it (InputError naming the layer) and stores identity as empty.
  std::vector<int64_t> channel_order;
  nlohmann::json to_json() const;  // channel_order as the list, or "identity"
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
  // The factory's params with the channel order validated (InputError) and identity cleared.
  static SysmtParams validated(const LayerInfo& layer, SysmtParams params);
  // The diagnostics of one GEMM tile (the observer passed only when they are collected).
  void record_diagnostics(const GemmTile& tile);
  void record_cost(int64_t outputs, int64_t k);  // one forward's accumulators of depth k
  IntegerGemm::TileObserver diagnostics_observer();

  LayerInfo layer_;
  SysmtParams params_;
  IntegerGemm gemm_;
  mutable std::mutex stats_mutex_;
  sysmt::SysmtDiagnostics diagnostics_;
  SysmtLayerCost cost_;
};

// The accelerator configuration from the sysmt policy's resolved parameters (smt, idle, round).
sysmt::SysmtConfig sysmt_config(const PolicyParams& params);

}  // namespace bnrecal
