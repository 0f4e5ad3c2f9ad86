// oneDNN's direct int8 convolution behind Int8DirectConv (bnrecal/arith/direct_conv.h).
//
// Exactness. oneDNN's int8 convolutions multiply u8 by s8 either with VNNI / AMX dot products,
// which accumulate in int32 and are exact within kMaxK, or, on older CPUs, with vpmaddubsw, which
// adds pairs of products in saturating int16 (255 * -128 * 2 does not fit). The implementation is
// offered only when oneDNN's effective ISA has VNNI or AMX, and a worst-case convolution (every
// product pair at the int16 limit) computed by oneDNN equals the direct sum.
//
// Plans. A oneDNN primitive is fixed to a batch size, so one plan is made per images count a
// caller uses (the tiles of a layer use one or two), each with the weights reordered into the
// layout its kernel wants. The scratchpad is the caller's (thread-local), so several threads can
// run one plan at once.
#include "bnrecal/arith/direct_conv.h"

#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "bnrecal/core/error.h"
#include "dispatch_variants.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace bnrecal::arith {
namespace {

using dnnl::memory;

const dnnl::engine& cpu_engine() {
  static const dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

memory::desc codes_desc(const Im2colShape& s, int64_t images) {
  return memory::desc({images, s.c, s.h, s.w}, memory::data_type::u8, memory::format_tag::nhwc);
}

memory::desc output_desc(const Im2colShape& s, int64_t images, int64_t out_channels) {
  return memory::desc({images, out_channels, s.out_h(), s.out_w()}, memory::data_type::s32,
                      memory::format_tag::nhwc);
}

// The weights as given: [O, kh, kw, cg], or [groups, O/groups, kh, kw, cg].
memory::desc given_weights_desc(const Im2colShape& s, int64_t out_channels, bool any_layout) {
  const int64_t cg = s.channels_per_group();
  const auto layout = any_layout ? memory::format_tag::any
                      : s.groups == 1 ? memory::format_tag::ohwi
                                      : memory::format_tag::gohwi;
  if (s.groups == 1)
    return memory::desc({out_channels, cg, s.kh, s.kw}, memory::data_type::s8, layout);
  return memory::desc({s.groups, out_channels / s.groups, cg, s.kh, s.kw}, memory::data_type::s8,
                      layout);
}

dnnl::convolution_forward::primitive_desc conv_desc(const Im2colShape& s, int64_t images,
                                                    int64_t out_channels) {
  // oneDNN counts dilation from 0 and takes the right padding explicitly; with PyTorch's floor
  // division the output size is the same as padding pad on both sides.
  const memory::dims strides = {s.stride_h, s.stride_w};
  const memory::dims dilation = {s.dilation_h - 1, s.dilation_w - 1};
  const memory::dims padding = {s.pad_h, s.pad_w};
  const dnnl::convolution_forward::desc desc(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
      codes_desc(s, images), given_weights_desc(s, out_channels, /*any_layout=*/true),
      output_desc(s, images, out_channels), strides, dilation, padding, padding);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return dnnl::convolution_forward::primitive_desc(desc, attr, cpu_engine());
}

// oneDNN's ISA values are feature masks: VNNI is the bit avx512_core_vnni adds to avx512_core
// (AMX includes it) or avx2_vnni to avx2.
bool isa_accumulates_in_int32() {
  const unsigned isa = static_cast<unsigned>(dnnl_get_effective_cpu_isa());
  const unsigned vnni = (dnnl_cpu_isa_avx512_core_vnni ^ dnnl_cpu_isa_avx512_core) |
                        (dnnl_cpu_isa_avx2_vnni ^ dnnl_cpu_isa_avx2);
  return (isa & vnni) != 0;
}

}  // namespace

struct Int8DirectConv::Impl {
  struct Plan {
    dnnl::convolution_forward conv;
    memory weights;  // in the primitive's layout
    memory::desc scratchpad;
  };

  Im2colShape shape;
  int64_t out_channels = 0;
  std::vector<int8_t> weights;  // as given
  mutable std::mutex mutex;
  mutable std::map<int64_t, std::shared_ptr<const Plan>> plans;  // by images count

