#include "graph_ops.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <map>
#include <numeric>

#include "bnrecal/core/error.h"
#include "bnrecal/core/input_limits.h"

namespace bnrecal::onnx_ops {

namespace {

using Tensors = std::vector<at::Tensor>;

int64_t normalized_axis(const GraphNode& node, int64_t axis, int64_t rank) {
  require(axis >= -rank && axis < rank,
          node.where() + ": axis " + std::to_string(axis) + " is outside a rank-" + std::to_string(rank) + " input");
  return axis < 0 ? axis + rank : axis;
}

// Only the first `count` outputs can be produced; an extra output is an error unless unnamed.
void require_outputs(const GraphNode& node, size_t count, const std::string& why) {
  for (size_t i = count; i < node.outputs.size(); ++i)
    require(node.outputs[i].empty(), node.where() + ": output " + std::to_string(i) + " is not supported (" + why + ")");
}

std::array<int64_t, 2> pair_attribute(const GraphNode& node, const std::string& key, int64_t fallback) {
  std::vector<int64_t> v = node.ints_attribute(key, {fallback, fallback});
  require(v.size() == 2, node.where() + ": attribute '" + key + "' must have 2 values (2-D only), got " +
                             std::to_string(v.size()));
  for (int64_t x : v) {
    require(x >= 1, node.where() + ": attribute '" + key + "' must be positive");
    check_input_limit(node.where(), key, x, "model_width");
  }
  return {v[0], v[1]};
}

std::array<int64_t, 4> pads_attribute(const GraphNode& node) {
  std::vector<int64_t> v = node.ints_attribute("pads", {0, 0, 0, 0});
  require(v.size() == 4, node.where() + ": attribute 'pads' must have 4 values (2-D only), got " +
                             std::to_string(v.size()));
  for (int64_t x : v) {
    require(x >= 0, node.where() + ": negative pads are not supported");
    check_input_limit(node.where(), "pads", x, "model_width");
  }
  return {v[0], v[1], v[2], v[3]};
}

std::string auto_pad_attribute(const GraphNode& node) {
  std::string mode = node.string_attribute("auto_pad", "NOTSET");
  require(mode == "NOTSET" || mode == "VALID" || mode == "SAME_UPPER" || mode == "SAME_LOWER",
          node.where() + ": auto_pad '" + mode + "' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER");
  return mode;
}

// The pads of one call: explicit ones, or those SAME_* gives this input size (output = ceil(in / stride)).
std::array<int64_t, 4> call_pads(const std::string& auto_pad, const std::array<int64_t, 4>& pads,
                                 const at::Tensor& x, const std::array<int64_t, 2>& kernel,
                                 const std::array<int64_t, 2>& stride, const std::array<int64_t, 2>& dilation) {
  if (auto_pad == "NOTSET") return pads;
  if (auto_pad == "VALID") return {0, 0, 0, 0};
  std::array<int64_t, 4> p{};
  for (int d = 0; d < 2; ++d) {
    const int64_t in = x.size(2 + d);
    const int64_t out = (in + stride[d] - 1) / stride[d];
    const int64_t total = std::max<int64_t>((out - 1) * stride[d] + (kernel[d] - 1) * dilation[d] + 1 - in, 0);
    const int64_t small = total / 2;
    p[d] = auto_pad == "SAME_UPPER" ? small : total - small;
    p[d + 2] = total - p[d];
  }
  return p;
}

at::Tensor pad_spatial(const at::Tensor& x, const std::array<int64_t, 4>& p, double value) {
  if (p == std::array<int64_t, 4>{0, 0, 0, 0}) return x;
  return at::constant_pad_nd(x, {p[1], p[3], p[0], p[2]}, value);
}

void require_rank(const GraphNode& node, const at::Tensor& x, int64_t rank) {
  if (x.dim() != rank)
    throw InputError(node.where() + ": expects a " + std::to_string(rank) + "-D input, got " +
                     std::to_string(x.dim()) + "-D (only 2-D spatial operators are supported)");
}

// A constant input's declared kind, checked once when the graph is built; kernels read the value
// per call (a checkpoint's constants arrive after the network is built).
bool constant_input(const GraphNode& node, const ConstantLookup& constant, size_t index, at::ScalarType dtype,
                    int64_t rank, const char* what) {
  at::Tensor t = constant(node, index);
  if (!t.defined()) return false;
  require(t.scalar_type() == dtype && (rank < 0 ? t.numel() == 1 : t.dim() == rank),
          node.where() + ": " + what + " must be " + (rank < 0 ? "a scalar" : "a 1-D tensor") + " of " +
              c10::toString(dtype));
  return true;
}

std::vector<int64_t> int64_values(const at::Tensor& t) {
  at::Tensor c = t.contiguous();
  return {c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel()};
}

Kernel unary(at::Tensor (*f)(const at::Tensor&)) {
  return [f](const Tensors& in) { return Tensors{f(in.at(0))}; };
}

Kernel conv_kernel(const GraphNode& node, const NodeModules& m) {
  TORCH_CHECK(m.conv, "Conv without its module");
  ConvAttributes a = conv_attributes(node, m.conv->weight.sizes().vec());
  const auto& o = m.conv->options;
  const std::array<int64_t, 2> kernel = o.kernel_;
  // The module pads symmetric explicit pads itself; everything else is padded here first.
  const bool module_pads = a.auto_pad == "NOTSET" && a.symmetric();
  auto conv = m.conv.ptr();
  return [node, a, kernel, module_pads, conv](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    require_rank(node, x, 4);
    if (module_pads) return Tensors{conv->forward(x)};
    return Tensors{conv->forward(pad_spatial(x, call_pads(a.auto_pad, a.pads, x, kernel, a.stride, a.dilation), 0.0))};
  };
}

Kernel batch_norm_kernel(const GraphNode& node, const NodeModules& m) {
  TORCH_CHECK(m.batch_norm, "BatchNormalization without its module");
  require(node.int_attribute("training_mode", 0) == 0,
          node.where() + ": training_mode=1 is not supported (inference graphs only)");
  require_outputs(node, 1, "running statistics outputs exist only in training mode");
  auto bn = m.batch_norm.ptr();
  return [node, bn](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    require(x.dim() >= 2 && x.dim() <= 4, node.where() + ": expects a 2-D to 4-D input");
    if (x.dim() == 4) return Tensors{bn->forward(x)};
    at::Tensor x4 = x.dim() == 2 ? x.unsqueeze(-1).unsqueeze(-1) : x.unsqueeze(-1);
    return Tensors{bn->forward(x4).reshape(x.sizes())};
  };
}

struct PoolAttributes {
  std::array<int64_t, 2> kernel{1, 1}, stride{1, 1}, dilation{1, 1};
  std::array<int64_t, 4> pads{};
  std::string auto_pad;
  bool ceil_mode = false;
};

PoolAttributes pool_attributes(const GraphNode& node) {
  require(node.has_attribute("kernel_shape"), node.where() + ": attribute 'kernel_shape' is required");
  PoolAttributes a;
  a.kernel = pair_attribute(node, "kernel_shape", 1);
  a.stride = pair_attribute(node, "strides", 1);
  a.dilation = pair_attribute(node, "dilations", 1);
  a.pads = pads_attribute(node);
  a.auto_pad = auto_pad_attribute(node);
  a.ceil_mode = node.int_attribute("ceil_mode", 0) != 0;
  return a;
}

Kernel max_pool_kernel(const GraphNode& node) {
  PoolAttributes a = pool_attributes(node);
  require(node.int_attribute("storage_order", 0) == 0, node.where() + ": storage_order=1 is not supported");
  require_outputs(node, 1, "the Indices output is not supported");
  return [node, a](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    require_rank(node, x, 4);
    // Padding with -inf first gives the same maxima as torch's own padding and allows any pads.
    at::Tensor padded = pad_spatial(x, call_pads(a.auto_pad, a.pads, x, a.kernel, a.stride, a.dilation),
                                    -std::numeric_limits<double>::infinity());
    return Tensors{at::max_pool2d(padded, a.kernel, a.stride, {0, 0}, a.dilation, a.ceil_mode)};
  };
}

Kernel average_pool_kernel(const GraphNode& node) {
  PoolAttributes a = pool_attributes(node);
  require(a.dilation == (std::array<int64_t, 2>{1, 1}), node.where() + ": dilations are not supported");
  const bool count_pads = node.int_attribute("count_include_pad", 0) != 0;
  return [node, a, count_pads](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    require_rank(node, x, 4);
    const auto p = call_pads(a.auto_pad, a.pads, x, a.kernel, a.stride, a.dilation);
    // Window sums over the padded input divided by how many positions each window counts (with
    // or without the pads): any pads, and torch's own division, so torch's result where they agree.
    at::Tensor sums = at::avg_pool2d(pad_spatial(x, p, 0.0), a.kernel, a.stride, {0, 0}, a.ceil_mode, true, 1);
    at::Tensor ones = at::ones({1, 1, x.size(2), x.size(3)}, x.options());
    at::Tensor counts = at::avg_pool2d(pad_spatial(ones, p, count_pads ? 1.0 : 0.0), a.kernel, a.stride, {0, 0},
                                       a.ceil_mode, true, 1);
    return Tensors{sums / counts};
  };
}

Kernel gemm_kernel(const GraphNode& node, const NodeModules& m) {
  const double alpha = node.float_attribute("alpha", 1.0), beta = node.float_attribute("beta", 1.0);
  const bool trans_a = node.int_attribute("transA", 0) != 0, trans_b = node.int_attribute("transB", 0) != 0;
  std::shared_ptr<ArithLinearImpl> linear = m.linear ? m.linear.ptr() : nullptr;
  const bool bias_in_module = linear && linear->with_bias;
  return [node, alpha, beta, trans_a, trans_b, linear, bias_in_module](const Tensors& in) {
    const at::Tensor& a = in.at(0);
    require(a.dim() == 2, node.where() + ": expects a 2-D input A");
    at::Tensor a2 = trans_a ? a.t() : a;
    at::Tensor y;
    if (linear) {
      y = linear->forward(a2);
    } else {
      const at::Tensor& b = in.at(1);
      require(b.dim() == 2, node.where() + ": expects a 2-D input B");
      y = at::matmul(a2, trans_b ? b.t() : b);
    }
    if (alpha != 1.0) y = y * alpha;
    if (!bias_in_module && in.size() > 2 && in[2].defined()) y = y + (beta == 1.0 ? in[2] : in[2] * beta);
    return Tensors{y};
  };
}

Kernel matmul_kernel(const GraphNode& node, const NodeModules& m) {
  std::shared_ptr<ArithLinearImpl> linear = m.linear ? m.linear.ptr() : nullptr;
  return [linear](const Tensors& in) {
    const at::Tensor& a = in.at(0);
    if (!linear) return Tensors{at::matmul(a, in.at(1))};
    // [..., K] x [K, N] through the module as rows of a 2-D input.
    std::vector<int64_t> out_shape = a.sizes().vec();
    out_shape.back() = linear->out_features;
    return Tensors{linear->forward(a.reshape({-1, a.size(-1)})).reshape(out_shape)};
  };
}

Kernel clip_kernel(const GraphNode& node, int64_t opset, const ConstantLookup& constant) {
  c10::optional<at::Scalar> low, high;
  bool low_input = false, high_input = false;
  if (opset < 11) {
    if (node.has_attribute("min")) low = node.float_attribute("min", 0);
    if (node.has_attribute("max")) high = node.float_attribute("max", 0);
  } else {
    low_input = constant_input(node, constant, 1, at::kFloat, -1, "min");
    high_input = constant_input(node, constant, 2, at::kFloat, -1, "max");
  }
  return [low, high, low_input, high_input](const Tensors& in) {
    c10::optional<at::Scalar> lo = low_input ? c10::optional<at::Scalar>(in.at(1).item()) : low;
    c10::optional<at::Scalar> hi = high_input ? c10::optional<at::Scalar>(in.at(2).item()) : high;
    if (!lo && !hi) return Tensors{in.at(0)};
    return Tensors{at::clamp(in.at(0), lo, hi)};
  };
}

Kernel softmax_kernel(const GraphNode& node, int64_t opset) {
  const int64_t axis = node.int_attribute("axis", opset < 13 ? 1 : -1);
  return [node, opset, axis](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const int64_t a = normalized_axis(node, axis, x.dim());
    if (opset >= 13) return Tensors{at::softmax(x, a)};
    // Before opset 13 the input is seen as 2-D, [dims before axis] x [the rest].
    const int64_t outer = std::accumulate(x.sizes().begin(), x.sizes().begin() + a, int64_t{1}, std::multiplies<>());
    return Tensors{at::softmax(x.reshape({outer, -1}), 1).reshape(x.sizes())};
  };
}

Kernel flatten_kernel(const GraphNode& node) {
  const int64_t axis = node.int_attribute("axis", 1);
  return [node, axis](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const int64_t a = axis < 0 ? axis + x.dim() : axis;
    require(a >= 0 && a <= x.dim(), node.where() + ": axis " + std::to_string(axis) + " is outside the input's rank");
    const int64_t outer = std::accumulate(x.sizes().begin(), x.sizes().begin() + a, int64_t{1}, std::multiplies<>());
    return Tensors{x.reshape({outer, outer == 0 ? 0 : x.numel() / std::max<int64_t>(outer, 1)})};
  };
}

Kernel reshape_kernel(const GraphNode& node, int64_t opset, const ConstantLookup& constant) {
  require(constant_input(node, constant, 1, at::kLong, 1, "the shape input"),
          node.where() + ": the shape input must be a constant");
  const bool allow_zero = opset >= 14 && node.int_attribute("allowzero", 0) != 0;
  return [node, allow_zero](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    std::vector<int64_t> target = int64_values(in.at(1));
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == 0 && !allow_zero) {
        require(static_cast<int64_t>(i) < x.dim(), node.where() + ": shape copies a dimension the input lacks");
        target[i] = x.size(static_cast<int64_t>(i));
      }
    }
    return Tensors{x.reshape(target)};
  };
}

