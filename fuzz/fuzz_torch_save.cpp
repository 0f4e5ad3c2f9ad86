// A PyTorch file as `bnrecal import` reads it: the zip container, its kind (torch.save or
// TorchScript) and, for torch.save, the pickled state dict. TorchScript archives stop at the kind:
// their code is parsed by libtorch's own TorchScript loader, which is not bnrecal's to fuzz.
#include "bnrecal/models/importer.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bnrecal::fuzz::as_file(data, size, "weights.pt");
  bnrecal::fuzz::expect_clean_refusal([&] {
    if (bnrecal::detect_pytorch_file(path) == bnrecal::PyTorchFileKind::kStateDict) bnrecal::detail::read_torch_save(path);
  });
  return 0;
}
