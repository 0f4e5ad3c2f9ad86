// Fast exact SySMT GEMM: the perturbed dot products are rewritten as ONE exact
// u8 x s8 -> s32 GEMM over an expanded depth, run by oneDNN.
//
// Why this is exact: lane j of a group adds (spec section 5), with c = the number of OTHER
// active lanes,
//   x*w          if c = 0,
//   R4a(x)*w     if c = 1 (and for every c >= 1 at T = 2),
//   R4a(x)*R4w(w) if c >= 2 (T = 4),
// and nothing when it is idle itself (x, R4a(x), w or R4w(w) vanish). For one output channel
// the weights are known, so which other lanes CAN be active is known too: the set S of other
// lanes whose weight is nonzero (idle rule `either`), or all of them (`act`). Given S, c counts
// the lanes of S with a nonzero activation, an activation-only quantity. So lane j's
// contribution is
//   w * [R4a(x) if c >= 1 else x]  +  (R4w(w) - w) * [R4a(x) if c >= 2 else 0]
// with both brackets functions of the activations alone: two columns of the expanded GEMM
// (sysmt_expand.h's kind-1 and kind-2 variants of S), whose weight-side values are w and
// R4w(w) - w for that channel and 0 for channels with another S. A lane needs one column pair
// per distinct S among the output channels: with dense weights one pair (or one column at T = 2,
// or when no weight of the lane changes under R4w), at most 8 + 4 columns at T = 4. The plan is
// therefore built from the weights (SysmtPackedWeights). Every value is in 0..255 on the
// activation side and in -128..127 on the weight side, so the GEMM is the hardware's integer
// arithmetic, only regrouped; its int32 accumulation wraps (VNNI, portable_gemm), so the result
// is exact whenever the true sum is within int32, which spec section 2's bound guarantees.
//
// Activations are expanded in row chunks of about 4 MB by a row kernel chosen at run time
// (sysmt_expand_avx512.cpp, else sysmt_expand_portable.cpp).
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <vector>

#include "oneapi/dnnl/dnnl.h"

#include "bnrecal/arith/sysmt.h"
#include "dispatch_variants.h"
#include "sysmt_expand.h"

namespace bnrecal::sysmt {
namespace {

using namespace expand;

// Portable exact int8 GEMM (row-major, B transposed), used when oneDNN's
// kernel is not exact on this CPU. Unsigned accumulation: wraps like VNNI.
void portable_gemm(const uint8_t* A, int64_t lda, const int8_t* B, int64_t ldb,
                   int32_t* C, int64_t ldc, int64_t M, int64_t N, int64_t K) {
#pragma omp parallel for schedule(static)
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      uint32_t acc = 0;
      const uint8_t* a = A + m * lda;
      const int8_t* b = B + n * ldb;
      for (int64_t k = 0; k < K; ++k) acc += uint32_t(int32_t(a[k]) * int32_t(b[k]));
      C[m * ldc + n] = static_cast<int32_t>(acc);
    }
  }
}

// Expansion kernels, fastest first (bnrecal/arith/dispatch.h, Kernel::kSysmtExpand).
struct ExpandKernels {
  ExpandActivationRow a_row;
  WeightRowVariants w_variants;
  ExpandWeightRow w_row;
};

arith::detail::Variants<ExpandKernels>& expand_kernels() {
  static arith::detail::Variants<ExpandKernels> table({
#ifdef BNRECAL_HAVE_X86_KERNELS
      {"avx512_vbmi", arith::detail::cpu_has_avx512_vbmi,
       {expand_a_row_avx512, weight_row_variants_avx512, expand_w_row_avx512}},
#endif
      {"portable", arith::detail::cpu_any,
       {expand_a_row_portable, weight_row_variants_portable, expand_w_row_portable}},
  });
  return table;
}

std::atomic<int> g_force_portable{0};

