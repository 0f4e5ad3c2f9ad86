#include "bnrecal/recal/recalibrate.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>

#include "bnrecal/core/error.h"
#include "bnrecal/core/name_match.h"
#include "bnrecal/recal/pooled_stats.h"

namespace bnrecal {

namespace {
struct EstimatorName {
  Estimator e;
  const char* name;
};
constexpr EstimatorName kEstimators[] = {{Estimator::kEma, "ema"},
                                         {Estimator::kEmaReset, "ema-reset"},
                                         {Estimator::kCumulative, "cumulative"},
                                         {Estimator::kFinal, "final"},
                                         {Estimator::kPooled, "pooled"}};
}  // namespace

const char* estimator_name(Estimator e) {
  for (const auto& n : kEstimators) {
    if (n.e == e) return n.name;
  }
  return "?";
}

std::vector<std::string> estimator_names() {
  std::vector<std::string> out;
  for (const auto& n : kEstimators) out.push_back(n.name);
  return out;
}

Estimator parse_estimator(const std::string& name) {
  for (const auto& n : kEstimators) {
    if (name == n.name) return n.e;
  }
  throw InputError("unknown estimator '" + name + "' (known: ema, ema-reset, cumulative, final, pooled)");
}

void check_momentum(double momentum) {
  require(momentum >= 0.0 && momentum <= 1.0,
          "momentum must be in [0, 1] (PyTorch convention), got " + std::to_string(momentum));
}

double momentum_from_decay(double decay) {
  require(decay >= 0.0 && decay <= 1.0,
          "decay must be in [0, 1] (TensorFlow convention), got " + std::to_string(decay));
  return 1.0 - decay;
}

nlohmann::json RecalOptions::to_json() const {
  nlohmann::json j = {{"estimator", estimator_name(estimator)},
                      {"layers", layers.empty() ? std::vector<std::string>{"*"} : layers},
                      {"sequential", sequential}};
  if (estimator == Estimator::kEma || estimator == Estimator::kEmaReset) {
    j["momentum_pytorch"] = momentum;
    j["decay_tensorflow"] = 1.0 - momentum;
  }
  return j;
}

nlohmann::json RecalReport::to_json() const {
  nlohmann::json j = options.to_json();
  j["bn_layers"] = layers;
  j["images"] = images;
  j["batches"] = batches;
  j["passes"] = passes;
  j["seconds"] = seconds;
  j["variance"] = options.estimator == Estimator::kPooled
                      ? "unbiased: population M2 / (n - 1), n = total N*H*W per channel"
                      : "unbiased per batch: biased batch var * n/(n-1), n = B*H*W (as PyTorch)";
  return j;
}

std::vector<BnLayerRef> bn_layers(torch::nn::Module& model) {
  std::vector<BnLayerRef> out;
  for (const auto& item : model.named_modules("", /*include_self=*/false)) {
    auto* bn = dynamic_cast<BatchNorm2dImpl*>(item.value().get());
    if (bn == nullptr) {
      require(dynamic_cast<torch::nn::BatchNorm2dImpl*>(item.value().get()) == nullptr,
              "BN layer '" + item.key() + "' is a stock torch::nn::BatchNorm2d; build models "
              "with bnrecal::BatchNorm2d (nn/batch_norm.h), which recalibration needs");
      continue;
    }
    if (bn->options.track_running_stats()) out.push_back({item.key(), bn});
  }
  return out;
}

BnSnapshot::BnSnapshot(torch::nn::Module& model) {
  for (const auto& l : bn_layers(model)) {
    entries_.push_back({l.name, l.bn->running_mean.detach().clone(),
                        l.bn->running_var.detach().clone(),
                        l.bn->num_batches_tracked.defined() ? l.bn->num_batches_tracked.clone()
                                                            : at::Tensor(),
                        l.bn->weight.defined() ? l.bn->weight.detach().clone() : at::Tensor(),
                        l.bn->bias.defined() ? l.bn->bias.detach().clone() : at::Tensor(),
                        l.bn->options.momentum()});
  }
}

void BnSnapshot::restore(torch::nn::Module& model) const {
  std::vector<BnLayerRef> layers = bn_layers(model);
  TORCH_CHECK(layers.size() == entries_.size(), "BnSnapshot restored into a different model");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Entry& e = entries_[i];
    TORCH_CHECK(layers[i].name == e.name, "BnSnapshot restored into a different model");
    layers[i].bn->running_mean.copy_(e.mean);
    layers[i].bn->running_var.copy_(e.var);
    if (e.batches.defined()) layers[i].bn->num_batches_tracked.copy_(e.batches);
    if (e.weight.defined()) layers[i].bn->weight.copy_(e.weight);
    if (e.bias.defined()) layers[i].bn->bias.copy_(e.bias);
    layers[i].bn->options.momentum(e.momentum);
  }
}

