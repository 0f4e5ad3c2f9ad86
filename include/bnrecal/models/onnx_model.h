// ONNX models as bnrecal models. An .onnx file is opened directly (load_model does so for a path
// ending in .onnx) or imported into a checkpoint whose card holds the operator graph (arch
// kGraphArch), and any graph model is exported again as ONNX.
//
//   bnrecal::LoadedModel m = bnrecal::load_model("resnet.onnx");   // or import_onnx_model
//   bnrecal::save_checkpoint("resnet.safetensors", *m.network, m.card);
//   bnrecal::export_onnx_model("recalibrated.onnx", *m.network);
#pragma once
#include <memory>
#include <string>

#include "bnrecal/models/checkpoint.h"

namespace bnrecal {

// True for a path ending in ".onnx" (any case).
bool is_onnx_path(const std::string& path);

// The file as a GraphNetwork in eval mode with its card: arch kGraphArch, the graph, input_shape
// {C, H, W} and num_classes from one forward pass of a zero image (a classifier's [N, classes]
// logits), source = path; no dataset (give --data). InputError naming the node, op, opset or
// dtype for anything bnrecal cannot run.
LoadedModel import_onnx_model(const std::string& path);

// The network of a kGraphArch card, its tensors zeros until load_state_dict fills them.
std::shared_ptr<Network> build_graph_model(const ModelCard& card);

// Writes a graph model (imported from ONNX) as ONNX with its current weights and statistics,
// atomically. InputError for a zoo model: export it through torch.onnx from PyTorch instead.
void export_onnx_model(const std::string& path, Network& network);

}  // namespace bnrecal
