// ONNX models as bnrecal models. An .onnx file is opened directly (load_model does so for a path
// ending in .onnx) or imported into a checkpoint whose card holds the operator graph (arch
// kGraphArch), and any model, imported or from the zoo, is exported as ONNX.
//
//   bnrecal::LoadedModel m = bnrecal::load_model("resnet.onnx");   // or import_onnx_model
//   bnrecal::save_checkpoint("resnet.safetensors", *m.network, m.card);
//   bnrecal::export_onnx_model("recalibrated.onnx", m);
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "bnrecal/models/checkpoint.h"
#include "bnrecal/onnx/onnx_file.h"

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

// The model as an ONNX graph with its current weights and statistics: an imported graph as it is,
// a zoo architecture traced (onnx/network_trace.h) at the card's input shape.
OnnxModel onnx_graph_of(LoadedModel& model);
// Turns the model into its graph with a re-normalization layer after every conv that is not
// followed by a BatchNorm (onnx/batch_norm_folding.h): how a BN-folded model is recalibrated. The
// card becomes the graph's (calibration and the rest kept: the layers keep their names). Returns
// the new BN layers' names, still to be estimated (recal/recalibrate.h estimate_renormalization).
std::vector<std::string> add_renormalization_layers(LoadedModel& model);

// onnx_graph_of written atomically; fold_batch_norm folds every BatchNorm that follows a conv into
// it (onnx/batch_norm_folding.h), as deployment toolchains expect.
void export_onnx_model(const std::string& path, LoadedModel& model, bool fold_batch_norm = false);

}  // namespace bnrecal
