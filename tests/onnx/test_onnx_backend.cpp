// ONNX's own operator tests (Debian's libonnx-testdata: each case a one-node model, its inputs and
// expected outputs as TensorProtos), for every case whose ops bnrecal supports. The first input is
// the runtime input; the others are given to the graph as constants, as weights are in a model.
// Outputs must match with ONNX's backend-test tolerance (rtol 1e-3, atol 1e-7). Cases that use a
// variant outside bnrecal's subset are listed with the reason and must be refused with an
// InputError (not run and answered wrongly); a listed case that starts passing fails the test.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/onnx/onnx_file.h"

namespace fs = std::filesystem;

namespace {

const fs::path kNodeTests = "/usr/share/libonnx-testdata/data/node";

// Variants bnrecal refuses, by case, with the reason.
const std::map<std::string, std::string> kRefused = {
    {"test_add_uint8", "uint8 tensors"},
    {"test_mul_uint8", "uint8 tensors"},
    {"test_maxpool_2d_uint8", "uint8 tensors"},
    {"test_clip_default_int8_inbounds", "int8 tensors"},
    {"test_clip_default_int8_max", "int8 tensors"},
    {"test_clip_default_int8_min", "int8 tensors"},
    {"test_averagepool_1d_default", "1-D pooling"},
    {"test_averagepool_3d_default", "3-D pooling"},
    {"test_maxpool_1d_default", "1-D pooling"},
    {"test_maxpool_3d_default", "3-D pooling"},
    {"test_maxpool_with_argmax_2d_precomputed_pads", "MaxPool's Indices output"},
    {"test_maxpool_with_argmax_2d_precomputed_strides", "MaxPool's Indices output"},
    {"test_batchnorm_epsilon_training_mode", "training-mode BatchNormalization"},
    {"test_batchnorm_example_training_mode", "training-mode BatchNormalization"},
    {"test_identity_opt", "optional types"},
    {"test_constant", "no runtime input"},
    {"test_edge_pad", "int32 input"},
    {"test_reflect_pad", "int32 input"},
    {"test_globalaveragepool", "opset 1"},
    {"test_globalaveragepool_precomputed", "opset 1"},
    {"test_reshape_allowzero_reordered", "a zero-sized input dimension"},
    {"test_training_dropout", "training-mode Dropout"},
    {"test_training_dropout_default", "training-mode Dropout"},
    {"test_training_dropout_default_mask", "training-mode Dropout"},
    {"test_training_dropout_mask", "training-mode Dropout"},
    {"test_training_dropout_zero_ratio", "training-mode Dropout"},
    {"test_training_dropout_zero_ratio_mask", "training-mode Dropout"},
    {"test_identity_sequence", "sequence types"},
};

std::vector<std::string> op_types(const fs::path& model_path) {
  onnx::ModelProto model;
  std::ifstream in(model_path, std::ios::binary);
  EXPECT_TRUE(model.ParseFromIstream(&in)) << model_path;
  std::vector<std::string> ops;
  for (const auto& node : model.graph().node()) ops.push_back(node.op_type());
  return ops;
}

std::vector<std::string> graph_input_names(const fs::path& model_path) {
  onnx::ModelProto model;
  std::ifstream in(model_path, std::ios::binary);
  model.ParseFromIstream(&in);
  std::vector<std::string> names;
  for (const auto& input : model.graph().input()) names.push_back(input.name());
  return names;
}

// The cases made only of supported ops, sorted.
std::vector<std::string> supported_cases() {
  std::vector<std::string> cases;
  if (!fs::exists(kNodeTests)) return cases;
  const auto& ops = bnrecal::supported_onnx_ops();
  const std::set<std::string> supported(ops.begin(), ops.end());
  for (const auto& entry : fs::directory_iterator(kNodeTests)) {
    const fs::path model = entry.path() / "model.onnx";
    if (!fs::exists(model)) continue;
    bool all = true;
    for (const auto& op : op_types(model)) all = all && supported.count(op);
    if (all) cases.push_back(entry.path().filename().string());
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

struct CaseRun {
  std::vector<at::Tensor> outputs, expected;
};

CaseRun run_case(const std::string& name) {
  const fs::path dir = kNodeTests / name;
  const fs::path data = dir / "test_data_set_0";
  const std::vector<std::string> inputs = graph_input_names(dir / "model.onnx");
  bnrecal::OnnxReadOptions options;
  at::Tensor runtime;
  for (size_t i = 0; i < inputs.size(); ++i) {
    at::Tensor t = bnrecal::read_onnx_tensor((data / ("input_" + std::to_string(i) + ".pb")).string());
    if (i == 0) runtime = t;
    else options.constant_inputs[inputs[i]] = t;
  }
  bnrecal::OnnxModel model = bnrecal::read_onnx_model((dir / "model.onnx").string(), options);
  bnrecal::GraphNetwork network(model.graph, model.values);
  network.eval();
  torch::NoGradGuard no_grad;
  CaseRun run{network.forward_all(runtime), {}};
  for (size_t i = 0; fs::exists(data / ("output_" + std::to_string(i) + ".pb")); ++i)
    run.expected.push_back(bnrecal::read_onnx_tensor((data / ("output_" + std::to_string(i) + ".pb")).string()));
  return run;
}

}  // namespace

TEST(OnnxBackend, SupportedOperatorCasesMatchTheirExpectedOutputs) {
  if (!fs::exists(kNodeTests)) GTEST_SKIP() << "libonnx-testdata is not installed (scripts/setup.sh installs it)";
  const std::vector<std::string> cases = supported_cases();
  ASSERT_GT(cases.size(), 100u) << "fewer operator tests than ONNX 1.12 ships for the supported ops";
  int passed = 0, refused = 0;
  for (const auto& name : cases) {
    SCOPED_TRACE(name);
    auto refusal = kRefused.find(name);
    if (refusal != kRefused.end()) {
      EXPECT_THROW(run_case(name), bnrecal::InputError) << "listed as refused (" << refusal->second << ") but ran";
      ++refused;
      continue;
    }
    CaseRun run;
    try {
      run = run_case(name);
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
      continue;
    }
    ASSERT_EQ(run.outputs.size(), run.expected.size());
    for (size_t i = 0; i < run.outputs.size(); ++i) {
      const at::Tensor& got = run.outputs[i];
      const at::Tensor& want = run.expected[i];
      ASSERT_EQ(got.sizes(), want.sizes()) << "output " << i;
      if (want.is_floating_point())
        EXPECT_TRUE(at::allclose(got.to(at::kFloat), want, 1e-3, 1e-7)) << "output " << i << " max |diff| "
            << (got - want).abs().max().item<float>();
      else
        EXPECT_TRUE(at::equal(got.to(want.scalar_type()), want)) << "output " << i;
    }
    ++passed;
  }
  std::printf("ONNX operator tests: %d passed, %d refused as listed, of %zu with supported ops\n", passed, refused,
              cases.size());
  EXPECT_EQ(refused, static_cast<int>(kRefused.size())) << "a listed case is no longer among the supported-op cases";
}
