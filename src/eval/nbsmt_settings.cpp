#include "bnrecal/eval/nbsmt_settings.h"

#include "bnrecal/core/error.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/nn/sysmt_policy.h"

namespace bnrecal {

namespace {

SysmtPolicy* sysmt_of(const ArithLayerRef& l) { return dynamic_cast<SysmtPolicy*>(&l.policy()); }

// Replaces the sysmt policy of layer l by one with T threads (same calibration, idle, rounding).
void set_threads(const ArithLayerRef& l, int threads) {
  SysmtPolicy* p = sysmt_of(l);
  if (!p || p->params().config.threads == threads) return;
  SysmtParams params = p->params();
  params.config.threads = threads;
  params.collect_diagnostics = false;
  l.set_policy(std::make_shared<SysmtPolicy>(p->layer(), params));
}

}  // namespace

PolicySpec sysmt_spec(const PolicySpec& base, int threads) {
  PolicySpec spec = base;
  spec.policy = "sysmt";
  spec.params.set("smt", threads);
  spec.params.set("diagnostics", false);
  return spec;
}

void apply_thread_assignment(Network& model, const PolicySpec& base, uint64_t seed,
                             const ModelCalibration& calibration, const std::vector<int>& threads) {
  apply_policy(model, sysmt_spec(base, 4), seed, calibration);
  size_t i = 0;
  for (const auto& l : arith_layers(model)) {
    if (!sysmt_of(l)) continue;
    TORCH_CHECK(i < threads.size(), "thread assignment shorter than the accelerated layers");
    set_threads(l, threads[i++]);
  }
  TORCH_CHECK(i == threads.size(), "thread assignment longer than the accelerated layers");
}

std::vector<NbsmtLayerRow> nbsmt_layer_rows(Network& model, const std::vector<LayerMacs>& macs) {
  std::vector<NbsmtLayerRow> rows;
  const auto layers = arith_layers(model);
  for (size_t i = 0; i < layers.size(); ++i) {
    NbsmtLayerRow r;
    r.name = layers[i].name;
    r.k = macs[i].k;
    r.macs = macs[i].macs;
    if (SysmtPolicy* p = sysmt_of(layers[i])) {
      r.accelerated = true;
      r.threads = p->params().config.threads;
      const sysmt::SysmtDiagnostics d = p->diagnostics();
      r.collision_rate = d.collision_rate();
      r.mse = d.mse_vs_exact();
      r.activation_changed = d.activation_changed_fraction();
      r.weight_changed = d.weight_changed_fraction();
    }
    rows.push_back(r);
  }
  return rows;
}

NbsmtSetting measure_nbsmt_setting(std::string label, Network& model, const std::vector<LayerMacs>& macs,
                                   const StudyData& data, const StudyProtocol& protocol, uint64_t seed,
                                   const BnSnapshot& clean, const EvalResult& a8w8) {
  NbsmtSetting s;
  s.label = std::move(label);
  s.layers = nbsmt_layer_rows(model, macs);
  s.speedup_all = nbsmt_speedup(s.layers, false);
  s.speedup_accelerated = nbsmt_speedup(s.layers, true);
  const PlainAndRecalibrated m = measure_plain_and_recalibrated(model, data, protocol, seed, clean);
  s.plain = m.plain;
  s.recalibrated = m.recalibrated;
  s.vs_a8w8 = compare_paired(a8w8.correct, s.plain.correct);
  protocol.say(s.label + " (S " + fixed(s.speedup_all, 3) + " all, " + fixed(s.speedup_accelerated, 3) +
               " accelerated): plain " + fixed(s.plain.top1) + " %, recal " + fixed(s.recalibrated.top1.mean) +
               " % (gain " + paired_text(s.recalibrated.gain) + ")");
  return s;
}

void collect_sysmt_diagnostics(Network& model, const DataSource& source, const EvalProtocol& protocol,
                               int64_t images) {
  const auto layers = arith_layers(model);
  for (const auto& l : layers) {
    if (SysmtPolicy* p = sysmt_of(l)) {
      p->reset_statistics();
      p->set_collect_diagnostics(true);
    }
  }
  if (images != 0) evaluate_test(model, source, protocol, images);
  for (const auto& l : layers) {
    if (SysmtPolicy* p = sysmt_of(l)) p->set_collect_diagnostics(false);
  }
}

}  // namespace bnrecal
