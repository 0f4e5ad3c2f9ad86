// An ONNX model as `--model x.onnx` and `bnrecal import` read it: the protobuf, the graph's
// structure (cycles, missing values, duplicate names), attributes, tensors, building the network
// and the forward pass on a zero image that finds the class count.
#include <cstdlib>

#include "bnrecal/models/checkpoint.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  // Small models only: a mutated width would otherwise make the forward pass allocate gigabytes.
  setenv("BNRECAL_LIMITS", "tensor_elements=65536,model_width=64", 1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bnrecal::fuzz::as_file(data, size, "model.onnx");
  bnrecal::fuzz::expect_clean_refusal([&] { bnrecal::load_model(path); });
  return 0;
}
