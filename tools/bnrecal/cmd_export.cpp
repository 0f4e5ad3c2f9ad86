// `bnrecal export`: a checkpoint -> an ONNX file, e.g. a recalibrated model for the deployment
// toolchain of the accelerator it was recalibrated for.
#include <cstdio>

#include "bnrecal/models/onnx_model.h"
#include "cli_common.h"
#include "commands.h"

namespace bnrecal::cli {

namespace {
struct ExportSpec {
  std::string model;
  std::string format = "onnx";
  std::string output;
  bool fold_bn = false;
};
}  // namespace

void add_export_command(CLI::App& app) {
  auto spec = std::make_shared<ExportSpec>();
  CLI::App* sub = app.add_subcommand(
      "export", "Export a model (with its current, e.g. recalibrated, BatchNorm statistics) as ONNX");
  sub->add_option("--model,-m", spec->model, "Checkpoint (.safetensors) or ONNX model to export")->required();
  sub->add_option("--format", spec->format, "Output format")->check(CLI::IsMember({"onnx"}))->capture_default_str();
  sub->add_option("--output,-o", spec->output, "File to write (.onnx)")->required();
  sub->add_flag("--fold-bn", spec->fold_bn,
                "Fold each BatchNorm that directly follows a conv into the conv's weights and bias (recalibrated "
                "statistics included), as deployment toolchains expect");
  auto common = add_common_options(*sub);
  sub->callback([spec, common] {
    apply_common_options(*common);
    LoadedModel model = load_model(spec->model);
    export_onnx_model(spec->output, model, spec->fold_bn);
    std::printf("exported %s\nwrote    %s\n", spec->model.c_str(), spec->output.c_str());
  });
}

}  // namespace bnrecal::cli
