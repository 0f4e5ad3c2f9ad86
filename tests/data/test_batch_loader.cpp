#include <gtest/gtest.h>

#include <set>

#include "bnrecal/core/error.h"
#include "bnrecal/data/idx_dataset.h"
#include "bnrecal/data/subset.h"

namespace bnrecal {
namespace {

// Image i is filled with the value i, label i % 3, so batches can be traced to indices.
std::shared_ptr<IdxDataset> traceable(int64_t n, bool flip = true) {
  at::Tensor images = at::arange(n, at::kByte).view({n, 1, 1}).expand({n, 6, 6}).contiguous();
  at::Tensor labels = at::arange(n, at::kLong).remainder(3);
  return std::make_shared<IdxDataset>(images, labels, IdxDatasetInfo{"trace", {{0.0}, {1.0 / 255}}, flip, 2, 3},
                                      "test");
}

std::vector<int64_t> epoch_order(BatchLoader& loader) {
  std::vector<int64_t> seen;
  for (Batch b; loader.next(b);)
    for (int64_t i = 0; i < b.images.size(0); ++i) seen.push_back(b.images[i].max().round().item<int64_t>());  // (i/255)/(1/255) is i up to rounding
  return seen;
}

TEST(BatchLoader, UnshuffledCoversEverythingInOrder) {
  auto data = traceable(10);
  LoaderOptions o;
  o.batch_size = 4;
  BatchLoader loader(*data, o);
  EXPECT_EQ(loader.num_batches(), 3);
  std::vector<int64_t> expected(10);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(epoch_order(loader), expected);
}

TEST(BatchLoader, ShuffleIsSeededAndChangesPerEpoch) {
  auto data = traceable(50);
  LoaderOptions o = LoaderOptions::sample(/*images=*/50, /*batch_size=*/8, /*seed=*/7, /*augment=*/false, {});
  BatchLoader a(*data, o), b(*data, o);
  const auto first = epoch_order(a);
  EXPECT_EQ(first, epoch_order(b));
  EXPECT_EQ(std::set<int64_t>(first.begin(), first.end()).size(), 50u);
  a.start_epoch(1);
  EXPECT_NE(epoch_order(a), first);
  o.seed = 8;
  BatchLoader c(*data, o);
  EXPECT_NE(epoch_order(c), first);
}

TEST(BatchLoader, DropLastAndLimit) {
  auto data = traceable(10);
  LoaderOptions o;
  o.batch_size = 4;
  o.drop_last = true;
  o.limit = 9;
  BatchLoader loader(*data, o);
  EXPECT_EQ(loader.num_batches(), 2);
  EXPECT_EQ(epoch_order(loader).size(), 8u);
  o.limit = 11;
  EXPECT_THROW(BatchLoader(*data, o), InputError);
}

TEST(BatchLoader, SkippedBatchesLeaveTheOthersAsTheyWere) {
  // A distributed rank skips the batches of the others: batches 1 and 3 read after skipping 0 and 2
  // must be the ones a full pass reads, with augmentation too (its generator advances in order).
  auto data = traceable(40);
  for (bool augment : {false, true}) {
    SCOPED_TRACE(augment ? "augmented" : "plain");
    const LoaderOptions o = LoaderOptions::sample(/*images=*/30, /*batch_size=*/8, /*seed=*/3, augment, {});
    BatchLoader full(*data, o), skipping(*data, o);
    std::vector<Batch> all;
    for (Batch b; full.next(b);) all.push_back(b);
    ASSERT_EQ(all.size(), 4u);
    Batch b;
    for (size_t t = 0; t < all.size(); ++t) {
      if (t % 2 == 0) {
        EXPECT_TRUE(skipping.skip());
        continue;
      }
      ASSERT_TRUE(skipping.next(b));
      EXPECT_TRUE(b.images.equal(all[t].images)) << "batch " << t;
      EXPECT_TRUE(b.labels.equal(all[t].labels)) << "batch " << t;
    }
    EXPECT_FALSE(skipping.skip());
    EXPECT_FALSE(skipping.next(b));
  }
}

TEST(BatchLoader, NormalizesWithGivenStatistics) {
  auto data = traceable(2);
  LoaderOptions o;
  o.normalization = {{0.5}, {0.25}};
  BatchLoader loader(*data, o);
  Batch b;
  ASSERT_TRUE(loader.next(b));
  EXPECT_NEAR(b.images[1][0][0][0].item<float>(), (1 / 255.0 - 0.5) / 0.25, 1e-6);
  o.normalization = {{0.5, 0.5}, {1, 1}};
  EXPECT_THROW(BatchLoader(*data, o), InputError);  // 2 channels for 1-channel images
}

TEST(Augmentation, CropKeepsSizeAndPadsWithZeros) {
  at::Tensor ones = at::ones({64, 1, 6, 6});
  std::mt19937_64 rng(3);
  const at::Tensor out = augment_batch(ones, {2, false}, rng);
  EXPECT_EQ(out.sizes(), ones.sizes());
  // Some crops are shifted, exposing zero padding; every crop keeps at least a 2x2 core of ones.
  EXPECT_LT(out.sum().item<double>(), ones.sum().item<double>());
  EXPECT_TRUE(out.narrow(2, 2, 2).narrow(3, 2, 2).eq(1).all().item<bool>());
}

TEST(Augmentation, FlipMirrorsRowsAndIsSeeded) {
  at::Tensor ramp = at::arange(6, at::kFloat).view({1, 1, 1, 6}).expand({32, 1, 6, 6}).contiguous();
  std::mt19937_64 rng1(5), rng2(5);
  const at::Tensor a = augment_batch(ramp, {0, true}, rng1);
  const at::Tensor b = augment_batch(ramp, {0, true}, rng2);
  EXPECT_TRUE(a.equal(b));
  int flipped = 0;
  for (int64_t i = 0; i < 32; ++i) {
    const bool same = a[i].equal(ramp[i]);
    EXPECT_TRUE(same || a[i].equal(ramp[i].flip({2})));
    flipped += !same;
  }
  EXPECT_GT(flipped, 4);
  EXPECT_LT(flipped, 28);
}

TEST(Subset, ValidationSplitIsDisjointAndSeeded) {
  auto data = traceable(100);
  auto [train, val] = split_for_validation(data, 0.2, 1);
  EXPECT_EQ(train->size(), 80);
  EXPECT_EQ(val->size(), 20);
  LoaderOptions o;
  o.batch_size = 100;
  BatchLoader tl(*train, o), vl(*val, o);
  auto t = epoch_order(tl), v = epoch_order(vl);
  std::set<int64_t> all(t.begin(), t.end());
  all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), 100u);
  auto [train2, val2] = split_for_validation(data, 0.2, 1);
  BatchLoader vl2(*val2, o);
  EXPECT_EQ(epoch_order(vl2), v);
}

}  // namespace
}  // namespace bnrecal
