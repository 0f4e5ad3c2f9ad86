#include "bnrecal/study/study_set_report.h"

#include <map>
#include <sstream>

#include "bnrecal/eval/study_protocol.h"

namespace bnrecal {

namespace {

const nlohmann::json* find_result(const std::vector<nlohmann::json>& records, const std::string& id) {
  for (const auto& r : records) {
    if (r.value("step", "") == id) return &r.at("result");
  }
  return nullptr;
}

void append_all(nlohmann::json& to, const nlohmann::json& from) {
  for (const auto& item : from) to.push_back(item);
}

// The job's finished steps joined into its study's shape.
nlohmann::json assemble_job(const StudySet& set, size_t index, const std::vector<nlohmann::json>& records) {
  const StudyJob& job = set.jobs[index];
  nlohmann::json out = {{"name", job.name}, {"experiment", job.experiment}, {"model", job.model}};
  nlohmann::json settings = nlohmann::json::array(), sweep = nlohmann::json::array(),
                 cells = nlohmann::json::array(), divergences = nlohmann::json::array();
  int steps = 0, done = 0;
  for (const StudyStep& step : set.steps) {
    if (step.job != index) continue;
    ++steps;
    const nlohmann::json* r = find_result(records, step.id);
    if (!r) continue;
    ++done;
    out["arch"] = r->value("arch", "");
    out["data"] = r->value("data", "");
    if (r->contains("test_images")) out["test_images"] = r->at("test_images");
    for (const char* key : {"fp32", "a8w8", "a8w8_vs_fp32"}) {
      if (r->contains(key) && !out.contains(key)) out[key] = r->at(key);
    }
    if (r->contains("settings")) append_all(settings, r->at("settings"));
    if (r->contains("sweep")) append_all(sweep, r->at("sweep"));
    if (r->contains("noise")) append_all(cells, r->at("noise"));
    if (step.first_of_job && r->contains("quantization")) out["quantization"] = r->at("quantization");
    if (job.experiment == "assign") out["assignment"] = *r;
    if (job.experiment == "divergence") divergences.push_back({{"perturbation", step.part}, {"result", *r}});
  }
  out["steps"] = steps;
  out["steps_done"] = done;
  if (job.experiment == "nbsmt") {
    out["settings"] = settings;
    out["sweep"] = sweep;
  } else if (job.experiment == "noise") {
    out["noise"] = cells;
  } else if (job.experiment == "divergence") {
    out["divergences"] = divergences;
  }
  return out;
}

// Reading the studies' JSON (SeedStat, RecalOutcome, RepeatedGain, EvalResult).
double num(const nlohmann::json& j, const char* key) { return j.contains(key) ? j.at(key).get<double>() : 0.0; }
std::string mean_std(const nlohmann::json& stat) {
  const bool spread = stat.contains("values") && stat.at("values").size() > 1;
  return fixed(num(stat, "mean")) + (spread ? " +- " + fixed(num(stat, "std")) : "");
}
std::string signed_fixed(double v) { return (v >= 0 ? "+" : "") + fixed(v); }
std::string gain_text(const nlohmann::json& gain) {
  const auto& d = gain.at("difference");
  const size_t draws = d.contains("values") ? d.at("values").size() : 1;
  return signed_fixed(num(d, "mean")) + " +- " + fixed(num(gain, "standard_error")) + " (" +
         std::to_string(gain.value("significant_draws", 0)) + "/" + std::to_string(draws) + ")";
}
std::string paired_cell(const nlohmann::json& p) {
  return signed_fixed(num(p, "difference")) + " +- " + fixed(num(p, "standard_error")) +
         (p.value("significant", false) ? " *" : "");
}
std::string job_title(const nlohmann::json& job) {
  std::string t = job.value("name", "?");
  const int steps = job.value("steps", 0), done = job.value("steps_done", 0);
  if (done < steps) t += " (" + std::to_string(done) + " of " + std::to_string(steps) + " steps)";
  return t;
}

void nbsmt_tables(std::ostringstream& md, const nlohmann::json& jobs) {
  md << "\n## NB-SMT (SySMT)\n\n| job | FP32 | A8W8 (vs FP32) | setting | speedup | plain (vs A8W8) | recalibrated | "
        "gain (significant draws) |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& job : jobs) {
    if (job.value("experiment", "") != "nbsmt" || !job.contains("fp32")) continue;
    bool first = true;
    for (const auto& s : job.at("settings")) {
      md << "| " << (first ? job_title(job) : "") << " | "
         << (first ? fixed(num(job.at("fp32"), "top1")) : "") << " | "
         << (first ? fixed(num(job.at("a8w8"), "top1")) + " (" + paired_cell(job.at("a8w8_vs_fp32")) + ")" : "")
         << " | " << s.value("label", "") << " | " << fixed(num(s, "speedup_all"), 3) << " | "
         << fixed(num(s.at("plain"), "top1")) << " (" << paired_cell(s.at("vs_a8w8")) << ") | "
         << mean_std(s.at("recalibrated").at("top1")) << " | " << gain_text(s.at("recalibrated").at("gain")) << " |\n";
      first = false;
    }
  }
  for (const auto& job : jobs) {
    if (job.value("experiment", "") != "nbsmt" || job.at("sweep").empty()) continue;
    md << "\nSweep, " << job_title(job) << " (layers decelerated by MSE rank on training images):\n\n"
       << "| point | speedup | plain | recalibrated | gain |\n|---|---|---|---|---|\n";
    for (const auto& s : job.at("sweep")) {
      md << "| " << s.value("label", "") << " | " << fixed(num(s, "speedup_all"), 3) << " | "
         << fixed(num(s.at("plain"), "top1")) << " | " << mean_std(s.at("recalibrated").at("top1")) << " | "
         << gain_text(s.at("recalibrated").at("gain")) << " |\n";
    }
  }
}

void noise_table(std::ostringstream& md, const nlohmann::json& jobs) {
  md << "\n## Analog weight noise\n\n| job | eta0 | plain (over seeds) | recalibrated (seeds x draws) | "
        "gain (significant runs) |\n|---|---|---|---|---|\n";
  for (const auto& job : jobs) {
    if (job.value("experiment", "") != "noise") continue;
    bool first = true;
    const nlohmann::json q = job.value("quantization", nlohmann::json::object());
    if (q.contains("a8w8_recal")) {
      md << "| " << job_title(job) << " | A8W8, no noise | " << fixed(num(q.at("a8w8"), "top1")) << " | "
         << mean_std(q.at("a8w8_recal").at("top1")) << " | " << gain_text(q.at("a8w8_recal").at("gain")) << " |\n";
      first = false;
    }
    for (const auto& c : job.at("noise")) {
      md << "| " << (first ? job_title(job) : "") << " | " << fixed(num(c, "eta"), 3) << " | "
         << mean_std(c.at("plain_top1")) << " | " << mean_std(c.at("recalibrated_top1")) << " | "
         << gain_text(c.at("gain")) << " |\n";
      first = false;
    }
  }
}

void assignment_tables(std::ostringstream& md, const nlohmann::json& jobs) {
  for (const auto& job : jobs) {
    if (job.value("experiment", "") != "assign" || !job.contains("assignment")) continue;
    md << "\n## Per-layer thread assignment, " << job_title(job) << "\n\n" << assignment_table(job.at("assignment"));
  }
}

// Mean over BN layers of a per-layer key.
double layer_mean(const nlohmann::json& layers, const std::string& key, const std::string& sub = "") {
  double sum = 0;
  for (const auto& l : layers) sum += sub.empty() ? num(l, key.c_str()) : num(l.at(key), sub.c_str());
  return layers.empty() ? 0 : sum / static_cast<double>(layers.size());
}

void divergence_table(std::ostringstream& md, const nlohmann::json& jobs) {
  md << "\n## Activation divergence (means over BN layers, BN outputs on held-out test images)\n\n"
        "| job | perturbation | JS plain | JS recalibrated | KL plain | KL recalibrated | mean gap original | "
        "mean gap recalibrated |\n|---|---|---|---|---|---|---|---|\n";
  for (const auto& job : jobs) {
    if (job.value("experiment", "") != "divergence") continue;
    for (const auto& d : job.at("divergences")) {
      const auto& layers = d.at("result").at("layers");
      md << "| " << job_title(job) << " | " << d.value("perturbation", "") << " | "
         << fixed(layer_mean(layers, "js_plain"), 4) << " | " << fixed(layer_mean(layers, "js_recalibrated"), 4)
         << " | " << fixed(layer_mean(layers, "kl_plain"), 4) << " | "
         << fixed(layer_mean(layers, "kl_recalibrated"), 4) << " | "
         << fixed(layer_mean(layers, "statistics_gap_original", "mean"), 3) << " | "
         << fixed(layer_mean(layers, "statistics_gap_recalibrated", "mean"), 3) << " |\n";
    }
  }
}

}  // namespace