namespace {

// Hands every group layer's batch moments to `observe(layer index, moments)` for the lifetime of
// a pass, and detaches the observers however the pass ends.
class GroupObservers {
 public:
  GroupObservers(const std::vector<BnLayerRef>& group, std::function<void(size_t, const BatchMoments&)> observe)
      : group_(group), observe_(std::move(observe)) {
    for (size_t i = 0; i < group.size(); ++i) {
      group[i].bn->observe_batch_moments([this, i](const BatchMoments& m) { observe_(i, m); });
    }
  }
  ~GroupObservers() {
    for (const auto& l : group_) l.bn->observe_batch_moments(nullptr);
  }
  GroupObservers(const GroupObservers&) = delete;
  GroupObservers& operator=(const GroupObservers&) = delete;

 private:
  const std::vector<BnLayerRef>& group_;
  std::function<void(size_t, const BatchMoments&)> observe_;
};

// The running-average factor of batch t: final and pooled take the batch whole (pooled overwrites
// the statistics at the end anyway).
double batch_momentum(const RecalOptions& opt, int64_t t) {
  if (opt.estimator == Estimator::kEma || opt.estimator == Estimator::kEmaReset) return opt.momentum;
  if (opt.estimator == Estimator::kCumulative) return 1.0 / static_cast<double>(t + 1);
  return 1.0;
}

// The pooled estimate becomes the layers' running statistics.
void store_pooled(const std::vector<BnLayerRef>& group, const std::vector<PooledChannelStats>& pooled,
                  int64_t batches) {
  for (size_t i = 0; i < group.size(); ++i) {
    require(pooled[i].count() > 0, "BN layer '" + group[i].name + "' was not reached by forward");
    group[i].bn->running_mean.copy_(pooled[i].mean().to(at::kFloat));
    group[i].bn->running_var.copy_(pooled[i].unbiased_variance().to(at::kFloat));
    group[i].bn->num_batches_tracked.fill_(batches);
  }
}

// One recalibration pass over the stream for a group of BN layers (all of them, or one in
// sequential mode). The caller has put exactly these layers in training mode.
int64_t run_pass(Network& model, BatchStream& stream, const std::vector<BnLayerRef>& group,
                 const RecalOptions& opt, int64_t& images_done, int64_t images_total,
                 int64_t& images) {
  const Estimator e = opt.estimator;
  if (e != Estimator::kEma) {
    for (const auto& l : group) l.bn->reset_running_stats();
  }
  std::vector<PooledChannelStats> pooled;
  std::unique_ptr<GroupObservers> observers;
  if (e == Estimator::kPooled) {
    for (const auto& l : group) pooled.emplace_back(l.bn->options.num_features());
    observers = std::make_unique<GroupObservers>(group, [&pooled](size_t i, const BatchMoments& m) {
      pooled[i].merge(m.count, m.mean.cpu(), m.m2.cpu());
    });
  }
  stream.rewind();
  int64_t t = 0;
  images = 0;
  for (at::Tensor x; stream.next(x); ++t) {
    const double m = batch_momentum(opt, t);
    for (const auto& l : group) l.bn->options.momentum(m);
    model.forward(x);
    images += x.size(0);
    images_done += x.size(0);
    if (opt.progress) opt.progress(images_done, images_total);
  }
  observers.reset();
  require(t > 0, "recalibration stream has no images");
  if (e == Estimator::kPooled) store_pooled(group, pooled, t);
  return t;
}

// The BN calls of one batch, as a process that did not run it needs them to replay it.
struct BatchRecord {
  int64_t images = 0;
  std::vector<std::vector<BatchMoments>> calls;  // [layer of the group][call within the forward]
};

nlohmann::json moments_to_json(const BatchMoments& m) {
  const at::Tensor mean = m.mean.cpu().contiguous(), m2 = m.m2.cpu().contiguous();
  return {{"count", m.count},
          {"mean", std::vector<double>(mean.data_ptr<double>(), mean.data_ptr<double>() + mean.numel())},
          {"m2", std::vector<double>(m2.data_ptr<double>(), m2.data_ptr<double>() + m2.numel())}};
}

BatchMoments moments_from_json(const nlohmann::json& j) {
  auto tensor = [](std::vector<double> v) {
    return at::from_blob(v.data(), {static_cast<int64_t>(v.size())}, at::kDouble).clone();
  };
  return {j.at("count").get<int64_t>(), tensor(j.at("mean").get<std::vector<double>>()),
          tensor(j.at("m2").get<std::vector<double>>())};
}

// Every rank's records, by batch index (all ranks receive all of them).
std::map<int64_t, BatchRecord> gather_records(WorkGroup& workers, const std::map<int64_t, BatchRecord>& local) {
  nlohmann::json mine = nlohmann::json::array();
  for (const auto& [t, record] : local) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& layer_calls : record.calls) {
      nlohmann::json l = nlohmann::json::array();
      for (const auto& m : layer_calls) l.push_back(moments_to_json(m));
      calls.push_back(l);
    }
    mine.push_back({{"batch", t}, {"images", record.images}, {"calls", calls}});
  }
  std::map<int64_t, BatchRecord> all;
  for (const nlohmann::json& theirs : workers.all_gather_json(mine)) {
    for (const auto& entry : theirs) {
      BatchRecord& record = all[entry.at("batch").get<int64_t>()];
      record.images = entry.at("images").get<int64_t>();
      for (const auto& l : entry.at("calls")) {
        record.calls.emplace_back();
        for (const auto& m : l) record.calls.back().push_back(moments_from_json(m));
      }
    }
  }
  require(all.empty() || all.rbegin()->first + 1 == static_cast<int64_t>(all.size()),
          "distributed recalibration: the ranks' batches do not add up (do all ranks read the same data?)");
  return all;
}

