// torch.classes.bnrecal.ImageStream: the batches bnrecal's commands read, for Python. The same
// dataset forms as --data, the same seeded order, augmentation and normalization as the
// BatchLoader, so the package calibrates, recalibrates and evaluates on exactly the images the CLI
// uses (how the bit-identity tests compare them).
//
//   s = torch.classes.bnrecal.ImageStream("fashion-mnist", "train", 256, True, False, 1, 2048, [], [])
//   while batch := s.next(): images, labels = batch
#include <torch/custom_class.h>
#include <torch/library.h>

#include <memory>
#include <string>
#include <vector>

#include "bnrecal/data/data_source.h"
#include "op_errors.h"

namespace bnrecal::python {

class ImageStream : public torch::CustomClassHolder {
 public:
  // mean/std empty: the dataset's own normalization. limit -1: every image of the split.
  ImageStream(const std::string& data, const std::string& split, int64_t batch_size, bool shuffle, bool augment,
              int64_t seed, int64_t limit, std::vector<double> mean, std::vector<double> std) {
    reporting_input_errors([&] {
      require(split == "train" || split == "test", "split must be train or test, got '" + split + "'");
      require(batch_size > 0, "batch size must be positive, got " + std::to_string(batch_size));
      require(mean.size() == std.size(), "normalization needs as many means as standard deviations");
      source_ = open_dataset(data, split == "train" ? Split::kTrain : Split::kTest);
      require(limit <= source_->size(), "the stream asks for " + std::to_string(limit) + " images; " + source_->name() +
                                            " has " + std::to_string(source_->size()));
      LoaderOptions options;
      options.batch_size = batch_size;
      options.shuffle = shuffle;
      options.augment = augment;
      options.seed = static_cast<uint64_t>(seed);
      options.limit = limit;
      options.normalization = {std::move(mean), std::move(std)};
      if (options.normalization.mean.empty()) options.normalization = {};
      loader_ = std::make_unique<BatchLoader>(*source_, options);
      loader_->start_epoch(0);
      return 0;
    });
  }

  // [images, labels], or an empty list at the end of the stream.
  std::vector<at::Tensor> next() {
    return reporting_input_errors([&] {
      Batch batch;
      if (!loader_->next(batch)) return std::vector<at::Tensor>{};
      return std::vector<at::Tensor>{batch.images, batch.labels};
    });
  }
  void rewind() { loader_->start_epoch(0); }
  int64_t num_images() const { return loader_->num_images(); }
  int64_t num_classes() const { return source_->num_classes(); }
  std::vector<int64_t> image_shape() const { return source_->image_shape(); }
  std::string name() const { return source_->name(); }

 private:
  std::unique_ptr<DataSource> source_;
  std::unique_ptr<BatchLoader> loader_;
};

TORCH_LIBRARY_FRAGMENT(bnrecal, m) {
  m.class_<ImageStream>("ImageStream")
      .def(torch::init<std::string, std::string, int64_t, bool, bool, int64_t, int64_t, std::vector<double>,
                       std::vector<double>>())
      .def("next", &ImageStream::next)
      .def("rewind", &ImageStream::rewind)
      .def("num_images", &ImageStream::num_images)
      .def("num_classes", &ImageStream::num_classes)
      .def("image_shape", &ImageStream::image_shape)
      .def("name", &ImageStream::name);
}

}  // namespace bnrecal::python