std::string assignment_table(const nlohmann::json& a) {
  std::ostringstream md;
  const nlohmann::json& a8w8 = a.at("a8w8");
  md << "Chosen on " << a.at("study").value("validation_images", 0) << " validation images (training split) within "
     << fixed(a.at("study").value("budget", 0.0)) << " points of A8W8 (" << fixed(num(a, "validation_a8w8_top1"))
     << " % on validation); test A8W8 " << fixed(num(a8w8, "top1")) << " +- " << fixed(num(a8w8, "top1_stderr"))
     << " on " << a8w8.value("n", 0) << " test images.\n\n"
     << "| point | speedup | validation (recal) | test plain | test recal | MSE sweep speedup | MSE sweep recal | "
        "greedy - MSE |\n|---|---|---|---|---|---|---|---|\n";
  const auto& path = a.at("path");
  for (size_t i = 0; i < path.size(); ++i) {
    const auto& g = path[i];
    const auto& m = a.at("mse_sweep")[i];
    md << "| " << g.value("label", "") << (static_cast<int64_t>(i) == a.value("chosen", -1) ? " (chosen)" : "")
       << " | " << fixed(num(g, "speedup_all"), 3) << " | " << fixed(num(g, "validation_top1")) << " | "
       << fixed(num(g.at("plain"), "top1")) << " | " << mean_std(g.at("recalibrated").at("top1")) << " | "
       << fixed(num(m, "speedup_all"), 3) << " | " << mean_std(m.at("recalibrated").at("top1")) << " | "
       << gain_text(a.at("greedy_vs_mse")[i]) << " |\n";
  }
  if (a.value("chosen", -1) < 0) md << "\nNo evaluated point is within the budget on the validation images.\n";
  return md.str();
}