Kernel pad_kernel(const GraphNode& node, int64_t opset, const ConstantLookup& constant) {
  std::string mode = node.string_attribute("mode", "constant");
  require(mode == "constant" || mode == "reflect" || mode == "edge",
          node.where() + ": mode '" + mode + "' is not one of constant, reflect, edge");
  std::vector<int64_t> attribute_pads;
  double attribute_value = 0;
  bool value_input = false;
  if (opset < 11) {
    attribute_pads = node.ints_attribute("pads");
    attribute_value = node.float_attribute("value", 0.0);
  } else {
    require(constant_input(node, constant, 1, at::kLong, 1, "the pads input"),
            node.where() + ": the pads input must be a constant");
    value_input = constant_input(node, constant, 2, at::kFloat, -1, "constant_value");
  }
  const std::string torch_mode = mode == "edge" ? "replicate" : mode;
  return [node, opset, attribute_pads, attribute_value, value_input, torch_mode](const Tensors& in) {
    const at::Tensor& x = in.at(0);
    const std::vector<int64_t> pads = opset < 11 ? attribute_pads : int64_values(in.at(1));
    const double value = value_input ? in.at(2).item().toDouble() : attribute_value;
    const int64_t rank = x.dim();
    require(static_cast<int64_t>(pads.size()) == 2 * rank,
            node.where() + ": pads has " + std::to_string(pads.size()) + " values for a rank-" + std::to_string(rank) + " input");
    std::vector<int64_t> padded = x.sizes().vec();
    for (int64_t d = 0; d < rank; ++d) {
      for (int64_t p : {pads[d], pads[d + rank]}) check_input_limit(node.where(), "pads", std::abs(p), "model_width");
      padded[d] += pads[d] + pads[d + rank];
    }
    declared_elements(padded, node.where() + " output");
    // torch lists (begin, end) pairs from the last dimension backwards and, outside constant mode,
    // pads only trailing dimensions: leading dimensions without pads are left out.
    int64_t first_padded = 0;
    while (first_padded < rank && pads[first_padded] == 0 && pads[first_padded + rank] == 0) ++first_padded;
    std::vector<int64_t> torch_pads;
    for (int64_t d = rank - 1; d >= (torch_mode == "constant" ? 0 : first_padded); --d) {
      torch_pads.push_back(pads[d]);
      torch_pads.push_back(pads[d + rank]);
    }
    if (torch_mode == "constant") return Tensors{at::constant_pad_nd(x, torch_pads, value)};
    require(rank - first_padded <= 2 && rank >= 3,
            node.where() + ": " + torch_mode + " padding supports the last two dimensions of a 3-D or 4-D input only");
    return Tensors{at::pad(x, torch_pads, torch_mode)};
  };
}

