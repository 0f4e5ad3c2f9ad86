// The model card: typed sections, JSON round trip, stale sections dropped when weights change.
#include <gtest/gtest.h>

#include "bnrecal/core/error.h"
#include "bnrecal/models/model_card.h"

namespace bnrecal {
namespace {

nlohmann::json full_metadata() {
  return {{"arch", "resnet20"},
          {"dataset", "fashion-mnist"},
          {"num_classes", 10},
          {"input_shape", {1, 28, 28}},
          {"normalization", {{"mean", {0.286}}, {"std", {0.353}}}},
          {"activation_calibration",
           {{"stat", "mean_max"}, {"images", 64}, {"layers", {{"layer1.0.conv1", {{"a_max", 2.5}, {"min", 0.0}}}}}}},
          {"channel_order", {{"layer1.0.conv1", {1, 0}}}},
          {"channel_reorder", {{"threads", 2}}},
          {"recalibration",
           {{{"estimator", "pooled"}, {"seed", 7}, {"perturbation", {{"policy", "fp32"}, {"noise", nullptr}}}}}},
          {"accuracy", {{"top1", 92.12}, {"top1_stderr", 0.27}, {"n", 10000}, {"data", "fashion-mnist/test"}}},
          {"training", {{"seed", 2}, {"epochs_done", 3}, {"command", "bnrecal train"}}},
          {"pruning", {{"layers", {{{"name", "layer1.0.conv1"}}}}}},
          {"future_key", {{"kept", true}}}};
}

TEST(ModelCard, ReadsEverySectionAndWritesThemBack) {
  const ModelCard card = ModelCard::from_json(full_metadata());
  EXPECT_EQ(card.arch, "resnet20");
  EXPECT_EQ(card.input_shape, std::vector<int64_t>({1, 28, 28}));
  ASSERT_TRUE(card.calibration.activations.has_value());
  EXPECT_DOUBLE_EQ(card.calibration.activations->layers.at("layer1.0.conv1").a_max, 2.5);
  EXPECT_EQ(card.calibration.channel_orders.at("layer1.0.conv1"), std::vector<int64_t>({1, 0}));
  ASSERT_NE(card.last_recalibration(), nullptr);
  EXPECT_EQ(card.last_recalibration()->seed, 7u);
  EXPECT_EQ(card.last_recalibration()->details.at("estimator"), "pooled");
  EXPECT_EQ(card.training->epochs_done, 3);
  EXPECT_EQ(card.pruned_layers(), std::vector<std::string>({"layer1.0.conv1"}));
  EXPECT_EQ(card.other.at("future_key").at("kept"), true);  // unknown sections survive a rewrite
  const ModelCard again = ModelCard::from_json(card.to_json());
  EXPECT_EQ(again.to_json(), card.to_json());
}

// The hazard: fine-tuning a recalibrated checkpoint must not leave the old perturbation (or
// calibration, or channel order) to be applied to the new weights by a plain `eval`.
TEST(ModelCard, WeightChangeDropsEveryWeightDerivedSection) {
  ModelCard card = ModelCard::from_json(full_metadata());
  card.on_weights_changed();
  EXPECT_FALSE(card.calibration.activations.has_value());
  EXPECT_TRUE(card.calibration.channel_orders.empty());
  EXPECT_TRUE(card.channel_reorder.is_null());
  EXPECT_EQ(card.last_recalibration(), nullptr);
  EXPECT_FALSE(card.accuracy.has_value());
  // What describes the model rather than its current weights stays.
  EXPECT_EQ(card.arch, "resnet20");
  EXPECT_EQ(card.normalization.mean, std::vector<double>({0.286}));
  EXPECT_EQ(card.pruned_layers().size(), 1u);
  const nlohmann::json written = card.to_json();
  for (const char* key : {"activation_calibration", "channel_order", "channel_reorder", "recalibration", "accuracy"}) {
    EXPECT_FALSE(written.contains(key)) << key;
  }
}

TEST(ModelCard, MalformedSectionsAreInputErrorsNamingThem) {
  nlohmann::json bad = full_metadata();
  bad["num_classes"] = "ten";
  EXPECT_THROW(ModelCard::from_json(bad), InputError);
  bad = full_metadata();
  bad["activation_calibration"]["layers"]["layer1.0.conv1"] = {{"min", 0}};
  try {
    ModelCard::from_json(bad);
    FAIL() << "accepted a calibration without a_max";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("activation_calibration"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ModelCard::from_json(nlohmann::json::array()), InputError);
}

}  // namespace
}  // namespace bnrecal
