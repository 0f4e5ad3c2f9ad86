// A checkpoint as `--model` reads it: safetensors header and tensors, the bnrecal metadata (model
// card, calibration, recorded perturbations), the limits, building the model and loading weights.
#include "bnrecal/models/checkpoint.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bnrecal::fuzz::as_file(data, size, "model.safetensors");
  bnrecal::fuzz::expect_clean_refusal([&] { bnrecal::load_model(path); });
  return 0;
}