Kernel dropout_kernel(const GraphNode& node, int64_t opset, const ConstantLookup& constant) {
  const bool training_input = opset >= 12 && constant_input(node, constant, 2, at::kBool, -1, "training_mode");
  const bool mask = node.outputs.size() > 1 && !node.outputs[1].empty();
  return [node, training_input, mask](const Tensors& in) {
    require(!training_input || !in.at(2).item().toBool(),
            node.where() + ": training_mode=true is not supported (inference graphs only)");
    Tensors out{in.at(0)};
    if (mask) out.push_back(at::ones_like(in.at(0), at::kBool));
    return out;
  };
}

Kernel binary(const GraphNode& node, at::Tensor (*f)(const at::Tensor&, const at::Tensor&)) {
  return [node, f](const Tensors& in) {
    require(in.size() >= 2 && in[0].defined() && in[1].defined(), node.where() + ": needs two inputs");
    return Tensors{f(in[0], in[1])};
  };
}

at::Tensor add(const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); }
at::Tensor mul(const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); }
at::Tensor relu(const at::Tensor& x) { return at::relu(x); }
at::Tensor sigmoid(const at::Tensor& x) { return at::sigmoid(x); }
at::Tensor identity(const at::Tensor& x) { return x; }

at::Tensor global_average_pool(const at::Tensor& x) {
  // adaptive_avg_pool2d, as the zoo's models pool, so their exports compute the same bits.
  if (x.dim() == 4) return at::adaptive_avg_pool2d(x, {1, 1});
  std::vector<int64_t> dims(x.dim() - 2);
  std::iota(dims.begin(), dims.end(), 2);
  return x.mean(dims, /*keepdim=*/true);
}

}  // namespace

