#include "bnrecal/onnx/batch_norm_folding.h"

#include <map>
#include <set>

#include "bnrecal/core/error.h"
#include "bnrecal/onnx/graph_network.h"

namespace bnrecal {

namespace {

constexpr double kRenormEpsilon = 1e-5;

std::map<std::string, int> reader_counts(const Graph& g) {
  std::map<std::string, int> readers;
  for (const auto& n : g.nodes)
    for (const auto& in : n.inputs) ++readers[in];
  for (const auto& out : g.outputs) ++readers[out];
  return readers;
}

void drop_unused_constants(OnnxModel& m) {
  const auto readers = reader_counts(m.graph);
  std::vector<GraphConstant> kept;
  for (auto& c : m.graph.constants) {
    if (readers.count(c.value)) kept.push_back(c);
    else m.values.erase(c.value);
  }
  m.graph.constants = std::move(kept);
}

std::string fresh_name(const OnnxModel& m, const std::string& base) {
  std::string name = base;
  for (int k = 2; m.values.count(name); ++k) name = base + "_" + std::to_string(k);
  return name;
}

void add_constant(OnnxModel& m, const std::string& name, const at::Tensor& value) {
  m.graph.constants.push_back({name, "", value.sizes().vec(), "float32"});
  m.values[name] = value;
}

// The (BatchNormalization, Conv) node index pairs that fold: the BN reads a Conv output that
// nothing else reads, and the conv weight and the BN's four parameters are constants.
std::vector<std::pair<size_t, size_t>> foldable_pairs(const OnnxModel& m) {
  std::map<std::string, size_t> producer;
  for (size_t i = 0; i < m.graph.nodes.size(); ++i)
    for (const auto& out : m.graph.nodes[i].outputs) producer[out] = i;
  const auto readers = reader_counts(m.graph);
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t i = 0; i < m.graph.nodes.size(); ++i) {
    const GraphNode& bn = m.graph.nodes[i];
    if (bn.op != "BatchNormalization") continue;
    auto p = producer.find(bn.input(0));
    if (p == producer.end() || m.graph.nodes[p->second].op != "Conv" || readers.at(bn.input(0)) != 1) continue;
    bool constant = m.values.count(m.graph.nodes[p->second].input(1)) > 0;
    for (size_t k = 1; k <= 4; ++k) constant = constant && m.values.count(bn.input(k));
    if (constant) pairs.emplace_back(i, p->second);
  }
  return pairs;
}

// g = gamma / sqrt(var + eps) per channel, in float64.
at::Tensor folded_scale(const OnnxModel& m, const GraphNode& bn) {
  const at::Tensor gamma = m.values.at(bn.input(1)).to(at::kDouble), var = m.values.at(bn.input(4)).to(at::kDouble);
  return gamma / (var + bn.float_attribute("epsilon", 1e-5)).sqrt();
}

}  // namespace

std::map<std::string, FoldedScale> folded_scales(const OnnxModel& unfolded) {
  std::map<std::string, FoldedScale> scales;
  for (const auto& [b, c] : foldable_pairs(unfolded)) {
    const GraphNode& bn = unfolded.graph.nodes[b];
    const at::Tensor g = folded_scale(unfolded, bn);
    scales[bn.outputs[0]] = {g, bn.float_attribute("epsilon", 1e-5), unfolded.values.at(bn.input(2)).to(at::kDouble),
                             g.square() * unfolded.values.at(bn.input(4)).to(at::kDouble)};
  }
  return scales;
}

