#include "bnrecal/nn/policy_params.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "bnrecal/core/error.h"

namespace bnrecal {

const char* param_type_name(ParamType type) {
  switch (type) {
    case ParamType::kInt: return "an integer";
    case ParamType::kNumber: return "a number";
    case ParamType::kString: return "a word";
    case ParamType::kBool: return "0 or 1";
  }
  return "?";
}

namespace {
ParamDef make_def(std::string key, ParamType type, nlohmann::json default_value, std::string help) {
  ParamDef d;
  d.key = std::move(key);
  d.type = type;
  d.default_value = std::move(default_value);
  d.help = std::move(help);
  return d;
}
}  // namespace

ParamDef ParamDef::integer(std::string key, int64_t default_value, std::string help) {
  return make_def(std::move(key), ParamType::kInt, default_value, std::move(help));
}

ParamDef ParamDef::number(std::string key, double default_value, std::string help) {
  return make_def(std::move(key), ParamType::kNumber, default_value, std::move(help));
}

ParamDef ParamDef::text(std::string key, std::string default_value, std::string help) {
  return make_def(std::move(key), ParamType::kString, std::move(default_value), std::move(help));
}

ParamDef ParamDef::flag(std::string key, bool default_value, std::string help) {
  return make_def(std::move(key), ParamType::kBool, default_value, std::move(help));
}

ParamDef& ParamDef::allow(std::vector<nlohmann::json> values) {
  allowed = std::move(values);
  return *this;
}

ParamDef& ParamDef::hide_default() {
  show_default = false;
  return *this;
}

ParamDef& ParamDef::range(double lo, double hi) {
  min = lo;
  max = hi;
  return *this;
}

std::string ParamDef::describe() const {
  std::ostringstream out;
  out << key << "=";
  if (!allowed.empty()) {
    for (size_t i = 0; i < allowed.size(); ++i) {
      out << (i ? "|" : "") << (allowed[i].is_string() ? allowed[i].get<std::string>() : allowed[i].dump());
    }
  } else {
    out << "<" << param_type_name(type) << ">";
  }
  const nlohmann::json shown = type == ParamType::kBool ? nlohmann::json(default_value.get<bool>() ? 1 : 0)
                                                        : default_value;
  out << " (default " << (shown.is_string() ? shown.get<std::string>() : shown.dump()) << ")";
  if (!help.empty()) out << ": " << help;
  return out.str();
}

namespace {

std::string shown(const nlohmann::json& value) {
  std::string s = value.is_string() ? value.get<std::string>() : value.dump();
  return s.size() > 40 ? s.substr(0, 40) + "..." : s;
}

// Integer text without exponent or fraction, in int64 range.
bool parse_integer(const std::string& text, int64_t& out) {
  try {
    size_t used = 0;
    out = std::stoll(text, &used);
    return used == text.size();
  } catch (const std::exception&) {
    return false;
  }
}

bool parse_number(const std::string& text, double& out) {
  try {
    size_t used = 0;
    out = std::stod(text, &used);
    return used == text.size() && std::isfinite(out);
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

nlohmann::json ParamDef::parse(const std::string& text) const {
  switch (type) {
    case ParamType::kInt: {
      int64_t v = 0;
      if (parse_integer(text, v)) return check(v);
      break;
    }
    case ParamType::kNumber: {
      double v = 0;
      if (parse_number(text, v)) return check(v);
      break;
    }
    case ParamType::kBool:
      if (text == "0" || text == "false") return false;
      if (text == "1" || text == "true") return true;
      break;
    case ParamType::kString:
      return check(text);
  }
  throw InputError("policy parameter " + describe() + ": got '" + shown(text) + "'");
}

nlohmann::json ParamDef::check(const nlohmann::json& value) const {
  bool ok = false;
  switch (type) {
    case ParamType::kInt: ok = value.is_number_integer(); break;
    case ParamType::kNumber: ok = value.is_number() && std::isfinite(value.get<double>()); break;
    case ParamType::kString: ok = value.is_string(); break;
    case ParamType::kBool: ok = value.is_boolean(); break;
  }
  if (ok && (type == ParamType::kInt || type == ParamType::kNumber)) {
    const double v = value.get<double>();
    ok = v >= min && v <= max;
  }
  if (ok && !allowed.empty()) {
    ok = false;
    for (const auto& a : allowed) ok = ok || a == value;
  }
  if (!ok) throw InputError("policy parameter " + describe() + ": got '" + shown(value) + "'");
  return value;
}

const nlohmann::json& PolicyParams::at(const std::string& key) const {
  const auto it = values_.find(key);
  if (it == values_.end()) throw std::logic_error("policy parameter '" + key + "' is not declared");
  return it->second;
}

}  // namespace bnrecal
