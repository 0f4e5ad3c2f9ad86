// The zoo's ImageNet models against torchvision 0.14 itself: scripts/torchvision_reference.py
// builds each torchvision model (random weights, non-trivial BatchNorm), saves its state dict,
// a fixed input and its logits; here the state dict is imported into the zoo model by name and
// the logits must agree to 1e-4 of their magnitude (float32 summation order differs).
// Skipped when Debian's python3-torchvision is not installed.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <set>

#include "bnrecal/core/error.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/googlenet.h"
#include "bnrecal/models/importer.h"
#include "bnrecal/models/mobilenet.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/nn/arith_layers.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using bnrecal::testing::run_command;

constexpr const char* kPython = "/usr/bin/python3";
constexpr double kTolerance = 1e-4;

// Reference models per test (test name -> NAME:N,C,H,W). Small inputs keep the suite fast on
// shared cores; odd sizes (80, 76) exercise padding and GoogLeNet's ceil-mode pooling. Tests not
// listed use resnet18, which is also written as a TorchScript archive.
const std::map<std::string, std::string> kReferenceSpecs = {
    {"ResNet34", "resnet34:2,3,64,64"},          {"ResNet50", "resnet50:2,3,64,64"},
    {"ResNet101", "resnet101:1,3,64,64"},        {"WideResNet50_2", "wide_resnet50_2:1,3,64,64"},
    {"GoogLeNet", "googlenet:2,3,76,76"},        {"GoogLeNetWithAuxHeadsAndTransformInput", "googlenet_aux:2,3,64,64"},
    {"DenseNet121", "densenet121:2,3,64,64"},
    {"MobileNetV2", "mobilenet_v2:2,3,64,64"},  {"FcnResNet50", "fcn_resnet50:1,3,72,72"}};
const char* const kResNet18Spec = "--script resnet18:2,3,80,80";

// The specs of the tests that will run: ctest runs each test in its own process, which then builds
// only its own torchvision model, and a plain run builds them all in one Python start-up.
std::string wanted_specs() {
  std::set<std::string> specs;
  const ::testing::TestSuite* suite = ::testing::UnitTest::GetInstance()->current_test_suite();
  for (int i = 0; suite && i < suite->total_test_count(); ++i) {
    const ::testing::TestInfo* test = suite->GetTestInfo(i);
    if (!test->should_run()) continue;
    auto it = kReferenceSpecs.find(test->name());
    specs.insert(it != kReferenceSpecs.end() ? it->second : kResNet18Spec);
  }
  std::string joined;
  for (const auto& s : specs) joined += " " + s;
  return joined;
}

class TorchvisionEquivalence : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    available_ = run_command(std::string(kPython) + " -c 'import torchvision'").exit_code == 0;
    if (!available_) return;
    dir_ = bnrecal::testing::temp_dir();
    const auto result = run_command(std::string(kPython) + " " + bnrecal::testing::source_dir() +
                                    "/scripts/torchvision_reference.py " + dir_ + wanted_specs());
    generated_ = result.exit_code == 0;
    log_ = result.output;
  }

  void SetUp() override {
    if (!available_)
      GTEST_SKIP() << "torchvision is not importable by " << kPython
                   << "; install it with `apt-get install python3-torchvision`";
    ASSERT_TRUE(generated_) << "torchvision_reference.py failed:\n" << log_;
  }

  static std::string path(const std::string& file) { return dir_ + "/" + file; }

  // max |ours - torchvision| / max |torchvision| on the reference input, weights imported from `weights`.
  static double logit_error_ratio(const std::string& arch, const std::string& weights, int64_t classes = 1000) {
    ImportOptions options;
    options.arch = arch;
    options.num_classes = classes;
    options.weights_path = path(weights);
    ImportedModel model = import_pytorch_model(options);

    // {"input": x, "logits": y}; libtorch's own torch::pickle_load fails on some such dicts
    // (pytorch/pytorch#67902), the importer's reader does not.
    std::map<std::string, at::Tensor> io;
    for (const auto& [name, tensor] : detail::read_torch_save(path(arch + "_io.pt"))) io[name] = tensor;
    const at::Tensor input = io.at("input");
    const at::Tensor expected = io.at("logits");

    at::NoGradGuard no_grad;
    const at::Tensor logits = model.network->forward(input);
    EXPECT_EQ(logits.sizes(), expected.sizes());
    const double ratio = (logits - expected).abs().max().item<double>() / expected.abs().max().item<double>();
    std::printf("[ ratio    ] %-16s max|diff| / max|logits| = %.3g\n", arch.c_str(), ratio);
    ::testing::Test::RecordProperty("max_diff_ratio", std::to_string(ratio));
    return ratio;
  }

  static inline bool available_ = false, generated_ = false;
  static inline std::string dir_, log_;
};

