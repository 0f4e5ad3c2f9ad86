// A --policy-json file: JSON text, then the perturbation spec it describes (policy, parameters,
// per-layer overrides, noise), validated.
#include "bnrecal/core/json_config.h"
#include "bnrecal/nn/policy_spec.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  bnrecal::fuzz::expect_clean_refusal(
      [&] { bnrecal::PolicySpec::from_json(bnrecal::parse_json(text, "policy JSON")); });
  return 0;
}
