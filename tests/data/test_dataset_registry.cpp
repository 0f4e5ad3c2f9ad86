// The dataset registry: every built-in form is listed and documented, dispatch by name, prefix and
// plain-path fallback, and errors that list the known forms.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "bnrecal/core/error.h"
#include "bnrecal/data/dataset_registry.h"
#include "bnrecal/data/idx.h"
#include "bnrecal/data/idx_dataset.h"
#include "bnrecal/data/image_decode.h"
#include "test_support.h"

namespace bnrecal {
namespace {

namespace fs = std::filesystem;


bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A CIFAR-10 folder holding only the test batch: 2 records of label 1.
std::string make_cifar10_folder() {
  const std::string dir = testing::temp_dir();
  std::string record(1 + 3 * 32 * 32, '\x07');
  record[0] = 1;
  std::ofstream(dir + "/test_batch.bin", std::ios::binary) << record + record;
  return dir;
}

// root/{cat,dog}/x.png
std::string make_image_folder() {
  const std::string root = testing::temp_dir();
  Image image;
  image.height = image.width = 8;
  image.pixels.assign(8 * 8 * 3, 50);
  for (const char* cls : {"cat", "dog"}) {
    fs::create_directories(root + "/" + cls);
    write_png_file(root + "/" + cls + "/x.png", image);
  }
  return root;
}

// An IDX test split of 3 images of 4x4.
std::string make_idx_folder() {
  const std::string dir = testing::temp_dir();
  write_idx(dir + "/t10k-images-idx3-ubyte", IdxArray{{3, 4, 4}, std::vector<uint8_t>(48, 9)});
  write_idx(dir + "/t10k-labels-idx1-ubyte", IdxArray{{3}, {0, 1, 1}});
  return dir;
}

// An opener whose source is named after what it was asked to open.
DatasetOpener named(const std::string& tag) {
  return [tag](const std::string& argument, Split, const std::vector<std::string>&) -> std::unique_ptr<DataSource> {
    at::Tensor images = at::zeros({1, 2, 2}, at::kByte);
    at::Tensor labels = at::zeros({1}, at::kLong);
    return std::make_unique<IdxDataset>(images, labels, IdxDatasetInfo{tag + "(" + argument + ")", {{0.0}, {1.0}}},
                                        "test");
  };
}

TEST(DatasetRegistry, EveryBuiltinFormIsKnownAndInTheHelp) {
  const DatasetRegistry registry = builtin_datasets();
  const auto known = known_datasets();
  const std::string help = dataset_spec_help();
  ASSERT_GE(registry.entries().size(), 6u);
  for (const DatasetEntry& e : registry.entries()) {
    const auto found = std::find_if(known.begin(), known.end(), [&](const auto& k) { return k.first == e.form; });
    ASSERT_NE(found, known.end()) << e.form;
    EXPECT_EQ(found->second, e.description) << e.form;
    EXPECT_FALSE(e.description.empty()) << e.form;
    EXPECT_TRUE(contains(help, e.form)) << e.form << " missing from: " << help;
  }
  for (const char* form : {"fashion-mnist", "mnist", "imagefolder:PATH", "imagenet-val:DIR[:GT]", "cifar10:PATH",
                           "cifar100:PATH"})
    EXPECT_TRUE(contains(help, form)) << form;
  // The plain-path line, with every fallback in the order tried.
  ASSERT_EQ(known.size(), registry.entries().size() + 1);
  EXPECT_EQ(known.back().first, "PATH");
  size_t at = 0;
  for (const PathFallback& f : registry.path_fallbacks()) {
    EXPECT_TRUE(contains(help, f.name)) << f.name;
    const size_t next = known.back().second.find(f.name + " (" + f.description + ")");
    ASSERT_NE(next, std::string::npos) << f.name;
    EXPECT_GE(next, at) << f.name << " listed out of order";
    at = next;
  }
}

TEST(DatasetRegistry, TheCliListsEveryForm) {
  const DatasetRegistry registry = builtin_datasets();
  for (const char* command : {" models", " eval --help", " train --help", " recalibrate --help"}) {
    const auto r = testing::run_command(testing::cli_path() + command);
    ASSERT_EQ(r.exit_code, 0) << command << ": " << r.output;
    for (const DatasetEntry& e : registry.entries())
      EXPECT_TRUE(contains(r.output, e.form)) << e.form << " missing from `bnrecal" << command << "`";
  }
}

TEST(DatasetRegistry, UnknownPrefixOrPathListsTheKnownForms) {
  const DatasetRegistry registry = builtin_datasets();
  const std::string prefix_error = testing::input_error_message([] { open_dataset("nosuch:thing", Split::kTest); });
  EXPECT_TRUE(contains(prefix_error, "unknown dataset prefix 'nosuch:'")) << prefix_error;
  const std::string path_error = testing::input_error_message([] { open_dataset("/nonexistent/folder", Split::kTest); });
  EXPECT_TRUE(contains(path_error, "unknown dataset '/nonexistent/folder'")) << path_error;
  for (const std::string& message : {prefix_error, path_error})
    for (const DatasetEntry& e : registry.entries()) EXPECT_TRUE(contains(message, e.form)) << e.form << ": " << message;
  const std::string empty_argument = testing::input_error_message([] { open_dataset("cifar10:", Split::kTest); });
  EXPECT_TRUE(contains(empty_argument, "expected cifar10:PATH")) << empty_argument;
}

TEST(DatasetRegistry, PlainPathsFallBackToCifarThenImageFolderThenIdx) {
  EXPECT_EQ(open_dataset(make_cifar10_folder(), Split::kTest)->name(), "cifar10/test");
  const std::string images = make_image_folder();
  auto folder = open_dataset(images, Split::kTest);
  EXPECT_EQ(folder->name(), "imagefolder:" + images);
  EXPECT_EQ(folder->class_names(), (std::vector<std::string>{"cat", "dog"}));
  const std::string idx = make_idx_folder();
  auto idx_source = open_dataset(idx, Split::kTest);
  EXPECT_EQ(idx_source->name(), idx + "/test");
  EXPECT_EQ(idx_source->default_normalization().mean, std::vector<double>{0.5});
  // Any other existing folder is read as IDX, whose error names the file it misses.
  const std::string empty = testing::temp_dir();
  EXPECT_TRUE(contains(testing::input_error_message([&] { open_dataset(empty, Split::kTest); }), "t10k-images-idx3-ubyte"));
}

TEST(DatasetRegistry, ImageFoldersAreLabelledByTheModelsClassNames) {
  const std::string root = make_image_folder();
  const std::vector<std::string> classes{"ant", "cat", "cow", "dog"};
  for (const std::string& spec : {"imagefolder:" + root, root}) {
    auto source = open_dataset(spec, Split::kTest, classes);
    EXPECT_EQ(source->num_classes(), 4) << spec;
    EXPECT_EQ(source->class_names(), classes) << spec;
    std::mt19937_64 rng(0);
    EXPECT_EQ(source->load({1}, false, rng).labels[0].item<int64_t>(), 3) << spec;  // dog
  }
  EXPECT_THROW(open_dataset("imagefolder:" + root, Split::kTest, {"cat"}), InputError);
}

TEST(DatasetRegistry, DispatchesNamesPrefixesAndFallbacksInOrder) {
  DatasetRegistry registry;
  registry.add({"plain", "a name", named("plain")});
  registry.add({"pre:ARG", "a prefix", named("pre")});
  registry.add_path_fallback({"first", "paths starting with x", [](const std::string& p) { return p[0] == 'x'; },
                              named("first")});
  registry.add_path_fallback({"second", "every path", [](const std::string&) { return true; }, named("second")});
  EXPECT_EQ(registry.open("plain", Split::kTest)->name(), "plain()/test");
  EXPECT_EQ(registry.open("pre:a:b", Split::kTest)->name(), "pre(a:b)/test");
  EXPECT_EQ(registry.open("xyz", Split::kTest)->name(), "first(xyz)/test");
  EXPECT_EQ(registry.open("plainer", Split::kTest)->name(), "second(plainer)/test");  // a name matches whole
  EXPECT_EQ(registry.help(), "plain, pre:ARG or PATH (an existing first or second)");
  EXPECT_THROW(registry.add({"pre:OTHER", "the same prefix", named("again")}), std::logic_error);
  EXPECT_THROW(registry.add({"plain", "the same name", named("again")}), std::logic_error);
}

TEST(DatasetRegistry, WithoutACatchAllFallbackAnExistingFolderIsNamed) {
  DatasetRegistry registry;
  registry.add({"plain", "a name", named("plain")});
  const std::string dir = testing::temp_dir();
  const std::string message = testing::input_error_message([&] { registry.open(dir, Split::kTest); });
  EXPECT_TRUE(contains(message, dir)) << message;
  EXPECT_TRUE(contains(message, "expected plain")) << message;
}

}  // namespace
}  // namespace bnrecal
