// An ONNX model through the CLI as a user would take it: evaluated directly (with --data), imported
// with its dataset, evaluated under every kind of perturbation, calibrated, recalibrated and
// exported again; a zoo model exported; and the refusals (no dataset, a broken file).
#include <gtest/gtest.h>

#include <filesystem>

#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/recal/recalibrate.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/onnx/onnx_file.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

namespace {

// conv(1->8, 3x3) -> BN -> Relu -> MaxPool -> conv(8->8) -> BN -> Relu -> GlobalAveragePool ->
// Flatten -> Gemm(8->10): a Fashion-MNIST-shaped classifier with random weights.
std::string write_tiny_classifier(const std::string& path) {
  Graph g;
  g.opset = 13;
  g.input = "images";
  g.input_shape = {-1, 1, 28, 28};
  g.outputs = {"logits"};
  std::map<std::string, at::Tensor> values;
  torch::manual_seed(3);
  auto constant = [&](const std::string& name, at::Tensor t) {
    g.constants.push_back({name, "", t.sizes().vec(), "float32"});
    values[name] = t;
  };
  auto conv_bn_relu = [&](const std::string& stem, const std::string& in, int64_t channels_in) {
    constant(stem + ".conv.weight", at::randn({8, channels_in, 3, 3}) * 0.3);
    constant(stem + ".bn.weight", at::rand({8}) + 0.5);
    constant(stem + ".bn.bias", at::randn({8}) * 0.1);
    constant(stem + ".bn.running_mean", at::randn({8}) * 0.1);
    constant(stem + ".bn.running_var", at::rand({8}) + 0.5);
    g.nodes.push_back({"Conv", stem + "_conv", {in, stem + ".conv.weight"}, {stem + "_c"}, {{"pads", {1, 1, 1, 1}}}});
    g.nodes.push_back({"BatchNormalization", stem + "_bn",
                       {stem + "_c", stem + ".bn.weight", stem + ".bn.bias", stem + ".bn.running_mean",
                        stem + ".bn.running_var"},
                       {stem + "_n"}});
    g.nodes.push_back({"Relu", stem + "_relu", {stem + "_n"}, {stem + "_r"}});
    return stem + "_r";
  };
  std::string x = conv_bn_relu("block1", "images", 1);
  g.nodes.push_back({"MaxPool", "pool", {x}, {"m"}, {{"kernel_shape", {2, 2}}, {"strides", {2, 2}}}});
  x = conv_bn_relu("block2", "m", 8);
  g.nodes.push_back({"GlobalAveragePool", "gap", {x}, {"p"}});
  g.nodes.push_back({"Flatten", "flatten", {"p"}, {"f"}});
  constant("fc.weight", at::randn({10, 8}));
  constant("fc.bias", at::zeros({10}));
  g.nodes.push_back({"Gemm", "fc", {"f", "fc.weight", "fc.bias"}, {"logits"}, {{"transB", 1}}});
  name_graph_modules(g);
  write_onnx_model(path, g, [&](const std::string& v) { return values.at(v); });
  return path;
}

double top1(const std::string& json_path) { return nlohmann::json::parse(read_file(json_path))["top1"]; }

}  // namespace

