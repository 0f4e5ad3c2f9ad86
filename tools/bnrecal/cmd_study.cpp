// `bnrecal study CONFIG`: a set of studies on several models from one JSON file (study_set.h),
// run step by step into a journal (one JSON line per finished step) so that a killed run resumes
// with --resume without losing or repeating a step; progress as "step N of M" with an ETA; the
// results as study.json, study.md (tables across models) and study.csv, rewritten after every step.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <vector>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/run_info.h"
#include "bnrecal/core/step_journal.h"
#include "bnrecal/study/study_eta.h"
#include "bnrecal/study/study_set.h"
#include "bnrecal/study/study_set_report.h"
#include "bnrecal/study/study_step.h"
#include "bnrecal/dist/step_queue.h"
#include "cli_common.h"
#include "commands.h"
#include "distributed_job.h"

namespace bnrecal::cli {

namespace {

// The journal's first line: which format its records have.
const nlohmann::json kJournalHeader = {{"bnrecal_study", 1}};

struct StudyFlags {
  std::string config, out;
  bool resume = false, dry_run = false;
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string duration_text(double seconds) {
  char text[32];
  const int s = static_cast<int>(seconds);
  if (s >= 3600) std::snprintf(text, sizeof text, "%dh%02dm", s / 3600, s / 60 % 60);
  else std::snprintf(text, sizeof text, "%dm%02ds", s / 60, s % 60);
  return text;
}

// A record of the journal is reused only if its step is in the config with the same spec.
void check_records(const StudySet& set, const StepJournal& journal, bool quiet) {
  for (const auto& record : journal.records()) {
    const std::string id = record.at("step");
    const StudyStep* step = nullptr;
    for (const auto& s : set.steps) {
      if (s.id == id) step = &s;
    }
    if (!step) {
      if (!quiet) std::cerr << "[study] note: journal step '" << id << "' is not in the config; ignored\n";
      continue;
    }
    require(record.value("spec", nlohmann::json()) == step->spec,
            "journal step '" + id + "' was run with another configuration of its job; restore that "
            "configuration, give the changed job a new \"name\", or choose another --out");
  }
}

void write_reports(const StudySet& set, const StepJournal& journal, const std::filesystem::path& out) {
  nlohmann::json all = assemble_study(set, journal.records());
  write_file_atomic((out / "study.md").string(), study_markdown(all));
  write_file_atomic((out / "study.csv").string(), study_csv(all));
  nlohmann::json j = run_provenance(0, nlohmann::json());
  j.update(all);
  write_file_atomic((out / "study.json").string(), j.dump(2) + "\n");
}

void list_steps(const StudySet& set, const std::filesystem::path& journal_path) {
  std::unique_ptr<StepJournal> journal;
  if (file_exists(journal_path.string())) {
    journal = std::make_unique<StepJournal>(journal_path.string(), kJournalHeader, JournalMode::kRead);
  }
  for (size_t i = 0; i < set.steps.size(); ++i) {
    const StudyStep& s = set.steps[i];
    std::printf("%3zu  %-8s %-60s work %.3g\n", i + 1, journal && journal->done(s.id) ? "done" : "pending",
                s.id.c_str(), s.cost);
  }
}

// The steps not yet in the journal, in config order.
std::vector<const StudyStep*> pending_steps(const StudySet& set, const StepJournal& journal) {
  std::vector<const StudyStep*> pending;
  for (const auto& s : set.steps) {
    if (!journal.done(s.id)) pending.push_back(&s);
  }
  return pending;
}

// Every pending step in this process, in config order, with an ETA from the journal's timings.
void run_steps_alone(const StudySet& set, StepJournal& journal, const std::filesystem::path& out, bool quiet) {
  StudyEta eta(set);
  std::map<std::string, const StudyStep*> by_id;
  for (const auto& s : set.steps) by_id[s.id] = &s;
  for (const auto& record : journal.records()) {  // earlier runs' timings seed the ETA
    const auto it = record.contains("step") ? by_id.find(record["step"].get<std::string>()) : by_id.end();
    if (it != by_id.end() && record.contains("seconds")) eta.add(*it->second, record["seconds"].get<double>());
  }
  const std::vector<const StudyStep*> pending = pending_steps(set, journal);
  int finished = static_cast<int>(set.steps.size() - pending.size());
  const int total = static_cast<int>(set.steps.size());
  for (size_t i = 0; i < pending.size(); ++i) {
    const StudyStep& step = *pending[i];
    const double left = eta.seconds({pending.begin() + static_cast<std::ptrdiff_t>(i), pending.end()});
    const std::string eta_text = left >= 0 ? ", ETA " + duration_text(left) : "";
    const std::string tag = "[study " + std::to_string(finished + 1) + "/" + std::to_string(total) + "] ";
    if (!quiet) std::cerr << tag << "step " << finished + 1 << " of " << total << ": " << step.id << eta_text << "\n";
    const auto step_start = std::chrono::steady_clock::now();
    nlohmann::json result = run_study_step(set.jobs[step.job], step, [&](const std::string& line) {
      if (!quiet) std::cerr << tag << line << "\n";
    });
    const double seconds = seconds_since(step_start);
    journal.append(step.id, {{"spec", step.spec}, {"seconds", seconds}, {"result", result}});
    eta.add(step, seconds);
    ++finished;
    write_reports(set, journal, out);
  }
}

// The pending steps shared by the ranks of a job (dist/step_queue.h): every rank runs steps as it
// becomes free; rank 0 (journal non-null) records everyone's, as they arrive between its own steps
// and at the end.
void run_steps_shared(const StudySet& set, ProcessGroup& job, StepJournal* journal, const std::filesystem::path& out,
                      bool quiet) {
  std::map<std::string, const StudyStep*> by_id;
  for (const auto& s : set.steps) by_id[s.id] = &s;
  std::vector<std::pair<std::string, nlohmann::json>> pending;
  if (journal) {
    for (const StudyStep* s : pending_steps(set, *journal)) pending.emplace_back(s->id, s->spec);
  }
  StepQueue queue(job, pending);
  for (const auto& [id, spec] : queue.pending()) {  // every rank must have read the same config
    const auto it = by_id.find(id);
    require(it != by_id.end() && it->second->spec == spec,
            "step '" + id + "' of rank 0's config differs from this rank's: give every rank the same config and models");
  }
  const int total = static_cast<int>(set.steps.size());
  int recorded = journal ? static_cast<int>(journal->records().size()) : 0;
  auto record = [&](bool wait_for_all) {
    if (!journal) return;
    for (const auto& [index, r] : queue.collect(wait_for_all)) {
      const std::string& id = queue.pending()[index].first;
      journal->append(id, {{"spec", r.at("spec")}, {"seconds", r.at("seconds")}, {"result", r.at("result")}});
      write_reports(set, *journal, out);
      if (!quiet) {
        std::cerr << "[study] recorded " << id << " (rank " << r.at("rank") << ", " << ++recorded << " of " << total
                  << " steps)\n";
      }
    }
  };
  const std::string tag = "[study rank " + std::to_string(job.rank()) + "] ";
  try {
    while (const std::optional<size_t> k = queue.claim()) {
      const StudyStep& step = *by_id.at(queue.pending()[*k].first);
      if (!quiet) std::cerr << tag << "step " << step.id << "\n";
      const auto step_start = std::chrono::steady_clock::now();
      nlohmann::json result = run_study_step(set.jobs[step.job], step, [&](const std::string& line) {
        if (!quiet) std::cerr << tag << line << "\n";
      });
      queue.submit(*k, {{"spec", step.spec}, {"seconds", seconds_since(step_start)}, {"result", result}});
      record(false);
    }
  } catch (const std::exception& e) {
    queue.abort(e.what());
    throw;
  }
  queue.finish();
  record(true);
}

void run_study(const StudyFlags& flags, const CommonOptions& common) {
  const StudySet set = load_study_set(flags.config);
  const std::filesystem::path out =
      flags.out.empty() ? std::filesystem::path("results") / set.name : std::filesystem::path(flags.out);
  const std::filesystem::path journal_path = out / "journal.jsonl";
  if (flags.dry_run) return list_steps(set, journal_path);
  for (const StudyJob& job : set.jobs) {  // a missing model stops the run now, not hours later
    require(file_exists(job.model), job.name + ": model '" + job.model + "' not found");
  }
  ProcessGroup* job = distributed_job();
  // The journal and the reports belong to rank 0 alone (the only process of a single run).
  std::unique_ptr<StepJournal> journal;
  if (reports_results()) {
    journal = std::make_unique<StepJournal>(journal_path.string(), kJournalHeader,
                                            flags.resume ? JournalMode::kResume : JournalMode::kCreate);
    if (journal->dropped_lines() && !common.quiet) std::cerr << "[study] dropped the torn last line of the journal\n";
    check_records(set, *journal, common.quiet);
    if (!common.quiet) {
      std::cerr << "[study] " << set.name << ": " << set.steps.size() << " steps, " << journal->records().size()
                << " already finished; journal " << journal_path.string()
                << (job ? "; " + std::to_string(job->size()) + " processes" : "") << "\n";
    }
  }
  const auto start = std::chrono::steady_clock::now();
  if (job) {
    run_steps_shared(set, *job, journal.get(), out, common.quiet);
  } else {
    run_steps_alone(set, *journal, out, common.quiet);
  }
  if (!journal) return;
  write_reports(set, *journal, out);
  if (!common.quiet) {
    std::cerr << "[study] all " << set.steps.size() << " steps finished (" << duration_text(seconds_since(start))
              << " in this run); " << (out / "study.md").string() << ", study.json, study.csv\n";
  }
  std::printf("%s", read_file((out / "study.md").string()).c_str());
}

}  // namespace

void add_study_command(CLI::App& app) {
  auto flags = std::make_shared<StudyFlags>();
  CLI::App* sub = app.add_subcommand(
      "study", "Run a set of studies (nbsmt, assign, noise, divergence on several models) from a JSON config, step by "
               "step into a resumable journal; writes study.md, study.json and study.csv");
  sub->add_option("config", flags->config, "Study set (JSON; see studies/ and docs/methods.md section 5)")
      ->required()->check(CLI::ExistingFile);
  sub->add_option("--out,-o", flags->out, "Output folder (default results/NAME): journal.jsonl, study.{md,json,csv}");
  sub->add_flag("--resume", flags->resume, "Continue the run in --out: finished steps are kept, the rest are run");
  sub->add_flag("--dry-run", flags->dry_run,
                "List the steps (done or pending in --out's journal, relative work) and exit; changes nothing");
  auto common = add_common_options(*sub, /*distributed=*/true);
  sub->callback([flags, common] {
    apply_common_options(*common);
    run_study(*flags, *common);
  });
}

}  // namespace bnrecal::cli
