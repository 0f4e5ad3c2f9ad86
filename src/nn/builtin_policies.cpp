// The policies bnrecal ships. Adding one: write its file (the policy class and a function
// `PolicyEntry NAME_policy_entry()`), then add X(NAME) to the list below.
#include "builtin_policies.h"

#define BNRECAL_BUILTIN_POLICIES(X) \
  X(fp32)                           \
  X(a8w8)                           \
  X(sysmt)                          \
  X(lowbit)

namespace bnrecal {

#define BNRECAL_DECLARE_ENTRY(name) PolicyEntry name##_policy_entry();
BNRECAL_BUILTIN_POLICIES(BNRECAL_DECLARE_ENTRY)
#undef BNRECAL_DECLARE_ENTRY

std::vector<PolicyEntry> builtin_policy_entries() {
#define BNRECAL_CALL_ENTRY(name) name##_policy_entry(),
  return {BNRECAL_BUILTIN_POLICIES(BNRECAL_CALL_ENTRY)};
#undef BNRECAL_CALL_ENTRY
}

}  // namespace bnrecal
