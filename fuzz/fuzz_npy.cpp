// A NumPy .npy file as `bnrecal gemm` reads its operands.
#include "bnrecal/arith/npy.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bnrecal::fuzz::as_file(data, size, "array.npy");
  bnrecal::fuzz::expect_clean_refusal([&] { bnrecal::read_npy(path); });
  return 0;
}