nlohmann::json assemble_study(const StudySet& set, const std::vector<nlohmann::json>& records) {
  nlohmann::json jobs = nlohmann::json::array();
  int done = 0;
  for (size_t i = 0; i < set.jobs.size(); ++i) {
    jobs.push_back(assemble_job(set, i, records));
    done += jobs.back().value("steps_done", 0);
  }
  return {{"name", set.name}, {"steps", set.steps.size()}, {"steps_done", done}, {"jobs", jobs}};
}

std::string study_markdown(const nlohmann::json& all) {
  std::ostringstream md;
  md << "# Study set " << all.value("name", "") << " (" << all.value("steps_done", 0) << " of "
     << all.value("steps", 0) << " steps)\n\n"
     << "Top-1 in percent on the same test images throughout. Paired differences: mean +- standard error from the "
        "discordant images; * marks a McNemar test significant at 95 %; (k/n): draws or runs significant.\n";
  std::map<std::string, bool> present;
  for (const auto& job : all.at("jobs")) {
    if (job.value("steps_done", 0) > 0) present[job.value("experiment", "")] = true;  // no empty tables
  }
  if (present["nbsmt"]) nbsmt_tables(md, all.at("jobs"));
  if (present["assign"]) assignment_tables(md, all.at("jobs"));
  if (present["noise"]) noise_table(md, all.at("jobs"));
  if (present["divergence"]) divergence_table(md, all.at("jobs"));
  return md.str();
}

std::string study_csv(const nlohmann::json& all) {
  std::ostringstream csv;
  csv << "job,arch,experiment,setting,eta,speedup,images,plain_top1,plain_std,recal_top1,recal_std,gain,gain_se,"
         "significant_draws,draws\n";
  auto row = [&](const nlohmann::json& job, const std::string& setting, const std::string& eta, const std::string& speedup,
                 const nlohmann::json& plain, const nlohmann::json& recal) {
    csv << job.value("name", "") << "," << job.value("arch", "") << "," << job.value("experiment", "") << ","
        << "\"" << setting << "\"," << eta << "," << speedup << ","
        << (plain.contains("n") ? plain.value("n", 0) : job.value("test_images", 0)) << ",";
    const bool stat = plain.contains("mean");
    csv << fixed(num(plain, stat ? "mean" : "top1"), 4) << "," << (stat ? fixed(num(plain, "std"), 4) : "") << ",";
    if (recal.is_null()) {
      csv << ",,,,,\n";
      return;
    }
    const auto& gain = recal.at("gain");
    csv << fixed(num(recal.at("top1"), "mean"), 4) << "," << fixed(num(recal.at("top1"), "std"), 4) << ","
        << fixed(num(gain.at("difference"), "mean"), 4) << "," << fixed(num(gain, "standard_error"), 4) << ","
        << gain.value("significant_draws", 0) << "," << gain.at("difference").value("values", nlohmann::json::array()).size()
        << "\n";
  };
  for (const auto& job : all.at("jobs")) {
    const std::string kind = job.value("experiment", "");
    if (kind == "nbsmt" && job.contains("fp32")) {
      row(job, "fp32", "", "", job.at("fp32"), nullptr);
      row(job, "a8w8", "", "1", job.at("a8w8"), nullptr);
      for (const char* list : {"settings", "sweep"}) {
        for (const auto& s : job.at(list)) {
          row(job, s.value("label", ""), "", fixed(num(s, "speedup_all"), 4), s.at("plain"), s.at("recalibrated"));
        }
      }
    } else if (kind == "assign" && job.contains("assignment")) {
      const auto& a = job.at("assignment");
      row(job, "a8w8", "", "1", a.at("a8w8"), nullptr);
      for (const char* list : {"path", "mse_sweep"}) {
        for (const auto& s : a.at(list)) {
          row(job, s.value("label", ""), "", fixed(num(s, "speedup_all"), 4), s.at("plain"), s.at("recalibrated"));
        }
      }
    } else if (kind == "noise") {
      const nlohmann::json q = job.value("quantization", nlohmann::json::object());
      if (q.contains("a8w8_recal")) row(job, "a8w8", "", "1", q.at("a8w8"), q.at("a8w8_recal"));
      for (const auto& c : job.at("noise")) {
        nlohmann::json recal = {{"top1", c.at("recalibrated_top1")}, {"gain", c.at("gain")}};
        row(job, "noise", fixed(num(c, "eta"), 3), "", c.at("plain_top1"), recal);
      }
    }
  }
  return csv.str();
}

}  // namespace bnrecal
