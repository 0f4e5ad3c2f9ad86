#include "bnrecal/data/dataset_registry.h"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/cifar.h"
#include "bnrecal/data/detection_source.h"
#include "bnrecal/data/idx_dataset.h"
#include "bnrecal/data/image_folder.h"
#include "bnrecal/data/segmentation_source.h"

namespace bnrecal {

namespace {

// "a, b, c or d" ("" for none).
std::string join_alternatives(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " or " : ", ";
    out += items[i];
  }
  return out;
}

// "foo:" when spec starts with what can only be meant as a prefix (text before a colon, no
// slash: a path such as ./a:b is a path); "" otherwise.
std::string apparent_prefix(const std::string& spec) {
  const size_t colon = spec.find(':');
  if (colon == std::string::npos || colon == 0) return "";
  const std::string head = spec.substr(0, colon);
  return head.find('/') == std::string::npos ? head + ":" : "";
}

}  // namespace

std::string DatasetEntry::prefix() const {
  const size_t colon = form.find(':');
  return colon == std::string::npos ? form : form.substr(0, colon + 1);
}

void DatasetRegistry::add(DatasetEntry entry) {
  for (const DatasetEntry& e : entries_)
    if (e.prefix() == entry.prefix())
      throw std::logic_error("dataset form '" + entry.form + "' registered twice (as '" + e.form + "')");
  entries_.push_back(std::move(entry));
}

void DatasetRegistry::add_path_fallback(PathFallback fallback) { fallbacks_.push_back(std::move(fallback)); }

const DatasetEntry* DatasetRegistry::find(const std::string& spec) const {
  for (const DatasetEntry& e : entries_) {
    const bool match = e.takes_argument() ? spec.rfind(e.prefix(), 0) == 0 : spec == e.form;
    if (match) return &e;
  }
  return nullptr;
}

std::unique_ptr<DataSource> DatasetRegistry::open(const std::string& spec, Split split,
                                                  const std::vector<std::string>& classes) const {
  if (const DatasetEntry* entry = find(spec)) {
    if (!entry->takes_argument()) return entry->open("", split, classes);
    const std::string argument = spec.substr(entry->prefix().size());
    if (argument.empty())
      throw InputError("dataset '" + spec + "' lacks its argument: expected " + entry->form);
    return entry->open(argument, split, classes);
  }
  for (const PathFallback& fallback : fallbacks_)
    if (fallback.accepts(spec)) return fallback.open(spec, split, classes);
  if (file_exists(spec))  // only when no fallback takes any existing path
    throw InputError("'" + spec + "' is no kind of dataset folder known here: expected " + help());
  const std::string prefix = apparent_prefix(spec);
  if (!prefix.empty())
    throw InputError("unknown dataset prefix '" + prefix + "' in '" + spec + "': expected " + help());
  throw InputError("unknown dataset '" + spec + "' (no such name or path): expected " + help());
}

std::vector<std::pair<std::string, std::string>> DatasetRegistry::known() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const DatasetEntry& e : entries_) out.emplace_back(e.form, e.description);
  if (fallbacks_.empty()) return out;
  std::string kinds;
  for (const PathFallback& f : fallbacks_) kinds += (kinds.empty() ? "" : "; ") + f.name + " (" + f.description + ")";
  out.emplace_back("PATH", "an existing folder, read as the first kind it fits: " + kinds);
  return out;
}

std::string DatasetRegistry::help() const {
  std::vector<std::string> forms;
  for (const DatasetEntry& e : entries_) forms.push_back(e.form);
  if (!fallbacks_.empty()) {
    std::vector<std::string> kinds;
    for (const PathFallback& f : fallbacks_) kinds.push_back(f.name);
    forms.push_back("PATH (an existing " + join_alternatives(kinds) + ")");
  }
  return join_alternatives(forms);
}

DatasetRegistry builtin_datasets() {
  DatasetRegistry registry;
  // The named forms, in the order the help lists them (the default, fashion-mnist, first).
  register_idx_datasets(registry);
  register_image_folder_datasets(registry);
  register_cifar_datasets(registry);
  register_voc_datasets(registry);
  register_coco_datasets(registry);
  // A plain path. The order decides between sources, so it is made here: the IDX folder comes
  // last because it takes any existing path (and then names the IDX file that is missing).
  registry.add_path_fallback(cifar_path_fallback());
  registry.add_path_fallback(voc_path_fallback());
  registry.add_path_fallback(coco_path_fallback());
  registry.add_path_fallback(image_folder_path_fallback());
  registry.add_path_fallback(idx_path_fallback());
  return registry;
}

std::unique_ptr<DataSource> open_dataset(const std::string& spec, Split split,
                                         const std::vector<std::string>& classes) {
  return builtin_datasets().open(spec, split, classes);
}

std::vector<std::pair<std::string, std::string>> known_datasets() { return builtin_datasets().known(); }

std::string dataset_spec_help() { return builtin_datasets().help(); }

std::pair<std::string, int64_t> split_size_suffix(const std::string& argument, const std::string& form) {
  const size_t colon = argument.rfind(':');
  const std::string size = colon == std::string::npos ? "" : argument.substr(colon + 1);
  if (size.empty() || !std::all_of(size.begin(), size.end(), [](unsigned char c) { return std::isdigit(c); })) {
    return {argument, 0};
  }
  require(size.size() <= 5, form + ": the size '" + size + "' is too large");
  const int64_t value = std::stoll(size);
  require(value > 0, form + ": the size must be at least 1");
  return {argument.substr(0, colon), value};
}

}  // namespace bnrecal