int fold_batch_norms(OnnxModel& m) {
  std::set<size_t> folded;
  for (const auto& [i, c] : foldable_pairs(m)) {
    const GraphNode& bn = m.graph.nodes[i];
    GraphNode& conv = m.graph.nodes[c];
    // In float64, so the folded model differs from the original by one rounding per weight.
    const at::Tensor beta = m.values.at(bn.input(2)).to(at::kDouble), mean = m.values.at(bn.input(3)).to(at::kDouble);
    const at::Tensor scale = folded_scale(m, bn);
    const at::Tensor w = m.values.at(conv.input(1)).to(at::kDouble);
    at::Tensor b = conv.input(2).empty() ? at::zeros_like(mean) : m.values.at(conv.input(2)).to(at::kDouble);
    const std::string weight = fresh_name(m, conv.input(1) + ".folded");
    add_constant(m, weight, (w * scale.view({-1, 1, 1, 1})).to(at::kFloat));
    const std::string module = module_of_weight(conv.input(1));
    const std::string bias_base = module.empty() ? conv.input(1) + "_bias" : module + ".bias";
    const std::string bias = fresh_name(m, bias_base + ".folded");
    add_constant(m, bias, ((b - mean) * scale + beta).to(at::kFloat));
    conv.inputs.resize(3);
    conv.inputs[1] = weight;
    conv.inputs[2] = bias;
    conv.outputs[0] = bn.outputs[0];
    folded.insert(i);
  }
  std::vector<GraphNode> nodes;
  for (size_t i = 0; i < m.graph.nodes.size(); ++i)
    if (!folded.count(i)) nodes.push_back(std::move(m.graph.nodes[i]));
  m.graph.nodes = std::move(nodes);
  drop_unused_constants(m);
  // The folded weights take back their original names, so the convs keep their module names.
  for (auto& c : m.graph.constants) {
    const std::string tail = ".folded";
    if (c.value.size() <= tail.size() || c.value.compare(c.value.size() - tail.size(), tail.size(), tail) != 0) continue;
    const std::string original = c.value.substr(0, c.value.size() - tail.size());
    if (m.values.count(original)) continue;
    m.values[original] = m.values.at(c.value);
    m.values.erase(c.value);
    for (auto& n : m.graph.nodes)
      for (auto& in : n.inputs)
        if (in == c.value) in = original;
    c.value = original;
  }
  name_graph_modules(m.graph);
  return static_cast<int>(folded.size());
}

std::vector<RenormLayer> add_renormalization(OnnxModel& m, const std::map<std::string, FoldedScale>& matched) {
  const auto readers = reader_counts(m.graph);
  std::map<std::string, const GraphNode*> only_reader;
  for (const auto& n : m.graph.nodes)
    for (const auto& in : n.inputs)
      if (readers.at(in) == 1) only_reader[in] = &n;
  std::vector<GraphNode> nodes;
  std::map<std::string, std::string> output_of;  // node name of each inserted layer -> the value it writes
  for (auto& n : m.graph.nodes) {
    nodes.push_back(n);
    if (n.op != "Conv") continue;
    auto r = only_reader.find(n.outputs[0]);
    if (r != only_reader.end() && r->second->op == "BatchNormalization") continue;
    const int64_t channels = m.values.at(n.input(1)).size(0);
    const std::string stem = (n.module.empty() ? n.name : n.module) + "_renorm";
    const std::string output = n.outputs[0];
    const auto match = matched.find(output);
    const bool by_g = match != matched.end();
    const double epsilon = by_g ? match->second.epsilon : kRenormEpsilon;
    nodes.back().outputs[0] = fresh_name(m, output + "_before_renorm");
    // in * factor (per channel) -> out, as a Mul node with a constant [C, 1, 1].
    auto multiply = [&](std::string in, const at::Tensor& factor, const std::string& tag, const std::string& out) {
      const std::string constant = fresh_name(m, stem + "." + tag);
      add_constant(m, constant, factor.to(at::kFloat).view({channels, 1, 1}));
      nodes.push_back({"Mul", stem + "_" + tag, {in, constant}, {out}});
    };
    if (by_g) multiply(nodes.back().outputs[0], match->second.g.reciprocal(), "divided_by_g", fresh_name(m, output + "_divided_by_g"));
    GraphNode bn;
    bn.op = "BatchNormalization";
    bn.name = stem;
    bn.inputs = {nodes.back().outputs[0]};
    for (const char* param : {"weight", "bias", "running_mean", "running_var"}) {
      const std::string value = fresh_name(m, stem + "." + param);
      const std::string p(param);
      add_constant(m, value, p == "weight"   ? at::ones({channels})
                             : p == "running_var" ? at::full({channels}, 1.0 - epsilon)
                                                  : at::zeros({channels}));
      bn.inputs.push_back(value);
    }
    bn.outputs = {by_g ? fresh_name(m, output + "_renormalized_divided_by_g") : output};
    bn.attributes = {{"epsilon", epsilon}, {"momentum", 0.9}};
    nodes.push_back(bn);
    if (by_g) multiply(bn.outputs[0], match->second.g, "times_g", output);
    output_of[stem] = output;
  }
  m.graph.nodes = std::move(nodes);
  name_graph_modules(m.graph);
  std::vector<RenormLayer> layers;  // (a graph renormalized before keeps its layers, listed too)
  for (const auto& n : m.graph.nodes)
    if (n.op == "BatchNormalization" && n.name.size() > 7 && n.name.compare(n.name.size() - 7, 7, "_renorm") == 0)
      layers.push_back({n.module, output_of.count(n.name) ? output_of.at(n.name) : n.outputs[0]});
  return layers;
}

}  // namespace bnrecal
