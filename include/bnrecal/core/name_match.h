// Layer-name patterns, shared by every option that selects layers by name (policy overrides,
// noise exclusions, BN layers to recalibrate, layers to prune).
//
//   bnrecal::name_matches("layer1.*", "layer1.0.conv1");   // true
//   bnrecal::name_matches("fc", "fc");                     // true: an exact name is a pattern too
#pragma once
#include <string>
#include <vector>

namespace bnrecal {

// True when name equals pattern or matches it as a glob (fnmatch: *, ?, [...]).
bool name_matches(const std::string& pattern, const std::string& name);

// True when name matches any of the patterns.
bool matches_any(const std::vector<std::string>& patterns, const std::string& name);

// "a, b, c" (at most max_chars, then "..."): for error messages that list the valid names.
std::string join_names(const std::vector<std::string>& names, size_t max_chars = 400);

}  // namespace bnrecal
