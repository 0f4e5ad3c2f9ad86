// Putting a model into an NB-SMT setting layer by layer, and reading its per-layer diagnostics:
// what the NB-SMT study, its sweep and the thread-assignment search share.
//
//   bnrecal::apply_thread_assignment(*net, base, seed, card.calibration, {2, 4, 4, 1, ...});
//   auto rows = bnrecal::nbsmt_layer_rows(*net, macs);   // T, MSE, collisions per layer
#pragma once
#include <vector>

#include "bnrecal/eval/nbsmt_study.h"
#include "bnrecal/nn/layer_macs.h"

namespace bnrecal {

// The base spec as SySMT at T threads (diagnostics off).
PolicySpec sysmt_spec(const PolicySpec& base, int threads);
// Applies base as SySMT, then gives the i-th accelerated layer (network order) threads[i] threads.
void apply_thread_assignment(Network& model, const PolicySpec& base, uint64_t seed,
                             const ModelCalibration& calibration, const std::vector<int>& threads);
// One row per conv/linear layer (macs: count_layer_macs of the model) with its current T and
// the diagnostics its SySMT policy collected.
std::vector<NbsmtLayerRow> nbsmt_layer_rows(Network& model, const std::vector<LayerMacs>& macs);
// The model's current setting as a row of the study: its layers (nbsmt_layer_rows), speedups,
// accuracy without and with recalibration (protocol's draws; BN put back to `clean`) and the
// paired difference to `a8w8` (same test images); logged through the protocol.
NbsmtSetting measure_nbsmt_setting(std::string label, Network& model, const std::vector<LayerMacs>& macs,
                                   const StudyData& data, const StudyProtocol& protocol, uint64_t seed,
                                   const BnSnapshot& clean, const EvalResult& a8w8);
// Resets and collects the SySMT diagnostics on the first `images` images of source (0: none).
void collect_sysmt_diagnostics(Network& model, const DataSource& source, const EvalProtocol& protocol,
                               int64_t images);

}  // namespace bnrecal