// Per-pixel class scores at the input's size; 72 px gives a 9x9 map at output stride 8. The
// reference has torchvision's aux head, whose tensors the import drops.
TEST_F(TorchvisionEquivalence, FcnResNet50) {
  EXPECT_LE(logit_error_ratio("fcn_resnet50", "fcn_resnet50.pt", 21), kTolerance);
}

TEST_F(TorchvisionEquivalence, ResNet18) { EXPECT_LE(logit_error_ratio("resnet18", "resnet18.pt"), kTolerance); }
TEST_F(TorchvisionEquivalence, ResNet34) { EXPECT_LE(logit_error_ratio("resnet34", "resnet34.pt"), kTolerance); }
TEST_F(TorchvisionEquivalence, ResNet50) { EXPECT_LE(logit_error_ratio("resnet50", "resnet50.pt"), kTolerance); }
TEST_F(TorchvisionEquivalence, ResNet101) { EXPECT_LE(logit_error_ratio("resnet101", "resnet101.pt"), kTolerance); }
TEST_F(TorchvisionEquivalence, WideResNet50_2) {
  EXPECT_LE(logit_error_ratio("wide_resnet50_2", "wide_resnet50_2.pt"), kTolerance);
}
TEST_F(TorchvisionEquivalence, GoogLeNet) { EXPECT_LE(logit_error_ratio("googlenet", "googlenet.pt"), kTolerance); }
// Not a zoo entry: GoogLeNet built directly with torchvision's non-default flags.
TEST_F(TorchvisionEquivalence, GoogLeNetWithAuxHeadsAndTransformInput) {
  GoogLeNetConfig config;
  config.aux_logits = true;
  config.transform_input = true;
  GoogLeNet net(config, {1000, 3});
  load_state_dict(net, read_pytorch_weights(path("googlenet_aux.pt")), "googlenet_aux.pt");  // incl. aux1.*, aux2.*
  net.eval();
  std::map<std::string, at::Tensor> io;
  for (const auto& [name, tensor] : detail::read_torch_save(path("googlenet_aux_io.pt"))) io[name] = tensor;
  at::NoGradGuard no_grad;
  const GoogLeNetOutputs out = net.forward_with_aux(io.at("input"));
  EXPECT_FALSE(out.aux1.defined());  // aux heads run only in training, as in torchvision
  const double ratio =
      (out.logits - io.at("logits")).abs().max().item<double>() / io.at("logits").abs().max().item<double>();
  std::printf("[ ratio    ] %-16s max|diff| / max|logits| = %.3g\n", "googlenet_aux", ratio);
  EXPECT_LE(ratio, kTolerance);
  net.train();
  const GoogLeNetOutputs training = net.forward_with_aux(io.at("input"));
  ASSERT_TRUE(training.aux1.defined() && training.aux2.defined());
  EXPECT_EQ(training.aux1.sizes(), (std::vector<int64_t>{2, 1000}));
}

TEST_F(TorchvisionEquivalence, DenseNet121) {
  EXPECT_LE(logit_error_ratio("densenet121", "densenet121.pt"), kTolerance);
}
TEST_F(TorchvisionEquivalence, MobileNetV2) {
  EXPECT_LE(logit_error_ratio("mobilenet_v2", "mobilenet_v2.pt"), kTolerance);
}

// The ratios above come out as exactly 0 when Python's torch and this libtorch are the same
// library build (same kernels, same summation order); make sure the comparison can fail at all.
TEST_F(TorchvisionEquivalence, ComparisonDetectsAMisloadedBatchNorm) {
  ImportOptions options;
  options.arch = "resnet18";
  options.weights_path = path("resnet18.pt");
  ImportedModel model = import_pytorch_model(options);
  std::map<std::string, at::Tensor> io;
  for (const auto& [name, tensor] : detail::read_torch_save(path("resnet18_io.pt"))) io[name] = tensor;
  at::NoGradGuard no_grad;
  for (const auto& b : model.network->named_buffers())
    if (b.key() == "layer4.1.bn2.running_var") b.value().mul_(1.1);
  const at::Tensor diff = (model.network->forward(io.at("input")) - io.at("logits")).abs().max();
  EXPECT_GT(diff.item<double>(), 1e-3 * io.at("logits").abs().max().item<double>());
}

TEST_F(TorchvisionEquivalence, TorchScriptArchiveGivesTheSameModelAsTheStateDict) {
  EXPECT_EQ(detect_pytorch_file(path("resnet18_script.pt")), PyTorchFileKind::kTorchScript);
  EXPECT_EQ(detect_pytorch_file(path("resnet18.pt")), PyTorchFileKind::kStateDict);
  const NamedTensors scripted = read_pytorch_weights(path("resnet18_script.pt"));
  const NamedTensors saved = read_pytorch_weights(path("resnet18.pt"));
  ASSERT_EQ(scripted.size(), saved.size());
  std::map<std::string, at::Tensor> by_name(saved.begin(), saved.end());
  for (const auto& [name, tensor] : scripted) {
    ASSERT_TRUE(by_name.count(name)) << name;
    EXPECT_TRUE(at::equal(tensor, by_name.at(name))) << name;
  }
  EXPECT_LE(logit_error_ratio("resnet18", "resnet18_script.pt"), kTolerance);
}

