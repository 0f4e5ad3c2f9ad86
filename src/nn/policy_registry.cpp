#include "bnrecal/nn/policy_registry.h"

#include <map>
#include <mutex>
#include <stdexcept>

#include "bnrecal/core/error.h"
#include "bnrecal/core/name_match.h"
#include "builtin_policies.h"

namespace bnrecal {

PolicyParams PolicyEntry::resolve(const PolicyParams& given) const {
  PolicyParams out;
  for (const ParamDef& d : params) out.set(d.key, given.has(d.key) ? given.at(d.key) : d.default_value);
  return out;
}

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, PolicyEntry> entries;
  std::map<std::string, ParamDef> params;

  void add(PolicyEntry entry) {
    if (entries.count(entry.name)) throw std::logic_error("policy '" + entry.name + "' registered twice");
    // Check every key before adding any, so a refused entry leaves the registry as it was.
    for (const ParamDef& d : entry.params) {
      const auto it = params.find(d.key);
      const bool same = it == params.end() ||
                        (it->second.type == d.type && it->second.default_value == d.default_value &&
                         it->second.allowed == d.allowed);
      if (!same) throw std::logic_error("policy parameter '" + d.key + "' declared differently by '" + entry.name + "'");
    }
    for (const ParamDef& d : entry.params) params.emplace(d.key, d);
    entries.emplace(entry.name, std::move(entry));
  }
};

Registry& registry() {
  static Registry* r = [] {
    auto* made = new Registry;  // never destroyed: policies may be looked up during exit
    for (PolicyEntry& e : builtin_policy_entries()) made->add(std::move(e));
    return made;
  }();
  return *r;
}

}  // namespace

void register_policy(PolicyEntry entry) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.add(std::move(entry));
}

std::vector<PolicyEntry> registered_policies() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<PolicyEntry> out;
  for (const auto& item : r.entries) out.push_back(item.second);
  return out;
}

const PolicyEntry& find_policy(const std::string& name) {
  Registry& r = registry();
  std::vector<std::string> known;
  {
    std::lock_guard<std::mutex> lock(r.mutex);
    const auto it = r.entries.find(name);
    if (it != r.entries.end()) return it->second;
    for (const auto& item : r.entries) known.push_back(item.first);
  }
  throw InputError("unknown policy '" + name + "' (known: " + join_names(known) + ")");
}

const ParamDef* find_param(const std::string& key) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  const auto it = r.params.find(key);
  return it == r.params.end() ? nullptr : &it->second;
}

std::vector<std::string> param_keys() {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  std::vector<std::string> keys;
  for (const auto& item : r.params) keys.push_back(item.first);
  return keys;
}

}  // namespace bnrecal