// run_pass shared by the ranks of opt.group: each runs its own batches, recording their moments,
// then all replay every batch in stream order, through the same update a forward makes.
int64_t run_shared_pass(Network& model, BatchStream& stream, const std::vector<BnLayerRef>& group,
                        const RecalOptions& opt, int64_t& images_done, int64_t images_total, int64_t& images) {
  const Estimator e = opt.estimator;
  if (e != Estimator::kEma) {
    for (const auto& l : group) l.bn->reset_running_stats();
  }
  BnSnapshot pass_start(model);  // this rank's forwards move the statistics with its batches only
  std::map<int64_t, BatchRecord> local;
  BatchRecord* current = nullptr;
  {
    GroupObservers recorder(group, [&current](size_t i, const BatchMoments& m) {
      current->calls[i].push_back({m.count, m.mean.cpu(), m.m2.cpu()});
    });
    stream.rewind();
    for (int64_t t = 0;; ++t) {
      if (!opt.group->owns(t)) {
        if (!stream.skip()) break;
        continue;
      }
      at::Tensor x;
      if (!stream.next(x)) break;
      current = &local[t];
      current->images = x.size(0);
      current->calls.resize(group.size());
      model.forward(x);
      images_done += x.size(0);
      if (opt.progress) opt.progress(images_done, images_total);
    }
  }
  const std::map<int64_t, BatchRecord> all = gather_records(*opt.group, local);
  require(!all.empty(), "recalibration stream has no images");
  pass_start.restore(model);

  std::vector<PooledChannelStats> pooled;
  for (const auto& l : group) pooled.emplace_back(l.bn->options.num_features());
  images = 0;
  for (const auto& [t, record] : all) {
    images += record.images;
    const double m = batch_momentum(opt, t);
    for (size_t i = 0; i < group.size(); ++i) {
      for (const BatchMoments& call : record.calls[i]) {
        if (e == Estimator::kPooled) {
          pooled[i].merge(call.count, call.mean, call.m2);
        } else {
          group[i].bn->update_running_statistics(call, m);
        }
      }
    }
  }
  const int64_t batches = static_cast<int64_t>(all.size());
  if (e == Estimator::kPooled) store_pooled(group, pooled, batches);
  return batches;
}

}  // namespace

std::vector<std::vector<size_t>> recalibration_passes(const std::vector<std::string>& names, const RecalOptions& opt) {
  check_momentum(opt.momentum);
  require(!names.empty(), "the model has no BatchNorm layers to recalibrate");
  std::vector<size_t> selected;
  for (size_t i = 0; i < names.size(); ++i) {
    if (opt.layers.empty() || matches_any(opt.layers, names[i])) selected.push_back(i);
  }
  if (selected.empty()) {
    throw InputError("BN layer pattern(s) select no layer (BN layers: " + join_names(names) + ")");
  }
  if (!opt.sequential) return {selected};
  std::vector<std::vector<size_t>> passes;
  for (size_t i : selected) passes.push_back({i});
  return passes;
}

