#include "study_report.h"

#include <sstream>

#include "bnrecal/study/study_set_report.h"

namespace bnrecal::cli {

namespace {

std::string recal_text(const nlohmann::json& config) {
  const nlohmann::json& recal = config.at("recal");
  return recal.value("estimator", "?") + ", " + std::to_string(recal.value("images", 0)) + " training images";
}

std::string with_stderr(const EvalResult& r) { return fixed(r.top1) + " +- " + fixed(r.top1_stderr); }

std::string signed_text(double v) { return (v >= 0 ? "+" : "") + fixed(v); }

// "batch 1, momentum 0.001, update after, batch variance[, warm-up 5000 training images]"
std::string streaming_text(const nlohmann::json& streaming) {
  std::ostringstream s;
  s << "batch " << streaming.value("batch_size", 0) << ", momentum " << streaming.value("momentum_pytorch", 0.0)
    << ", update " << streaming.value("order", "?") << ", " << streaming.value("variance", "batch") << " variance";
  const int64_t warmup = streaming.value("warmup_images", int64_t{0});
  if (warmup > 0) s << ", warm-up " << warmup << " training images";
  return s.str();
}

const char* kPairedNote =
    "Paired differences are measured image by image on the same test images: difference +- its standard error "
    "from the discordant images; * marks a McNemar test significant at 95 % (for repeated draws: the mean "
    "difference, the root-mean-square standard error and how many draws are significant).";

std::string seed_cell(const SeedStat& s, bool spread) {
  return fixed(s.mean) + (spread ? " +- " + fixed(s.std) : "");
}

// Mean +- std over the recalibration draws.
std::string draws_cell(const RecalOutcome& r) { return seed_cell(r.top1, r.draws.size() > 1); }

void quantization_table(std::ostringstream& md, const nlohmann::json& q, const std::string& model_name) {
  if (!q.is_object() || !q.contains("fp32")) return;
  auto cell = [&](const char* key) {
    if (!q.contains(key)) return std::string("n/a");
    const auto& r = q.at(key);
    return fixed(r.value("top1", 0.0)) + " +- " + fixed(r.value("top1_stderr", 0.0));
  };
  std::string recal = "n/a", gain = "n/a", a8w8_loss = "n/a";
  if (q.contains("a8w8_recal")) {
    const auto& r = q.at("a8w8_recal");
    recal = fixed(r.at("top1").at("mean").get<double>()) + " +- " + fixed(r.at("top1").at("std").get<double>());
    gain = signed_text(r.at("gain").at("difference").at("mean").get<double>()) + " +- " +
           fixed(r.at("gain").at("standard_error").get<double>());
    const auto& d = q.at("a8w8").at("vs_fp32");
    a8w8_loss = signed_text(d.at("difference").get<double>()) + " +- " + fixed(d.at("standard_error").get<double>());
  }
  md << "\n| model | FP32 | A8W8 | A8W8 - FP32 (paired) | A8W8 + recal (mean +- std over draws) | recal gain (paired) |\n"
     << "|---|---|---|---|---|---|\n| " << model_name << " | " << cell("fp32") << " | " << cell("a8w8") << " | "
     << a8w8_loss << " | " << recal << " | " << gain << " |\n";
  if (q.contains("note")) md << "\n" << q["note"].get<std::string>() << "\n";
}

void diagnostics_table(std::ostringstream& md, const NbsmtSetting& s, int64_t images) {
  md << "\nPer-layer diagnostics, " << s.label << " (" << images
     << " training images):\n\n| layer | K | MACs/image | T | collision rate | x changed | w changed | MSE |\n"
     << "|---|---|---|---|---|---|---|---|\n";
  for (const auto& l : s.layers) {
    md << "| " << l.name << " | " << l.k << " | " << l.macs << " | " << l.threads << " | ";
    if (l.accelerated) {
      md << fixed(l.collision_rate, 4) << " | " << fixed(l.activation_changed, 4) << " | "
         << fixed(l.weight_changed, 4) << " | " << fixed(l.mse, 1) << " |\n";
    } else {
      md << "- | - | - | - |\n";
    }
  }
}

}  // namespace

std::string noise_study_markdown(const NoiseStudyResult& r, const std::string& model_name) {
  std::ostringstream md;
  md << "Top-1 (%) under analog weight noise (" << r.config.value("noise_preset", "?")
     << "), plain / recalibrated, mean +- std over " << r.seeds << " seed(s), " << r.test_images
     << " test images; recalibration: " << recal_text(r.config) << ".\n\n";
  md << "| model |";
  for (const auto& c : r.cells) md << " eta0=" << fixed(c.eta, 2) << " |";
  md << "\n|---|";
  for (size_t i = 0; i < r.cells.size(); ++i) md << "---|";
  md << "\n| " << model_name << " |";
  for (const auto& c : r.cells) {
    md << " " << seed_cell(c.plain, r.seeds > 1) << " / " << seed_cell(c.recalibrated, c.recalibrated.values.size() > 1)
       << " |";
  }
  md << "\n| recal gain (paired) |";
  for (const auto& c : r.cells) md << " " << paired_text(c.gain) << " |";
  if (r.config.contains("streaming")) {
    const nlohmann::json& s = r.config["streaming"];
    md << "\n| streaming (" << streaming_text(s) << ") |";
    for (const auto& c : r.cells) md << " " << seed_cell(c.streamed, r.seeds > 1) << " |";
    md << "\n| streaming gain (paired) |";
    for (const auto& c : r.cells) md << " " << paired_text(c.streaming_gain) << " |";
  }
  md << "\n";
  quantization_table(md, r.quantization, model_name);
  md << "\n" << kPairedNote << "\n";
  return md.str();
}

namespace {

// "+1.23 +- 0.40 (3/3 *)": the mean paired difference, the RMS standard error, the significant runs.
std::string dense_gain_text(const DenseGain& g) {
  return signed_text(g.difference.mean) + " +- " + fixed(g.standard_error) + " (" +
         std::to_string(g.significant_runs) + "/" + std::to_string(g.runs) + " *)";
}

}  // namespace

std::string dense_noise_study_markdown(const DenseNoiseStudyResult& r, const std::string& model_name) {
  std::ostringstream md;
  md << model_name << ", " << r.task << ", " << r.test_images << " test images, analog weight noise ("
     << r.config.value("noise_preset", "?") << "); scores in %, mean +- std over " << r.seeds
     << " noise seed(s); recalibration: " << recal_text(r.config);
  if (r.streamed) {
    const nlohmann::json& s = r.config["streaming"];
    md << "; streaming: " << streaming_text(s);
  }
  md << ". Without noise:";
  for (const NamedScore& c : r.clean) md << " " << c.metric << " " << fixed(c.value);
  md << ".\n\n| eta0 | metric | plain | offline recal | gain (paired) |";
  if (r.streamed) md << " streaming | gain (paired) |";
  md << "\n|---|---|---|---|---|" << (r.streamed ? "---|---|" : "") << "\n";
  for (const DenseNoiseCell& c : r.cells) {
    for (const DenseMetricCell& m : c.metrics) {
      md << "| " << fixed(c.eta, 2) << " | " << m.metric << " | " << seed_cell(m.plain, r.seeds > 1) << " | "
         << seed_cell(m.recalibrated, m.recalibrated.values.size() > 1) << " | " << dense_gain_text(m.gain) << " |";
      if (r.streamed) {
        md << " " << seed_cell(m.streamed, r.seeds > 1) << " | " << dense_gain_text(m.streaming_gain) << " |";
      }
      md << "\n";
    }
  }
  md << "\nPaired differences are taken on the same test images: B - A +- the standard deviation of B - A over "
        "bootstrap resamples of the images shared by both runs; * marks |difference| > 1.96 standard errors. Over "
        "repeated runs (noise seeds x recalibration draws): the mean difference, the root-mean-square standard "
        "error and how many runs are significant.\n";
  return md.str();
}

std::string nbsmt_study_markdown(const NbsmtStudyResult& r, const std::string& model_name) {
  std::ostringstream md;
  md << "Top-1 (%) +- stderr, " << r.fp32.n << " test images, " << model_name << "; recalibration: "
     << recal_text(r.config) << "; sysmt channel order: " << r.config.value("channel_order", "identity") << ".\n\n";
  md << "| setting | top-1 | vs A8W8 (paired) | recal gain (paired) | speedup (all) | speedup (accelerated) |\n"
     << "|---|---|---|---|---|---|\n";
  md << "| FP32 | " << with_stderr(r.fp32) << " | - | - | 1.000 | 1.000 |\n";
  md << "| A8W8 | " << with_stderr(r.a8w8) << " | - (vs FP32: " << paired_text(r.a8w8_vs_fp32)
     << ") | - | 1.000 | 1.000 |\n";
  for (const auto& s : r.settings) {
    const std::string speed = " | " + fixed(s.speedup_all, 3) + " | " + fixed(s.speedup_accelerated, 3) + " |\n";
    md << "| " << s.label << " w/o recal | " << with_stderr(s.plain) << " | " << paired_text(s.vs_a8w8) << " | -" << speed;
    md << "| " << s.label << " with recal | " << draws_cell(s.recalibrated) << " | - | " << paired_text(s.recalibrated.gain)
       << speed;
  }
  for (const auto& s : r.settings) diagnostics_table(md, s, r.config.value("diag_images", 0));
  if (!r.sweep.empty()) {
    md << "\nMixed settings (highest-MSE layers decelerated first):\n\n"
       << "| setting | speedup (all) | speedup (accelerated) | w/o recal | with recal | recal gain (paired) |\n"
       << "|---|---|---|---|---|---|\n";
    for (const auto& s : r.sweep) {
      md << "| " << s.label << " | " << fixed(s.speedup_all, 3) << " | " << fixed(s.speedup_accelerated, 3)
         << " | " << with_stderr(s.plain) << " | " << draws_cell(s.recalibrated) << " | "
         << paired_text(s.recalibrated.gain) << " |\n";
    }
  }
  md << "\n" << kPairedNote << " With recal: mean +- std over " << r.config.at("recal").value("draws", 1)
     << " draw(s) of recalibration images.\n";
  return md.str();
}

std::string assignment_markdown(const AssignmentResult& r, const std::string& model_name) {
  return "Per-layer NB-SMT thread assignment, " + model_name + ". " + kPairedNote + "\n\n" +
         assignment_table(r.to_json());
}

std::string divergence_markdown(const DivergenceResult& r, const std::string& model_name) {
  std::ostringstream md;
  md << model_name << ", " << r.config.at("perturbed").dump() << " against " << r.config.at("clean").dump() << ", "
     << r.images << " test images, " << r.config.value("bins", 0)
     << " bins per channel; recalibration: " << recal_text(r.config)
     << ". KL(clean || perturbed) and JS at each BN layer's output, mean over channels (nats). Statistics gap: "
        "the running statistics against the exact moments of the layer's input under the perturbation, mean over "
        "channels of |mu_run - mu| / sigma and |ln(var_run / var)|.\n\n"
     << "| BN layer | KL plain | KL recal | JS plain | JS recal | mean gap original / recal | "
        "variance gap original / recal |\n|---|---|---|---|---|---|---|\n";
  for (const auto& l : r.layers) {
    md << "| " << l.name << " | " << fixed(l.kl_plain, 4) << " | " << fixed(l.kl_recalibrated, 4) << " | "
       << fixed(l.js_plain, 4) << " | " << fixed(l.js_recalibrated, 4) << " | " << fixed(l.original.mean, 3)
       << " / " << fixed(l.recalibrated.mean, 3) << " | " << fixed(l.original.variance, 3) << " / "
       << fixed(l.recalibrated.variance, 3) << " |\n";
  }
  return md.str();
}

namespace {

std::string paired_cell(const PairedDifference& d) {
  if (d.pairs == 0) return "-";
  return (d.mean >= 0 ? "+" : "") + fixed(d.mean) + (d.pairs > 1 ? " +- " + fixed(d.standard_error) : "") +
         " (n=" + std::to_string(d.pairs) + ")";
}

}  // namespace

std::string bn_final_study_markdown(const BnFinalStudyResult& r) {
  std::ostringstream md;
  const nlohmann::json& c = r.config;
  md << "Top-1 (%) on the test split: mean +- std of the last " << c.value("last", 0) << " of "
     << c.value("evaluations", 0) << " evaluations of each of " << c.value("seeds", 0)
     << " training runs (the paper's error bars). Differences are paired by seed (BN-pop and BN-final runs of "
        "one seed share initialisation and batch order): mean over seeds +- standard error, n = pairs. Jitter: "
        "std over a run's last evaluations, mean over runs. At the end: each saved model evaluated once after "
        "its last step. pop + final recal: the saved BN-pop models given the statistics of one training batch "
        "(`final` estimator), compared with the same models at the end.\n";
  std::string group;
  for (const BnFinalCell& cell : r.cells) {
    const std::string g = cell.dataset + ", " + cell.arch;
    if (g != group) {
      group = g;
      md << "\n" << g << ":\n\n| setting | BN-pop | BN-final | final - pop | jitter pop / final | pop + final recal |\n"
         << "|---|---|---|---|---|---|\n";
    }
    md << "| " << cell.setting << " | " << seed_cell(cell.pop, true) << " | " << seed_cell(cell.final, true) << " | "
       << paired_cell(cell.difference) << " | " << fixed(cell.pop_jitter) << " / " << fixed(cell.final_jitter) << " | "
       << (cell.pop_recal_final.values.empty() ? "-" : seed_cell(cell.pop_recal_final, true)) << " |\n";
  }
  md << "\nEach setting pooled over every dataset, architecture and seed (paired differences, mean +- standard "
        "error):\n\n| setting | BN-final - BN-pop | jitter BN-final - BN-pop | at the end: BN-final - BN-pop | "
        "at the end: (pop + final recal) - BN-pop |\n|---|---|---|---|---|\n";
  for (const BnFinalSettingSummary& s : r.settings) {
    md << "| " << s.setting << " | " << paired_cell(s.difference) << " | " << paired_cell(s.jitter_difference) << " | "
       << paired_cell(s.end_difference) << " | " << paired_cell(s.recal_difference) << " |\n";
  }
  return md.str();
}

}  // namespace bnrecal::cli
