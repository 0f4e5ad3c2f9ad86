// `bnrecal models`: what the zoo and the data registry offer.
#include <iostream>

#include "bnrecal/data/data_source.h"
#include "bnrecal/models/zoo.h"
#include "commands.h"

namespace bnrecal::cli {

void add_models_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("models", "List the model zoo's architectures and the known datasets");
  sub->callback([] {
    std::cout << "Architectures (bnrecal train --arch NAME):\n";
    for (const ZooEntry& e : model_zoo()) {
      std::string input;
      for (size_t i = 0; i < e.default_input.size(); ++i) input += (i ? "x" : "") + std::to_string(e.default_input[i]);
      std::printf("  %-22s %-12s %-10s %s\n", e.name.c_str(), e.family.c_str(), input.c_str(), e.description.c_str());
    }
    std::cout << "\nDatasets (--data NAME|PATH):\n";
    for (const auto& [name, description] : known_datasets()) std::printf("  %-22s %s\n", name.c_str(), description.c_str());
  });
}

}  // namespace bnrecal::cli
