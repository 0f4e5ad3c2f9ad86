// `bnrecal import`: a model from another framework -> a bnrecal checkpoint. An ONNX file
// (any supported graph, weights and structure) or PyTorch weights (a torch.save'd state dict or a
// TorchScript archive) of a zoo architecture, e.g. torchvision's pretrained ResNet-18 exported by
// scripts/export_torchvision_weights.py.
#include <iostream>

#include "bnrecal/core/error.h"
#include "bnrecal/models/importer.h"
#include "bnrecal/models/onnx_model.h"
#include "bnrecal/nn/arith_layers.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

namespace {
struct ImportSpec {
  ImportOptions pytorch;
  std::string file;     // positional: .onnx, or a PyTorch file (same as --weights)
  std::string output;
};

void import_onnx(const ImportSpec& spec) {
  LoadedModel model = import_onnx_model(spec.file);
  if (!spec.pytorch.normalization.empty()) model.card.normalization = named_normalization(spec.pytorch.normalization);
  model.card.dataset = spec.pytorch.dataset;
  save_checkpoint(spec.output, *model.network, model.card);
  std::printf("imported %s: %zu nodes, %zu perturbable layers, input [%lld, %lld, %lld], %lld classes\nwrote    %s\n",
              spec.file.c_str(), model.card.graph.at("nodes").size(), arith_layers(*model.network).size(),
              static_cast<long long>(model.card.input_shape[0]), static_cast<long long>(model.card.input_shape[1]),
              static_cast<long long>(model.card.input_shape[2]), static_cast<long long>(model.card.num_classes),
              spec.output.c_str());
}
}  // namespace

void add_import_command(CLI::App& app) {
  auto spec = std::make_shared<ImportSpec>();
  CLI::App* sub = app.add_subcommand(
      "import", "Import a model into a bnrecal checkpoint: an ONNX file, or PyTorch weights of a zoo architecture");
  sub->add_option("file", spec->file,
                  "Model file: .onnx (structure and weights; opsets 9-17), or PyTorch weights (.pt/.pth, "
                  "with --arch)");
  sub->add_option("--arch,-a", spec->pytorch.arch,
                  "PyTorch weights: the zoo architecture they belong to (see `bnrecal models`)");
  sub->add_option("--weights,-w", spec->pytorch.weights_path, "PyTorch weights file (same as the positional file)");
  sub->add_option("--num-classes", spec->pytorch.num_classes,
                  "PyTorch weights: classes of the model's classifier (ONNX: read from the model)")
      ->check(kPositive)->capture_default_str();
  sub->add_option("--normalization", spec->pytorch.normalization,
                  "Input normalization to record: imagenet or inception (mean = std = 0.5); default for PyTorch "
                  "weights: inception for googlenet (torchvision's pretrained weights), imagenet otherwise; for "
                  "ONNX: the dataset's own")
      ->check(CLI::IsMember({"imagenet", "inception"}));
  sub->add_option("--data,-d", spec->pytorch.dataset,
                  "The dataset the model belongs to, recorded so that eval and recalibrate need no --data "
                  "(e.g. fashion-mnist; see `bnrecal models`)");
  sub->add_option("--output,-o", spec->output, "Checkpoint to write (.safetensors)")->required();
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    apply_common_options(*common);
    if (spec->file.empty()) spec->file = spec->pytorch.weights_path;
    if (spec->file.empty()) throw UsageError("import: give the model file (an .onnx file, or PyTorch weights with --arch)");
    if (is_onnx_path(spec->file)) {
      if (!spec->pytorch.arch.empty()) throw UsageError("import: --arch is for PyTorch weights; an ONNX file brings its own graph");
      import_onnx(*spec);
      return;
    }
    if (spec->pytorch.arch.empty())
      throw UsageError("import: PyTorch weights need --arch (the zoo architecture; see `bnrecal models`); "
                       "for an ONNX model give a file ending in .onnx");
    spec->pytorch.weights_path = spec->file;
    import_to_checkpoint(spec->pytorch, spec->output);
    std::printf("imported %s (%lld classes) from %s\nwrote    %s\n", spec->pytorch.arch.c_str(),
                static_cast<long long>(spec->pytorch.num_classes), spec->file.c_str(), spec->output.c_str());
  });
}

}  // namespace bnrecal::cli
