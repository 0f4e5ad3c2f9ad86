// PNG decoding as the ImageFolder and ImageNet readers do it.
#include "bnrecal/data/image_decode.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  bnrecal::fuzz::expect_clean_refusal([&] { bnrecal::decode_png(bytes, "input.png"); });
  return 0;
}
