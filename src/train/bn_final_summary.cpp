#include "bnrecal/train/bn_final_summary.h"

#include <algorithm>
#include <cmath>

namespace bnrecal {

std::vector<double> BnFinalRun::last_top1(int64_t last) const {
  std::vector<double> out;
  const int64_t n = static_cast<int64_t>(series.size());
  for (int64_t i = std::max<int64_t>(0, n - last); i < n; ++i) out.push_back(series[i].at("top1").get<double>());
  return out;
}

nlohmann::json BnFinalRun::to_json() const {
  return {{"dataset", dataset}, {"arch", arch}, {"setting", setting}, {"bn", bn}, {"seed", seed},
          {"series", series},   {"end_top1", end_top1}, {"recal_final_top1", recal_final_top1},
          {"seconds", seconds}};
}

BnFinalRun BnFinalRun::from_json(const nlohmann::json& j) {
  BnFinalRun r;
  r.dataset = j.at("dataset");
  r.arch = j.at("arch");
  r.setting = j.at("setting");
  r.bn = j.at("bn");
  r.seed = j.at("seed");
  r.series = j.at("series");
  r.end_top1 = j.value("end_top1", -1.0);
  r.recal_final_top1 = j.value("recal_final_top1", -1.0);
  r.seconds = j.value("seconds", 0.0);
  return r;
}

nlohmann::json BnFinalPair::to_json() const {
  return {{"seed", seed}, {"pop", pop}, {"final", final}, {"pop_jitter", pop_jitter},
          {"final_jitter", final_jitter}, {"pop_end", pop_end}, {"final_end", final_end},
          {"pop_recal_final", pop_recal_final}};
}

nlohmann::json PairedDifference::to_json() const {
  return {{"mean", mean}, {"standard_error", standard_error}, {"pairs", pairs}};
}

PairedDifference paired_difference(const std::vector<double>& differences) {
  const SeedStat s = seed_stat(differences);
  PairedDifference d;
  d.pairs = static_cast<int64_t>(differences.size());
  d.mean = s.mean;
  if (d.pairs > 1) d.standard_error = s.std / std::sqrt(static_cast<double>(d.pairs));
  return d;
}

nlohmann::json BnFinalCell::to_json() const {
  nlohmann::json p = nlohmann::json::array();
  for (const auto& pair : pairs) p.push_back(pair.to_json());
  return {{"dataset", dataset},
          {"arch", arch},
          {"setting", setting},
          {"pop", pop.to_json()},
          {"final", final.to_json()},
          {"pop_recal_final", pop_recal_final.to_json()},
          {"pairs", p},
          {"difference_final_minus_pop", difference.to_json()},
          {"jitter_difference_final_minus_pop", jitter_difference.to_json()},
          {"end_difference_final_minus_pop", end_difference.to_json()},
          {"difference_recal_final_minus_pop_end", recal_difference.to_json()},
          {"pop_jitter", pop_jitter},
          {"final_jitter", final_jitter}};
}

nlohmann::json BnFinalSettingSummary::to_json() const {
  return {{"setting", setting},
          {"difference_final_minus_pop", difference.to_json()},
          {"jitter_difference_final_minus_pop", jitter_difference.to_json()},
          {"end_difference_final_minus_pop", end_difference.to_json()},
          {"difference_recal_final_minus_pop_end", recal_difference.to_json()}};
}

namespace {

bool same_cell(const BnFinalRun& a, const BnFinalRun& b) {
  return a.dataset == b.dataset && a.arch == b.arch && a.setting == b.setting;
}

const BnFinalRun* find_run(const std::vector<BnFinalRun>& runs, const BnFinalRun& cell, const char* bn, uint64_t seed) {
  for (const BnFinalRun& r : runs) {
    if (same_cell(r, cell) && r.bn == bn && r.seed == seed) return &r;
  }
  return nullptr;
}

double mean_of(const std::vector<BnFinalPair>& pairs, double BnFinalPair::*field) {
  double sum = 0;
  for (const auto& p : pairs) sum += p.*field;
  return pairs.empty() ? 0.0 : sum / static_cast<double>(pairs.size());
}

// The differences of every pair, field a minus field b (pairs where either is missing skipped).
std::vector<double> differences(const std::vector<BnFinalPair>& pairs, double BnFinalPair::*a, double BnFinalPair::*b) {
  std::vector<double> d;
  for (const auto& p : pairs) {
    if (p.*a >= 0 && p.*b >= 0) d.push_back(p.*a - p.*b);
  }
  return d;
}

// Fills difference, jitter_difference, end_difference and recal_difference (a cell or a setting).
template <class Summary>
void fill_differences(const std::vector<BnFinalPair>& pairs, Summary& s) {
  s.difference = paired_difference(differences(pairs, &BnFinalPair::final, &BnFinalPair::pop));
  s.jitter_difference = paired_difference(differences(pairs, &BnFinalPair::final_jitter, &BnFinalPair::pop_jitter));
  s.end_difference = paired_difference(differences(pairs, &BnFinalPair::final_end, &BnFinalPair::pop_end));
  s.recal_difference = paired_difference(differences(pairs, &BnFinalPair::pop_recal_final, &BnFinalPair::pop_end));
}

BnFinalCell summarize_cell(const std::vector<BnFinalRun>& runs, const BnFinalRun& first, int64_t last) {
  BnFinalCell cell;
  cell.dataset = first.dataset;
  cell.arch = first.arch;
  cell.setting = first.setting;
  std::vector<double> pop, final, recal;
  for (const BnFinalRun& r : runs) {
    if (!same_cell(r, first)) continue;
    const std::vector<double> values = r.last_top1(last);
    std::vector<double>& into = r.bn == "final" ? final : pop;
    into.insert(into.end(), values.begin(), values.end());
    if (r.bn == "pop" && r.recal_final_top1 >= 0) recal.push_back(r.recal_final_top1);
    const BnFinalRun* partner = r.bn == "pop" ? find_run(runs, r, "final", r.seed) : nullptr;
    if (partner == nullptr) continue;
    const SeedStat p = seed_stat(values), f = seed_stat(partner->last_top1(last));
    cell.pairs.push_back({r.seed, p.mean, f.mean, p.std, f.std, r.end_top1, partner->end_top1, r.recal_final_top1});
  }
  cell.pop = seed_stat(pop);
  cell.final = seed_stat(final);
  cell.pop_recal_final = seed_stat(recal);
  cell.pop_jitter = mean_of(cell.pairs, &BnFinalPair::pop_jitter);
  cell.final_jitter = mean_of(cell.pairs, &BnFinalPair::final_jitter);
  fill_differences(cell.pairs, cell);
  return cell;
}

}  // namespace

std::vector<BnFinalCell> summarize_bn_final(const std::vector<BnFinalRun>& runs, int64_t last) {
  std::vector<BnFinalCell> cells;
  for (const BnFinalRun& run : runs) {
    const bool seen = std::any_of(cells.begin(), cells.end(), [&](const BnFinalCell& c) {
      return c.dataset == run.dataset && c.arch == run.arch && c.setting == run.setting;
    });
    if (!seen) cells.push_back(summarize_cell(runs, run, last));
  }
  return cells;
}

std::vector<BnFinalSettingSummary> summarize_bn_final_settings(const std::vector<BnFinalCell>& cells) {
  std::vector<BnFinalSettingSummary> out;
  for (const BnFinalCell& cell : cells) {
    const bool seen = std::any_of(out.begin(), out.end(), [&](const auto& s) { return s.setting == cell.setting; });
    if (seen) continue;
    std::vector<BnFinalPair> pairs;
    for (const BnFinalCell& c : cells) {
      if (c.setting == cell.setting) pairs.insert(pairs.end(), c.pairs.begin(), c.pairs.end());
    }
    BnFinalSettingSummary s;
    s.setting = cell.setting;
    fill_differences(pairs, s);
    out.push_back(s);
  }
  return out;
}

}  // namespace bnrecal
