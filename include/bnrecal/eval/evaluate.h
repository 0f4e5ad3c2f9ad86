// Evaluation of a model on a data source: top-1/top-5 with standard errors, and throughput.
//
//   bnrecal::EvalResult r = bnrecal::evaluate(*net, *test, {.batch_size = 256, .normalization = norm});
//   std::cout << r.top1 << " +- " << r.top1_stderr << "\n";
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bnrecal/core/work_group.h"
#include "bnrecal/data/data_source.h"
#include "bnrecal/models/model_card.h"
#include "bnrecal/nn/network.h"
#include "bnrecal/recal/streaming_calibration.h"

namespace bnrecal {

struct EvalOptions {
  int64_t batch_size = 256;
  int64_t limit = -1;           // first `limit` images of the split (-1: all)
  Normalization normalization;  // usually the checkpoint's
  // Called after every batch with (images done, images total); may print progress.
  std::function<void(int64_t, int64_t)> progress;
  // Several processes (dist/process_group.h): each evaluates the batches it owns and every rank
  // gets the whole result, identical to one process's (same batches, outcomes added in batch
  // order). Progress then counts this rank's images.
  WorkGroup* group = nullptr;
  // Streaming BN calibration on the evaluated images themselves, batch after batch in split order
  // (recal/streaming_calibration.h); the model's statistics are restored afterwards. One process
  // only: the stream is sequential.
  std::optional<StreamingOptions> streaming;
};

struct EvalResult {
  double top1 = 0, top5 = 0, top1_stderr = 0, top5_stderr = 0;  // percent
  double loss = 0;
  int64_t n = 0;
  double seconds = 0;
  double images_per_second = 0;
  std::vector<uint8_t> correct;    // per image, in split order: 1 where top-1 is right (not in JSON)
  nlohmann::json streaming;        // the streaming options and batch size when used, else null
  nlohmann::json to_json() const;  // keys top1, top5, top1_stderr, top5_stderr, loss, n, ...
};

// Runs the model in eval mode under no-grad; restores the model's previous train/eval mode. Throws
// InputError for streaming with a group or bad streaming options.
EvalResult evaluate(Network& model, const DataSource& source, const EvalOptions& options);

// Throws InputError when the data's image shape or class count does not fit the model card's
// (card fields left empty are not checked).
void check_data_fits_model(const DataSource& source, const ModelCard& card);

// open_dataset with the model's class names (card.classes, recorded by `bnrecal train` on image
// folders), then check_data_fits_model.
std::unique_ptr<DataSource> open_dataset_for_model(const std::string& spec, Split split,
                                                   const ModelCard& card);

}  // namespace bnrecal
