// SySMT (NB-SMT) integer GEMM: the perturbed accelerator arithmetic of
// docs/sysmt-arithmetic.md, as a scalar reference and a fast exact kernel.
//
//   bnrecal::sysmt::SysmtConfig cfg;
//   cfg.threads = 2;                                   // T: lanes per group
//   cfg.idle = bnrecal::sysmt::parse_idle_rule("either");
//   bnrecal::sysmt::validate(cfg, K);
//   bnrecal::sysmt::sysmt_gemm(A, W, Y, M, N, K, cfg);  // Y[m,n] == sysmt_gemm_ref(...)
//   bnrecal::sysmt::SysmtPackedWeights packed(W, N, K, cfg);  // reuse across batches
//   bnrecal::sysmt::sysmt_gemm_packed(A, M, packed, Y);
//
// Layout: A is [M,K] row-major uint8 activations (zero point 0), W is [N,K]
// row-major int8 weights (symmetric), Y is [M,N] row-major int32. k follows the
// spec's "C-W-H" im2col order; lanes k = g*T .. g*T+T-1 form thread group g and
// the last group is padded with (0, 0) lanes.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

namespace bnrecal::sysmt {

// Which lanes are idle: kEither (x == 0 or w == 0) is the default; kAct
// (only x == 0) models hardware that does not look at the weights.
enum class IdleRule { kEither, kAct };

// How R4a / R4w drop the 4 LSBs. kRne (round half to even) is the default.
enum class Rounding { kRne, kHalfUp, kTrunc };

struct SysmtConfig {
  int threads = 1;  // T in {1, 2, 4}
  IdleRule idle = IdleRule::kEither;
  Rounding rounding = Rounding::kRne;
};

// int32 accumulators are exact for K <= kMaxK (|Y| <= 65000 * 255 * 128 < 2^31).
inline constexpr int64_t kMaxK = 65000;

// String forms used by the CLI and result files: "either"/"act",
// "rne"/"half_up"/"trunc". Parsing throws InputError naming the bad value.
IdleRule parse_idle_rule(const std::string& text);
Rounding parse_rounding(const std::string& text);
std::string to_string(IdleRule rule);
std::string to_string(Rounding rounding);
// e.g. "T=4 idle=either round=rne"
std::string to_string(const SysmtConfig& config);

// Throws InputError unless T is 1, 2 or 4 and 0 <= K <= kMaxK (int32 bound).
void validate(const SysmtConfig& config, int64_t K = 0);

// R4a: activation 0..255 reduced to its 4 MSBs (same scale), spec section 4.
int reduce_activation4(int x, Rounding rounding);
// R4w: weight -128..127 reduced to a multiple of 16 (or kept if it fits a nibble).
int reduce_weight4(int w, Rounding rounding);

// Readable scalar reference, written straight from the spec (sections 1-5).
void sysmt_gemm_ref(const uint8_t* A, const int8_t* W, int32_t* Y, int64_t M,
                    int64_t N, int64_t K, const SysmtConfig& config);

// Fast exact implementation (OpenMP + oneDNN int8 GEMMs); bit-identical to
// sysmt_gemm_ref on every input. Its operand expansion is picked at run time from
// the CPU's features (bnrecal/arith/dispatch.h, Kernel::kSysmtExpand).
void sysmt_gemm(const uint8_t* A, const int8_t* W, int32_t* Y, int64_t M,
                int64_t N, int64_t K, const SysmtConfig& config);

// Weights expanded once for sysmt_gemm_packed (inference reuses them for every
// batch; expansion costs about as much as a small-M GEMM). The expansion depends on
// where the weights are zero, so it is planned from W. Immutable, cheap to copy.
class SysmtPackedWeights {
 public:
  // W is [N,K] row-major int8; validates config and K (InputError).
  SysmtPackedWeights(const int8_t* W, int64_t N, int64_t K, const SysmtConfig& config);
  const SysmtConfig& config() const { return config_; }
  int64_t n() const { return N_; }
  int64_t k() const { return K_; }
  // Depth of the expanded integer GEMM (K at T = 1, at most 2K at T = 2; at T = 4 at most
  // 2K for weights without zeros, up to 12K; see sysmt_gemm.cpp): its cost against the exact GEMM.
  int64_t expanded_depth() const;
  // The expanded operands, whose exact int8 GEMM sysmt_gemm_packed computes: the weights
  // [N, expanded_depth()] (W itself at T = 1), and rows of activations A [M, K] expanded to match
  // into out [M, expanded_depth()] (OpenMP over rows unless called inside a parallel region).
  const int8_t* expanded_weights() const;
  void expand_activations(const uint8_t* A, int64_t M, uint8_t* out) const;

 private:
  friend void sysmt_gemm_packed(const uint8_t*, int64_t, const SysmtPackedWeights&, int32_t*);
  struct Impl;
  SysmtConfig config_;
  int64_t N_ = 0, K_ = 0;
  std::shared_ptr<const Impl> impl_;
};

// Same result as sysmt_gemm(A, W, Y, M, N, K, config) for the packed W.
void sysmt_gemm_packed(const uint8_t* A, int64_t M, const SysmtPackedWeights& weights,
                       int32_t* Y);

// Per-group products of one thread group (lanes x[0..T), w[0..T)); exposed for
// tests and for the worked examples of spec section 6.
int64_t group_sum(const uint8_t* x, const int8_t* w, const SysmtConfig& config);

namespace detail {
// Tests only: route sysmt_gemm through the portable int8 GEMM instead of oneDNN
// (the portable path is also chosen automatically when oneDNN is not exact).
void force_portable_gemm(bool on);
}  // namespace detail

}  // namespace bnrecal::sysmt
