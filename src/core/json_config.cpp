#include "bnrecal/core/json_config.h"

namespace bnrecal {

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
