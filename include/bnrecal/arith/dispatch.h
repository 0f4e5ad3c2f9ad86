// Run-time choice among ISA-specific builds of the torch-free kernels.
//
//   using bnrecal::arith::Kernel;
//   for (const auto& impl : bnrecal::arith::implementations(Kernel::kSysmtExpand))
//     std::printf("%s%s\n", impl.name.c_str(), impl.supported ? "" : " (not on this CPU)");
//   std::string used = bnrecal::arith::active_implementation(Kernel::kChannelMoments);
//   {
//     bnrecal::arith::ScopedImplementation portable(Kernel::kSysmtExpand, "portable");
//     bnrecal::sysmt::sysmt_gemm(A, W, Y, M, N, K, cfg);  // expands with the portable code
//   }
//
// Each kernel with ISA-specific code has an ordered list of implementations, fastest first and
// "portable" (baseline x86-64 / any CPU) last. The library is built without -march=native: every
// ISA-specific build lives in its own translation unit with its own target flags, and the first
// implementation this CPU supports is chosen once, at the kernel's first use. All implementations
// of a kernel compute the same results (bit for bit for the SySMT expansion, the activation
// codes passes, im2col and the direct convolution; within the tested float tolerance for channel
// moments, whose summation order depends on the vector width). The direct convolution's choice is
// oneDNN's code, not ours: "onednn_vnni" is supported where oneDNN's int8 convolution accumulates
// exactly, and "portable" means the caller's im2col + GEMM.
#pragma once
#include <string>
#include <vector>

namespace bnrecal::arith {

enum class Kernel {
  kSysmtExpand,     // SySMT operand expansion behind sysmt_gemm / SysmtPackedWeights
  kChannelMoments,  // channel_moments (BatchNorm batch statistics)
  kActivationCodes, // quantize_to_nhwc_u8 and rescale_rows_to_nchw (around every integer GEMM)
  kIm2col,          // im2col_u8 of shapes with contiguous kernel rows
  kDirectConv,      // Int8DirectConv: oneDNN's exact int8 convolution, or im2col + GEMM
};

// "sysmt_expand", "channel_moments", "activation_codes", "im2col", "direct_conv".
std::string to_string(Kernel kernel);

struct Implementation {
  std::string name;  // e.g. "avx512_vbmi", "avx2_fma", "portable"
  bool supported;    // this CPU can run it
};

// The implementations built into this library, fastest first; the last is "portable" and always
// supported.
std::vector<Implementation> implementations(Kernel kernel);

// Name of the implementation calls use now: the first supported one, unless overridden.
std::string active_implementation(Kernel kernel);

// Tests and benchmarks: route `kernel` to the named implementation while this object lives (the
// previous choice is restored on destruction). Throws InputError for an unknown name or one this
// CPU does not support. The override is process-wide: create it outside parallel regions and do
// not let two threads override the same kernel at once.
class ScopedImplementation {
 public:
  ScopedImplementation(Kernel kernel, const std::string& name);
  ~ScopedImplementation();
  ScopedImplementation(const ScopedImplementation&) = delete;
  ScopedImplementation& operator=(const ScopedImplementation&) = delete;

 private:
  Kernel kernel_;
  int previous_;  // the override in force before, -1 for none
};

}  // namespace bnrecal::arith
