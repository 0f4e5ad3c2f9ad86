// Every subcommand registers itself on the application; one file per subcommand.
#pragma once
#include <CLI/CLI.hpp>

namespace bnrecal {
void add_gemm_command(CLI::App& app);  // tools/bnrecal/cmd_gemm.cpp
}  // namespace bnrecal

namespace bnrecal::cli {

// Thrown by a command that ran a child whose failure is already reported (launch): main exits
// with this code and prints nothing more.
struct ExitStatus {
  int code;
};

void add_models_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_calibrate_command(CLI::App& app);
void add_recalibrate_command(CLI::App& app);
void add_experiment_command(CLI::App& app);
void add_experiment_noise_command(CLI::App& experiment);  // cmd_experiment_noise.cpp
void add_experiment_nbsmt_command(CLI::App& experiment);  // cmd_experiment_nbsmt.cpp
void add_experiment_divergence_command(CLI::App& experiment);  // cmd_experiment_divergence.cpp
void add_experiment_assign_command(CLI::App& experiment);  // cmd_experiment_assign.cpp
void add_experiment_bn_final_command(CLI::App& experiment);  // cmd_experiment_bn_final.cpp
void add_experiment_folded_bn_command(CLI::App& experiment);  // cmd_experiment_folded_bn.cpp
void add_import_command(CLI::App& app);
void add_export_command(CLI::App& app);  // cmd_export.cpp
void add_reorder_command(CLI::App& app);
void add_prune_command(CLI::App& app);
void add_study_command(CLI::App& app);  // cmd_study.cpp
void add_launch_command(CLI::App& app);  // cmd_launch.cpp
void add_make_task_command(CLI::App& app);  // cmd_make_task.cpp

inline void add_all_commands(CLI::App& app) {
  add_models_command(app);
  add_train_command(app);
  add_eval_command(app);
  add_calibrate_command(app);
  add_recalibrate_command(app);
  add_experiment_command(app);
  add_import_command(app);
  add_export_command(app);
  add_reorder_command(app);
  add_prune_command(app);
  add_study_command(app);
  add_gemm_command(app);
  add_launch_command(app);
  add_make_task_command(app);
}

}  // namespace bnrecal::cli
