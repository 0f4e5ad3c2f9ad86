// Which task a data source's ground truth serves: one label per image (classification), a class
// per pixel (SegmentationSource) or boxes (DetectionSource). Training, evaluation and the studies
// pick their loss and scores by it, and refuse a model of another task.
//
//   if (bnrecal::data_task(*source) == bnrecal::DataTask::kSegmentation) ...
#pragma once
#include <string>

#include "bnrecal/data/data_source.h"

namespace bnrecal {

enum class DataTask { kClassification, kSegmentation, kDetection };

DataTask data_task(const DataSource& source);

// "classification", "segmentation", "detection": also the zoo family of the dense tasks' models.
std::string data_task_name(DataTask task);

}  // namespace bnrecal
