// safetensors: [u64 little-endian header length N][N bytes of JSON header, space padded][data].
// Header: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
//          "__metadata__": {"key": "string value"}}; offsets are relative to the data section.
#include <cstring>
#include <map>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/input_limits.h"
#include "bnrecal/core/json_config.h"
#include "bnrecal/models/checkpoint.h"

namespace bnrecal {

namespace {

const std::map<at::ScalarType, std::string>& dtype_names() {
  static const std::map<at::ScalarType, std::string> names = {
      {at::kFloat, "F32"}, {at::kDouble, "F64"}, {at::kHalf, "F16"}, {at::kBFloat16, "BF16"},
      {at::kLong, "I64"},  {at::kInt, "I32"},    {at::kShort, "I16"}, {at::kChar, "I8"},
      {at::kByte, "U8"},   {at::kBool, "BOOL"}};
  return names;
}

at::ScalarType dtype_from_name(const std::string& name, const std::string& path, const std::string& tensor) {
  for (const auto& [type, n] : dtype_names())
    if (n == name) return type;
  throw InputError("'" + path + "': tensor '" + tensor + "' has unsupported dtype '" + name + "'");
}

}  // namespace

void write_safetensors(const std::string& path, const NamedTensors& tensors, const nlohmann::json& metadata) {
  nlohmann::ordered_json header;
  header["__metadata__"] = {{"format", "pt"}, {"bnrecal", metadata.dump()}};
  std::vector<at::Tensor> contiguous;
  uint64_t offset = 0;
  for (const auto& [name, tensor] : tensors) {
    auto it = dtype_names().find(tensor.scalar_type());
    TORCH_CHECK(it != dtype_names().end(), "cannot store dtype ", tensor.scalar_type(), " of ", name);
    at::Tensor t = tensor.detach().to(at::kCPU).contiguous();
    const uint64_t bytes = t.numel() * t.element_size();
    header[name] = {{"dtype", it->second}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
    contiguous.push_back(t);
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // keep the data section 8-byte aligned
  std::string file(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) file[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  file += json;
  file.reserve(file.size() + offset);
  for (const at::Tensor& t : contiguous)
    file.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
  write_file_atomic(path, file);
}

Checkpoint read_safetensors(const std::string& path) {
  const std::string file = read_file(path);
  auto fail = [&path](const std::string& why) { return InputError("'" + path + "' is not a valid safetensors file: " + why); };
  // torch.save writes a zip archive (or, before PyTorch 1.6, a pickle starting with PROTO 0x80).
  // A safetensors header (JSON) starts at byte 8, whatever the bytes of its length are (a length
  // of 128 + 256 k also starts with 0x80).
  const bool json_at_8 = file.size() > 8 && file[8] == '{';
  if (!json_at_8 && (file.rfind("PK\x03\x04", 0) == 0 || (!file.empty() && static_cast<uint8_t>(file[0]) == 0x80))) {
    throw InputError("'" + path + "' is a PyTorch file (torch.save or TorchScript), not safetensors: convert it "
                     "once with `bnrecal import`");
  }
  if (file.size() < 8) throw fail("shorter than its 8-byte header length");
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<uint8_t>(file[i])) << (8 * i);
  if (n > file.size() - 8) throw fail("header length " + std::to_string(n) + " exceeds the file size");
  const nlohmann::json header = parse_json(std::string_view(file).substr(8, n), "'" + path + "' header");
  if (!header.is_object()) throw fail("header is not a JSON object");
  const uint64_t data_size = file.size() - 8 - n;
  const char* data = file.data() + 8 + n;

  Checkpoint checkpoint;
  checkpoint.metadata = nlohmann::json::object();
  std::vector<std::pair<uint64_t, std::pair<std::string, at::Tensor>>> by_offset;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_object() && entry.contains("bnrecal") && entry["bnrecal"].is_string()) {
        checkpoint.metadata = parse_json(entry["bnrecal"].get_ref<const std::string&>(), "'" + path + "' metadata");
      }
      continue;
    }
    try {
      const at::ScalarType type = dtype_from_name(entry.at("dtype").get<std::string>(), path, name);
      const auto shape = entry.at("shape").get<std::vector<int64_t>>();
      const auto offsets = entry.at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1] || offsets[1] > data_size)
        throw fail("tensor '" + name + "' has data offsets outside the file (truncated?)");
      // Checked before allocating: the shape must describe exactly the bytes the file holds.
      const int64_t numel = declared_elements(shape, "'" + path + "' tensor '" + name + "'");
      if (static_cast<uint64_t>(numel) * c10::elementSize(type) != offsets[1] - offsets[0])
        throw fail("tensor '" + name + "' shape does not match its byte length");
      at::Tensor t = at::empty(shape, at::TensorOptions().dtype(type));
      std::memcpy(t.data_ptr(), data + offsets[0], offsets[1] - offsets[0]);
      by_offset.push_back({offsets[0], {name, t}});
    } catch (const nlohmann::json::exception& e) {
      throw fail("entry '" + name + "' is malformed (" + e.what() + ")");
    }
  }
  // Keep file order (nlohmann::json sorts keys; the data order is what the writer chose).
  std::sort(by_offset.begin(), by_offset.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& item : by_offset) checkpoint.tensors.push_back(std::move(item.second));
  return checkpoint;
}

}  // namespace bnrecal
