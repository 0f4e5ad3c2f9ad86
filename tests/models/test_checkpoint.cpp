#include <gtest/gtest.h>

#include <fstream>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"
#include "test_support.h"

namespace bnrecal {
namespace {

std::shared_ptr<Network> randomized_resnet20(uint64_t seed) {
  torch::manual_seed(seed);
  auto net = build_model("resnet20", {10, 1});
  // Random BN statistics so that buffers are not all 0/1 and a lost buffer would show.
  torch::NoGradGuard no_grad;
  for (auto& b : net->named_buffers())
    if (b.value().is_floating_point()) b.value().uniform_(0.5, 1.5);
  return net;
}

TEST(Checkpoint, RoundTripIsBitIdenticalAndKeepsMetadata) {
  const std::string path = testing::temp_dir() + "/m.safetensors";
  auto net = randomized_resnet20(1);
  const nlohmann::json meta = {{"arch", "resnet20"}, {"num_classes", 10}, {"input_shape", {1, 28, 28}},
                               {"dataset", "fashion-mnist"}, {"training", {{"seed", 3}, {"command", "bnrecal train"}}}};
  save_checkpoint(path, *net, ModelCard::from_json(meta));
  EXPECT_FALSE(file_exists(path + ".tmp." + std::to_string(::getpid())));

  LoadedModel loaded = load_model(path);
  EXPECT_EQ(loaded.card.to_json(), ModelCard::from_json(meta).to_json());
  EXPECT_EQ(read_safetensors(path).metadata["training"]["seed"], 3);
  const NamedTensors a = state_dict(*net), b = state_dict(*loaded.network);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    EXPECT_EQ(a[i].second.scalar_type(), b[i].second.scalar_type());
    EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first;
  }
  // num_batches_tracked is int64 and must survive as such.
  const Checkpoint raw = read_safetensors(path);
  bool found = false;
  for (const auto& [name, t] : raw.tensors)
    if (name == "bn1.num_batches_tracked") found = t.scalar_type() == at::kLong;
  EXPECT_TRUE(found);
}

TEST(Checkpoint, FileLayoutIsSafetensors) {
  const std::string path = testing::temp_dir() + "/x.safetensors";
  write_safetensors(path, {{"w", at::arange(6, at::kFloat).view({2, 3})}}, {{"k", "v"}});
  const std::string bytes = read_file(path);
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[i])) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u);
  const auto header = nlohmann::json::parse(bytes.substr(8, n));
  EXPECT_EQ(header["w"]["dtype"], "F32");
  EXPECT_EQ(header["w"]["shape"], nlohmann::json({2, 3}));
  EXPECT_EQ(header["w"]["data_offsets"], nlohmann::json({0, 24}));
  EXPECT_EQ(nlohmann::json::parse(header["__metadata__"]["bnrecal"].get<std::string>())["k"], "v");
  float third;
  std::memcpy(&third, bytes.data() + 8 + n + 8, 4);
  EXPECT_EQ(third, 2.0f);
}

// A header length of 128 + 256 k starts the file with 0x80, the first byte of a legacy torch.save
// pickle: it must still read as safetensors (a wide_resnet50_2 checkpoint happened to hit it).
TEST(Checkpoint, HeaderLengthStartingWithThePickleByteIsSafetensors) {
  const std::string path = testing::temp_dir() + "/pickle-byte.safetensors";
  const at::Tensor w = at::arange(6, at::kFloat);
  bool hit = false;
  for (int pad = 0; pad < 256 && !hit; ++pad) {
    write_safetensors(path, {{"w", w}}, {{"pad", std::string(pad, 'x')}});
    hit = static_cast<uint8_t>(read_file(path)[0]) == 0x80;
  }
  ASSERT_TRUE(hit);
  const Checkpoint c = read_safetensors(path);
  ASSERT_EQ(c.tensors.size(), 1u);
  EXPECT_TRUE(c.tensors[0].second.equal(w));
}

TEST(Checkpoint, MismatchReportListsEveryProblem) {
  auto net = randomized_resnet20(2);
  NamedTensors tensors = state_dict(*net);
  const NamedTensors original = state_dict(*randomized_resnet20(2));
  tensors.erase(tensors.begin());  // conv1.weight missing
  for (auto& [name, t] : tensors)
    if (name == "fc.weight") t = at::zeros({7, 64});
  tensors.emplace_back("extra.weight", at::zeros({1}));
  auto target = randomized_resnet20(3);
  const NamedTensors before = state_dict(*target);
  try {
    load_state_dict(*target, tensors, "some.safetensors");
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("some.safetensors"), std::string::npos);
    EXPECT_NE(msg.find("missing (1):\n    conv1.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected (1):\n    extra.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fc.weight (expected [10, 64], found [7, 64])"), std::string::npos) << msg;
  }
  // Nothing was copied: the model is untouched when anything is wrong.
  const NamedTensors after = state_dict(*target);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(before[i].second.equal(after[i].second));
}

TEST(Checkpoint, CorruptFilesGiveClearErrors) {
  const std::string dir = testing::temp_dir();
  write_file_atomic(dir + "/short", "abc");
  EXPECT_THROW(read_safetensors(dir + "/short"), InputError);
  write_file_atomic(dir + "/huge", std::string("\xff\xff\xff\xff\x00\x00\x00\x00{}", 10));
  EXPECT_THROW(read_safetensors(dir + "/huge"), InputError);
  write_safetensors(dir + "/ok", {{"w", at::ones({100})}}, {});
  std::string bytes = read_file(dir + "/ok");
  write_file_atomic(dir + "/cut", bytes.substr(0, bytes.size() - 40));
  try {
    read_safetensors(dir + "/cut");
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  EXPECT_THROW(read_safetensors(dir + "/missing"), InputError);
}

TEST(Checkpoint, PythonSafetensorsLayoutIsReadableByTorch) {
  // Cross-check with Python when available: torch can parse our header and data by hand.
  if (testing::run_command("/usr/bin/python3 -c 'import torch'").exit_code != 0)
    GTEST_SKIP() << "apt-get install python3-torch";
  const std::string path = testing::temp_dir() + "/p.safetensors";
  write_safetensors(path, {{"a", at::arange(5, at::kLong)}, {"b", at::full({2, 2}, 1.5)}}, {{"x", 1}});
  const std::string script =
      "import json,struct,torch,sys\n"
      "d=open(sys.argv[1],'rb').read(); n=struct.unpack('<Q',d[:8])[0]; h=json.loads(d[8:8+n]); base=8+n\n"
      "def t(k):\n"
      "    e = h[k]; s, f = e['data_offsets']; dt = {'I64': torch.int64, 'F32': torch.float32}[e['dtype']]\n"
      "    return torch.frombuffer(bytearray(d[base+s:base+f]), dtype=dt).reshape(e['shape'])\n"
      "print(t('a').sum().item(), t('b').sum().item(), json.loads(h['__metadata__']['bnrecal'])['x'])\n";
  const std::string script_path = testing::temp_dir() + "/read.py";
  {
    std::ofstream(script_path) << script;
  }
  const auto r = testing::run_command("/usr/bin/python3 " + script_path + " " + path);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("10 6.0 1"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace bnrecal
