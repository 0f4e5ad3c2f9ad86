// The recalibration protocol options, declared once with one set of defaults for `recalibrate`
// and both studies: how many training images, in which batches, which estimator (default
// pooled: exact and independent of batch order and size), its momentum or decay, which BN layers,
// sequential, augmentation.
//
//   auto r = bnrecal::cli::add_recal_options(*sub, bnrecal::cli::RecalFlagNames::kStudy);
//   bnrecal::RecalProtocol protocol = bnrecal::cli::recal_protocol(*r);   // UsageError if bad
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bnrecal/eval/study_protocol.h"
#include "bnrecal/recal/streaming_calibration.h"

namespace bnrecal::cli {

struct RecalFlags {
  int64_t images = 2048, batch_size = 0, draws = 3;  // batch 0: auto (study_protocol.h)
  std::string estimator = "pooled";
  double momentum = 0.1, decay = 0;
  std::vector<std::string> layers;
  bool sequential = false, augment = false;
  CLI::Option* decay_option = nullptr;
};

// kCommand: --images/-n and --batch-size (`recalibrate`); kStudy: --recal-images,
// --recal-batch-size (studies, whose --batch-size is the evaluation's) and --recal-draws.
enum class RecalFlagNames { kCommand, kStudy };

std::shared_ptr<RecalFlags> add_recal_options(CLI::App& sub, RecalFlagNames names);
RecalProtocol recal_protocol(const RecalFlags& flags);

// Streaming calibration (recal/streaming_calibration.h): --stream-momentum or --stream-decay turns
// it on; --stream-order, --stream-variance; studies add --stream-batch-size (`eval` streams in its own
// --batch-size) and --stream-warmup.
struct StreamingFlags {
  double momentum = 0.001, decay = 0.999;
  std::string order = "after", variance = "batch";
  int64_t batch_size = 1, warmup_images = 0;
  CLI::Option *momentum_option = nullptr, *decay_option = nullptr;
};
std::shared_ptr<StreamingFlags> add_streaming_options(CLI::App& sub, RecalFlagNames names);
// nullopt unless --stream-momentum or --stream-decay was given; UsageError for a bad value.
std::optional<StreamingOptions> streaming_options(const StreamingFlags& flags);

}  // namespace bnrecal::cli
