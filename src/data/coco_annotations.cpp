#include "bnrecal/data/coco_annotations.h"

#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/core/json_config.h"

namespace bnrecal {

namespace {

using nlohmann::json;

// Annotation tools round box corners to whole pixels and some clip at the image edge, some just
// outside it: a box may overhang its image by this much before it is called wrong.
constexpr double kOutsideTolerance = 1.0;

int64_t integer_field(const json& record, const char* key) {
  const auto it = record.find(key);
  require(it != record.end(), std::string("missing '") + key + "'");
  // A float id (3.0) would be truncated silently by get<int64_t>(), and 3.5 would name another image.
  require(it->is_number_integer(), std::string("'") + key + "' is not an integer");
  return it->get<int64_t>();
}

double number_field(const json& record, const char* key) {
  const auto it = record.find(key);
  require(it != record.end(), std::string("missing '") + key + "'");
  require(it->is_number() && std::isfinite(it->get<double>()),
          std::string("'") + key + "' is not a finite number");
  return it->get<double>();
}

std::string string_field(const json& record, const char* key) {
  const auto it = record.find(key);
  require(it != record.end() && it->is_string(), std::string("'") + key + "' is not a string");
  return it->get<std::string>();
}

const json& array_field(const json& file, const char* key, const std::string& path) {
  const auto it = file.find(key);
  require(it != file.end() && it->is_array(), "'" + path + "': '" + key + "' is not an array");
  return *it;
}

// The lookups that every annotation and result is checked against.
struct Known {
  std::unordered_map<int64_t, const CocoImage*> images;
  std::unordered_set<int64_t> categories;

