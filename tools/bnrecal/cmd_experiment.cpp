// `bnrecal experiment`: the studies, one subcommand each (cmd_experiment_*.cpp).
#include "commands.h"

namespace bnrecal::cli {

void add_experiment_command(CLI::App& app) {
  CLI::App* experiment = app.add_subcommand("experiment", "Run a study (noise, nbsmt, assign, divergence, bn-final)");
  experiment->require_subcommand(1);
  add_experiment_noise_command(*experiment);
  add_experiment_nbsmt_command(*experiment);
  add_experiment_divergence_command(*experiment);
  add_experiment_assign_command(*experiment);
  add_experiment_bn_final_command(*experiment);
  add_experiment_folded_bn_command(*experiment);
}

}  // namespace bnrecal::cli
