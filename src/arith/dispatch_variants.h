// Internal: the per-kernel implementation tables behind bnrecal/arith/dispatch.h.
//
// A kernel's translation unit defines its table once, e.g.
//   static const Variants<Fn> table({{"avx512", cpu_has_avx512f, fn_avx512},
//                                    {"portable", cpu_any, fn_portable}});
// and calls table.active() at each entry (one relaxed atomic load). The function-local static
// makes the CPU check run once, at first use, and thread-safely.
//
// ISA-specific translation units are compiled with extra -m flags. They must not define inline
// functions or templates with external linkage (std::min, std::vector members, ...): the linker
// keeps one copy of such a function for the whole program, and if it keeps the AVX-512 one,
// portable code would execute AVX-512 instructions on a CPU without them. Shared helpers in
// internal headers are therefore `static inline`.
#pragma once
#include <atomic>
#include <initializer_list>
#include <string>
#include <vector>

#include "bnrecal/arith/dispatch.h"

namespace bnrecal::arith::detail {

// CPU features (false off x86). The OS must also save the vector registers; GCC's
// __builtin_cpu_supports checks that too.
bool cpu_has_avx512_vbmi();  // AVX-512 F, BW and VBMI
bool cpu_has_avx512f();      // AVX-512 F (every such CPU also has FMA)
bool cpu_has_avx2_fma();
bool cpu_any();              // true: the portable implementation

// Type-erased part of a kernel's table: names, support, and the choice.
class VariantSet {
 public:
  const std::vector<Implementation>& list() const { return list_; }
  int active_index() const {
    const int chosen = override_.load(std::memory_order_relaxed);
    return chosen >= 0 ? chosen : first_supported_;
  }
  // -1 when there is no implementation of that name.
  int index_of(const std::string& name) const;
  // Routes calls to `index` (-1: back to the automatic choice); returns the previous override.
  int set_override(int index) { return override_.exchange(index); }

 protected:
  void add(const char* name, bool supported);
  // Throws std::logic_error unless the last entry is a supported "portable".
  void check_portable_last() const;

 private:
  std::vector<Implementation> list_;
  int first_supported_ = -1;
  std::atomic<int> override_{-1};
};

template <class Impl>
struct Variant {
  const char* name;
  bool (*cpu_has)();
  Impl impl;
};

template <class Impl>
class Variants : public VariantSet {
 public:
  Variants(std::initializer_list<Variant<Impl>> variants) {
    for (const Variant<Impl>& v : variants) {
      add(v.name, v.cpu_has());
      impls_.push_back(v.impl);
    }
    check_portable_last();
  }
  const Impl& active() const { return impls_[static_cast<size_t>(active_index())]; }

 private:
  std::vector<Impl> impls_;
};

// Each defined next to its kernel.
VariantSet& sysmt_expand_variants();
VariantSet& activation_codes_variants();
VariantSet& im2col_variants();
VariantSet& direct_conv_variants();
VariantSet& channel_moments_variants();

}  // namespace bnrecal::arith::detail
