#include "bnrecal/core/input_limits.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "bnrecal/core/error.h"

namespace bnrecal {

namespace {

int64_t* find_limit(InputLimits& limits, const std::string& name) {
  if (name == "tensor_elements") return &limits.tensor_elements;
  if (name == "image_pixels") return &limits.image_pixels;
  if (name == "model_width") return &limits.model_width;
  if (name == "nesting_depth") return &limits.nesting_depth;
  return nullptr;
}

constexpr const char* kNames = "tensor_elements, image_pixels, model_width, nesting_depth";

}  // namespace

InputLimits parse_input_limits(const std::string& text) {
  InputLimits limits;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    start = end + 1;
    const size_t eq = item.find('=');
    int64_t* target = eq == std::string::npos ? nullptr : find_limit(limits, item.substr(0, eq));
    if (!target) throw UsageError("BNRECAL_LIMITS: '" + item + "' is not NAME=VALUE with NAME one of " + kNames);
    const std::string value = item.substr(eq + 1);
    char* rest = nullptr;
    const double v = std::strtod(value.c_str(), &rest);
    if (value.empty() || *rest != '\0' || !(v >= 1) || v > 9e18 || v != std::floor(v)) {
      throw UsageError("BNRECAL_LIMITS: " + item.substr(0, eq) + " needs a whole number >= 1, got '" + value + "'");
    }
    *target = static_cast<int64_t>(v);
  }
  return limits;
}

const InputLimits& input_limits() {
  static const InputLimits limits = [] {
    const char* text = std::getenv("BNRECAL_LIMITS");
    return text ? parse_input_limits(text) : InputLimits{};
  }();
  return limits;
}

void check_input_limit(const std::string& where, const std::string& field, int64_t value, const std::string& limit) {
  InputLimits limits = input_limits();
  const int64_t* max = find_limit(limits, limit);
  if (!max) throw std::logic_error("unknown input limit " + limit);
  if (value <= *max) return;
  throw InputError(where + ": " + field + " " + std::to_string(value) + " exceeds the limit " + limit + "=" +
                   std::to_string(*max) + " (a corrupt file? if not, raise it: BNRECAL_LIMITS=" + limit + "=N)");
}

int64_t declared_elements(const std::vector<int64_t>& shape, const std::string& where) {
  int64_t n = 1;
  for (int64_t d : shape) {
    require(d >= 0, where + ": negative dimension " + std::to_string(d));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) {
      throw InputError(where + ": the shape's element count overflows 64 bits");
    }
    n *= d;
  }
  check_input_limit(where, "element count", n, "tensor_elements");
  return n;
}

}  // namespace bnrecal