  explicit Known(const CocoInstances& instances) {
    for (const CocoImage& image : instances.images) images.emplace(image.id, &image);
    for (const CocoCategory& category : instances.categories) categories.insert(category.id);
  }
  const CocoImage& image(int64_t id) const {
    const auto it = images.find(id);
    require(it != images.end(), "unknown image_id " + std::to_string(id));
    return *it->second;
  }
  void check_category(int64_t id) const {
    require(categories.count(id) > 0, "unknown category_id " + std::to_string(id));
  }
};

Box checked_box(const json& record, const CocoImage& image) {
  const auto it = record.find("bbox");
  const bool four = it != record.end() && it->is_array() && it->size() == 4;
  bool numbers = four;
  for (size_t i = 0; numbers && i < 4; ++i) {
    numbers = (*it)[i].is_number() && std::isfinite((*it)[i].get<double>());
  }
  require(numbers, "bbox is not 4 finite numbers [x, y, w, h]");
  const Box b{(*it)[0].get<double>(), (*it)[1].get<double>(), (*it)[2].get<double>(), (*it)[3].get<double>()};
  char text[160];
  std::snprintf(text, sizeof text, "bbox [%g, %g, %g, %g]", b.x, b.y, b.w, b.h);
  require(b.w >= 0 && b.h >= 0, std::string(text) + " has a negative width or height");
  const bool inside = b.x >= -kOutsideTolerance && b.y >= -kOutsideTolerance &&
                      b.x + b.w <= static_cast<double>(image.width) + kOutsideTolerance &&
                      b.y + b.h <= static_cast<double>(image.height) + kOutsideTolerance;
  require(inside, std::string(text) + " is more than 1 pixel outside image " + std::to_string(image.id) +
                      " (" + std::to_string(image.width) + "x" + std::to_string(image.height) + ")");
  return b;
}

// Runs read(i) for the n records; a failure becomes the InputError "label(i): reason", or with
// skip_bad a skipped record.
template <class Label, class Read>
void read_records(size_t n, bool skip_bad, SkippedRecords& skipped, Label label, Read read) {
  for (size_t i = 0; i < n; ++i) {
    try {
      read(i);
    } catch (const InputError& e) {
      const std::string message = label(i) + ": " + e.what();
      if (!skip_bad) throw InputError(message);
      if (skipped.reasons.size() < SkippedRecords::kSkipReasonsKept) skipped.reasons.push_back(message);
      ++skipped.count;
    }
  }
}

json read_json(const std::string& path) { return parse_json(read_file(path), "'" + path + "'"); }

}  // namespace

std::vector<int64_t> CocoInstances::image_ids() const {
  std::vector<int64_t> ids;
  for (const CocoImage& image : images) ids.push_back(image.id);
  return ids;
}

CocoInstances read_coco_instances(const std::string& path, const CocoReadOptions& options) {
  const json file = read_json(path);
  require(file.is_object(),
          "'" + path + "': expected a COCO instances object {images, annotations, categories}");
  const json& images = array_field(file, "images", path);
  const json& annotations = array_field(file, "annotations", path);
  const json& categories = array_field(file, "categories", path);
  CocoInstances r;
  r.path = path;
  auto position = [&](const char* what) {
    return [&path, what](size_t i) { return "'" + path + "': " + what + "[" + std::to_string(i) + "]"; };
  };
  // Images and categories are never skipped (skip_bad = false): the annotations refer to them.
  std::unordered_set<int64_t> seen;
  read_records(images.size(), false, r.skipped, position("images"), [&](size_t i) {
    const json& j = images[i];
    require(j.is_object(), "not an object");
    CocoImage image{integer_field(j, "id"), string_field(j, "file_name"), integer_field(j, "height"),
                    integer_field(j, "width")};
    require(image.height > 0 && image.width > 0, "height and width must be positive");
    require(seen.insert(image.id).second, "duplicate image id " + std::to_string(image.id));
    r.images.push_back(std::move(image));
  });
  seen.clear();
  read_records(categories.size(), false, r.skipped, position("categories"), [&](size_t i) {
    const json& j = categories[i];
    require(j.is_object(), "not an object");
    CocoCategory category{integer_field(j, "id"), string_field(j, "name")};
    require(seen.insert(category.id).second, "duplicate category id " + std::to_string(category.id));
    r.categories.push_back(std::move(category));
  });
  const Known known(r);
  auto label = [&](size_t i) {
    const json& j = annotations[i];
    const bool has_id = j.is_object() && j.contains("id") && j.at("id").is_number_integer();
    return has_id ? "'" + path + "': annotation " + std::to_string(j.at("id").get<int64_t>())
                  : position("annotations")(i);
  };
  read_records(annotations.size(), options.skip_bad, r.skipped, label, [&](size_t i) {
    const json& j = annotations[i];
    require(j.is_object(), "not an object");
    CocoAnnotation a;
    a.id = integer_field(j, "id");
    a.image_id = integer_field(j, "image_id");
    const CocoImage& image = known.image(a.image_id);
    a.category_id = integer_field(j, "category_id");
    known.check_category(a.category_id);
    a.bbox = checked_box(j, image);
    if (j.contains("iscrowd")) {
      const json& crowd = j.at("iscrowd");
      require(crowd.is_boolean() || (crowd.is_number_integer() && (crowd == 0 || crowd == 1)),
              "'iscrowd' is not 0 or 1");
      a.iscrowd = crowd.is_boolean() ? crowd.get<bool>() : crowd == 1;
    }
    a.area = j.contains("area") ? number_field(j, "area") : a.bbox.w * a.bbox.h;
    require(a.area >= 0, "negative area");
    r.annotations.push_back(a);
  });
  return r;
}

CocoResults read_coco_results(const std::string& path, const CocoInstances& instances,
                              const CocoReadOptions& options) {
  const json file = read_json(path);
  require(file.is_array(),
          "'" + path + "': expected an array of results [{image_id, category_id, bbox, score}]");
  CocoResults r;
  r.path = path;
  const Known known(instances);
  auto label = [&](size_t i) { return "'" + path + "': result [" + std::to_string(i) + "]"; };
  read_records(file.size(), options.skip_bad, r.skipped, label, [&](size_t i) {
    const json& j = file[i];
    require(j.is_object(), "not an object");
    CocoResult d;
    d.image_id = integer_field(j, "image_id");
    const CocoImage& image = known.image(d.image_id);
    d.category_id = integer_field(j, "category_id");
    known.check_category(d.category_id);
    d.bbox = checked_box(j, image);
    d.score = number_field(j, "score");
    r.results.push_back(d);
  });
  return r;
}

}  // namespace bnrecal
