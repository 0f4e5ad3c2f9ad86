// An IDX file (MNIST layout), plain or gzip-compressed: the same reader takes both.
#include "bnrecal/data/idx.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bnrecal::fuzz::as_file(data, size, "images-idx3-ubyte");
  bnrecal::fuzz::expect_clean_refusal([&] { bnrecal::read_idx(path); });
  return 0;
}
