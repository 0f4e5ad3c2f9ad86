#include "bnrecal/eval/paired_accuracy.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace bnrecal {

nlohmann::json PairedAccuracy::to_json() const {
  return {{"n", n},       {"only_a", only_a},   {"only_b", only_b}, {"difference", difference},
          {"standard_error", standard_error}, {"p_value", p_value}, {"significant", significant()}};
}

double mcnemar_exact_p(int64_t only_a, int64_t only_b) {
  const int64_t m = only_a + only_b, k = std::min(only_a, only_b);
  if (m == 0) return 1.0;
  // P(X <= k) for X ~ Bin(m, 1/2), summed in log space: m reaches the test-set size.
  const double log_half_m = -static_cast<double>(m) * std::log(2.0);
  const double lgamma_m1 = std::lgamma(static_cast<double>(m) + 1);
  double tail = 0;
  for (int64_t i = 0; i <= k; ++i) {
    const double log_choose = lgamma_m1 - std::lgamma(static_cast<double>(i) + 1) -
                              std::lgamma(static_cast<double>(m - i) + 1);
    tail += std::exp(log_choose + log_half_m);
  }
  return std::min(1.0, 2.0 * tail);
}

PairedAccuracy compare_paired(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size()) {
    throw std::invalid_argument("paired comparison of " + std::to_string(a.size()) + " and " +
                                std::to_string(b.size()) + " images: both must be evaluated on the same images");
  }
  PairedAccuracy r;
  r.n = static_cast<int64_t>(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] && !b[i]) ++r.only_a;
    if (b[i] && !a[i]) ++r.only_b;
  }
  if (r.n == 0) return r;
  const double n = static_cast<double>(r.n);
  const double d = static_cast<double>(r.only_b - r.only_a) / n;
  const double discordant = static_cast<double>(r.only_a + r.only_b) / n;
  r.difference = 100.0 * d;
  r.standard_error = 100.0 * std::sqrt(std::max(0.0, discordant - d * d) / n);
  r.p_value = mcnemar_exact_p(r.only_a, r.only_b);
  return r;
}

RepeatedGain repeated_gain(std::vector<PairedAccuracy> draws) {
  RepeatedGain g;
  std::vector<double> differences;
  double squared = 0;
  for (const PairedAccuracy& d : draws) {
    differences.push_back(d.difference);
    squared += d.standard_error * d.standard_error;
    g.significant_draws += d.significant() ? 1 : 0;
  }
  g.difference = seed_stat(differences);
  if (!draws.empty()) g.standard_error = std::sqrt(squared / static_cast<double>(draws.size()));
  g.draws = std::move(draws);
  return g;
}

nlohmann::json RepeatedGain::to_json() const {
  nlohmann::json per_draw = nlohmann::json::array();
  for (const auto& d : draws) per_draw.push_back(d.to_json());
  return {{"difference", difference.to_json()}, {"standard_error", standard_error},
          {"significant_draws", significant_draws}, {"draws", per_draw}};
}

void PooledDifference::add(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
  if (a.size() != b.size() || (pairs_ > 0 && a.size() != sum_.size())) {
    throw std::invalid_argument("pooled paired comparison of " + std::to_string(a.size()) + " and " +
                                std::to_string(b.size()) + " images after pairs of " + std::to_string(sum_.size()) +
                                ": every pair must be evaluated on the same images");
  }
  if (pairs_ == 0) sum_.assign(a.size(), 0);
  for (size_t i = 0; i < a.size(); ++i) sum_[i] += static_cast<int64_t>(b[i] != 0) - static_cast<int64_t>(a[i] != 0);
  ++pairs_;
}

double PooledDifference::difference() const {
  if (sum_.empty()) return 0;
  double total = 0;
  for (int64_t s : sum_) total += static_cast<double>(s);
  return 100.0 * total / (static_cast<double>(pairs_) * static_cast<double>(sum_.size()));
}

double PooledDifference::standard_error() const {
  if (sum_.empty()) return 0;
  const double n = static_cast<double>(sum_.size()), mean = difference() / 100.0;
  double squares = 0;
  for (int64_t s : sum_) {
    const double d = static_cast<double>(s) / static_cast<double>(pairs_) - mean;
    squares += d * d;
  }
  return 100.0 * std::sqrt(squares / n / n);  // the population variance, as compare_paired
}

double PooledDifference::p_value() const {
  const double se = standard_error();
  if (se == 0) return difference() == 0 ? 1.0 : 0.0;
  return std::erfc(std::fabs(difference() / se) / std::sqrt(2.0));
}

nlohmann::json PooledDifference::to_json() const {
  return {{"pairs", pairs_}, {"images", images()}, {"difference", difference()},
          {"standard_error", standard_error()}, {"p_value", p_value()}};
}

namespace {

std::string signed_fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%+.2f", v);
  return buf;
}

}  // namespace

std::string paired_text(const PairedAccuracy& d) {
  char se[32];
  std::snprintf(se, sizeof se, "%.2f", d.standard_error);
  return signed_fixed(d.difference) + " +- " + se + (d.significant() ? " *" : "");
}

std::string paired_text(const RepeatedGain& g) {
  if (g.draws.size() == 1) return paired_text(g.draws.front());
  char se[32];
  std::snprintf(se, sizeof se, "%.2f", g.standard_error);
  return signed_fixed(g.difference.mean) + " +- " + se + " (" + std::to_string(g.significant_draws) + "/" +
         std::to_string(g.draws.size()) + " *)";
}

std::string paired_text(const PooledDifference& g) {
  char se[32];
  std::snprintf(se, sizeof se, "%.2f", g.standard_error());
  return signed_fixed(g.difference()) + " +- " + se + " (" + std::to_string(g.pairs()) + " pairs)" +
         (g.p_value() < 0.05 ? " *" : "");
}

}  // namespace bnrecal
