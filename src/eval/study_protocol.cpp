#include "bnrecal/eval/study_protocol.h"

#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/data/batch_stream.h"

namespace bnrecal {

nlohmann::json RecalProtocol::to_json() const {
  nlohmann::json j = options.to_json();
  j["images"] = images;
  j["batch_size"] = batch_size;
  j["augment"] = augment;
  return j;
}

nlohmann::json PlainAndRecalibrated::to_json() const {
  return {{"plain", plain.to_json()}, {"recalibrated", recalibrated.to_json()},
          {"recalibration", recalibration.to_json()}};
}

EvalResult evaluate_test(Network& model, const DataSource& test, const EvalProtocol& protocol,
                         int64_t limit) {
  EvalOptions e;
  e.batch_size = protocol.batch_size;
  e.limit = limit;
  e.normalization = protocol.normalization;
  return evaluate(model, test, e);
}

PlainAndRecalibrated measure_plain_and_recalibrated(Network& model, const StudyData& data,
                                                    const StudyProtocol& protocol,
                                                    uint64_t recal_seed, const BnSnapshot& clean) {
  PlainAndRecalibrated out;
  out.plain = evaluate_test(model, data.test, protocol.eval, protocol.eval.limit);
  const RecalProtocol& r = protocol.recal;
  LoaderBatchStream stream(data.train, LoaderOptions::sample(r.images, r.batch_size, recal_seed, r.augment,
                                                            protocol.eval.normalization));
  out.recalibration = recalibrate_bn(model, stream, r.options);
  out.recalibrated = evaluate_test(model, data.test, protocol.eval, protocol.eval.limit);
  clean.restore(model);
  return out;
}

void check_study_inputs(Network& model, const StudyData& data, const StudyProtocol& protocol) {
  require(protocol.recal.images > 0 && protocol.recal.images <= data.train.size(),
          "--recal-images must be in 1.." + std::to_string(data.train.size()) + " (the training split), got " +
              std::to_string(protocol.recal.images));
  require(!bn_layers(model).empty(), "the model has no BatchNorm layers to recalibrate");
}

std::string fixed(double value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

}  // namespace bnrecal
