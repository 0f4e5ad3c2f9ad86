// A CIFAR-10 binary batch (test_batch.bin in a folder), opened and every record decoded.
#include <filesystem>

#include "bnrecal/data/cifar.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file = bnrecal::fuzz::as_file(data, size, "cifar");
  const std::string dir = file + "-dir";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(file, dir + "/test_batch.bin", std::filesystem::copy_options::overwrite_existing);
  bnrecal::fuzz::expect_clean_refusal([&] {
    auto source = bnrecal::open_cifar(dir, bnrecal::Split::kTest);
    std::mt19937_64 rng(0);
    if (source->size() > 0) source->load({0, source->size() - 1}, false, rng);
  });
  return 0;
}
