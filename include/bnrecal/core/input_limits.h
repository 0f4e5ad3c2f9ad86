// Sane maxima for the sizes an input file declares before its data (a tensor's shape, an image's
// dimensions, a model's class count, how deeply JSON or a pickle nests), checked before anything
// is allocated or built, so a hostile or corrupt file is refused with a message instead of taking
// gigabytes, hours or the stack.
//
//   bnrecal::check_input_limit("'" + path + "'", "image width x height", w * h, "image_pixels");
//   int64_t n = bnrecal::declared_elements(shape, "'" + path + "' tensor 'fc.weight'");
//
// The defaults fit every real model and dataset bnrecal targets with room to spare (ImageNet
// models, full-resolution photos, 50k-image validation sets); BNRECAL_LIMITS raises or lowers them:
//   BNRECAL_LIMITS="tensor_elements=4e9,image_pixels=1e9" bnrecal eval ...
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace bnrecal {

struct InputLimits {
  int64_t tensor_elements = int64_t{1} << 28;  // one declared tensor, array or dataset file (1 GiB of float)
  int64_t image_pixels = int64_t{1} << 27;     // width x height of one encoded image (~134 M)
  int64_t model_width = int64_t{1} << 16;      // a model's class count, input channels and side
  int64_t nesting_depth = 200;                 // nested JSON arrays/objects, pickle containers
};

// The defaults refined by $BNRECAL_LIMITS (read once; UsageError for an unknown name or a bad value).
const InputLimits& input_limits();
// Parses "name=value,..." over the defaults (the reader of $BNRECAL_LIMITS; values may be 1e9).
InputLimits parse_input_limits(const std::string& text);

// InputError "WHERE: FIELD VALUE exceeds the limit NAME=LIMIT (...)" when value > the named limit.
void check_input_limit(const std::string& where, const std::string& field, int64_t value, const std::string& limit);
// The element count of a declared shape: InputError naming `where` for a negative dimension, an
// overflow, or more than tensor_elements.
int64_t declared_elements(const std::vector<int64_t>& shape, const std::string& where);

}  // namespace bnrecal
