#include <gtest/gtest.h>

#include "bnrecal/core/files.h"
#include "bnrecal/data/data_source.h"
#include "bnrecal/eval/evaluate.h"
#include "bnrecal/models/checkpoint.h"
#include "bnrecal/models/zoo.h"
#include "bnrecal/core/error.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/nn/batch_norm.h"
#include "bnrecal/train/trainer.h"
#include "tensor_source.h"

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

// conv -> bn -> relu -> pool -> fc, remembering what the BN layer saw in the last training forward.
class RecordingNet : public Network {
 public:
  RecordingNet() {
    conv = register_module("conv", ArithConv2d(ArithConv2dOptions(1, 4, 3).padding(1)));
    bn = register_module("bn", BatchNorm2d(4));
    fc = register_module("fc", ArithLinear(4, 3));
  }
  at::Tensor forward(at::Tensor x) override {
    x = conv(x);
    if (is_training()) bn_input = x.detach().clone();
    return fc(torch::relu(bn(x)).mean({2, 3}));
  }
  ArithConv2d conv{nullptr};
  BatchNorm2d bn{nullptr};
  ArithLinear fc{nullptr};
  at::Tensor bn_input;
};

// BN-final: with momentum 1, after every training step the running statistics are that step's
// batch statistics (the variance unbiased, as PyTorch stores running_var); BN-pop's are not.
TEST(Trainer, BnFinalKeepsTheLastBatchStatistics) {
  testing::TensorSource data(64, 5, 3);
  for (const double momentum : {1.0, 0.1}) {
    torch::manual_seed(1);
    RecordingNet net;
    TrainOptions o;
    o.epochs = 1;
    o.batch_size = 16;
    o.lr = 0.05;
    o.augment = false;
    o.bn_momentum = momentum;
    int64_t matching_steps = 0;
    TrainCallbacks callbacks;
    callbacks.on_step = [&](int64_t, int64_t, double, double, double) {
      const at::Tensor mean = net.bn_input.mean({0, 2, 3});
      const at::Tensor var = net.bn_input.var({0, 2, 3}, /*unbiased=*/true);
      matching_steps += net.bn->running_mean.allclose(mean, 1e-5, 1e-6) && net.bn->running_var.allclose(var, 1e-5, 1e-6);
    };
    train_model(net, data, nullptr, o, callbacks);
    EXPECT_EQ(matching_steps, momentum == 1.0 ? 4 : 0) << "momentum " << momentum;
  }
}

TEST(Trainer, EvaluatesEveryNStepsAsATimeSeries) {
  testing::TensorSource train(64, 5, 3), test(32, 6, 3);
  RecordingNet net;
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.eval_every_steps = 3;
  std::vector<TrainEvaluation> seen;
  TrainCallbacks callbacks;
  callbacks.on_evaluation = [&](const TrainEvaluation& e) { seen.push_back(e); };
  train_model(net, train, &test, o, callbacks);
  ASSERT_EQ(seen.size(), 2u);  // 8 steps: after steps 3 and 6
  EXPECT_EQ(seen[0].step, 3);
  EXPECT_DOUBLE_EQ(seen[1].epoch, 6.0 / 4.0);
  EXPECT_EQ(seen[1].n, 32);
  o.bn_momentum = 0;
  EXPECT_THROW(train_model(net, train, &test, o, callbacks), InputError);
}

}  // namespace
}  // namespace bnrecal