  std::shared_ptr<const Plan> plan(int64_t images) const {
    const std::lock_guard<std::mutex> lock(mutex);
    std::shared_ptr<const Plan>& slot = plans[images];
    if (slot) return slot;
    const auto pd = conv_desc(shape, images, out_channels);
    auto p = std::make_shared<Plan>();
    p->conv = dnnl::convolution_forward(pd);
    memory given(given_weights_desc(shape, out_channels, false), cpu_engine(),
                 const_cast<int8_t*>(weights.data()));
    if (pd.weights_desc() == given.get_desc()) {
      p->weights = given;
    } else {
      p->weights = memory(pd.weights_desc(), cpu_engine());
      dnnl::stream stream(cpu_engine());
      dnnl::reorder(given, p->weights).execute(stream, given, p->weights);
      stream.wait();
    }
    p->scratchpad = pd.scratchpad_desc();
    slot = std::move(p);
    return slot;
  }
};

Int8DirectConv::Int8DirectConv(const Im2colShape& shape, const int8_t* weights,
                               int64_t out_channels)
    : impl_(std::make_unique<Impl>()) {
  shape.validate();
  require(out_channels > 0 && out_channels % shape.groups == 0,
          "direct conv: out channels must be a positive multiple of groups");
  impl_->shape = shape;
  impl_->out_channels = out_channels;
  impl_->weights.assign(weights, weights + out_channels * shape.k());
}

Int8DirectConv::~Int8DirectConv() = default;

const Im2colShape& Int8DirectConv::shape() const { return impl_->shape; }

void Int8DirectConv::run(const uint8_t* x, int64_t images, int32_t* y) const {
  if (images <= 0) return;
  const std::shared_ptr<const Impl::Plan> plan = impl_->plan(images);
  thread_local std::vector<uint8_t> scratch;
  if (scratch.size() < plan->scratchpad.get_size()) scratch.resize(plan->scratchpad.get_size());
  const dnnl::engine& engine = cpu_engine();
  const Im2colShape& s = impl_->shape;
  memory src(codes_desc(s, images), engine, const_cast<uint8_t*>(x));
  memory dst(output_desc(s, images, impl_->out_channels), engine, y);
  memory pad(plan->scratchpad, engine, scratch.data());
  dnnl::stream stream(engine);
  plan->conv.execute(stream, {{DNNL_ARG_SRC, src},
                              {DNNL_ARG_WEIGHTS, plan->weights},
                              {DNNL_ARG_DST, dst},
                              {DNNL_ARG_SCRATCHPAD, pad}});
  stream.wait();
}

namespace {

// The worst case for int16 pair saturation: every activation 255, weights -128 and 127 so that
// adjacent products sum to -65280 or 64770; a 3x3 padded kernel over 8 channels.
bool onednn_direct_conv_is_exact() {
  if (!isa_accumulates_in_int32()) return false;
  try {
    Im2colShape s;
    s.n = 2, s.h = 5, s.w = 4, s.c = 8, s.kh = s.kw = 3, s.pad_h = s.pad_w = 1;
    const int64_t O = 3, K = s.k();
    std::vector<uint8_t> x(static_cast<size_t>(s.n * s.h * s.w * s.c), 255);
    std::vector<int8_t> w(static_cast<size_t>(O * K));
    for (size_t i = 0; i < w.size(); ++i) w[i] = (i / 4) % 3 == 2 ? 127 : -128;
    std::vector<int32_t> y(static_cast<size_t>(s.rows() * O)), ref(y.size(), 0);
    Int8DirectConv(s, w.data(), O).run(x.data(), s.n, y.data());
    std::vector<uint8_t> rows(static_cast<size_t>(s.rows() * K));
    im2col_u8_ref(x.data(), s, 0, 0, s.rows(), rows.data());
    for (int64_t m = 0; m < s.rows(); ++m)
      for (int64_t o = 0; o < O; ++o)
        for (int64_t k = 0; k < K; ++k) ref[m * O + o] += rows[m * K + k] * w[o * K + k];
    return y == ref;
  } catch (const dnnl::error&) {
    return false;
  }
}

enum class ConvPath { kOneDnn, kIm2colGemm };  // (not bool: vector<bool> has no references)

detail::Variants<ConvPath>& direct_conv_kernels() {
  static detail::Variants<ConvPath> table({
      {"onednn_vnni", onednn_direct_conv_is_exact, ConvPath::kOneDnn},
      {"portable", detail::cpu_any, ConvPath::kIm2colGemm},
  });
  return table;
}

}  // namespace

bool Int8DirectConv::active() { return direct_conv_kernels().active() == ConvPath::kOneDnn; }

namespace detail {
VariantSet& direct_conv_variants() { return direct_conv_kernels(); }
}  // namespace detail

}  // namespace bnrecal::arith
