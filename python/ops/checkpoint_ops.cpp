// bnrecal checkpoints (safetensors with the model card as metadata, models/checkpoint.h) read and
// written by the library's own code, so files pass between the CLI and Python unchanged.
//
//   names, tensors, metadata_json = torch.ops.bnrecal.read_checkpoint("model.safetensors")
//   torch.ops.bnrecal.write_checkpoint("out.safetensors", names, tensors, metadata_json)  # atomic
#include <torch/library.h>

#include <string>
#include <tuple>
#include <vector>

#include "bnrecal/models/checkpoint.h"
#include "op_errors.h"

namespace bnrecal::python {
namespace {

std::tuple<std::vector<std::string>, std::vector<at::Tensor>, std::string> read_checkpoint(const std::string& path) {
  return reporting_input_errors([&] {
    const Checkpoint checkpoint = read_safetensors(path);
    std::vector<std::string> names;
    std::vector<at::Tensor> tensors;
    for (const auto& [name, tensor] : checkpoint.tensors) {
      names.push_back(name);
      tensors.push_back(tensor);
    }
    return std::make_tuple(names, tensors, checkpoint.metadata.dump());
  });
}

void write_checkpoint(const std::string& path, const std::vector<std::string>& names, const std::vector<at::Tensor>& tensors,
                      const std::string& metadata_json) {
  reporting_input_errors([&] {
    require(names.size() == tensors.size(), "write_checkpoint: " + std::to_string(names.size()) + " names for " +
                                                std::to_string(tensors.size()) + " tensors");
    const nlohmann::json metadata = with_input_errors<nlohmann::json::exception>(
        "write_checkpoint: the metadata is not valid JSON: ", [&] { return nlohmann::json::parse(metadata_json); });
    NamedTensors named;
    for (size_t i = 0; i < names.size(); ++i) {
      require(tensors[i].device().is_cpu(), "write_checkpoint: tensor '" + names[i] + "' is not on the CPU");
      named.emplace_back(names[i], tensors[i].detach().contiguous());
    }
    write_safetensors(path, named, metadata);
    return 0;
  });
}

}  // namespace

TORCH_LIBRARY_FRAGMENT(bnrecal, m) {
  m.def("read_checkpoint", &read_checkpoint);
  m.def("write_checkpoint", &write_checkpoint);
}

}  // namespace bnrecal::python
