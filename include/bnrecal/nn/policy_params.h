// Typed policy parameters. Each policy declares its parameters once (key, type, default,
// allowed values) in its registry entry; a PolicySpec holds only the values the user gave, and a
// policy factory reads resolved values (given or default) by key.
//
//   ParamDef smt = ParamDef::integer("smt", 2, "threads T").allow({1, 2, 4});
//   nlohmann::json v = smt.parse("4");          // 4 (InputError for "3" or "four")
//   PolicyParams params;  params.set("smt", v);
//   int t = params.get<int>("smt");
#pragma once
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace bnrecal {

enum class ParamType { kInt, kNumber, kString, kBool };
const char* param_type_name(ParamType type);

struct ParamDef {
  std::string key;
  ParamType type = ParamType::kString;
  nlohmann::json default_value;
  std::string help;
  std::vector<nlohmann::json> allowed;  // empty: any value of the type (within [min, max])
  double min = -1e300, max = 1e300;     // kInt / kNumber
  bool show_default = true;              // false: spec texts leave the key out at its default

  static ParamDef integer(std::string key, int64_t default_value, std::string help);
  static ParamDef number(std::string key, double default_value, std::string help);
  static ParamDef text(std::string key, std::string default_value, std::string help);
  static ParamDef flag(std::string key, bool default_value, std::string help);
  ParamDef& allow(std::vector<nlohmann::json> values);
  ParamDef& range(double lo, double hi);
  ParamDef& hide_default();

  // The value of a key=value item (text as the user wrote it), checked. InputError naming the
  // key and what it accepts.
  nlohmann::json parse(const std::string& text) const;
  // A JSON value (policy JSON, checkpoint metadata), checked the same way.
  nlohmann::json check(const nlohmann::json& value) const;
  // "smt=1|2|4 (default 2): threads T" for help texts and error messages.
  std::string describe() const;
};

class PolicyParams {
 public:
  void set(const std::string& key, nlohmann::json value) { values_[key] = std::move(value); }
  bool has(const std::string& key) const { return values_.count(key) > 0; }
  void erase(const std::string& key) { values_.erase(key); }
  // The value; std::logic_error when absent (a factory reading a key its entry did not declare).
  const nlohmann::json& at(const std::string& key) const;
  template <class T>
  T get(const std::string& key) const { return at(key).get<T>(); }
  const std::map<std::string, nlohmann::json>& values() const { return values_; }
  bool operator==(const PolicyParams& other) const { return values_ == other.values_; }

 private:
  std::map<std::string, nlohmann::json> values_;
};

}  // namespace bnrecal
