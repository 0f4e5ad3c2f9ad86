// A GoogLeNet-style network for 28x28 / 32x32 images (Fashion-MNIST, CIFAR), at about ResNet-20's
// cost (38 M multiply-accumulates per 28x28 image). Layer layout and module names:
//   conv1                      stem: 3x3 conv, 32 channels, stride 1 (GoogLeNet's 7x7 conv and
//                              pools take 224 px to 28 before inception3a; these images are 28)
//   inception3a, inception3b   at 28x28, 64 channels out
//   3x3 max-pool, stride 2     (ceil mode, GoogLeNet's) 28 -> 14
//   inception4a, inception4b   at 14x14, 128 channels out
//   3x3 max-pool, stride 2     14 -> 7
//   inception5a, inception5b   at 7x7, 256 channels out
//   global average pool, fc    no dropout, like the other small-image models
// Each inception module is torchvision's (four branches: 1x1; 1x1 -> 3x3; 1x1 -> 3x3, its "5x5";
// 3x3 max-pool -> 1x1; concatenated), each conv a BasicConv2d (bias-free conv, BN eps 1e-3, ReLU),
// so per-layer names read like GoogLeNet's: "inception4a.branch2.1.conv".
//
// (bnrecal::build_model("inception_small", {10, 1}) builds it; only the zoo entry is public.)
#include "bnrecal/models/zoo.h"
#include "inception_blocks.h"

namespace bnrecal {

namespace {

using inception::BasicConv2d;
using inception::Inception;
using inception::InceptionWidths;

constexpr int64_t kStemWidth = 32;

// Per stage (28x28, 14x14, 7x7) two modules: {1x1, 3x3 reduce, 3x3, "5x5" reduce, "5x5", pool
// projection}. The output proportions are GoogLeNet's inception3a (1x1 : 3x3 : 5x5 : pool = 2:4:1:1),
// widths doubling per stage as the map shrinks 4x, so every stage costs about the same.
const InceptionWidths kStages[3][2] = {
    {{16, 24, 32, 4, 8, 8}, {16, 24, 32, 8, 8, 8}},
    {{32, 32, 64, 8, 16, 16}, {32, 32, 64, 8, 16, 16}},
    {{64, 64, 128, 16, 32, 32}, {64, 64, 128, 16, 32, 32}},
};

class InceptionSmall : public Network {
 public:
  explicit InceptionSmall(const ModelOptions& options) {
    conv1_ = register_module("conv1", std::make_shared<BasicConv2d>(options.in_channels, kStemWidth, 3, 1, 1));
    int64_t in = kStemWidth;
    for (int stage = 0; stage < 3; ++stage) {
      for (int i = 0; i < 2; ++i) {
        // inception3a .. inception5b: GoogLeNet's numbering, stage 3 being its first inception stage.
        const std::string name = "inception" + std::to_string(stage + 3) + static_cast<char>('a' + i);
        modules_[stage].push_back(register_module(name, std::make_shared<Inception>(in, kStages[stage][i])));
        in = kStages[stage][i].out();
      }
    }
    fc_ = register_module("fc", ArithLinear(in, options.num_classes));
  }

  at::Tensor forward(at::Tensor x) override {
    x = conv1_->forward(x);
    for (int stage = 0; stage < 3; ++stage) {
      if (stage > 0) x = at::max_pool2d(x, {3, 3}, {2, 2}, {0, 0}, {1, 1}, /*ceil_mode=*/true);
      for (auto& module : modules_[stage]) x = module->forward(x);
    }
    return fc_(at::adaptive_avg_pool2d(x, {1, 1}).flatten(1));
  }

 private:
  std::shared_ptr<BasicConv2d> conv1_;
  std::vector<std::shared_ptr<Inception>> modules_[3];
  ArithLinear fc_{nullptr};
};

}  // namespace

namespace detail {

void add_inception_small_models(std::vector<ZooEntry>& zoo) {
  zoo.push_back({"inception_small", "small-image",
                 "small GoogLeNet: 3x3 stem, 2 inception modules per 28/14/7 px stage (64/128/256 ch), GAP, fc",
                 {1, 28, 28}, [](const ModelOptions& o) { return std::make_shared<InceptionSmall>(o); }});
}

}  // namespace detail

}  // namespace bnrecal
