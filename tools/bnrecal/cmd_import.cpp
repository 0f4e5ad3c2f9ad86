// `bnrecal import`: PyTorch weights (a torch.save'd state dict or a TorchScript archive) ->
// a bnrecal checkpoint of a zoo architecture, e.g. torchvision's pretrained ResNet-18 exported
// by scripts/export_torchvision_weights.py.
#include <iostream>

#include "bnrecal/models/importer.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

void add_import_command(CLI::App& app) {
  auto options = std::make_shared<ImportOptions>();
  auto output = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand(
      "import", "Import PyTorch weights (torch.save state dict or TorchScript) into a bnrecal checkpoint");
  sub->add_option("--arch,-a", options->arch, "Zoo architecture the weights belong to (see `bnrecal models`)")
      ->required();
  sub->add_option("--weights,-w", options->weights_path, "PyTorch file (.pt/.pth)")->required();
  sub->add_option("--num-classes", options->num_classes, "Classes of the model's classifier")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--normalization", options->normalization,
                  "Input normalization to record: imagenet or inception (mean = std = 0.5); default: "
                  "inception for googlenet (torchvision's pretrained weights), imagenet otherwise")
      ->check(CLI::IsMember({"imagenet", "inception"}));
  sub->add_option("--output,-o", *output, "Checkpoint to write (.safetensors)")->required();
  sub->callback([options, output] {
    import_to_checkpoint(*options, *output);
    std::printf("imported %s (%lld classes) from %s\nwrote    %s\n", options->arch.c_str(),
                static_cast<long long>(options->num_classes), options->weights_path.c_str(), output->c_str());
  });
}

}  // namespace bnrecal::cli
