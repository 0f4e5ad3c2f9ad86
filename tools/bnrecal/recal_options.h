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
#include <string>
#include <vector>

#include "bnrecal/eval/study_protocol.h"

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

}  // namespace bnrecal::cli
