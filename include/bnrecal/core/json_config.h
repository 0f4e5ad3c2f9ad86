// Reading a JSON configuration object strictly: every key read is checked for its type, and a key
// nobody read is an error naming it and the keys that are known, so a typo ("seeds" for "seed")
// fails loudly instead of silently running with a default.
//
//   bnrecal::ConfigObject job(j, "jobs[2]");
//   int64_t limit = job.get<int64_t>("limit", -1);
//   std::string model = job.required<std::string>("model");
//   job.finish();   // InputError: "jobs[2]: unknown key 'etaz' (known: limit, model, ...)"
//
// parse_json reads untrusted JSON text (a checkpoint's header, a config file):
//   nlohmann::json j = bnrecal::parse_json(text, "'spec.json'");
#pragma once
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "bnrecal/core/error.h"

namespace bnrecal {

// InputError "WHERE: not JSON (...)" for a syntax error, and for nesting deeper than
// input_limits().nesting_depth: a deeper value would overflow the stack when it is copied.
nlohmann::json parse_json(std::string_view text, const std::string& where);

class ConfigObject {
 public:
  // InputError unless j is an object (null counts as an empty object). path names it in errors.
  ConfigObject(const nlohmann::json& j, std::string path);

  bool has(const std::string& key) const { return json_.contains(key); }
  // The value of key converted to T (InputError naming path.key on a type mismatch), or fallback.
  template <class T>
  T get(const std::string& key, const T& fallback) {
    known_.insert(key);
    if (!json_.contains(key)) return fallback;
    return convert<T>(key);
  }
  template <class T>
  T required(const std::string& key) {
    known_.insert(key);
    require(json_.contains(key), path_ + ": missing key '" + key + "'");
    return convert<T>(key);
  }
  // A nested object (empty when absent), to be read and finished by the caller.
  ConfigObject object(const std::string& key);
  // Marks key as known without reading it (read elsewhere, e.g. merged in from defaults).
  void allow(const std::string& key) { known_.insert(key); }
  // InputError for the first key that was neither read nor allowed.
  void finish() const;
  const std::string& path() const { return path_; }

 private:
  template <class T>
  T convert(const std::string& key) const {
    return with_input_errors<nlohmann::json::exception>(path_ + "." + key + ": ",
                                                        [&] { return json_.at(key).get<T>(); });
  }
  nlohmann::json json_;
  std::string path_;
  std::set<std::string> known_;
};

}  // namespace bnrecal
