#include "tensor_proto.h"

#include <cstring>

#include "bnrecal/core/error.h"
#include "bnrecal/core/input_limits.h"

namespace bnrecal::onnx_tensors {

namespace {

template <class T, class Field>
at::Tensor from_field(const Field& field, int64_t count, at::ScalarType dtype, const std::string& where) {
  require(field.size() == count, where + ": holds " + std::to_string(field.size()) + " values for " +
                                     std::to_string(count) + " elements");
  at::Tensor t = at::empty({count}, dtype);
  T* out = static_cast<T*>(t.data_ptr());
  for (int64_t i = 0; i < count; ++i) out[i] = static_cast<T>(field.Get(static_cast<int>(i)));
  return t;
}

}  // namespace

at::Tensor from_proto(const onnx::TensorProto& proto, const std::string& where) {
  require(proto.data_location() != onnx::TensorProto::EXTERNAL,
          where + ": external data is not supported; save the model with its tensors inside the file");
  require(!proto.has_segment(), where + ": segmented tensors are not supported");
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  const int64_t count = declared_elements(shape, where);
  at::ScalarType dtype;
  size_t width;
  switch (proto.data_type()) {
    case onnx::TensorProto::FLOAT: dtype = at::kFloat; width = 4; break;
    case onnx::TensorProto::INT64: dtype = at::kLong; width = 8; break;
    case onnx::TensorProto::INT32: dtype = at::kInt; width = 4; break;
    case onnx::TensorProto::BOOL: dtype = at::kBool; width = 1; break;
    default:
      throw InputError(where + ": data type " + onnx::TensorProto::DataType_Name(
                                                     static_cast<onnx::TensorProto::DataType>(proto.data_type())) +
                       " is not supported (float32, int64, int32 and bool are)");
  }
  at::Tensor flat;
  if (proto.has_raw_data()) {
    const std::string& raw = proto.raw_data();
    require(raw.size() == static_cast<size_t>(count) * width,
            where + ": holds " + std::to_string(raw.size()) + " bytes for " + std::to_string(count) + " elements");
    flat = at::empty({count}, dtype);
    if (count > 0) std::memcpy(flat.data_ptr(), raw.data(), raw.size());  // little-endian, as ONNX stores it
  } else if (dtype == at::kFloat) {
    flat = from_field<float>(proto.float_data(), count, dtype, where);
  } else if (dtype == at::kLong) {
    flat = from_field<int64_t>(proto.int64_data(), count, dtype, where);
  } else if (dtype == at::kInt) {
    flat = from_field<int32_t>(proto.int32_data(), count, dtype, where);
  } else {
    flat = from_field<bool>(proto.int32_data(), count, dtype, where);
  }
  if (dtype == at::kInt) flat = flat.to(at::kLong);
  return flat.reshape(shape);
}

std::string dtype_name(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return "float32";
    case at::kLong: return "int64";
    case at::kBool: return "bool";
    default: TORCH_CHECK(false, "no ONNX constant of dtype ", t.scalar_type());
  }
}

void to_proto(const at::Tensor& t, const std::string& name, onnx::TensorProto& proto) {
  at::Tensor c = t.contiguous();
  proto.set_name(name);
  for (int64_t d : c.sizes()) proto.add_dims(d);
  const std::string dtype = dtype_name(c);
  proto.set_data_type(dtype == "float32" ? onnx::TensorProto::FLOAT
                      : dtype == "int64" ? onnx::TensorProto::INT64
                                         : onnx::TensorProto::BOOL);
  proto.set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size()));
}

}  // namespace bnrecal::onnx_tensors
