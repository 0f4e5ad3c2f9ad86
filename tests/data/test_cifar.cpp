// CIFAR binary reader on small generated fixture files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "bnrecal/core/error.h"
#include "bnrecal/data/cifar.h"
#include "test_support.h"

namespace bnrecal {
namespace {


// n records; record i has label (i % classes) and every pixel of channel c equal to i + c.
std::string records(int n, int label_bytes, int classes) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    if (label_bytes == 2) out.push_back(static_cast<char>(i % 20));  // coarse label, ignored
    out.push_back(static_cast<char>(i % classes));
    for (int c = 0; c < 3; ++c) out.append(1024, static_cast<char>(i + c));
  }
  return out;
}

void write(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string make_cifar10() {
  const std::string root = testing::temp_dir();
  const std::string dir = root + "/cifar-10-batches-bin";
  std::filesystem::create_directories(dir);
  for (int b = 1; b <= 5; ++b) write(dir + "/data_batch_" + std::to_string(b) + ".bin", records(2, 1, 10));
  write(dir + "/test_batch.bin", records(3, 1, 10));
  return root;
}

TEST(Cifar, ReadsCifar10SplitsFromParentFolder) {
  const std::string root = make_cifar10();
  ASSERT_TRUE(looks_like_cifar(root));
  auto train = open_cifar(root, Split::kTrain);
  auto test = open_cifar(root, Split::kTest);
  EXPECT_EQ(train->size(), 10);
  EXPECT_EQ(test->size(), 3);
  EXPECT_EQ(test->num_classes(), 10);
  EXPECT_EQ(test->name(), "cifar10/test");
  std::mt19937_64 rng(0);
  const Batch batch = test->load({2, 0}, false, rng);
  EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_EQ(batch.labels[0].item<int64_t>(), 2);
  EXPECT_FLOAT_EQ(batch.images[0][1][5][5].item<float>(), 3 / 255.0f);  // record 2, channel 1
  EXPECT_NEAR(test->default_normalization().mean[0], 0.4914, 1e-9);
  EXPECT_EQ(test->default_augmentation().crop_padding, 4);
  EXPECT_EQ(open_dataset("cifar10:" + root, Split::kTrain)->size(), 10);
  EXPECT_EQ(open_dataset(root, Split::kTest)->num_classes(), 10);
  EXPECT_THROW(open_dataset("cifar100:" + root, Split::kTest), InputError);
}

TEST(Cifar, AugmentationPadsWithZerosAndIsSeeded) {
  auto test = open_cifar(make_cifar10(), Split::kTest);
  std::mt19937_64 rng_a(3), rng_b(3);
  const Batch a = test->load({1, 1, 1, 1, 1, 1, 1, 1}, true, rng_a);
  const Batch b = test->load({1, 1, 1, 1, 1, 1, 1, 1}, true, rng_b);
  EXPECT_TRUE(at::equal(a.images, b.images));
  // Shifted crops of a constant image: values are the constant or zero padding, never else, and
  // with 8 draws at least one crop is shifted.
  const at::Tensor values = std::get<0>(at::_unique(a.images));
  EXPECT_LE(values.numel(), 4);
  EXPECT_GT((a.images == 0).sum().item<int64_t>(), 0);
}

TEST(Cifar, Cifar100UsesFineLabels) {
  const std::string dir = testing::temp_dir();
  write(dir + "/train.bin", records(4, 2, 100));
  write(dir + "/test.bin", records(150, 2, 100));
  auto test = open_cifar(dir, Split::kTest);
  EXPECT_EQ(test->num_classes(), 100);
  EXPECT_EQ(test->size(), 150);
  std::mt19937_64 rng(0);
  EXPECT_EQ(test->load({120}, false, rng).labels[0].item<int64_t>(), 20);
  EXPECT_NEAR(test->default_normalization().mean[0], 0.5071, 1e-9);
}

TEST(Cifar, TruncatedMissingAndBadLabelAreInputErrors) {
  const std::string root = make_cifar10();
  const std::string dir = root + "/cifar-10-batches-bin";
  write(dir + "/test_batch.bin", records(3, 1, 10).substr(0, 3073 * 2 + 100));
  try {
    open_cifar(root, Split::kTest);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("test_batch.bin"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated"), std::string::npos) << e.what();
  }
  std::filesystem::remove(dir + "/data_batch_3.bin");
  EXPECT_THROW(open_cifar(root, Split::kTrain), InputError);
  std::string bad = records(1, 1, 10);
  bad[0] = 12;
  write(dir + "/test_batch.bin", bad);
  EXPECT_THROW(open_cifar(root, Split::kTest), InputError);
  const std::string empty = testing::temp_dir();
  EXPECT_FALSE(looks_like_cifar(empty));
  EXPECT_THROW(open_cifar(empty, Split::kTest), InputError);
}

}  // namespace
}  // namespace bnrecal
