// The torch.save pickle itself: the input becomes data.pkl of a valid archive (with one 64-byte
// storage record, data/0), so mutations reach the unpickler instead of failing the zip checks.
#include <caffe2/serialize/inline_container.h>

#include "bnrecal/models/importer.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = bnrecal::fuzz::as_file(data, 0, "pickle.pt");
  {
    caffe2::serialize::PyTorchStreamWriter writer(path);
    writer.writeRecord("data.pkl", data, size);
    const std::string storage(64, '\1');
    writer.writeRecord("data/0", storage.data(), storage.size());
    writer.writeEndOfFile();
  }
  bnrecal::fuzz::expect_clean_refusal([&] { bnrecal::detail::read_torch_save(path); });
  return 0;
}
