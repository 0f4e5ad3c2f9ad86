// CPU feature checks and the public side of the kernel dispatch (bnrecal/arith/dispatch.h).
#include "bnrecal/arith/dispatch.h"

#include <stdexcept>

#include "bnrecal/core/error.h"
#include "dispatch_variants.h"

namespace bnrecal::arith {
namespace detail {

#if defined(__x86_64__) || defined(__i386__)
// __builtin_cpu_init is needed only before libgcc's own constructor has run; it is idempotent.
bool cpu_has_avx512_vbmi() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vbmi");
}
bool cpu_has_avx512f() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma");
}
bool cpu_has_avx2_fma() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
bool cpu_has_avx512_vbmi() { return false; }
bool cpu_has_avx512f() { return false; }
bool cpu_has_avx2_fma() { return false; }
#endif
bool cpu_any() { return true; }

int VariantSet::index_of(const std::string& name) const {
  for (size_t i = 0; i < list_.size(); ++i)
    if (list_[i].name == name) return static_cast<int>(i);
  return -1;
}

void VariantSet::add(const char* name, bool supported) {
  if (supported && first_supported_ < 0) first_supported_ = static_cast<int>(list_.size());
  list_.push_back({name, supported});
}

void VariantSet::check_portable_last() const {
  if (list_.empty() || list_.back().name != "portable" || !list_.back().supported)
    throw std::logic_error("kernel dispatch table must end with a supported 'portable' entry");
}

}  // namespace detail

namespace {
detail::VariantSet& variants(Kernel kernel) {
  switch (kernel) {
    case Kernel::kSysmtExpand: return detail::sysmt_expand_variants();
    case Kernel::kChannelMoments: return detail::channel_moments_variants();
    case Kernel::kActivationCodes: return detail::activation_codes_variants();
    case Kernel::kIm2col: return detail::im2col_variants();
    case Kernel::kDirectConv: return detail::direct_conv_variants();
  }
  throw std::logic_error("invalid Kernel value");
}
}  // namespace

std::string to_string(Kernel kernel) {
  switch (kernel) {
    case Kernel::kSysmtExpand: return "sysmt_expand";
    case Kernel::kChannelMoments: return "channel_moments";
    case Kernel::kActivationCodes: return "activation_codes";
    case Kernel::kIm2col: return "im2col";
    case Kernel::kDirectConv: return "direct_conv";
  }
  throw std::logic_error("invalid Kernel value");
}

std::vector<Implementation> implementations(Kernel kernel) { return variants(kernel).list(); }

std::string active_implementation(Kernel kernel) {
  const detail::VariantSet& set = variants(kernel);
  return set.list()[static_cast<size_t>(set.active_index())].name;
}

ScopedImplementation::ScopedImplementation(Kernel kernel, const std::string& name)
    : kernel_(kernel), previous_(-1) {
  detail::VariantSet& set = variants(kernel);
  const int index = set.index_of(name);
  require(index >= 0, "no " + to_string(kernel) + " implementation named '" + name + "'");
  require(set.list()[static_cast<size_t>(index)].supported,
          to_string(kernel) + " implementation '" + name + "' is not supported by this CPU");
  previous_ = set.set_override(index);
}

ScopedImplementation::~ScopedImplementation() { variants(kernel_).set_override(previous_); }

}  // namespace bnrecal::arith
