// Reader for the IDX format of MNIST / Fashion-MNIST, gzipped (.gz, read through zlib) or raw.
//
//   bnrecal::IdxArray a = bnrecal::read_idx("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz");
//   // a.dims == {10000, 28, 28}, a.data.size() == 10000 * 28 * 28
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bnrecal {

struct IdxArray {
  std::vector<int64_t> dims;  // outermost first
  std::vector<uint8_t> data;  // row-major, unsigned bytes (the only element type MNIST uses)
};

// Throws InputError naming the file and the problem: missing file, wrong magic number,
// unsupported element type, truncated data, trailing bytes.
IdxArray read_idx(const std::string& path);

// Writes an unsigned-byte IDX file (raw, or gzipped when path ends in ".gz"). Used by tests
// and by anyone who wants to convert their own data into a folder bnrecal reads.
void write_idx(const std::string& path, const IdxArray& array);

}  // namespace bnrecal
