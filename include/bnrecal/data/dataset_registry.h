// The --data grammar in one place. Every data source registers its spec forms here; open_dataset,
// known_datasets (`bnrecal models`) and the --data help (dataset_spec_help) all read the same
// registry, so the forms a user can type, the ones listed and the ones documented cannot drift.
//
//   DatasetRegistry registry;
//   registry.add({"cifar10:PATH", "CIFAR-10 binary format", open_cifar10});     // a prefix form
//   registry.add({"fashion-mnist", "Fashion-MNIST, 28x28 gray", open_fashion});  // a plain name
//   registry.add_path_fallback({"CIFAR folder", "CIFAR binary files", looks_like_cifar, open_any});
//   auto test = registry.open("cifar10:/data/cifar", Split::kTest);
//
// Adding a data source: one file that defines its register_*_datasets(DatasetRegistry&) (and, if a
// plain path may be one, a PathFallback), plus one line in builtin_datasets().
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bnrecal/data/data_source.h"

namespace bnrecal {

// Opens one split. argument: what follows the prefix ("" for a plain name, the path for a path
// fallback). classes: the model's class names in label order (see open_dataset); sources without
// class folders ignore it.
using DatasetOpener = std::function<std::unique_ptr<DataSource>(
    const std::string& argument, Split split, const std::vector<std::string>& classes)>;

// One spec form. A form with a colon is a prefix taking an argument ("imagenet-val:DIR[:GT]":
// prefix "imagenet-val:", argument placeholder "DIR[:GT]"); a form without one is a whole name.
struct DatasetEntry {
  std::string form;         // as the help shows it
  std::string description;  // one line
  DatasetOpener open;

  bool takes_argument() const { return form.find(':') != std::string::npos; }
  // "imagenet-val:" for a prefix form, the whole name otherwise.
  std::string prefix() const;
};

// A kind of folder a plain path may be, recognised by its contents.
struct PathFallback {
  std::string name;         // "CIFAR folder"
  std::string description;  // what makes a folder one, for the help
  std::function<bool(const std::string& path)> accepts;
  DatasetOpener open;       // argument: the path
};

class DatasetRegistry {
 public:
  // std::logic_error when the form's name or prefix is registered already (a programming error).
  void add(DatasetEntry entry);
  // Fallbacks are tried in the order they are added; the first that accepts a path opens it.
  void add_path_fallback(PathFallback fallback);

  const std::vector<DatasetEntry>& entries() const { return entries_; }
  const std::vector<PathFallback>& path_fallbacks() const { return fallbacks_; }

  // A whole name, then a prefix, then the path fallbacks. InputError listing the known forms for
  // an unknown name or prefix, a prefix without its argument, or a path no fallback accepts.
  std::unique_ptr<DataSource> open(const std::string& spec, Split split,
                                   const std::vector<std::string>& classes = {}) const;

  // (form, description) of every entry, then ("PATH", the fallbacks in the order tried).
  std::vector<std::pair<std::string, std::string>> known() const;
  // "fashion-mnist, mnist, ..., cifar100:PATH or PATH (a CIFAR folder, an ImageFolder or ...)".
  std::string help() const;

 private:
  const DatasetEntry* find(const std::string& spec) const;
  std::vector<DatasetEntry> entries_;
  std::vector<PathFallback> fallbacks_;
};

// A registry of the built-in data sources, registered explicitly (a static registrar object in a
// static library is dropped by the linker when nothing references its file). Built on each call:
// it is cheap, and descriptions that name install folders then follow the environment.
DatasetRegistry builtin_datasets();

// The optional trailing size of a folder form, "DIR:SIZE" -> {DIR, SIZE}; {argument, 0} when the
// part after the last colon is not a number (a path may hold colons). InputError for a SIZE of 0 or
// over 5 digits, naming the form ("voc:DIR[:SIZE]").
std::pair<std::string, int64_t> split_size_suffix(const std::string& argument, const std::string& form);

}  // namespace bnrecal
