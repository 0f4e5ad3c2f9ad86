// The run-time kernel dispatch: each kernel's list ends with an always-supported portable
// implementation, the automatic choice is the first supported one, support matches the CPU's
// features, and ScopedImplementation switches and restores the choice.
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "bnrecal/arith/dispatch.h"
#include "bnrecal/core/error.h"

namespace bnrecal::arith {
namespace {

class DispatchTest : public ::testing::TestWithParam<Kernel> {};

TEST_P(DispatchTest, PortableIsLastAndAlwaysSupported) {
  const std::vector<Implementation> list = implementations(GetParam());
  ASSERT_FALSE(list.empty());
  EXPECT_EQ(list.back().name, "portable");
  EXPECT_TRUE(list.back().supported);
  std::set<std::string> names;
  for (const Implementation& impl : list) EXPECT_TRUE(names.insert(impl.name).second) << impl.name;
}

TEST_P(DispatchTest, ActiveIsFirstSupported) {
  std::string first;
  for (const Implementation& impl : implementations(GetParam())) {
    if (impl.supported) {
      first = impl.name;
      break;
    }
  }
  EXPECT_EQ(active_implementation(GetParam()), first);
}

TEST_P(DispatchTest, ScopedOverrideSwitchesAndRestores) {
  const Kernel kernel = GetParam();
  const std::string automatic = active_implementation(kernel);
  {
    ScopedImplementation portable(kernel, "portable");
    EXPECT_EQ(active_implementation(kernel), "portable");
    {
      ScopedImplementation again(kernel, automatic);  // nests
      EXPECT_EQ(active_implementation(kernel), automatic);
    }
    EXPECT_EQ(active_implementation(kernel), "portable");
  }
  EXPECT_EQ(active_implementation(kernel), automatic);
}

TEST_P(DispatchTest, RefusesUnknownAndUnsupported) {
  const Kernel kernel = GetParam();
  const std::string automatic = active_implementation(kernel);
  EXPECT_THROW(ScopedImplementation(kernel, "no_such_isa"), InputError);
  for (const Implementation& impl : implementations(kernel))
    if (!impl.supported) EXPECT_THROW(ScopedImplementation(kernel, impl.name), InputError);
  EXPECT_EQ(active_implementation(kernel), automatic);  // a refused override changes nothing
}

#if defined(__x86_64__) || defined(__i386__)
// Support flags agree with the CPU's features, so a mis-wired table cannot run AVX-512 code on a
// CPU without it (or never test it on one with it).
TEST_P(DispatchTest, SupportMatchesCpuFeatures) {
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
  const bool vbmi = avx512 && __builtin_cpu_supports("avx512bw") &&
                    __builtin_cpu_supports("avx512vbmi");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  // oneDNN's exact int8 convolution needs VNNI (AVX-512 or AVX) dot products.
  const bool vnni = (avx512 && __builtin_cpu_supports("avx512vnni")) ||
                    __builtin_cpu_supports("avxvnni");
  for (const Implementation& impl : implementations(GetParam())) {
    if (impl.name == "avx512_vbmi") EXPECT_EQ(impl.supported, vbmi);
    else if (impl.name == "avx512") EXPECT_EQ(impl.supported, avx512);
    else if (impl.name == "avx2_fma") EXPECT_EQ(impl.supported, avx2);
    else if (impl.name == "onednn_vnni") EXPECT_EQ(impl.supported, vnni);
    else EXPECT_EQ(impl.name, "portable");
  }
}
#endif

INSTANTIATE_TEST_SUITE_P(Kernels, DispatchTest,
                         ::testing::Values(Kernel::kSysmtExpand, Kernel::kChannelMoments,
                                           Kernel::kActivationCodes, Kernel::kIm2col,
                                           Kernel::kDirectConv),
                         [](const ::testing::TestParamInfo<Kernel>& info) {
                           return to_string(info.param);
                         });

TEST(Dispatch, KernelNames) {
  EXPECT_EQ(to_string(Kernel::kSysmtExpand), "sysmt_expand");
  EXPECT_EQ(to_string(Kernel::kChannelMoments), "channel_moments");
  EXPECT_EQ(to_string(Kernel::kActivationCodes), "activation_codes");
  EXPECT_EQ(to_string(Kernel::kIm2col), "im2col");
  EXPECT_EQ(to_string(Kernel::kDirectConv), "direct_conv");
}

}  // namespace
}  // namespace bnrecal::arith