// oneDNN's u8s8s32 GEMM saturates int16 intermediates on CPUs without VNNI
// (vpmaddubsw); probe it once with the worst case and fall back if it is not exact.
bool onednn_gemm_is_exact() {
  static const bool exact = [] {
    const int64_t M = 3, N = 5, K = 70;
    std::vector<uint8_t> a(M * K, 255);
    std::vector<int8_t> b(N * K);
    for (int64_t i = 0; i < N * K; ++i) b[i] = (i % 3 == 0) ? -128 : 127;
    std::vector<int32_t> c(M * N, 0), ref(M * N, 0);
    const int32_t zero = 0;
    if (dnnl_gemm_u8s8s32('N', 'T', 'F', M, N, K, 1.0f, a.data(), K, 0, b.data(), K, 0,
                          0.0f, c.data(), N, &zero) != dnnl_success)
      return false;
    portable_gemm(a.data(), K, b.data(), K, ref.data(), N, M, N, K);
    return c == ref;
  }();
  return exact;
}

void int8_gemm(const uint8_t* A, int64_t lda, const int8_t* B, int64_t ldb, int32_t* C,
               int64_t ldc, int64_t M, int64_t N, int64_t K) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t m = 0; m < M; ++m) std::fill(C + m * ldc, C + m * ldc + N, 0);
    return;
  }
  if (!g_force_portable.load() && onednn_gemm_is_exact()) {
    const int32_t zero = 0;
    if (dnnl_gemm_u8s8s32('N', 'T', 'F', M, N, K, 1.0f, A, lda, 0, B, ldb, 0, 0.0f, C, ldc,
                          &zero) == dnnl_success)
      return;
  }
  portable_gemm(A, lda, B, ldb, C, ldc, M, N, K);
}

}  // namespace

namespace detail {
void force_portable_gemm(bool on) { g_force_portable.store(on ? 1 : 0); }
}  // namespace detail
}  // namespace bnrecal::sysmt

namespace bnrecal::arith::detail {
VariantSet& sysmt_expand_variants() { return sysmt::expand_kernels(); }
}  // namespace bnrecal::arith::detail

namespace bnrecal::sysmt {

struct SysmtPackedWeights::Impl {
  std::unique_ptr<Plan> plan;      // null for T = 1 (the expanded weights are W itself)
  std::vector<Segment> segments;   // plan->segments points here
  std::vector<int8_t> w_ext;       // [N, ld]
  int64_t ld = 0;
};

SysmtPackedWeights::SysmtPackedWeights(const int8_t* W, int64_t N, int64_t K,
                                       const SysmtConfig& config)
    : config_(config), N_(N), K_(K) {
  validate(config, K);
  auto impl = std::make_shared<Impl>();
  if (config.threads == 1 || K == 0) {
    impl->w_ext.assign(W, W + N * K);
    impl->ld = K;
    impl_ = std::move(impl);
    return;
  }
  const ExpandKernels& kernels = expand_kernels().active();
  const int T = config.threads;
  const bool act = config.idle == IdleRule::kAct;
  const int64_t blocks = (K + kBlock - 1) / kBlock, masks = blocks * kVariants;
  // Which lanes use each variant, over all output channels.
  std::vector<uint64_t> needed(masks, 0);
#pragma omp parallel
  {
    std::vector<uint64_t> mine(masks, 0), row(masks);
#pragma omp for schedule(static) nowait
    for (int64_t n = 0; n < N; ++n) {
      kernels.w_variants(W + n * K, K, T, act, row.data());
      for (int64_t i = 0; i < masks; ++i) mine[i] |= row[i];
    }
#pragma omp critical
    for (int64_t i = 0; i < masks; ++i) needed[i] |= mine[i];
  }
  // One segment per (block, variant) some lane uses: the expanded row's columns, in order.
  int64_t columns = 0;
  for (int64_t b = 0; b < blocks; ++b)
    for (int v = 0; v < kVariants; ++v) {
      const uint64_t lanes = needed[b * kVariants + v];
      if (lanes == 0) continue;
      Segment seg{};
      seg.k0 = b * kBlock;
      seg.offset = columns;
      seg.variant = v;
      for (int i = 0; i < kBlock; ++i)
        if ((lanes >> i) & 1) seg.perm[seg.count++] = static_cast<uint8_t>(i);
      columns += seg.count;
      impl->segments.push_back(seg);
    }
  auto plan = std::make_unique<Plan>();
  plan->T = T;
  plan->columns = columns;
  plan->segments = impl->segments.data();
  plan->n_segments = static_cast<int64_t>(impl->segments.size());
  for (int x = 0; x < 256; ++x)
    plan->rx[x] = static_cast<uint8_t>(reduce_activation4(x, config.rounding));
  for (int w = -128; w < 128; ++w)
    plan->delta[static_cast<uint8_t>(w)] = static_cast<int8_t>(reduce_weight4(w, config.rounding) - w);
  // Weight side, every column written (0 where the channel does not use it).
  impl->ld = columns;
  impl->w_ext.resize(static_cast<size_t>(N * columns));
#pragma omp parallel
  {
    std::vector<uint64_t> row(masks);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < N; ++n) {
      kernels.w_variants(W + n * K, K, T, act, row.data());
      kernels.w_row(*plan, W + n * K, K, row.data(), impl->w_ext.data() + n * columns);
    }
  }
  impl->plan = std::move(plan);
  impl_ = std::move(impl);
}

