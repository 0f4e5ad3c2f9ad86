// Strict configuration reading: unknown keys and wrong types are errors that name the key.
#include <gtest/gtest.h>

#include "bnrecal/core/json_config.h"
#include "test_support.h"

using namespace bnrecal;
using namespace bnrecal::testing;

TEST(ConfigObject, ReadsTypedValuesAndRejectsUnknownKeysAndWrongTypes) {
  const nlohmann::json j = {{"limit", 64}, {"name", "x"}, {"recal", {{"images", 32}}}, {"etaz", 1}};
  ConfigObject o(j, "jobs[0]");
  EXPECT_EQ(o.get<int64_t>("limit", -1), 64);
  EXPECT_EQ(o.get<int64_t>("seeds", 3), 3);  // absent: the fallback
  EXPECT_EQ(o.required<std::string>("name"), "x");
  ConfigObject recal = o.object("recal");
  EXPECT_EQ(recal.get<int64_t>("images", 0), 32);
  recal.finish();
  const std::string unknown = input_error_message([&] { o.finish(); });
  EXPECT_NE(unknown.find("jobs[0]: unknown key 'etaz'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("limit, name, recal, seeds"), std::string::npos) << unknown;  // the known keys

  const std::string type = input_error_message([&] { o.get<std::string>("limit", ""); });
  EXPECT_NE(type.find("jobs[0].limit: "), std::string::npos) << type;
  EXPECT_NE(input_error_message([&] { o.required<int>("model"); }).find("missing key 'model'"), std::string::npos);
  EXPECT_NE(input_error_message([] { ConfigObject(nlohmann::json::array(), "study"); }).find("expected an object"),
            std::string::npos);
}
