// Test helpers: run a test once per implementation of a dispatched kernel
// (bnrecal/arith/dispatch.h).
// Tests are instantiated for every implementation built into the library and skip (visibly) the
// ones this CPU cannot run, so a machine without AVX-512 reports skips instead of silently testing
// less.
#pragma once
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "bnrecal/arith/dispatch.h"

namespace bnrecal::testing_support {

inline std::vector<std::string> implementation_names(arith::Kernel kernel) {
  std::vector<std::string> names;
  for (const arith::Implementation& impl : arith::implementations(kernel))
    names.push_back(impl.name);
  return names;
}

inline bool cpu_supports(arith::Kernel kernel, const std::string& name) {
  for (const arith::Implementation& impl : arith::implementations(kernel))
    if (impl.name == name) return impl.supported;
  return false;
}

// Base for parameterised tests whose parameter names an implementation of `kKernel` (the parameter
// itself, or the last element of a tuple): SetUp makes it the active one for the test's duration,
// or skips the test when this CPU lacks it.
template <class Param>
std::string implementation_of(const Param& param) {
  if constexpr (std::is_same_v<Param, std::string>) {
    return param;
  } else {
    return std::get<std::tuple_size_v<Param> - 1>(param);
  }
}

template <arith::Kernel kKernel, class Param>
class ImplementationTest : public ::testing::TestWithParam<Param> {
 protected:
  std::string implementation() const { return implementation_of(this->GetParam()); }
  void SetUp() override {
    const std::string name = implementation();
    if (!cpu_supports(kKernel, name)) GTEST_SKIP() << name << " is not supported by this CPU";
    use_ = std::make_unique<arith::ScopedImplementation>(kKernel, name);
  }
  void TearDown() override { use_.reset(); }

 private:
  std::unique_ptr<arith::ScopedImplementation> use_;
};

// Test names for a parameter that is the implementation's name.
inline std::string implementation_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

}  // namespace bnrecal::testing_support
