// bnrecal: what happens to a trained CNN's accuracy when hardware perturbs its arithmetic,
// and how much post-training BatchNorm recalibration wins back.
// main() is the only place that catches: input errors exit 1, usage errors exit 2.
#include <CLI/CLI.hpp>
#include <iostream>

#include "bnrecal/core/allocator.h"
#include "bnrecal/core/error.h"
#include "bnrecal/core/run_info.h"
#include "commands.h"

namespace {
// One line on stderr; returns the exit code.
int report(int exit_code, const char* kind, const char* what, const char* hint) {
  std::cerr << "bnrecal: " << kind << what << hint << "\n";
  return exit_code;
}
}  // namespace

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
  // CLI11 would call a mistyped subcommand a missing one; name it and the known ones instead.
  std::string known;
  bool found = false;
  for (const CLI::App* sub : app.get_subcommands(std::function<bool(CLI::App*)>())) {
    known += (known.empty() ? "" : ", ") + sub->get_name();
    found = found || (argc > 1 && sub->check_name(argv[1]));
  }
  if (argc > 1 && argv[1][0] != '-' && !found) {
    const std::string what = "unknown subcommand '" + std::string(argv[1]) + "' (known: " + known + ")";
    return report(2, "", what.c_str(), "");
  }
  try {
    app.parse(argc, argv);
  } catch (const bnrecal::cli::ExitStatus& e) {
    return e.code;
  } catch (const CLI::Success& e) {  // --help, --help-all, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return report(2, "", e.what(), " (see --help)");
  } catch (const bnrecal::UsageError& e) {
    return report(2, "", e.what(), " (see --help)");
  } catch (const bnrecal::InputError& e) {
    return report(1, "error: ", e.what(), "");
  } catch (const c10::Error& e) {
    return report(1, "error: ", e.what_without_backtrace(), "");
  } catch (const std::exception& e) {
    return report(1, "internal error: ", e.what(), "");
  }
  return 0;
}
