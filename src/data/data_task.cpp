#include "bnrecal/data/data_task.h"

#include "bnrecal/data/detection_source.h"
#include "bnrecal/data/segmentation_source.h"

namespace bnrecal {

DataTask data_task(const DataSource& source) {
  if (dynamic_cast<const SegmentationSource*>(&source)) return DataTask::kSegmentation;
  if (dynamic_cast<const DetectionSource*>(&source)) return DataTask::kDetection;
  return DataTask::kClassification;
}

std::string data_task_name(DataTask task) {
  switch (task) {
    case DataTask::kSegmentation: return "segmentation";
    case DataTask::kDetection: return "detection";
    case DataTask::kClassification: break;
  }
  return "classification";
}

}  // namespace bnrecal
