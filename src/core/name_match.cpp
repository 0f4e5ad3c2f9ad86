#include "bnrecal/core/name_match.h"

#include <fnmatch.h>

#include <algorithm>

namespace bnrecal {

bool name_matches(const std::string& pattern, const std::string& name) {
  return pattern == name || fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

bool matches_any(const std::vector<std::string>& patterns, const std::string& name) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return name_matches(p, name); });
}

std::string join_names(const std::vector<std::string>& names, size_t max_chars) {
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
    if (out.size() > max_chars) return out.substr(0, max_chars) + "...";
  }
  return out;
}

}  // namespace bnrecal
