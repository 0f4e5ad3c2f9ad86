// `bnrecal experiment divergence` end to end on the untrained ResNet-20: one row per BN layer in
// the JSON and the Markdown, and the usage error when nothing is perturbed.
#include <gtest/gtest.h>

#include "bnrecal/core/files.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

TEST(DivergenceCli, OneRowPerBnLayerAndNothingPerturbedIsAUsageError) {
  const std::string base = "experiment divergence --model " + untrained_resnet20_checkpoint() +
                           " --images 16 --batch-size 16 --recal-images 32 --bins 16";
  const std::string json = temp_dir() + "/divergence.json", md = temp_dir() + "/divergence.md";
  CommandResult r = bnrecal_cli(base + " --noise seed-003 --eta 0.1 --json " + json + " --markdown " + md);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const nlohmann::json j = nlohmann::json::parse(read_file(json));
  ASSERT_EQ(j["layers"].size(), 21u);  // ResNet-20: the stem BN, 2 per block, 2 downsample BNs
  EXPECT_EQ(j["layers"][0]["name"], "bn1");
  EXPECT_GT(j["layers"][1]["js_plain"].get<double>(), 0.0);
  EXPECT_EQ(j["images"], 16);
  EXPECT_NE(read_file(md).find("| layer1.0.bn1 |"), std::string::npos) << read_file(md);

  r = bnrecal_cli(base + " --json " + temp_dir() + "/never.json");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("nothing is perturbed"), std::string::npos) << r.output;
  EXPECT_FALSE(file_exists(temp_dir() + "/never.json"));
}
