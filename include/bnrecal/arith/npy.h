// NumPy .npy files (format versions 1.0, 2.0 and 3.0; C order; little-endian
// uint8, int8, int32, int64 and float32), used for golden-model inputs/outputs.
//
//   bnrecal::NpyArray a = bnrecal::read_npy("A.npy");    // throws InputError
//   if (a.dtype != bnrecal::NpyDtype::kUint8 || a.shape.size() != 2) ...
//   const uint8_t* x = a.data_as<uint8_t>();
//   bnrecal::write_npy("Y.npy", bnrecal::NpyDtype::kInt32, {M, N}, y.data());
//
//   bnrecal::NpyWriter out("Y.npy", bnrecal::NpyDtype::kInt32, {M, N});  // or in row blocks,
//   for (...) out.append(block.data(), rows * N);  // each written (and sent to disk) at once
//   out.commit();
//
// read_npy maps the file instead of copying it (a 29 MB operand: 15 ms instead of 180 ms on a
// machine where fresh memory is expensive), so the file must not be truncated while the array is
// in use (the same contract as numpy.load(mmap_mode='r')).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bnrecal/core/files.h"

namespace bnrecal {

enum class NpyDtype { kUint8, kInt8, kInt32, kInt64, kFloat32 };

// Bytes per element, and the .npy descr string ("|u1", "|i1", "<i4", "<i8", "<f4").
int64_t npy_dtype_size(NpyDtype dtype);
std::string npy_descr(NpyDtype dtype);

struct NpyArray {
  NpyDtype dtype = NpyDtype::kUint8;
  std::vector<int64_t> shape;  // empty: a scalar (one element)
  // numel() * npy_dtype_size(dtype) bytes, C order, little-endian: a read-only mapping of the
  // file when its data is 8-byte aligned (NumPy aligns it to 64), else a copy.
  std::shared_ptr<const uint8_t> storage;

  int64_t numel() const;
  // Typed view; T must match dtype (checked, std::logic_error otherwise).
  template <typename T>
  const T* data_as() const;
};

// Reads a whole .npy file. Throws InputError naming the file for a missing
// file, bad magic, unsupported version, fortran_order True, an unsupported
// dtype, a malformed header or truncated data.
NpyArray read_npy(const std::string& path);

// A .npy file written as its elements are produced (C order), atomically: nothing appears under
// path until commit() (bnrecal/core/files.h's AtomicFileWriter, whose `sync` it passes on).
// InputError when the file cannot be written; std::logic_error for appending more elements than
// the shape holds, or committing fewer.
class NpyWriter {
 public:
  NpyWriter(const std::string& path, NpyDtype dtype, const std::vector<int64_t>& shape,
            bool sync = true);
  void append(const void* data, int64_t elements);
  void commit();

 private:
  AtomicFileWriter file_;
  NpyDtype dtype_;
  int64_t remaining_;  // elements still to append
};

// Writes atomically: to path + ".tmp.<pid>", then rename(). Throws InputError
// when the file cannot be written.
void write_npy(const std::string& path, NpyDtype dtype, const std::vector<int64_t>& shape,
               const void* data);
inline void write_npy(const std::string& path, const NpyArray& array) {
  write_npy(path, array.dtype, array.shape, array.storage.get());
}

}  // namespace bnrecal
