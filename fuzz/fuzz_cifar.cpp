// A CIFAR-10 binary batch (test_batch.bin in a folder), opened and every record decoded.
#include <filesystem>

#include "bnrecal/data/cifar.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The input is written straight into the folder: copying it there (copy_file) failed with EINTR
  // under libFuzzer's timer signal, aborting the run with no finding in the reader.
  const std::string dir = bnrecal::fuzz::temp_path("cifar-dir");
  std::filesystem::create_directories(dir);
  bnrecal::fuzz::as_file(data, size, "cifar-dir/test_batch.bin");
  bnrecal::fuzz::expect_clean_refusal([&] {
    auto source = bnrecal::open_cifar(dir, bnrecal::Split::kTest);
    std::mt19937_64 rng(0);
    if (source->size() > 0) source->load({0, source->size() - 1}, false, rng);
  });
  return 0;
}
