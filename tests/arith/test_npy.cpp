// .npy round trips for every dtype and the error cases.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "bnrecal/arith/npy.h"
#include "bnrecal/core/error.h"

namespace bnrecal {
namespace {

std::string temp_path(const std::string& name) {
  return ::testing::TempDir() + "bnrecal_npy_" + std::to_string(::getpid()) + "_" + name;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename T>
void round_trip(NpyDtype dtype, const std::vector<int64_t>& shape, const std::vector<T>& values) {
  const std::string path = temp_path(npy_descr(dtype).substr(1) + ".npy");
  write_npy(path, dtype, shape, values.data());
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.dtype, dtype);
  EXPECT_EQ(a.shape, shape);
  ASSERT_EQ(a.numel(), static_cast<int64_t>(values.size()));
  EXPECT_EQ(std::vector<T>(a.data_as<T>(), a.data_as<T>() + a.numel()), values);
  const std::string bytes = read_file(path);
  EXPECT_EQ((bytes.size() - values.size() * sizeof(T)) % 64, 0u);  // data 64-byte aligned
  std::remove(path.c_str());
}

TEST(Npy, RoundTripEveryDtype) {
  round_trip<uint8_t>(NpyDtype::kUint8, {2, 3}, {0, 1, 2, 127, 128, 255});
  round_trip<int8_t>(NpyDtype::kInt8, {3, 2}, {-128, -1, 0, 1, 7, 127});
  round_trip<int32_t>(NpyDtype::kInt32, {2, 2}, {-2147483647 - 1, -5, 6, 2147483647});
  round_trip<int64_t>(NpyDtype::kInt64, {3}, {-(int64_t{1} << 40), 0, int64_t{1} << 40});
  round_trip<float>(NpyDtype::kFloat32, {1, 2, 2}, {0.5f, -1.25f, 3e9f, -0.0f});
  round_trip<int32_t>(NpyDtype::kInt32, {}, {42});          // scalar
  round_trip<uint8_t>(NpyDtype::kUint8, {0, 5}, {});        // empty
}

TEST(Npy, ReadsVersion2Header) {
  // Hand-built v2.0 file: 4-byte header length.
  std::string header = "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }";
  header.append(128 - 12 - header.size() - 1, ' ');
  header += '\n';
  std::string file = std::string("\x93NUMPY\x02\x00", 8);
  const uint32_t len = static_cast<uint32_t>(header.size());
  for (int i = 0; i < 4; ++i) file += static_cast<char>((len >> (8 * i)) & 0xFF);
  file += header;
  const int32_t values[2] = {-7, 9};
  file.append(reinterpret_cast<const char*>(values), sizeof values);
  const std::string path = temp_path("v2.npy");
  write_file(path, file);
  const NpyArray a = read_npy(path);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2}));
  EXPECT_EQ(a.data_as<int32_t>()[0], -7);
  EXPECT_EQ(a.data_as<int32_t>()[1], 9);
  std::remove(path.c_str());
}

// Writes a valid int32 [2,2] file, lets `mutate` corrupt it, and expects an
// InputError whose message names the file and contains `expected`.
void expect_bad(const std::string& name, const std::function<void(std::string&)>& mutate,
                const std::string& expected) {
  const std::string path = temp_path(name);
  const int32_t v[4] = {1, 2, 3, 4};
  write_npy(path, NpyDtype::kInt32, {2, 2}, v);
  std::string bytes = read_file(path);
  mutate(bytes);
  write_file(path, bytes);
  try {
    read_npy(path);
    ADD_FAILURE() << name << ": no error";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(path), std::string::npos) << msg;
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
  }
  std::remove(path.c_str());
}

void replace(std::string& s, const std::string& from, const std::string& to) {
  const size_t pos = s.find(from);
  ASSERT_NE(pos, std::string::npos);
  s.replace(pos, from.size(), to);
}

TEST(Npy, RejectsBadInput) {
  expect_bad("truncated.npy", [](std::string& s) { s.resize(s.size() - 3); }, "truncated data");
  expect_bad("magic.npy", [](std::string& s) { s[1] = 'X'; }, "bad magic");
  expect_bad("version.npy", [](std::string& s) { s[6] = 9; }, "unsupported format version");
  expect_bad("fortran.npy", [](std::string& s) { replace(s, "False", "True "); }, "fortran_order");
  expect_bad("dtype.npy", [](std::string& s) { replace(s, "<i4", "<c8"); }, "unsupported dtype");
  expect_bad("bigendian.npy", [](std::string& s) { replace(s, "<i4", ">i4"); }, "unsupported dtype");
  expect_bad("shape.npy", [](std::string& s) { replace(s, "(2, 2)", "(2, x)"); }, "shape");
  expect_bad("header.npy", [](std::string& s) { replace(s, "'descr'", "'dscr' "); }, "descr");
  expect_bad("short.npy", [](std::string& s) { s.resize(5); }, "bad magic");
}

TEST(Npy, MissingFileNamesThePath) {
  const std::string path = temp_path("does_not_exist.npy");
  try {
    read_npy(path);
    ADD_FAILURE() << "no error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos);
  }
}

TEST(Npy, WriteIsAtomicAndLeavesNoTempFile) {
  const std::string path = temp_path("atomic.npy");
  const uint8_t v[3] = {1, 2, 3};
  write_npy(path, NpyDtype::kUint8, {3}, v);
  write_npy(path, NpyDtype::kUint8, {3}, v);  // overwrite in place
  std::ifstream tmp(path + ".tmp." + std::to_string(::getpid()));
  EXPECT_FALSE(tmp.good());
  EXPECT_EQ(read_npy(path).numel(), 3);
  std::remove(path.c_str());
  EXPECT_THROW(write_npy("/nonexistent_dir_bnrecal/x.npy", NpyDtype::kUint8, {3}, v), InputError);
}

TEST(Npy, WriterInBlocksEqualsOneWrite) {
  const std::string whole = temp_path("whole.npy"), blocks = temp_path("blocks.npy");
  std::vector<int32_t> y(7 * 3);
  for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<int32_t>(i * 977) - 5000;
  write_npy(whole, NpyDtype::kInt32, {7, 3}, y.data());
  for (const bool sync : {true, false}) {
    NpyWriter out(blocks, NpyDtype::kInt32, {7, 3}, sync);
    out.append(y.data(), 6);  // rows 0-1
    out.append(y.data() + 6, 0);
    EXPECT_FALSE(std::ifstream(blocks).good());  // nothing under the name before commit
    out.append(y.data() + 6, 15);
    out.commit();
    EXPECT_EQ(read_file(blocks), read_file(whole));
    std::remove(blocks.c_str());
  }
  std::remove(whole.c_str());
}

TEST(Npy, WriterRefusesTheWrongElementCountAndLeavesNothing) {
  const std::string path = temp_path("short.npy");
  const std::vector<int64_t> v(4, 1);
  {
    NpyWriter out(path, NpyDtype::kInt64, {2, 2});
    out.append(v.data(), 3);
    EXPECT_THROW(out.append(v.data(), 2), std::logic_error);  // 5 > 4
    EXPECT_THROW(out.commit(), std::logic_error);             // 3 < 4
  }  // destroyed without a commit: the temporary is removed
  EXPECT_FALSE(std::ifstream(path).good());
  EXPECT_FALSE(std::ifstream(path + ".tmp." + std::to_string(::getpid())).good());
}

}  // namespace
}  // namespace bnrecal
