#include <gtest/gtest.h>
#include <zlib.h>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/data/idx.h"
#include "bnrecal/data/idx_dataset.h"
#include "test_support.h"

namespace bnrecal {
namespace {

IdxArray sample_images(int64_t n) {
  IdxArray a{{n, 4, 3}, {}};
  for (int64_t i = 0; i < n * 12; ++i) a.data.push_back(static_cast<uint8_t>(i * 7));
  return a;
}


// Writes bytes to path and returns the InputError message read_idx gives for it.
std::string error_reading(const std::string& path, const std::string& bytes) {
  write_file_atomic(path, bytes);
  return testing::input_error_message([&] { read_idx(path); });
}

TEST(Idx, RoundTripRawAndGzip) {
  const std::string dir = testing::temp_dir();
  const IdxArray a = sample_images(5);
  for (const std::string name : {"a-idx3-ubyte", "a-idx3-ubyte.gz"}) {
    write_idx(dir + "/" + name, a);
    const IdxArray b = read_idx(dir + "/" + name);
    EXPECT_EQ(b.dims, a.dims);
    EXPECT_EQ(b.data, a.data);
  }
}

TEST(Idx, ReadsTheRealFashionMnistTestLabels) {
  const std::string path = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz";
  if (!file_exists(path)) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  const IdxArray labels = read_idx(path);
  ASSERT_EQ(labels.dims, std::vector<int64_t>{10000});
  std::vector<int> counts(10, 0);
  for (uint8_t l : labels.data) counts.at(l)++;
  for (int c : counts) EXPECT_EQ(c, 1000);  // Fashion-MNIST's test split is balanced
}

TEST(Idx, MissingFileNamesThePath) {
  const std::string msg = testing::input_error_message([] { read_idx("/nonexistent/x-idx1-ubyte"); });
  EXPECT_NE(msg.find("/nonexistent/x-idx1-ubyte"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not exist"), std::string::npos) << msg;
}

TEST(Idx, WrongMagicNumber) {
  const std::string path = testing::temp_dir() + "/bad";
  write_file_atomic(path, std::string("\x12\x34\x08\x01\x00\x00\x00\x01\x05", 9));
  const std::string msg = testing::input_error_message([&] { read_idx(path); });
  EXPECT_NE(msg.find("wrong magic number"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
}

TEST(Idx, UnsupportedElementType) {
  const std::string bytes("\x00\x00\x0d\x01\x00\x00\x00\x01\x00\x00\x00\x00", 12);
  EXPECT_NE(error_reading(testing::temp_dir() + "/float", bytes).find("element type 0x0d"), std::string::npos);
}

TEST(Idx, TruncatedDataRawAndGzip) {
  const std::string dir = testing::temp_dir();
  const IdxArray a = sample_images(5);
  write_idx(dir + "/full", a);
  std::string bytes = read_file(dir + "/full");
  bytes.resize(bytes.size() - 10);
  std::string msg = error_reading(dir + "/short", bytes);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  EXPECT_NE(msg.find("expected 60 data bytes, found 50"), std::string::npos) << msg;

  // A gzip stream cut in the middle: zlib reports an error or a short read; both are "truncated/corrupt".
  write_idx(dir + "/full.gz", a);
  std::string gz = read_file(dir + "/full.gz");
  gz.resize(gz.size() / 2);
  msg = error_reading(dir + "/short.gz", gz);
  EXPECT_TRUE(msg.find("truncated") != std::string::npos || msg.find("corrupt") != std::string::npos) << msg;
}

TEST(Idx, TruncatedHeader) {
  const std::string msg = error_reading(testing::temp_dir() + "/hdr", std::string("\x00\x00\x08\x03\x00\x00", 6));
  EXPECT_NE(msg.find("header ends inside dimension 0"), std::string::npos) << msg;
}

TEST(Idx, TrailingBytesAreAnError) {
  const std::string dir = testing::temp_dir();
  write_idx(dir + "/a", sample_images(2));
  EXPECT_NE(error_reading(dir + "/b", read_file(dir + "/a") + "xx").find("trailing bytes"), std::string::npos);
}

TEST(IdxDataset, ImageLabelCountMismatch) {
  const std::string dir = testing::temp_dir();
  write_idx(dir + "/t10k-images-idx3-ubyte", sample_images(5));
  write_idx(dir + "/t10k-labels-idx1-ubyte", IdxArray{{4}, {0, 1, 2, 3}});
  const std::string msg = testing::input_error_message([&] { IdxDataset(dir, Split::kTest, {"x", {{0.5}, {0.5}}}); });
  EXPECT_NE(msg.find("count mismatch"), std::string::npos) << msg;
  EXPECT_NE(msg.find("5 images"), std::string::npos) << msg;
  EXPECT_NE(msg.find("4 labels"), std::string::npos) << msg;
}

TEST(IdxDataset, MissingLabelsFile) {
  const std::string dir = testing::temp_dir();
  write_idx(dir + "/train-images-idx3-ubyte.gz", sample_images(3));
  const std::string msg = testing::input_error_message([&] { IdxDataset(dir, Split::kTrain, {"x", {{0.5}, {0.5}}}); });
  EXPECT_NE(msg.find("train-labels-idx1-ubyte"), std::string::npos) << msg;
}

TEST(IdxDataset, LoadsScaledImagesAndLabels) {
  const std::string dir = testing::temp_dir();
  write_idx(dir + "/t10k-images-idx3-ubyte.gz", sample_images(3));
  write_idx(dir + "/t10k-labels-idx1-ubyte", IdxArray{{3}, {2, 0, 1}});
  IdxDataset data(dir, Split::kTest, {"x", {{0.5}, {0.5}}});
  EXPECT_EQ(data.size(), 3);
  EXPECT_EQ(data.num_classes(), 3);
  EXPECT_EQ(data.image_shape(), (std::vector<int64_t>{1, 4, 3}));
  std::mt19937_64 rng(0);
  const Batch b = data.load({2, 0}, false, rng);
  EXPECT_EQ(b.labels[0].item<int64_t>(), 1);
  EXPECT_EQ(b.labels[1].item<int64_t>(), 2);
  EXPECT_FLOAT_EQ(b.images[0][0][0][1].item<float>(), static_cast<uint8_t>((24 + 1) * 7) / 255.0f);
}

}  // namespace
}  // namespace bnrecal