int64_t SysmtPackedWeights::expanded_depth() const { return impl_->ld; }

const int8_t* SysmtPackedWeights::expanded_weights() const { return impl_->w_ext.data(); }

void SysmtPackedWeights::expand_activations(const uint8_t* A, int64_t M, uint8_t* out) const {
  const int64_t K = K_, ld = impl_->ld;
  if (!impl_->plan) {  // T = 1 (or K = 0): the rows themselves
    std::copy(A, A + M * K, out);
    return;
  }
  if (ld == 0) return;
  const Plan& plan = *impl_->plan;
  const ExpandActivationRow expand_a_row = expand_kernels().active().a_row;
#pragma omp parallel for schedule(static) if (M * ld >= (int64_t{1} << 16))
  for (int64_t r = 0; r < M; ++r) expand_a_row(plan, A + r * K, K, out + r * ld);
}

void sysmt_gemm_packed(const uint8_t* A, int64_t M, const SysmtPackedWeights& weights,
                       int32_t* Y) {
  const SysmtPackedWeights::Impl& w = *weights.impl_;
  const int64_t N = weights.N_, K = weights.K_;
  if (M <= 0 || N <= 0) return;
  if (!w.plan) {  // 1T is the exact GEMM (K = 0 gives zeros)
    int8_gemm(A, K, w.w_ext.data(), K, Y, N, M, N, K);
    return;
  }
  const Plan& plan = *w.plan;
  const int64_t ld = w.ld;
  if (ld == 0) {  // every weight is zero
    std::fill(Y, Y + M * N, 0);
    return;
  }
  // Row chunks keep the expanded activations around 4 MB (never M x ld at once).
  const int64_t chunk = std::max<int64_t>(64, (int64_t{4} << 20) / ld);
  // Per calling thread and kept: allocating megabytes per call costs page faults every call.
  thread_local std::vector<uint8_t> a_ext;
  if (a_ext.size() < static_cast<size_t>(std::min(chunk, M) * ld))
    a_ext.resize(static_cast<size_t>(std::min(chunk, M) * ld));
  uint8_t* const a_buf = a_ext.data();  // named inside the parallel loop, a_ext is the worker's own
  const ExpandActivationRow expand_a_row = expand_kernels().active().a_row;
  for (int64_t m0 = 0; m0 < M; m0 += chunk) {
    const int64_t rows = std::min(chunk, M - m0);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < rows; ++r)
      expand_a_row(plan, A + (m0 + r) * K, K, a_buf + r * ld);
    int8_gemm(a_buf, ld, w.w_ext.data(), ld, Y + m0 * N, N, rows, N, ld);
  }
}

void sysmt_gemm(const uint8_t* A, const int8_t* W, int32_t* Y, int64_t M, int64_t N,
                int64_t K, const SysmtConfig& config) {
  validate(config, K);
  if (M <= 0 || N <= 0) return;
  if (config.threads == 1 || K == 0) {  // no expansion needed: skip the weight copy
    int8_gemm(A, K, W, K, Y, N, M, N, K);
    return;
  }
  sysmt_gemm_packed(A, M, SysmtPackedWeights(W, N, K, config), Y);
}

}  // namespace bnrecal::sysmt
