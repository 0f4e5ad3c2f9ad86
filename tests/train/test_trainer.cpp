#include <gtest/gtest.h>

#include "bnrecal/core/files.h"
#include "bnrecal/data/data_source.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/train/trainer.h"

namespace bnrecal {
namespace {

bool have_fashion_mnist() { return file_exists("/usr/share/datasets/fashion-mnist/train-labels-idx1-ubyte.gz"); }

TEST(Trainer, LearningRateSchedules) {
  TrainOptions o;
  o.epochs = 10;
  o.lr = 0.2;
  EXPECT_DOUBLE_EQ(learning_rate(o, 0), 0.2);
  EXPECT_NEAR(learning_rate(o, 5), 0.1, 1e-12);
  o.schedule = "step";
  o.milestones = {3, 6};
  EXPECT_DOUBLE_EQ(learning_rate(o, 2), 0.2);
  EXPECT_NEAR(learning_rate(o, 3), 0.02, 1e-12);
  EXPECT_NEAR(learning_rate(o, 9), 0.002, 1e-12);
}

TEST(Trainer, ShortRunLowersTheLossAndIsReproducible) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "apt-get install dataset-fashion-mnist";
  auto train = open_dataset("fashion-mnist", Split::kTrain);
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 64;
  o.train_limit = 1024;
  o.lr = 0.05;
  o.seed = 11;
  auto run = [&] {
    torch::manual_seed(o.seed);
    auto net = build_model("resnet20", {10, 1});
    auto reports = train_model(*net, *train, nullptr, o, {});
    return std::make_pair(net, reports);
  };
  auto [net, reports] = run();
  ASSERT_EQ(reports.size(), 3u);
  EXPECT_LT(reports.back().train_loss, reports.front().train_loss);
  EXPECT_LT(reports.back().train_loss, 1.6);  // chance level is ln(10) = 2.30
  auto [net2, reports2] = run();
  EXPECT_EQ(reports2.back().train_loss, reports.back().train_loss);
  const auto a = state_dict(*net), b = state_dict(*net2);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].second.equal(b[i].second)) << a[i].first;
}

}  // namespace
}  // namespace bnrecal
