#include "bnrecal/core/json_config.h"

#include "bnrecal/core/input_limits.h"

namespace bnrecal {

nlohmann::json parse_json(std::string_view text, const std::string& where) {
  const int64_t max_depth = input_limits().nesting_depth;
  // The parser itself does not recurse; the callback stops a deep document before it is built.
  auto limit_depth = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    if (depth > max_depth) check_input_limit(where, "JSON nesting depth", depth, "nesting_depth");
    return true;
  };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), limit_depth);
  } catch (const nlohmann::json::exception& e) {
    throw InputError(where + ": not JSON (" + e.what() + ")");
  }
}

ConfigObject::ConfigObject(const nlohmann::json& j, std::string path)
    : json_(j.is_null() ? nlohmann::json::object() : j), path_(std::move(path)) {
  require(json_.is_object(), path_ + ": expected an object {...}, got " + std::string(json_.type_name()));
}

ConfigObject ConfigObject::object(const std::string& key) {
  known_.insert(key);
  return ConfigObject(json_.contains(key) ? json_.at(key) : nlohmann::json(), path_ + "." + key);
}

void ConfigObject::finish() const {
  for (const auto& item : json_.items()) {
    if (known_.count(item.key())) continue;
    std::string known;
    for (const std::string& k : known_) known += (known.empty() ? "" : ", ") + k;
    throw InputError(path_ + ": unknown key '" + item.key() + "' (known: " + known + ")");
  }
}

}  // namespace bnrecal
