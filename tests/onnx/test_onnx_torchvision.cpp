// torchvision models exported by torch.onnx.export (Debian's python3-torch, random weights with
// non-trivial BatchNorm: scripts/torchvision_reference.py --onnx) and imported by bnrecal: the
// logits must agree with torchvision's to 1e-4 of their magnitude (float32 summation order
// differs), with BatchNorm kept and with torch.onnx's folding, across opsets 9 to 17, for every
// architecture of the zoo that torchvision defines. The kept-BN import must have the zoo model's
// perturbable layers under the zoo's names, and a checkpoint and an ONNX export of the import must
// reproduce its logits bit for bit. Skipped when torchvision or onnx export is unavailable to
// /usr/bin/python3.
#include <gtest/gtest.h>

#include <map>

#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/importer.h"
#include "bnrecal/models/onnx_model.h"
#include "bnrecal/nn/arith_layers.h"
#include "test_support.h"

namespace bnrecal {
namespace {

constexpr const char* kPython = "/usr/bin/python3";
constexpr double kTolerance = 1e-4;

class OnnxTorchvision : public ::testing::Test {
 protected:
  // Exports NAME at the given input shape and opset; false (test skipped) without torchvision.
  bool generate(const std::string& name, const std::string& shape, int opset) {
    if (testing::run_command(std::string(kPython) + " -c 'import torchvision, torch.onnx'").exit_code != 0) return false;
    dir_ = testing::temp_dir();
    const auto result = testing::run_command(std::string(kPython) + " " + testing::source_dir() +
                                             "/scripts/torchvision_reference.py " + dir_ + " --onnx=" +
                                             std::to_string(opset) + " " + name + ":" + shape);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    std::map<std::string, at::Tensor> io;
    for (const auto& [key, tensor] : detail::read_torch_save(dir_ + "/" + name + "_io.pt")) io[key] = tensor;
    input_ = io.at("input");
    expected_ = io.at("logits");
    return result.exit_code == 0;
  }

  double error_ratio(const at::Tensor& logits) const {
    EXPECT_EQ(logits.sizes(), expected_.sizes());
    return (logits - expected_).abs().max().item<double>() / expected_.abs().max().item<double>();
  }

  static at::Tensor logits(Network& network, const at::Tensor& input) {
    at::NoGradGuard no_grad;
    network.eval();
    return network.forward(input);
  }

  static std::vector<std::string> layer_names(Network& network) {
    std::vector<std::string> names;
    for (const auto& layer : arith_layers(network)) names.push_back(layer.name);
    std::sort(names.begin(), names.end());
    return names;
  }

  void check(const std::string& arch, const std::string& shape, int opset) {
    if (!generate(arch, shape, opset)) GTEST_SKIP() << "torchvision / torch.onnx not importable by " << kPython;
    const std::string stem = dir_ + "/" + arch;
    LoadedModel kept = load_model(stem + ".onnx");
    LoadedModel folded = load_model(stem + "_folded.onnx");
    const at::Tensor kept_logits = logits(*kept.network, input_);
    const double kept_ratio = error_ratio(kept_logits), folded_ratio = error_ratio(logits(*folded.network, input_));
    std::printf("[ ratio    ] %-14s opset %d: BN kept %.3g, BN folded %.3g (max|diff| / max|logits|)\n", arch.c_str(),
                opset, kept_ratio, folded_ratio);
    EXPECT_LE(kept_ratio, kTolerance);
    EXPECT_LE(folded_ratio, kTolerance);
    EXPECT_EQ(kept.card.num_classes, 1000);

    ImportOptions zoo_options;
    zoo_options.arch = arch;
    zoo_options.weights_path = stem + ".pt";
    ImportedModel zoo = import_pytorch_model(zoo_options);
    EXPECT_EQ(layer_names(*kept.network), layer_names(*zoo.network)) << "the import's layers are not the zoo's";

    save_checkpoint(stem + ".safetensors", *kept.network, kept.card);
    EXPECT_TRUE(at::equal(logits(*load_model(stem + ".safetensors").network, input_), kept_logits));
    export_onnx_model(stem + "_exported.onnx", kept);
    EXPECT_TRUE(at::equal(logits(*load_model(stem + "_exported.onnx").network, input_), kept_logits));
  }

  std::string dir_;
  at::Tensor input_, expected_;
};

TEST_F(OnnxTorchvision, ResNet18Opset9) { check("resnet18", "2,3,64,64", 9); }
TEST_F(OnnxTorchvision, ResNet50Opset11) { check("resnet50", "2,3,64,64", 11); }
TEST_F(OnnxTorchvision, GoogLeNetOpset13) { check("googlenet", "2,3,76,76", 13); }
TEST_F(OnnxTorchvision, DenseNet121Opset13) { check("densenet121", "2,3,64,64", 13); }
TEST_F(OnnxTorchvision, MobileNetV2Opset17) { check("mobilenet_v2", "2,3,64,64", 17); }
TEST_F(OnnxTorchvision, ResNet34Opset10) { check("resnet34", "2,3,64,64", 10); }
TEST_F(OnnxTorchvision, ResNet101Opset15) { check("resnet101", "2,3,64,64", 15); }
TEST_F(OnnxTorchvision, WideResNet50x2Opset12) { check("wide_resnet50_2", "2,3,64,64", 12); }

}  // namespace
}  // namespace bnrecal
