// ONNX TensorProto <-> ATen tensor, for initializers, Constant values and operator-test data.
#pragma once
#include <ATen/ATen.h>
#include <onnx/onnx_pb.h>

#include <string>

namespace bnrecal::onnx_tensors {

// float32, int64 and bool tensors (int32 read as int64); InputError naming `where` for other
// dtypes, external or segmented data, and data that does not match the declared shape.
at::Tensor from_proto(const onnx::TensorProto& proto, const std::string& where);
// The dtype name a GraphConstant records ("float32", "int64", "bool").
std::string dtype_name(const at::Tensor& t);
void to_proto(const at::Tensor& t, const std::string& name, onnx::TensorProto& proto);

}  // namespace bnrecal::onnx_tensors
