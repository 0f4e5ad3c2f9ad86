// The policies bnrecal ships (list in builtin_policies.cpp), registered by the registry on first
// use: explicit calls rather than static registrars, which a static library may drop at link time.
#pragma once
#include <vector>

#include "bnrecal/nn/policy_registry.h"

namespace bnrecal {
std::vector<PolicyEntry> builtin_policy_entries();
}  // namespace bnrecal