TEST(OnnxCli, ImportEvaluatePerturbRecalibrateAndExport) {
  const std::string dir = temp_dir();
  const std::string onnx = write_tiny_classifier(dir + "/tiny.onnx");

  CommandResult r = bnrecal_cli("eval -m " + onnx + " --limit 64");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("give --data"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fashion-mnist"), std::string::npos) << r.output;

  r = bnrecal_cli("eval -m " + onnx + " --data fashion-mnist --limit 256 --json " + dir + "/direct.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;

  const std::string model = dir + "/tiny.safetensors";
  r = bnrecal_cli("import " + onnx + " --data fashion-mnist -o " + model);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("3 perturbable layers"), std::string::npos) << r.output;
  r = bnrecal_cli("eval -m " + model + " --limit 256 --json " + dir + "/imported.json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(top1(dir + "/imported.json"), top1(dir + "/direct.json"));

  const std::string calibrated = dir + "/tiny.calibrated.safetensors";
  ASSERT_EQ(bnrecal_cli("calibrate -m " + model + " --images 256 -o " + calibrated).exit_code, 0);
  for (const std::string perturbation : {"--policy a8w8", "--policy sysmt --smt 2", "--policy sysmt --smt 4",
                                         "--noise seed-003 --eta 0.1"}) {
    r = bnrecal_cli("eval -m " + calibrated + " --limit 128 " + perturbation);
    EXPECT_EQ(r.exit_code, 0) << perturbation << ": " << r.output;
  }

  const std::string recalibrated = dir + "/tiny.recal.safetensors";
  r = bnrecal_cli("recalibrate -m " + calibrated + " --quiet --images 128 --noise seed-003 --eta 0.1 -o " + recalibrated);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string exported = dir + "/tiny.recal.onnx";
  r = bnrecal_cli("export -m " + recalibrated + " -o " + exported);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  // The export carries the recalibrated statistics: the same network, bit for bit.
  LoadedModel a = load_model(recalibrated), b = load_model(exported);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({3, 1, 28, 28});
  EXPECT_TRUE(at::equal(a.network->forward(x), b.network->forward(x)));
  EXPECT_FALSE(at::equal(load_model(model).network->forward(x), b.network->forward(x)));
}

TEST(OnnxCli, RefusesABrokenFileWritingNothing) {
  const std::string dir = temp_dir();
  const std::string onnx = write_tiny_classifier(dir + "/tiny.onnx");
  std::string bytes = read_file(onnx);
  write_file_atomic(dir + "/cut.onnx", bytes.substr(0, bytes.size() / 3));
  CommandResult r = bnrecal_cli("import " + dir + "/cut.onnx -o " + dir + "/cut.safetensors");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("cut.onnx"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/cut.safetensors"));

  r = bnrecal_cli("import " + onnx + " --arch resnet20 -o " + dir + "/x.safetensors");
  EXPECT_EQ(r.exit_code, 2) << r.output;

}

TEST(OnnxCli, ExportsAZooModelThatReimportsWithItsLayerNamesAndLogits) {
  const std::string dir = temp_dir();
  const std::string zoo = source_dir() + "/models/fashion-mnist-resnet20.safetensors";
  CommandResult r = bnrecal_cli("export -m " + zoo + " -o " + dir + "/resnet20.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  LoadedModel a = load_model(zoo), b = load_model(dir + "/resnet20.onnx");
  std::vector<std::string> names_a, names_b;
  for (const auto& l : arith_layers(*a.network)) names_a.push_back(l.name);
  for (const auto& l : arith_layers(*b.network)) names_b.push_back(l.name);
  EXPECT_EQ(names_a, names_b);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({5, 1, 28, 28});
  EXPECT_TRUE(at::equal(a.network->forward(x), b.network->forward(x)));

  // ONNX's own checker (full check: types and shapes inferred) accepts the file, folded or not.
  ASSERT_EQ(bnrecal_cli("export -m " + zoo + " --fold-bn -o " + dir + "/folded.onnx").exit_code, 0);
  // Folded, it keeps the model's accuracy (on all 10,000 test images its predictions are the same,
  // docs/onnx.md).
  for (const std::string name : {"resnet20.onnx", "folded.onnx"}) {
    r = bnrecal_cli("eval -m " + dir + "/" + name + " --data fashion-mnist --limit 1000 --quiet --json " + dir + "/" +
                    name + ".json");
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_EQ(top1(dir + "/folded.onnx.json"), top1(dir + "/resnet20.onnx.json"));
  if (run_command("/usr/bin/python3 -c 'import onnx'").exit_code != 0) {
    GTEST_SKIP() << "python3-onnx is not installed (scripts/setup.sh installs it): onnx.checker not run";
  }
  for (const std::string file : {"resnet20.onnx", "folded.onnx"}) {
    r = run_command("/usr/bin/python3 -c 'import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), "
                    "full_check=True)' " + dir + "/" + file);
    EXPECT_EQ(r.exit_code, 0) << file << ": " << r.output;
  }
}

// A BN-folded export has nothing to recalibrate until re-normalization layers are added; they are
// the identity on the clean model, recalibration moves them, and `export --fold-bn` folds them back.
TEST(OnnxCli, AFoldedModelIsRecalibratedThroughReNormalizationLayers) {
  const std::string dir = temp_dir();
  const std::string zoo = source_dir() + "/models/fashion-mnist-resnet20.calibrated.safetensors";
  CommandResult r = bnrecal_cli("export -m " + zoo + " --fold-bn -o " + dir + "/folded.onnx");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  LoadedModel folded = load_model(dir + "/folded.onnx");
  EXPECT_TRUE(bn_layers(*folded.network).empty());
  ASSERT_EQ(bnrecal_cli("import " + dir + "/folded.onnx --data fashion-mnist -o " + dir + "/folded.safetensors").exit_code, 0);

  r = bnrecal_cli("recalibrate -m " + dir + "/folded.safetensors --renormalize off --images 64 --noise seed-003 --eta 0.1 -o " +
                  dir + "/x.safetensors");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("--renormalize on"), std::string::npos) << r.output;

  const std::string recal = dir + "/recal.safetensors";
  r = bnrecal_cli("recalibrate -m " + dir + "/folded.safetensors --images 256 --noise seed-003 --eta 0.1 -o " + recal);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  LoadedModel renormed = load_model(recal);
  EXPECT_EQ(bn_layers(*renormed.network).size(), 21u);
  EXPECT_EQ(renormed.card.last_recalibration()->details.at("renormalized_layers"), 21);

  ASSERT_EQ(bnrecal_cli("export -m " + recal + " --fold-bn -o " + dir + "/refolded.onnx").exit_code, 0);
  LoadedModel refolded = load_model(dir + "/refolded.onnx");
  EXPECT_TRUE(bn_layers(*refolded.network).empty());
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({4, 1, 28, 28});
  const at::Tensor want = renormed.network->forward(x), got = refolded.network->forward(x);
  EXPECT_TRUE(at::allclose(got, want, 1e-4, 1e-4)) << (got - want).abs().max().item<float>();
  // The recalibrated statistics differ from the clean ones: the refolded weights are not the folded ones.
  EXPECT_FALSE(at::allclose(folded.network->forward(x), got, 1e-4, 1e-4));
}
