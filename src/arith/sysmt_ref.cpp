// SySMT configuration helpers, the 4-bit reductions and the scalar reference
// GEMM. Written to be read next to docs/sysmt-arithmetic.md, not to be fast.
#include "bnrecal/arith/sysmt.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "bnrecal/core/error.h"

namespace bnrecal::sysmt {

IdleRule parse_idle_rule(const std::string& text) {
  if (text == "either") return IdleRule::kEither;
  if (text == "act") return IdleRule::kAct;
  throw InputError("unknown SySMT idle rule '" + text + "' (expected either|act)");
}

Rounding parse_rounding(const std::string& text) {
  if (text == "rne") return Rounding::kRne;
  if (text == "half_up") return Rounding::kHalfUp;
  if (text == "trunc") return Rounding::kTrunc;
  throw InputError("unknown SySMT rounding '" + text + "' (expected rne|half_up|trunc)");
}

std::string to_string(IdleRule rule) {
  return rule == IdleRule::kEither ? "either" : "act";
}

std::string to_string(Rounding rounding) {
  switch (rounding) {
    case Rounding::kRne: return "rne";
    case Rounding::kHalfUp: return "half_up";
    case Rounding::kTrunc: return "trunc";
  }
  throw std::logic_error("invalid Rounding value");
}

std::string to_string(const SysmtConfig& config) {
  return "T=" + std::to_string(config.threads) + " idle=" + to_string(config.idle) +
         " round=" + to_string(config.rounding);
}

void validate(const SysmtConfig& config, int64_t K) {
  require(config.threads == 1 || config.threads == 2 || config.threads == 4,
          "SySMT threads T=" + std::to_string(config.threads) + " not supported (expected 1, 2 or 4)");
  require(K >= 0 && K <= kMaxK, "GEMM depth K=" + std::to_string(K) +
                                    " outside 0.." + std::to_string(kMaxK) +
                                    " (int32 accumulators would overflow)");
}

int reduce_activation4(int x, Rounding rounding) {
  if (x < 16) return x;  // fits in the 4 LSBs: exact
  int q = x >> 4;
  const int rb = (x >> 3) & 1;      // first dropped bit
  const int st = (x & 7) != 0;      // sticky bit
  switch (rounding) {
    case Rounding::kRne: q += rb & (st | (q & 1)); break;
    case Rounding::kHalfUp: q += rb; break;
    case Rounding::kTrunc: break;
  }
  if (q == 16) q = 15;  // saturate: 255 must not become 256
  return q << 4;
}

int reduce_weight4(int w, Rounding rounding) {
  if (w >= -8 && w <= 7) return w;  // fits a signed nibble: exact
  // floor division (w >> 4 is an arithmetic shift, i.e. floor, for negatives too)
  int q = w >> 4;
  const int r = w - 16 * q;  // 0..15
  switch (rounding) {
    case Rounding::kRne: q += (r > 8) || (r == 8 && (q & 1)); break;
    case Rounding::kHalfUp: q += (r >= 8); break;
    case Rounding::kTrunc: break;
  }
  q = std::min(q, 7);
  return q * 16;
}

namespace {

bool lane_active(int x, int w, IdleRule idle) {
  if (idle == IdleRule::kAct) return x != 0;
  return x != 0 && w != 0;
}

}  // namespace

int64_t group_sum(const uint8_t* x, const int8_t* w, const SysmtConfig& config) {
  const int T = config.threads;
  int active = 0;
  for (int j = 0; j < T; ++j) active += lane_active(x[j], w[j], config.idle);
  int64_t sum = 0;
  for (int j = 0; j < T; ++j) {
    if (!lane_active(x[j], w[j], config.idle)) continue;  // an idle lane adds 0
    int xv = x[j];
    int wv = w[j];
    if (active >= 2) xv = reduce_activation4(xv, config.rounding);   // table, section 5
    if (T == 4 && active >= 3) wv = reduce_weight4(wv, config.rounding);
    sum += static_cast<int64_t>(xv) * wv;
  }
  return sum;
}

void sysmt_gemm_ref(const uint8_t* A, const int8_t* W, int32_t* Y, int64_t M,
                    int64_t N, int64_t K, const SysmtConfig& config) {
  validate(config, K);
  const int T = config.threads;
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      int64_t acc = 0;
      for (int64_t k0 = 0; k0 < K; k0 += T) {
        uint8_t x[4] = {0, 0, 0, 0};  // padding lanes: (x = 0, w = 0)
        int8_t w[4] = {0, 0, 0, 0};
        for (int j = 0; j < T && k0 + j < K; ++j) {
          x[j] = A[m * K + k0 + j];
          w[j] = W[n * K + k0 + j];
        }
        acc += group_sum(x, w, config);
      }
      if (acc < std::numeric_limits<int32_t>::min() || acc > std::numeric_limits<int32_t>::max())
        throw std::logic_error("SySMT accumulator overflowed int32 despite K bound");
      Y[m * N + n] = static_cast<int32_t>(acc);
    }
  }
}

}  // namespace bnrecal::sysmt
