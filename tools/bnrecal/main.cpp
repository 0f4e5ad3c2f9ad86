// bnrecal: what happens to a trained CNN's accuracy when hardware perturbs its arithmetic,
// and how much post-training BatchNorm recalibration wins back.
// main() is the only place that catches: input errors exit 1, usage errors exit 2.
#include <CLI/CLI.hpp>
#include <iostream>

#include "bnrecal/core/allocator.h"
#include "bnrecal/core/error.h"
#include "bnrecal/core/run_info.h"
#include "commands.h"

int main(int argc, char** argv) {
  bnrecal::tune_allocator();
  bnrecal::set_command_line(argc, argv);

  CLI::App app{
      "bnrecal: simulate perturbed accelerator arithmetic (SySMT, analog noise, quantization) on "
      "trained CNNs and measure what post-training BatchNorm recalibration wins back.\n"
      "Run `bnrecal SUBCOMMAND --help` for each subcommand's options."};
  app.require_subcommand(1);
  app.set_version_flag("--version", bnrecal::bnrecal_version() + " (git " + bnrecal::git_revision() +
                                        ", libtorch " + bnrecal::libtorch_version() + ")");
  bnrecal::cli::add_all_commands(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "bnrecal: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const bnrecal::UsageError& e) {
    std::cerr << "bnrecal: " << e.what() << " (see --help)\n";
    return 2;
  } catch (const bnrecal::InputError& e) {
    std::cerr << "bnrecal: error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "bnrecal: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "bnrecal: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
