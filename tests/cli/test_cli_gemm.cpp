// `bnrecal gemm`, the golden model on .npy files: its output equals the reference kernel for every
// thread count and rule, and bad flags or files are refused without writing anything.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "bnrecal/arith/npy.h"
#include "bnrecal/arith/sysmt.h"
#include "test_support.h"

namespace bnrecal {
namespace {

// Random operands with many zeros, so idle lanes and collisions both occur.
void write_operands(const std::string& a_path, const std::string& w_path, int64_t M, int64_t N, int64_t K,
                    std::vector<uint8_t>& a, std::vector<int8_t>& w) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> value(-128, 255), zero(0, 2);
  a.resize(static_cast<size_t>(M * K));
  w.resize(static_cast<size_t>(N * K));
  for (auto& x : a) x = zero(rng) == 0 ? 0 : static_cast<uint8_t>(value(rng) & 0xff);
  for (auto& x : w) x = zero(rng) == 0 ? 0 : static_cast<int8_t>(value(rng) % 128);
  write_npy(a_path, NpyDtype::kUint8, {M, K}, a.data());
  write_npy(w_path, NpyDtype::kInt8, {N, K}, w.data());
}

// A fresh folder with A.npy [M, K] and W.npy [N, K] from write_operands.
struct Operands {
  std::string dir;
  std::vector<uint8_t> a;
  std::vector<int8_t> w;
};

Operands operands(const std::string& name, int64_t M, int64_t N, int64_t K) {
  Operands o;
  o.dir = testing::temp_dir() + "/" + name;
  std::filesystem::create_directories(o.dir);
  write_operands(o.dir + "/A.npy", o.dir + "/W.npy", M, N, K, o.a, o.w);
  return o;
}

// `bnrecal gemm` has no --quiet, so not testing::bnrecal_cli.
testing::CommandResult gemm(const std::string& args) {
  return testing::run_command(testing::cli_path() + " gemm " + args + " --threads 2 2>&1");
}

TEST(GemmCli, MatchesTheReferenceKernel) {
  const int64_t M = 7, N = 5, K = 37;
  const auto [dir, a, w] = operands("gemm_cli", M, N, K);
  // The last one in the policy-spec form, which the flags accept too.
  for (const char* flags : {"--smt 1", "--smt 2", "--smt 4 --idle act --round trunc", "--smt 4 --round half_up",
                            "--smt smt=4 --idle idle=act --round round=trunc"}) {
    const std::string out = dir + "/Y.npy";
    const auto r = gemm("--a " + dir + "/A.npy --w " + dir + "/W.npy -o " + out + " " + flags);
    ASSERT_EQ(r.exit_code, 0) << flags << "\n" << r.output;
    const NpyArray y = read_npy(out);
    ASSERT_EQ(y.dtype, NpyDtype::kInt32);
    ASSERT_EQ(y.shape, (std::vector<int64_t>{M, N}));
    sysmt::SysmtConfig config;
    const std::string f = flags;
    config.threads = f.find('4') != std::string::npos ? 4 : f.find('2') != std::string::npos ? 2 : 1;
    if (f.find("act") != std::string::npos) config.idle = sysmt::parse_idle_rule("act");
    if (f.find("trunc") != std::string::npos) config.rounding = sysmt::parse_rounding("trunc");
    if (f.find("half_up") != std::string::npos) config.rounding = sysmt::parse_rounding("half_up");
    std::vector<int32_t> expected(static_cast<size_t>(M * N));
    sysmt::sysmt_gemm_ref(a.data(), w.data(), expected.data(), M, N, K, config);
    const int32_t* got = y.data_as<int32_t>();
    for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(got[i], expected[i]) << flags << " at " << i;
  }
  // The flags' help gives the values alone (the flag takes "4", not only "smt=4").
  const auto help = testing::run_command(testing::cli_path() + " gemm --help 2>&1");
  EXPECT_NE(help.output.find("1|2|4"), std::string::npos) << help.output;
  EXPECT_EQ(help.output.find("smt=1|2|4"), std::string::npos) << help.output;
  EXPECT_EQ(help.output.find("idle=either"), std::string::npos) << help.output;
}

TEST(GemmCli, LargeOutputsAreWrittenInBlocks) {
  // The output is computed and written in ~1 MB row blocks: with N = 2048 (256 rows per block)
  // M = 700 makes two whole blocks and a partial one, for int32 and int64, synced or not, and
  // with the reference kernel.
  const int64_t M = 700, N = 2048, K = 9;
  const auto [dir, a, w] = operands("gemm_cli_blocks", M, N, K);
  sysmt::SysmtConfig config;
  config.threads = 4;
  std::vector<int32_t> expected(static_cast<size_t>(M * N));
  sysmt::sysmt_gemm_ref(a.data(), w.data(), expected.data(), M, N, K, config);
  for (const char* flags : {"", " --out-dtype int64 --no-sync", " --ref --timing"}) {
    const std::string out = dir + "/Y.npy";
    const auto r = gemm("--a " + dir + "/A.npy --w " + dir + "/W.npy -o " + out + " --smt 4" + flags);
    ASSERT_EQ(r.exit_code, 0) << flags << "\n" << r.output;
    const NpyArray y = read_npy(out);
    ASSERT_EQ(y.shape, (std::vector<int64_t>{M, N}));
    for (size_t i = 0; i < expected.size(); ++i) {
      const int64_t got = y.dtype == NpyDtype::kInt64 ? y.data_as<int64_t>()[i] : y.data_as<int32_t>()[i];
      ASSERT_EQ(got, expected[i]) << flags << " at " << i;
    }
    EXPECT_EQ(y.dtype == NpyDtype::kInt64, std::string(flags).find("int64") != std::string::npos);
    if (std::string(flags).find("timing") != std::string::npos)
      EXPECT_NE(r.output.find("read to output"), std::string::npos) << r.output;
  }
}

TEST(GemmCli, BadFlagsAreUsageErrorsAndBadFilesDataErrors) {
  const std::string dir = operands("gemm_cli_bad", 3, 2, 8).dir;
  const std::string out = dir + "/never.npy";
  const std::string files = "--a " + dir + "/A.npy --w " + dir + "/W.npy -o " + out;
  for (const char* flags : {"--smt 3", "--smt 2 --idle sometimes", "--smt 2 --round up", "--smt 2,4", ""}) {
    const auto r = gemm(files + " " + flags);
    EXPECT_EQ(r.exit_code, 2) << flags << "\n" << r.output;
  }
  // Operands swapped: the activations file holds int8 weights.
  auto r = gemm("--a " + dir + "/W.npy --w " + dir + "/A.npy -o " + out + " --smt 2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("must be uint8"), std::string::npos) << r.output;
  r = gemm("--a " + dir + "/missing.npy --w " + dir + "/W.npy -o " + out + " --smt 2");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));
}

}  // namespace
}  // namespace bnrecal
