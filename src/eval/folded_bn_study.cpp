#include "bnrecal/eval/folded_bn_study.h"

#include <map>

#include "bnrecal/core/error.h"

#include "bnrecal/models/onnx_model.h"
#include "bnrecal/nn/policy_resolution.h"
#include "bnrecal/onnx/batch_norm_folding.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/recal/recalibrate.h"

namespace bnrecal {

nlohmann::json FoldedBnDraw::to_json() const {
  return {{"seed", seed},
          {"unfolded", unfolded.to_json()},
          {"folded", folded.to_json()},
          {"folded_vs_unfolded_plain", folded_vs_unfolded_plain.to_json()},
          {"folded_vs_unfolded_recalibrated", folded_vs_unfolded_recalibrated.to_json()}};
}

nlohmann::json RenormOptions::to_json() const {
  return {{"epsilon", epsilon == RenormEpsilon::kMatched ? "matched" : "fixed"},
          {"target", target == RenormTarget::kTraining ? "training" : "measured"}};
}

nlohmann::json FoldedBnStudy::to_json() const {
  nlohmann::json d = nlohmann::json::array();
  for (const auto& x : draws) d.push_back(x.to_json());
  return {{"renorm", renorm.to_json()},
          {"folded_layers", folded_layers},
          {"renormalized_layers", renormalized_layers},
          {"clean_unfolded", clean_unfolded.to_json()},
          {"clean_folded", clean_folded.to_json()},
          {"clean_folded_vs_unfolded", clean_folded_vs_unfolded.to_json()},
          {"draws", d},
          {"recalibrated_overall", recalibrated_overall.to_json()}};
}

FoldedBnStudy run_folded_bn_study(LoadedModel& model, const StudyData& data, const StudyProtocol& protocol,
                                  const PolicySpec& perturbation, int64_t perturbation_draws, uint64_t seed,
                                  const RenormOptions& renorm_options) {
  require(perturbation_draws >= 1, "the folded-BN study needs at least one perturbation draw");
  FoldedBnStudy study;
  study.renorm = renorm_options;
  OnnxModel unfolded_graph = onnx_graph_of(model);
  OnnxModel folded_graph = unfolded_graph;
  study.folded_layers = fold_batch_norms(folded_graph);
  require(study.folded_layers > 0, "the model has no BatchNorm directly after a conv to fold");
  const std::map<std::string, FoldedScale> scales = folded_scales(unfolded_graph);
  const bool matched = renorm_options.epsilon == RenormEpsilon::kMatched;
  const std::vector<RenormLayer> layers =
      add_renormalization(folded_graph, matched ? scales : std::map<std::string, FoldedScale>{});
  std::vector<std::string> renorm;
  for (const auto& l : layers) renorm.push_back(l.name);
  study.renormalized_layers = static_cast<int>(renorm.size());
  GraphNetwork unfolded(unfolded_graph.graph, unfolded_graph.values), folded(folded_graph.graph, folded_graph.values);
  unfolded.eval();
  folded.eval();
  check_study_inputs(unfolded, data, protocol);

  // The re-normalization layers learn the clean model's statistics first: the identity on it. A
  // recalibration draw then moves them from the clean to the perturbed statistics, and both are
  // measured on that draw's own training images (as `bnrecal recalibrate` does): their sampling
  // errors are shared and largely cancel, where a clean target from other images would add its
  // own. The clean statistics come from a copy of the folded network that is never perturbed.
  protocol.say("folded: " + std::to_string(study.folded_layers) + " BatchNorms folded, " +
               std::to_string(study.renormalized_layers) + " re-normalization layers estimated on clean images");
  const RecalProtocol& r = protocol.recal;
  GraphNetwork never_perturbed(folded_graph.graph, folded_graph.values);
  const std::vector<BatchNorm2dImpl*> targets = bn_layers_named(folded, renorm);
  const std::vector<BatchNorm2dImpl*> clean_estimates = bn_layers_named(never_perturbed, renorm);
  // The training target, per layer that follows a folded BN, in its input's units (z / g when matched).
  std::vector<std::pair<at::Tensor, at::Tensor>> training_moments(renorm.size());
  if (renorm_options.target == RenormTarget::kTraining) {
    for (size_t i = 0; i < layers.size(); ++i) {
      auto s = scales.find(layers[i].output);
      if (s == scales.end()) continue;
      const at::Tensor unit = matched ? s->second.g.reciprocal() : at::ones_like(s->second.g);
      training_moments[i] = {(s->second.training_mean * unit).to(at::kFloat),
                             (s->second.training_variance * unit.square()).to(at::kFloat)};
    }
  }
  auto set_clean_target = [&](uint64_t images_seed) {
    LoaderBatchStream images(data.train, LoaderOptions::sample(r.images, r.batch_for(folded, data.train.image_shape()),
                                                              images_seed, r.augment, protocol.eval.normalization));
    estimate_renormalization(never_perturbed, images, renorm);
    at::NoGradGuard no_grad;
    for (size_t i = 0; i < targets.size(); ++i) {
      targets[i]->weight.copy_(clean_estimates[i]->weight);
      targets[i]->bias.copy_(clean_estimates[i]->bias);
      targets[i]->running_mean.copy_(clean_estimates[i]->running_mean);
      targets[i]->running_var.copy_(clean_estimates[i]->running_var);
      const auto& [mean, variance] = training_moments[i];
      if (!mean.defined()) continue;
      targets[i]->running_mean.copy_(mean);
      targets[i]->running_var.copy_(variance);
      targets[i]->bias.copy_(mean);
      targets[i]->weight.copy_((variance + targets[i]->options.eps()).sqrt());
    }
  };
  set_clean_target(seed);
  const int64_t limit = protocol.eval.limit;
  study.clean_unfolded = evaluate_test(unfolded, data.test, protocol.eval, limit);
  study.clean_folded = evaluate_test(folded, data.test, protocol.eval, limit);
  study.clean_folded_vs_unfolded = compare_paired(study.clean_unfolded.correct, study.clean_folded.correct);
  protocol.say("clean: unfolded " + fixed(study.clean_unfolded.top1) + " %, folded " + fixed(study.clean_folded.top1) +
               " % (" + paired_text(study.clean_folded_vs_unfolded) + ")");

  const BnSnapshot clean_unfolded(unfolded), clean_folded(folded);
  for (int64_t k = 0; k < perturbation_draws; ++k) {
    FoldedBnDraw draw;
    draw.seed = seed + static_cast<uint64_t>(k);
    apply_policy(unfolded, perturbation, draw.seed, model.card.calibration);
    apply_policy(folded, perturbation, draw.seed, model.card.calibration);
    draw.unfolded = measure_plain_and_recalibrated(unfolded, data, protocol, draw.seed, clean_unfolded);
    // Each draw's target replaces the re-normalization layers' gamma/beta as well as their
    // statistics; the snapshot restores all four, so the next seed starts from clean_folded.
    draw.folded = measure_plain_and_recalibrated(folded, data, protocol, draw.seed, clean_folded, set_clean_target);
    draw.folded_vs_unfolded_plain = compare_paired(draw.unfolded.plain.correct, draw.folded.plain.correct);
    std::vector<PairedAccuracy> recal;
    for (size_t i = 0; i < draw.folded.recalibrated.draws.size(); ++i) {
      const auto& a = draw.unfolded.recalibrated.draws[i].correct;
      const auto& b = draw.folded.recalibrated.draws[i].correct;
      recal.push_back(compare_paired(a, b));
      study.recalibrated_overall.add(a, b);
    }
    draw.folded_vs_unfolded_recalibrated = repeated_gain(std::move(recal));
    protocol.say("seed " + std::to_string(draw.seed) + ": plain unfolded " + fixed(draw.unfolded.plain.top1) +
                 " %, folded " + fixed(draw.folded.plain.top1) + " %; recalibrated unfolded " +
                 fixed(draw.unfolded.recalibrated.top1.mean) + " %, folded " + fixed(draw.folded.recalibrated.top1.mean) +
                 " % (folded - unfolded " + paired_text(draw.folded_vs_unfolded_recalibrated) + ")");
    study.draws.push_back(std::move(draw));
  }
  return study;
}

}  // namespace bnrecal
