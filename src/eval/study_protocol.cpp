#include "bnrecal/eval/study_protocol.h"

#include <algorithm>
#include <cstdio>

#include "bnrecal/core/error.h"
#include "bnrecal/data/batch_stream.h"

namespace bnrecal {

nlohmann::json RecalProtocol::to_json() const {
  nlohmann::json j = options.to_json();
  j["images"] = images;
  j["batch_size"] = batch_size;
  j["draws"] = draws;
  j["augment"] = augment;
  return j;
}

uint64_t recal_draw_seed(uint64_t seed, int64_t draw) {
  // Draw 0 keeps the step's own seed; later draws are spread by the golden-ratio increment so
  // that the draws of neighbouring steps (seed, seed + 1, ...) do not coincide.
  return seed + static_cast<uint64_t>(draw) * 0x9E3779B97F4A7C15ULL;
}

nlohmann::json RecalOutcome::to_json() const {
  nlohmann::json per_draw = nlohmann::json::array();
  for (size_t k = 0; k < draws.size(); ++k) {
    nlohmann::json d = draws[k].to_json();
    d["seed"] = seeds[k];
    d["recalibration"] = reports[k].to_json();
    per_draw.push_back(d);
  }
  return {{"top1", top1.to_json()}, {"gain", gain.to_json()}, {"draws", per_draw}};
}

int64_t RecalProtocol::batch_for(Network& model, const std::vector<int64_t>& image_shape) const {
  if (batch_size > 0) return std::min(batch_size, images);
  const Estimator e = options.estimator;
  if (e == Estimator::kEma || e == Estimator::kEmaReset) return std::min(kAutoEmaBatch, images);
  // The largest BN input of one image, from one forward of a zero image.
  int64_t largest = 1;
  const std::vector<BnLayerRef> bns = bn_layers(model);
  for (const auto& b : bns) {
    b.bn->probe_activations([&largest](const at::Tensor& in, const at::Tensor&) {
      largest = std::max<int64_t>(largest, in.numel() / std::max<int64_t>(1, in.size(0)));
    });
  }
  std::vector<int64_t> shape = image_shape;
  shape.insert(shape.begin(), 1);
  {
    const bool was_training = model.is_training();
    model.eval();
    at::NoGradGuard no_grad;
    model.forward(at::zeros(shape));
    model.train(was_training);
  }
  for (const auto& b : bns) b.bn->probe_activations(nullptr);
  const int64_t fits = std::max<int64_t>(1, kOneBatchBytes / (largest * static_cast<int64_t>(sizeof(float))));
  return std::min(images, fits);
}

nlohmann::json StreamingProtocol::to_json() const {
  nlohmann::json j = options.to_json();
  j["batch_size"] = batch_size;
  j["warmup_images"] = warmup_images;
  return j;
}

nlohmann::json PlainAndRecalibrated::to_json() const {
  nlohmann::json j = {{"plain", plain.to_json()}, {"recalibrated", recalibrated.to_json()}};
  if (streamed) {
    j["streamed"] = streamed->to_json();
    j["streamed"]["gain"] = streaming_gain.to_json();
  }
  return j;
}

EvalResult evaluate_test(Network& model, const DataSource& test, const EvalProtocol& protocol,
                         int64_t limit) {
  EvalOptions e;
  e.batch_size = protocol.batch_size;
  e.limit = limit;
  e.normalization = protocol.normalization;
  return evaluate(model, test, e);
}

RecalReport recalibrate_on_training_draw(Network& model, const StudyData& data, const StudyProtocol& protocol,
                                         uint64_t seed) {
  const RecalProtocol& r = protocol.recal;
  LoaderBatchStream stream(data.train, LoaderOptions::sample(r.images, r.batch_for(model, data.train.image_shape()),
                                                            seed, r.augment, protocol.eval.normalization));
  return recalibrate_bn(model, stream, r.options);
}

void warm_up_streaming(Network& model, const StudyData& data, const StudyProtocol& protocol, uint64_t recal_seed) {
  if (!protocol.streaming || protocol.streaming->warmup_images == 0) return;
  const StreamingProtocol& s = *protocol.streaming;
  LoaderBatchStream stream(data.train, LoaderOptions::sample(s.warmup_images, s.batch_size,
                                                            recal_draw_seed(recal_seed, -1), false,
                                                            protocol.eval.normalization));
  const bool was_training = model.is_training();
  model.eval();
  {
    at::NoGradGuard no_grad;
    StreamingCalibration streaming(model, s.options);
    for (at::Tensor images; stream.next(images);) model.forward(images);
    streaming.keep_statistics();
  }
  model.train(was_training);
}

PlainAndRecalibrated measure_plain_and_recalibrated(Network& model, const StudyData& data,
                                                    const StudyProtocol& protocol,
                                                    uint64_t recal_seed, const BnSnapshot& clean,
                                                    const std::function<void(uint64_t)>& before_each_draw) {
  PlainAndRecalibrated out;
  out.plain = evaluate_test(model, data.test, protocol.eval, protocol.eval.limit);
  const RecalProtocol& r = protocol.recal;
  RecalOutcome& recal = out.recalibrated;
  std::vector<double> top1;
  std::vector<PairedAccuracy> gains;
  for (int64_t k = 0; k < r.draws; ++k) {
    const uint64_t seed = recal_draw_seed(recal_seed, k);
    if (before_each_draw) before_each_draw(seed);
    recal.reports.push_back(recalibrate_on_training_draw(model, data, protocol, seed));
    recal.draws.push_back(evaluate_test(model, data.test, protocol.eval, protocol.eval.limit));
    recal.seeds.push_back(seed);
    clean.restore(model);
    top1.push_back(recal.draws.back().top1);
    gains.push_back(compare_paired(out.plain.correct, recal.draws.back().correct));
  }
  recal.top1 = seed_stat(top1);
  recal.gain = repeated_gain(std::move(gains));
  if (protocol.streaming) {
    EvalOptions e;
    e.batch_size = protocol.streaming->batch_size;
    e.limit = protocol.eval.limit;
    e.normalization = protocol.eval.normalization;
    e.streaming = protocol.streaming->options;
    warm_up_streaming(model, data, protocol, recal_seed);
    out.streamed = evaluate(model, data.test, e);
    clean.restore(model);
    out.streaming_gain = compare_paired(out.plain.correct, out.streamed->correct);
  }
  return out;
}

void check_study_inputs(Network& model, const StudyData& data, const StudyProtocol& protocol) {
  require(protocol.recal.images > 0 && protocol.recal.images <= data.train.size(),
          "--recal-images must be in 1.." + std::to_string(data.train.size()) + " (the training split), got " +
              std::to_string(protocol.recal.images));
  require(protocol.recal.draws >= 1, "--recal-draws must be >= 1, got " + std::to_string(protocol.recal.draws));
  require(protocol.recal.batch_size >= 0, "the recalibration batch size must be >= 0 (0: one batch)");
  require(!bn_layers(model).empty(), "the model has no BatchNorm layers to recalibrate");
  if (protocol.streaming) {
    require(protocol.streaming->batch_size >= 1, "the streaming batch size must be >= 1");
    require(protocol.streaming->warmup_images >= 0 && protocol.streaming->warmup_images <= data.train.size(),
            "--stream-warmup must be in 0.." + std::to_string(data.train.size()) + " (the training split), got " +
                std::to_string(protocol.streaming->warmup_images));
    check_momentum(protocol.streaming->options.momentum);
  }
}

std::string fixed(double value, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, value);
  return buf;
}

}  // namespace bnrecal