ConvAttributes conv_attributes(const GraphNode& node, const std::vector<int64_t>& weight_shape) {
  require(weight_shape.size() == 4, node.where() + ": only 2-D convolutions (4-D weights) are supported, got a " +
                                        std::to_string(weight_shape.size()) + "-D weight");
  ConvAttributes a;
  if (node.has_attribute("kernel_shape")) {
    std::vector<int64_t> k = node.ints_attribute("kernel_shape");
    require(k == std::vector<int64_t>{weight_shape[2], weight_shape[3]},
            node.where() + ": kernel_shape does not match the weight's shape");
  }
  a.stride = pair_attribute(node, "strides", 1);
  a.dilation = pair_attribute(node, "dilations", 1);
  a.groups = node.int_attribute("group", 1);
  require(a.groups >= 1, node.where() + ": group must be positive");
  a.pads = pads_attribute(node);
  a.auto_pad = auto_pad_attribute(node);
  return a;
}

const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> ops = {
      "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv", "Dropout", "Flatten",
      "Gemm", "GlobalAveragePool", "Identity", "MatMul", "MaxPool", "Mul", "Pad", "Relu", "Reshape", "Sigmoid",
      "Softmax"};
  return ops;
}

Kernel make_kernel(const GraphNode& node, int64_t opset, const NodeModules& modules, const ConstantLookup& constant) {
  const std::string& op = node.op;
  // Every op that reaches here reads its first input (Constant nodes became constants in the
  // reader); the kernels take it for granted.
  require(!node.input(0).empty(), node.where() + ": input 0 is missing");
  if (op == "Conv") return conv_kernel(node, modules);
  if (op == "BatchNormalization") return batch_norm_kernel(node, modules);
  if (op == "Gemm") return gemm_kernel(node, modules);
  if (op == "MatMul") return matmul_kernel(node, modules);
  if (op == "Relu") return unary(relu);
  if (op == "Sigmoid") return unary(sigmoid);
  if (op == "Identity") return unary(identity);
  if (op == "GlobalAveragePool") return unary(global_average_pool);
  if (op == "Add") return binary(node, add);
  if (op == "Mul") return binary(node, mul);
  if (op == "Clip") return clip_kernel(node, opset, constant);
  if (op == "MaxPool") return max_pool_kernel(node);
  if (op == "AveragePool") return average_pool_kernel(node);
  if (op == "Softmax") return softmax_kernel(node, opset);
  if (op == "Flatten") return flatten_kernel(node);
  if (op == "Reshape") return reshape_kernel(node, opset, constant);
  if (op == "Pad") return pad_kernel(node, opset, constant);
  if (op == "Dropout") return dropout_kernel(node, opset, constant);
  if (op == "Concat") {
    require(node.has_attribute("axis"), node.where() + ": attribute 'axis' is required");
    const int64_t axis = node.int_attribute("axis", 0);
    return [node, axis](const Tensors& in) {
      require(!in.empty(), node.where() + ": needs at least one input");
      return Tensors{at::cat(in, normalized_axis(node, axis, in[0].dim()))};
    };
  }
  std::string list;
  for (const auto& s : supported_ops()) list += (list.empty() ? "" : ", ") + s;
  throw InputError(node.where() + ": op '" + op + "' is not supported; supported ops: " + list);
}

}  // namespace bnrecal::onnx_ops