RecalReport recalibrate_bn(Network& model, BatchStream& stream, const RecalOptions& opt) {
  std::vector<BnLayerRef> all = bn_layers(model);
  std::vector<std::string> names;
  for (const auto& l : all) names.push_back(l.name);
  RecalReport report;
  report.options = opt;
  std::vector<std::vector<BnLayerRef>> groups;
  for (const auto& pass : recalibration_passes(names, opt)) {
    groups.emplace_back();
    for (size_t i : pass) groups.back().push_back(all[i]);
  }
  for (const auto& group : groups) {
    for (const auto& l : group) report.layers.push_back(l.name);
  }
  report.passes = static_cast<int64_t>(groups.size());

  BnSnapshot snapshot(model);  // to undo on failure
  std::vector<c10::optional<double>> momenta;
  for (const auto& l : all) momenta.push_back(l.bn->options.momentum());
  const bool was_training = model.is_training();
  const auto start = std::chrono::steady_clock::now();
  int64_t images_done = 0;
  // A rank of a group runs about 1/size of the images (the batches are dealt round-robin).
  const int64_t ranks = opt.group ? opt.group->size() : 1;
  const int64_t images_total = (stream.num_images() * report.passes + ranks - 1) / ranks;
  try {
    torch::NoGradGuard no_grad;
    for (const auto& group : groups) {
      model.eval();  // dropout and every other BN layer: inference behaviour
      for (const auto& l : group) l.bn->train();
      report.batches = opt.group ? run_shared_pass(model, stream, group, opt, images_done, images_total, report.images)
                                 : run_pass(model, stream, group, opt, images_done, images_total, report.images);
    }
  } catch (...) {
    snapshot.restore(model);
    model.train(was_training);
    throw;
  }
  for (size_t i = 0; i < all.size(); ++i) all[i].bn->options.momentum(momenta[i]);
  model.train(was_training);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::vector<BatchNorm2dImpl*> bn_layers_named(torch::nn::Module& model, const std::vector<std::string>& names) {
  const std::vector<BnLayerRef> all = bn_layers(model);
  std::vector<BatchNorm2dImpl*> selected;
  for (const auto& name : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const BnLayerRef& l) { return l.name == name; });
    require(it != all.end(), "no BatchNorm layer '" + name + "' in the model");
    selected.push_back(it->bn);
  }
  return selected;
}

void make_identity_at_running_statistics(torch::nn::Module& model, const std::vector<std::string>& layers) {
  at::NoGradGuard no_grad;
  for (BatchNorm2dImpl* layer : bn_layers_named(model, layers)) {
    BatchNorm2dImpl& bn = *layer;
    bn.weight.copy_((bn.running_var.to(at::kDouble) + bn.options.eps()).sqrt());
    bn.bias.copy_(bn.running_mean);
  }
}

RecalReport estimate_renormalization(Network& model, BatchStream& stream, const std::vector<std::string>& layers) {
  const auto start = std::chrono::steady_clock::now();
  const std::vector<BatchNorm2dImpl*> selected = bn_layers_named(model, layers);
  std::vector<PooledChannelStats> stats;
  at::NoGradGuard no_grad;
  for (BatchNorm2dImpl* bn : selected) {
    bn->running_mean.zero_();
    bn->running_var.fill_(1.0 - bn->options.eps());
    bn->weight.fill_(1.0);
    bn->bias.zero_();
    stats.emplace_back(bn->options.num_features());
  }
  for (size_t i = 0; i < selected.size(); ++i) {
    selected[i]->probe_activations([&stats, i](const at::Tensor& input, const at::Tensor&) {
      const BatchMoments m = batch_moments(input);
      stats[i].merge(m.count, m.mean, m.m2);
    });
  }
  const bool was_training = model.is_training();
  model.eval();
  RecalReport report;
  report.passes = 1;
  try {
    stream.rewind();
    at::Tensor images;
    while (stream.next(images)) {
      model.forward(images);
      report.images += images.size(0);
      ++report.batches;
    }
  } catch (...) {
    for (BatchNorm2dImpl* bn : selected) bn->probe_activations({});
    model.train(was_training);
    throw;
  }
  for (BatchNorm2dImpl* bn : selected) bn->probe_activations({});
  model.train(was_training);
  require(report.images > 1, "re-normalization needs at least two images");
  for (size_t i = 0; i < selected.size(); ++i) {
    selected[i]->running_mean.copy_(stats[i].mean());
    selected[i]->running_var.copy_(stats[i].unbiased_variance());
  }
  make_identity_at_running_statistics(model, layers);
  report.layers = layers;
  report.options.estimator = Estimator::kPooled;
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace bnrecal