TEST_F(TorchvisionEquivalence, WrongArchitectureListsMissingAndUnexpectedTensors) {
  ImportOptions options;
  options.weights_path = path("resnet18.pt");
  const auto message_for = [&](const char* arch) {
    options.arch = arch;
    return testing::input_error_message([&] { import_pytorch_model(options); });
  };
  std::string message = message_for("resnet34");
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
  EXPECT_NE(message.find("layer1.2.conv1.weight"), std::string::npos) << message;
  message = message_for("mobilenet_v2");
  for (const char* needle : {"unexpected", "layer4.1.bn2.running_var", "features.17.conv.2.weight"})
    EXPECT_NE(message.find(needle), std::string::npos) << needle << ": " << message;
}

// MobileNet-v1 has no torchvision counterpart: check it against the published layer list.
TEST(MobileNetV1, HasTheKerasAndSlimParameterCountAndLayerList) {
  auto net = build_model("mobilenet_v1", {1000, 3});
  int64_t params = 0;
  for (const auto& p : net->parameters()) params += p.numel();
  // Keras' MobileNet(alpha=1.0, 224) trainable parameters: convs, BN gamma/beta, logits with bias.
  EXPECT_EQ(params, 4231976);
  const auto layers = arith_layers(*net);
  ASSERT_EQ(layers.size(), 28u);  // stem + 13 x (depthwise, pointwise) + classifier
  EXPECT_EQ(layers[0].name, "features.0.0");
  EXPECT_EQ(layers[1].name, "features.1.depthwise.0");
  EXPECT_EQ(layers[1].conv->options.geometry_.groups, 32);
  EXPECT_EQ(layers[2].name, "features.1.pointwise.0");
  EXPECT_EQ(layers[26].name, "features.13.pointwise.0");
  EXPECT_EQ(layers[26].conv->options.out_channels_, 1024);
  EXPECT_EQ(layers[27].name, "classifier.1");
  int stride2 = 0;
  for (const auto& l : layers)
    if (l.conv && l.conv->options.geometry_.stride[0] == 2) ++stride2;
  EXPECT_EQ(stride2, 5);  // 224 -> 7
}

TEST(MobileNetV1, MapsA224ImageTo1001LogitsIndependentlyOfTheBatch) {
  torch::manual_seed(0);
  auto net = build_model("mobilenet_v1", {1001, 3});
  net->eval();
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({2, 3, 224, 224});
  const at::Tensor batch = net->forward(x);
  EXPECT_EQ(batch.sizes(), (std::vector<int64_t>{2, 1001}));
  const at::Tensor single = net->forward(x.slice(0, 1, 2));
  EXPECT_LE((batch.slice(0, 1, 2) - single).abs().max().item<double>(), 1e-4 * batch.abs().max().item<double>());
  EXPECT_TRUE(at::isfinite(batch).all().item<bool>());
}

// TF SAME padding pads a stride-2 layer's even input only after (bottom/right), PyTorch's
// padding=1 on both sides: on a constant 4x4 input the stem's 3x3 windows then cover 9 real
// pixels at the top-left output and 4 at the bottom-right (the reverse with symmetric padding).
TEST(MobileNetV1, StrideTwoConvsUseTensorFlowSamePadding) {
  MobileNetV1 net(MobileNetV1Config{}, {10, 1});
  net.eval();
  auto stem = arith_layers(net).front().conv;
  at::NoGradGuard no_grad;
  stem->weight.fill_(1.0);
  auto features = std::dynamic_pointer_cast<torch::nn::SequentialImpl>(net.named_children()["features"]);
  ASSERT_TRUE(features);
  const at::Tensor y = features->begin()->forward(at::full({1, 1, 4, 4}, 0.5));  // stem: conv, BN, ReLU6
  ASSERT_EQ(y.sizes(), (std::vector<int64_t>{1, 32, 2, 2}));
  const double bn_scale = 1.0 / std::sqrt(1.0 + 1e-3);  // fresh BN, eps 1e-3
  EXPECT_NEAR(y[0][0][0][0].item<double>(), 9 * 0.5 * bn_scale, 1e-5);
  EXPECT_NEAR(y[0][0][1][1].item<double>(), 4 * 0.5 * bn_scale, 1e-5);
}

}  // namespace
}  // namespace bnrecal
