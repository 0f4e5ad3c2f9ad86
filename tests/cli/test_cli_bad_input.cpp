// Hostile and mistaken input, end to end: each case is a file a fuzzer or a confused user produced
// (a header that declares gigabytes, nesting that would overflow the stack, a PyTorch file passed
// as a checkpoint) or a bad command line, with the exit code and the message fragment bnrecal must
// give. Exit 1: bad input, named; exit 2: bad usage; never a crash, an "internal error" or a
// multi-gigabyte allocation.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <fstream>
#include <functional>

#include "bnrecal/core/files.h"
#include "bnrecal/models/checkpoint.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;
using namespace std::string_literals;  // "..."s keeps the NUL bytes of binary literals

namespace {

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return s;
}

// A safetensors file with this JSON header and data section.
std::string safetensors(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

std::string nested_json(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

// A v1 .npy file: its header dict, then the payload bytes.
std::string npy(const std::string& dict, const std::string& payload) {
  std::string header = dict;
  header.append(64 - (10 + header.size() + 1) % 64, ' ');
  header += '\n';
  return std::string("\x93NUMPY\x01\x00", 8) + static_cast<char>(header.size() & 0xff) +
         static_cast<char>(header.size() >> 8) + header + payload;
}

// `bnrecal gemm` on activations of this shape and payload and on weights of this shape (no payload).
std::string gemm_command(const std::string& d, const std::string& a_shape, const std::string& a_payload,
                         const std::string& w_shape) {
  write_bytes(d + "/a.npy", npy("{'descr': '|u1', 'fortran_order': False, 'shape': " + a_shape + ", }", a_payload));
  write_bytes(d + "/w.npy", npy("{'descr': '|i1', 'fortran_order': False, 'shape': " + w_shape + ", }", ""));
  return "gemm --a " + d + "/a.npy --w " + d + "/w.npy -o " + d + "/y.npy --smt 2";
}

// A torch.save zip archive holding this pickle (and the records it names).
void write_torch_archive(const std::string& path, const std::string& pickle,
                         const std::vector<std::pair<std::string, std::string>>& records = {}) {
  caffe2::serialize::PyTorchStreamWriter writer(path);
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  for (const auto& [name, bytes] : records) writer.writeRecord(name, bytes.data(), bytes.size());
  writer.writeEndOfFile();
}

// The metadata of a real (untrained) checkpoint with one key replaced.
std::string checkpoint_with_metadata(const std::string& key, const nlohmann::json& value) {
  Checkpoint c = read_safetensors(untrained_resnet20_checkpoint());
  nlohmann::json metadata = c.metadata;
  metadata[key] = value;
  const std::string path = temp_dir() + "/patched.safetensors";
  write_safetensors(path, c.tensors, metadata);
  return path;
}

struct BadCase {
  const char* name;
  std::function<std::string(const std::string& dir)> args;  // writes its files into dir
  int exit_code;
  const char* fragment;
};

// Checkpoints given as --model.
std::vector<BadCase> bad_checkpoints() {
  return {
      {"checkpoint header nested 100,000 deep",
       [](const std::string& d) {
         write_bytes(d + "/m.safetensors", safetensors("{\"x\": " + nested_json(100000) + "}"));
         return "eval -m " + d + "/m.safetensors";
       },
       1, "JSON nesting depth"},
      {"checkpoint metadata nested 100,000 deep",
       [](const std::string& d) {
         const std::string inner = nlohmann::json(nested_json(100000)).dump();
         write_bytes(d + "/m.safetensors", safetensors("{\"__metadata__\": {\"bnrecal\": " + inner + "}}"));
         return "eval -m " + d + "/m.safetensors";
       },
       1, "JSON nesting depth"},
      {"tensor whose shape declares 2^40 elements for 4 bytes",
       [](const std::string& d) {
         write_bytes(d + "/m.safetensors",
                     safetensors(R"({"w": {"dtype": "F32", "shape": [1048576, 1048576], "data_offsets": [0, 4]}})", "abcd"));
         return "eval -m " + d + "/m.safetensors";
       },
       1, "exceeds the limit tensor_elements"},
      {"metadata with a wrong JSON type",
       [](const std::string&) { return "eval -m " + checkpoint_with_metadata("num_classes", "ten"); }, 1,
       "bnrecal metadata"},
      {"metadata claiming 50 million classes",
       [](const std::string&) { return "eval -m " + checkpoint_with_metadata("num_classes", 50000000); }, 1,
       "num_classes 50000000 exceeds the limit model_width"},
      {"metadata claiming a 10-million-pixel-wide input",
       [](const std::string&) {
         return "eval -m " + checkpoint_with_metadata("input_shape", {3, 10000000, 32});
       },
       1, "input_shape dimension 10000000 exceeds the limit model_width"},
      {"an activation range of 1e308 (would overflow the float scale)",
       [](const std::string&) {
         return "eval --policy a8w8 -m " +
                checkpoint_with_metadata("activation_calibration", {{"layers", {{"conv1", {{"a_max", 1e308}}}}}});
       },
       1, "outside [1e-20, 1e20]"},
      {"a PyTorch file passed as a checkpoint",
       [](const std::string& d) {
         write_torch_archive(d + "/w.pt", "\x80\x02}.");
         return "eval -m " + d + "/w.pt";
       },
       1, "convert it once with `bnrecal import`"},
      {"a folder passed as a checkpoint", [](const std::string& d) { return "eval -m " + d; }, 1, "is a folder"},
  };
}

// PyTorch files given to `bnrecal import`.
std::vector<BadCase> bad_pytorch_files() {
  return {
      {"torch.save pickle of lists nested 100,000 deep (freed without recursion)",
       [](const std::string& d) {
         const int depth = 100000;
         write_torch_archive(d + "/w.pt", "\x80\x02" + std::string(depth, ']') + std::string(depth - 1, 'a') + ".");
         return "import --arch resnet20 --weights " + d + "/w.pt -o " + d + "/out.safetensors";
       },
       1, "does not hold a dict of tensors"},
      {"torch.save pickle of a list that contains itself (found by fuzz_pickle: leaked)",
       [](const std::string& d) {
         write_torch_archive(d + "/w.pt", "\x80\x02]q\x00h\x00" "a."s);  // EMPTY_LIST, BINPUT 0, BINGET 0, APPEND
         return "import --arch resnet20 --weights " + d + "/w.pt -o " + d + "/out.safetensors";
       },
       1, "does not hold a dict of tensors"},
      {"torch.save pickle that pops below its MARK (found by fuzz_pickle: was std::length_error)",
       [](const std::string& d) {
         write_torch_archive(d + "/w.pt", "\x80\x02K\x00K\x01K\x02(st."s);  // 3 ints, MARK, SETITEM, TUPLE
         return "import --arch resnet20 --weights " + d + "/w.pt -o " + d + "/out.safetensors";
       },
       1, "MARK below"},
      {"torch.save pickle string of 2^64-1 bytes (the bounds check wrapped around)",
       [](const std::string& d) {
         write_torch_archive(d + "/w.pt", "\x80\x02\x8d" + std::string(8, '\xff') + ".");  // BINUNICODE8
         return "import --arch resnet20 --weights " + d + "/w.pt -o " + d + "/out.safetensors";
       },
       1, "truncated pickle"},
      {"a TorchScript archive whose code does not parse",
       [](const std::string& d) {
         write_torch_archive(d + "/ts.pt", "not a pickle", {{"constants.pkl", "\x80\x02)."}});
         return "import --arch resnet20 --weights " + d + "/ts.pt -o " + d + "/out.safetensors";
       },
       1, "cannot load TorchScript archive"},
      {"torch.save tensor expanded from 1 element to 10^10",
       [](const std::string& d) {
         // {'w': _rebuild_tensor_v2(storage('0', FloatStorage, 1 element), 0, (100000, 100000), (0, 0), False, {})}
         const std::string pickle = "\x80\x02}X\x01\x00\x00\x00w"s + "ctorch._utils\n_rebuild_tensor_v2\n(" +
                                    "(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"s + "0X\x03\x00\x00\x00"s +
                                    "cpuK\x01tQ" + "K\x00J\xa0\x86\x01\x00J\xa0\x86\x01\x00\x86K\x00K\x00\x86\x89}tRs."s;
         write_torch_archive(d + "/w.pt", pickle, {{"data/0", std::string(4, '\0')}});
         return "import --arch resnet20 --weights " + d + "/w.pt -o " + d + "/out.safetensors";
       },
       1, "exceeds the limit tensor_elements"},
  };
}

// Arrays, datasets and specs: .npy operands, IDX files, policy JSON.
std::vector<BadCase> bad_arrays_and_specs() {
  return {
      {"gemm with K = 0 and an output of 2^41 elements",
       [](const std::string& d) { return gemm_command(d, "(1099511627776, 0)", "", "(2, 0)"); }, 1,
       "exceeds the limit tensor_elements"},
      {".npy header declaring more than the file holds",
       [](const std::string& d) { return gemm_command(d, "(1000, 1000)", "xx", "(2, 1000)"); }, 1, "the file has"},
      {"IDX images claiming 2^32 x 28 x 28 bytes",
       [](const std::string& d) {
         const std::string idx3 = std::string("\0\0\x08\x03\xff\xff\xff\xff\0\0\0\x1c\0\0\0\x1c", 16);
         write_bytes(d + "/train-images-idx3-ubyte", idx3);
         write_bytes(d + "/t10k-images-idx3-ubyte", idx3);
         write_bytes(d + "/train-labels-idx1-ubyte", std::string("\0\0\x08\x01\0\0\0\x01\x03", 9));
         write_bytes(d + "/t10k-labels-idx1-ubyte", std::string("\0\0\x08\x01\0\0\0\x01\x03", 9));
         return "eval -m " + untrained_resnet20_checkpoint() + " --data " + d;
       },
       1, "exceeds the limit tensor_elements"},
      {"an unknown key in --policy-json",
       [](const std::string& d) {
         write_bytes(d + "/p.json", R"({"policy": "a8w8", "smtt": 2})");
         return "eval --policy-json " + d + "/p.json";
       },
       1, "unknown key 'smtt'"},
  };
}

// Command lines that are malformed, before any file is read.
std::vector<BadCase> bad_usages() {
  return {
      {"an unknown subcommand", [](const std::string&) { return std::string("evl"); }, 2,
       "unknown subcommand 'evl' (known: models"},
      {"a negative count", [](const std::string&) { return std::string("eval --threads -1"); }, 2,
       "--threads: must be >= 0, got -1"},
      {"--eta without --noise", [](const std::string&) { return std::string("eval --eta 0.04"); }, 2, "--noise"},
      {"--noise without --eta", [](const std::string&) { return std::string("eval --noise seed-003"); }, 2, "--eta"},
      {"an unknown policy", [](const std::string&) { return std::string("eval --policy bogus"); }, 2,
       "unknown policy 'bogus'"},
      {"an unsupported thread count", [](const std::string&) { return std::string("eval --policy sysmt --smt 3"); },
       2, "got '3'"},
  };
}

}  // namespace

TEST(BadInput, EveryCaseExitsWithItsCodeAndNamesTheProblem) {
  std::vector<BadCase> cases;
  for (auto table : {bad_checkpoints, bad_pytorch_files, bad_arrays_and_specs, bad_usages}) {
    for (BadCase& c : table()) cases.push_back(std::move(c));
  }
  for (const BadCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string dir = temp_dir();
    const CommandResult r = run_command(cli_path() + " " + c.args(dir) + " 2>&1");
    EXPECT_EQ(r.exit_code, c.exit_code) << r.output;
    EXPECT_NE(r.output.find(c.fragment), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find("internal error"), std::string::npos) << r.output;
    EXPECT_LE(std::count(r.output.begin(), r.output.end(), '\n'), 1) << "one line:\n" << r.output;
  }
}

TEST(BadInput, AKilledWritersTemporaryFileIsRemovedByTheNextWrite) {
  const std::string path = temp_dir() + "/result.json";
  const std::string stale = path + ".tmp.999999999";  // above Linux's largest pid
  write_bytes(stale, "partial");
  write_bytes(path + ".tmp.1", "pid 1 is alive");
  write_bytes(path + ".tmp.999999998", "dead, but just written (another host's, on a shared folder?)");
  // Ten minutes old: a pid that no longer exists and a file nobody touches any more.
  ASSERT_EQ(run_command("touch -d '-11 minutes' " + stale + " " + path + ".tmp.1").exit_code, 0);
  write_file_atomic(path, "{}");
  EXPECT_FALSE(file_exists(stale));
  EXPECT_TRUE(file_exists(path + ".tmp.1"));           // a live process's file stays
  EXPECT_TRUE(file_exists(path + ".tmp.999999998"));  // and so does a recent one
  EXPECT_EQ(read_file(path), "{}");
}
