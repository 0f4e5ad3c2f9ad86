#include <gtest/gtest.h>
#include <torch/torch.h>

#include "bnrecal/core/error.h"
#include "bnrecal/nn/calibration.h"
#include "tiny_net.h"

using namespace bnrecal;
using bnrecal::testing::TinyNetImpl;

TEST(Calibration, MeanMaxIsTheMeanOfPerImageMaxima) {
  auto net = std::make_shared<TinyNetImpl>();
  net->randomize_bn(2);
  auto batches = bnrecal::testing::random_batches({3, 2});
  TensorBatchStream stream(batches);
  ActivationCalibration cal = calibrate_activations(*net, stream, "mean_max");
  EXPECT_EQ(cal.images, 5);

  // Hand computation in eval mode: conv1 sees the image, conv2 relu(bn1(conv1 x)).
  torch::NoGradGuard g;
  net->eval();
  std::vector<double> conv1_max, conv2_max, fc_max;
  for (const auto& x : batches) {
    at::Tensor a2 = torch::relu(net->bn1(net->conv1(x)));
    at::Tensor a3 = torch::relu(net->bn2(net->conv2(a2))).mean({2, 3});
    for (int64_t i = 0; i < x.size(0); ++i) {
      conv1_max.push_back(x[i].max().item<double>());
      conv2_max.push_back(a2[i].max().item<double>());
      fc_max.push_back(a3[i].max().item<double>());
    }
  }
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double d : v) s += d;
    return s / v.size();
  };
  EXPECT_NEAR(cal.layers.at("conv1").a_max, mean(conv1_max), 1e-6);
  EXPECT_NEAR(cal.layers.at("conv2").a_max, mean(conv2_max), 1e-6);
  EXPECT_NEAR(cal.layers.at("fc").a_max, mean(fc_max), 1e-6);
  EXPECT_LT(cal.layers.at("conv1").min, 0);  // raw image input is signed here
  EXPECT_GE(cal.layers.at("conv2").min, 0);

  ActivationCalibration maxcal = calibrate_activations(*net, stream, "max");
  EXPECT_NEAR(maxcal.layers.at("conv2").a_max, *std::max_element(conv2_max.begin(), conv2_max.end()), 1e-6);
  // The JSON round trip keeps everything.
  ActivationCalibration back = ActivationCalibration::from_json(cal.to_json());
  EXPECT_DOUBLE_EQ(back.layers.at("conv2").a_max, cal.layers.at("conv2").a_max);
  // Policies are restored to fp32 afterwards.
  EXPECT_EQ(net->conv2->policy().name(), "fp32");
}

TEST(Calibration, UnknownStatIsInputError) {
  auto net = std::make_shared<TinyNetImpl>();
  TensorBatchStream stream(bnrecal::testing::random_batches({2}));
  EXPECT_THROW(calibrate_activations(*net, stream, "median"), InputError);
}
