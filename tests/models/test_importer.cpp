// Weight import: file detection, bad inputs, the CLI round trip to a checkpoint. The .pt files
// are written from C++ with torch::pickle_save (the same zip format as Python's torch.save), so
// these tests need no Python; test_torchvision_equivalence.cpp covers files written by PyTorch.
#include <gtest/gtest.h>
#include <torch/serialize.h>

#include <fstream>
#include <functional>

#include "bnrecal/core/error.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/importer.h"
#include "bnrecal/models/zoo.h"
#include "test_support.h"

namespace bnrecal {
namespace {

using bnrecal::testing::run_command;

// torch.save(model.state_dict()) of a zoo model, optionally with every name prefixed.
std::string save_state_dict(const std::string& arch, int64_t classes, const std::string& prefix = "") {
  torch::manual_seed(0);
  auto net = build_model(arch, {classes, 3});
  c10::impl::GenericDict dict(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : state_dict(*net)) dict.insert(prefix + name, tensor);
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  const std::string path = bnrecal::testing::temp_dir() + "/" + arch + ".pt";
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

std::string write_text(const std::string& text) {
  const std::string path = bnrecal::testing::temp_dir() + "/notes.pt";
  std::ofstream(path) << text;
  return path;
}


TEST(Importer, ReadsAStateDictByName) {
  const std::string path = save_state_dict("resnet20", 10);
  EXPECT_EQ(detect_pytorch_file(path), PyTorchFileKind::kStateDict);
  const NamedTensors tensors = read_pytorch_weights(path);
  auto net = build_model("resnet20", {10, 3});
  EXPECT_EQ(tensors.size(), state_dict(*net).size());
  EXPECT_NO_THROW(load_state_dict(*net, tensors, path));
}

TEST(Importer, DropsTheDataParallelPrefix) {
  const NamedTensors tensors = read_pytorch_weights(save_state_dict("resnet20", 10, "module."));
  for (const auto& t : tensors) EXPECT_EQ(t.first.rfind("module.", 0), std::string::npos) << t.first;
}

TEST(Importer, RejectsMissingTextAndForeignFiles) {
  EXPECT_NE(bnrecal::testing::input_error_message([] { read_pytorch_weights("/nonexistent/weights.pt"); }).find("does not exist"),
            std::string::npos);
  EXPECT_NE(bnrecal::testing::input_error_message([] { read_pytorch_weights(write_text("not weights\n")); }).find("not a PyTorch file"),
            std::string::npos);
  EXPECT_NE(bnrecal::testing::input_error_message([] { read_pytorch_weights(write_text("\x80\x02legacy")); }).find("legacy"), std::string::npos);
}

TEST(Importer, WrongArchitectureListsEveryMismatch) {
  ImportOptions options;
  options.arch = "resnet32";
  options.num_classes = 10;
  options.weights_path = save_state_dict("resnet20", 10);
  const std::string message = bnrecal::testing::input_error_message([&] { import_pytorch_model(options); });
  EXPECT_NE(message.find("missing"), std::string::npos) << message;
  EXPECT_NE(message.find("layer1.3.conv1.weight"), std::string::npos) << message;
  options.arch = "resnet20";
  options.num_classes = 100;
  const std::string shapes = bnrecal::testing::input_error_message([&] { import_pytorch_model(options); });
  EXPECT_NE(shapes.find("fc.weight"), std::string::npos) << shapes;
  options.arch = "no_such_net";
  EXPECT_NE(bnrecal::testing::input_error_message([&] { import_pytorch_model(options); }).find("unknown model"), std::string::npos);
}

TEST(Importer, CheckpointRecordsProvenanceAndReloadsToTheSameModel) {
  ImportOptions options;
  options.arch = "mobilenet_v2";
  options.num_classes = 7;
  options.weights_path = save_state_dict("mobilenet_v2", 7);
  const std::string out = bnrecal::testing::temp_dir() + "/m.safetensors";
  const ModelCard card = import_to_checkpoint(options, out);
  LoadedModel loaded = load_model(out);
  EXPECT_EQ(loaded.card.to_json(), card.to_json());
  EXPECT_EQ(card.arch, "mobilenet_v2");
  EXPECT_EQ(card.num_classes, 7);
  EXPECT_EQ(card.input_shape, std::vector<int64_t>({3, 224, 224}));
  EXPECT_EQ(card.dataset, "");  // imported weights name no dataset: commands ask for --data
  EXPECT_EQ(card.normalization.mean.at(0), 0.485);
  EXPECT_NE(card.source.find("mobilenet_v2.pt"), std::string::npos);

  ImportedModel direct = import_pytorch_model(options);
  at::NoGradGuard no_grad;
  const at::Tensor x = at::randn({1, 3, 64, 64});
  EXPECT_TRUE(at::equal(direct.network->forward(x), loaded.network->forward(x)));
}

TEST(Importer, GoogLeNetDefaultsToTheInceptionNormalization) {
  ImportOptions options;
  options.arch = "googlenet";
  options.num_classes = 5;
  options.weights_path = save_state_dict("googlenet", 5);
  EXPECT_EQ(import_pytorch_model(options).card.normalization.std.at(0), 0.5);
  options.normalization = "imagenet";
  EXPECT_EQ(import_pytorch_model(options).card.normalization.std.at(0), 0.229);
}

TEST(ImportCommand, WritesACheckpointAndReportsBadInputWithExitCode1) {
  const std::string cli = bnrecal::testing::cli_path();
  const std::string weights = save_state_dict("resnet20", 10);
  const std::string out = bnrecal::testing::temp_dir() + "/r.safetensors";
  auto ok = run_command(cli + " import --arch resnet20 --num-classes 10 --weights " + weights + " -o " + out);
  EXPECT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_EQ(load_model(out).card.arch, "resnet20");

  auto missing = run_command(cli + " import --arch resnet20 --weights /nonexistent.pt -o " + out);
  EXPECT_EQ(missing.exit_code, 1) << missing.output;
  EXPECT_NE(missing.output.find("does not exist"), std::string::npos) << missing.output;
  auto text = run_command(cli + " import --arch resnet20 --weights " + write_text("hello") + " -o " + out);
  EXPECT_EQ(text.exit_code, 1) << text.output;
  EXPECT_NE(text.output.find("not a PyTorch file"), std::string::npos) << text.output;
  auto wrong = run_command(cli + " import --arch resnet32 --num-classes 10 --weights " + weights + " -o " + out);
  EXPECT_EQ(wrong.exit_code, 1) << wrong.output;
  EXPECT_NE(wrong.output.find("missing"), std::string::npos) << wrong.output;
  auto usage = run_command(cli + " import --weights " + weights);
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
}

}  // namespace
}  // namespace bnrecal
