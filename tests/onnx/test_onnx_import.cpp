// Reading ONNX files: what a model becomes (module names, constants, a checkpoint-ready graph) and
// every kind of file that must be refused with an InputError naming the problem.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include "bnrecal/core/error.h"
#include "bnrecal/core/files.h"
#include "bnrecal/nn/arith_layers.h"
#include "bnrecal/onnx/graph_network.h"
#include "bnrecal/onnx/onnx_file.h"
#include "test_support.h"

namespace bnrecal {
namespace {

// A ModelProto built node by node: conv(1->2, 3x3, pad 1) -> BN -> Relu -> GlobalAveragePool ->
// Flatten -> Gemm(2->3) by default.
class ModelBuilder {
 public:
  explicit ModelBuilder(int64_t opset = 13) {
    model_.set_ir_version(8);
    auto* o = model_.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    auto* input = graph().add_input();
    input->set_name("images");
    auto* type = input->mutable_type()->mutable_tensor_type();
    type->set_elem_type(onnx::TensorProto::FLOAT);
    for (int64_t d : {-1, 1, 6, 6}) {
      auto* dim = type->mutable_shape()->add_dim();
      if (d < 0) dim->set_dim_param("N");
      else dim->set_dim_value(d);
    }
    graph().add_output()->set_name("logits");
  }

  onnx::GraphProto& graph() { return *model_.mutable_graph(); }

  void initializer(const std::string& name, const at::Tensor& t) {
    auto* p = graph().add_initializer();
    p->set_name(name);
    for (int64_t d : t.sizes()) p->add_dims(d);
    p->set_data_type(t.scalar_type() == at::kLong ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT);
    at::Tensor c = t.contiguous();
    p->set_raw_data(std::string(static_cast<const char*>(c.data_ptr()), c.numel() * c.element_size()));
  }

  onnx::NodeProto& node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
                        const std::string& name = "") {
    auto* n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (const auto& i : in) n->add_input(i);
    for (const auto& o : out) n->add_output(o);
    return *n;
  }

  static void ints(onnx::NodeProto& n, const std::string& key, std::vector<int64_t> values) {
    auto* a = n.add_attribute();
    a->set_name(key);
    a->set_type(onnx::AttributeProto::INTS);
    for (int64_t v : values) a->add_ints(v);
  }

  ModelBuilder& classifier() {
    torch::manual_seed(0);
    initializer("features.conv.weight", at::randn({2, 1, 3, 3}));
    initializer("features.bn.weight", at::rand({2}) + 0.5);
    initializer("features.bn.bias", at::randn({2}));
    initializer("features.bn.running_mean", at::randn({2}));
    initializer("features.bn.running_var", at::rand({2}) + 0.5);
    initializer("W", at::randn({3, 2}));
    initializer("b", at::randn({3}));
    ints(node("Conv", {"images", "features.conv.weight"}, {"c"}, "conv"), "pads", {1, 1, 1, 1});
    node("BatchNormalization", {"c", "features.bn.weight", "features.bn.bias", "features.bn.running_mean",
                                "features.bn.running_var"}, {"n"}, "bn");
    node("Relu", {"n"}, {"r"});
    node("GlobalAveragePool", {"r"}, {"p"});
    node("Flatten", {"p"}, {"f"});
    auto& gemm = node("Gemm", {"f", "W", "b"}, {"logits"}, "head");
    auto* t = gemm.add_attribute();
    t->set_name("transB");
    t->set_type(onnx::AttributeProto::INT);
    t->set_i(1);
    return *this;
  }

  std::string bytes() const { return model_.SerializeAsString(); }
  OnnxModel parse() const { return parse_onnx_model(bytes(), "test.onnx"); }

 private:
  onnx::ModelProto model_;
};

std::string refusal(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no InputError";
  return "";
}

std::string build_refusal(const ModelBuilder& b) {
  return refusal([&] {
    OnnxModel m = b.parse();
    GraphNetwork net(m.graph, m.values);
  });
}

TEST(OnnxImport, ModulesTakeTheirWeightsNamesOrTheNodesName) {
  OnnxModel m = ModelBuilder().classifier().parse();
  GraphNetwork net(m.graph, m.values);
  std::vector<std::string> layers;
  for (const auto& l : arith_layers(net)) layers.push_back(l.name);
  EXPECT_EQ(layers, (std::vector<std::string>{"features.conv", "head"}));
  EXPECT_TRUE(arith_layers(net).front().is_first_conv);
  std::vector<std::string> keys;
  for (const auto& p : net.named_parameters()) keys.push_back(p.key());
  EXPECT_EQ(keys, (std::vector<std::string>{"features.conv.weight", "features.bn.weight", "features.bn.bias",
                                            "head.weight", "head.bias"}));
  // The Gemm's B is [N, K] with transB: the module holds it as is, and an export gets it back.
  EXPECT_TRUE(at::equal(net.constant_value("W"), m.values.at("W")));
}

TEST(OnnxImport, ComputesWhatATenComputesForTheSameLayers) {
  OnnxModel m = ModelBuilder().classifier().parse();
  GraphNetwork net(m.graph, m.values);
  net.eval();
  at::NoGradGuard no_grad;
  at::Tensor x = at::randn({4, 1, 6, 6});
  at::Tensor y = at::conv2d(x, m.values.at("features.conv.weight"), {}, 1, 1);
  y = at::batch_norm(y, m.values.at("features.bn.weight"), m.values.at("features.bn.bias"),
                     m.values.at("features.bn.running_mean"), m.values.at("features.bn.running_var"), false, 0.1, 1e-5,
                     false);
  y = at::linear(at::relu(y).mean({2, 3}), m.values.at("W"), m.values.at("b"));
  EXPECT_TRUE(at::allclose(net.forward(x), y, 1e-5, 1e-6));
}

TEST(OnnxImport, GraphSurvivesItsJsonForm) {
  OnnxModel m = ModelBuilder().classifier().parse();
  Graph again = Graph::from_json(nlohmann::json::parse(m.graph.to_json().dump()));
  EXPECT_EQ(again.to_json(), m.graph.to_json());
  GraphNetwork from_file(m.graph, m.values), from_json(again);
  EXPECT_EQ(from_json.named_parameters().size(), from_file.named_parameters().size());
}

TEST(OnnxImport, NodesOutOfOrderAreSortedAndACycleIsRefused) {
  ModelBuilder b;
  b.classifier();
  auto* nodes = b.graph().mutable_node();
  std::reverse(nodes->begin(), nodes->end());
  OnnxModel m = b.parse();
  EXPECT_EQ(m.graph.nodes.front().op, "Conv");
  EXPECT_EQ(m.graph.nodes.back().op, "Gemm");

  ModelBuilder cyclic;
  cyclic.classifier();
  cyclic.graph().mutable_node(2)->set_input(0, "f");  // Relu reads Flatten's output, which needs Relu's
  const std::string message = refusal([&] { cyclic.parse(); });
  EXPECT_NE(message.find("cycle"), std::string::npos) << message;
  EXPECT_NE(message.find("(Relu)"), std::string::npos) << message;
}

TEST(OnnxImport, RefusesWhatItCannotRunNamingTheNodeOrField) {
  auto expect_refused = [](ModelBuilder& b, const std::vector<std::string>& fragments) {
    const std::string message = build_refusal(b);
    for (const auto& f : fragments) EXPECT_NE(message.find(f), std::string::npos) << "'" << f << "' not in: " << message;
  };
  {
    ModelBuilder b;
    b.classifier().node("Tanh", {"logits"}, {"t"}, "squash");
    expect_refused(b, {"node 'squash' (Tanh)", "not supported", "Conv", "Softmax"});
  }
  {
    ModelBuilder b(8);
    b.classifier();
    expect_refused(b, {"opset 8", "9 to 17"});
  }
  {
    ModelBuilder b;
    b.classifier();
    b.graph().mutable_node(0)->set_domain("com.microsoft");
    expect_refused(b, {"node 'conv' (Conv)", "com.microsoft"});
  }
  {
    ModelBuilder b;
    b.classifier();
    b.graph().mutable_node(0)->set_input(1, "nowhere");
    expect_refused(b, {"node 'conv' (Conv)", "'nowhere'"});
  }
  {
    ModelBuilder b;  // a second runtime input
    b.classifier();
    b.graph().add_input()->set_name("mask");
    expect_refused(b, {"2 runtime inputs", "mask"});
  }
  {
    ModelBuilder b;  // the conv's weight computed at run time
    b.classifier();
    b.graph().mutable_node(0)->set_input(1, "images");
    expect_refused(b, {"node 'conv' (Conv)", "must be a constant"});
  }
  {
    ModelBuilder b;  // two convs sharing one weight
    b.classifier();
    b.node("Conv", {"images", "features.conv.weight"}, {"c2"}, "twin");
    expect_refused(b, {"features.conv.weight", "shared"});
  }
  {
    ModelBuilder b;
    b.classifier();
    b.graph().mutable_initializer(0)->set_data_type(onnx::TensorProto::DOUBLE);
    expect_refused(b, {"features.conv.weight", "DOUBLE", "not supported"});
  }
  {
    ModelBuilder b;
    b.classifier();
    b.graph().mutable_initializer(0)->mutable_raw_data()->resize(7);
    expect_refused(b, {"features.conv.weight", "7 bytes"});
  }
  {
    ModelBuilder b;
    b.classifier();
    b.graph().mutable_initializer(0)->set_dims(0, int64_t{1} << 40);
    expect_refused(b, {"features.conv.weight"});
  }
  {
    ModelBuilder b;
    b.classifier();
    b.graph().mutable_initializer(0)->set_data_location(onnx::TensorProto::EXTERNAL);
    expect_refused(b, {"external data"});
  }
  {
    ModelBuilder b;  // 3-D conv weights
    b.classifier();
    b.graph().mutable_initializer(0)->add_dims(1);
    b.graph().mutable_initializer(0)->mutable_raw_data()->resize(18 * 4);
    expect_refused(b, {"node 'conv' (Conv)", "2-D convolutions"});
  }
  {
    ModelBuilder b;
    b.classifier();
    b.ints(*b.graph().mutable_node(0), "strides", {1, 1, 1});
    expect_refused(b, {"node 'conv' (Conv)", "strides"});
  }
  for (int index : {1, 2, 3, 4}) {  // found by fuzz_onnx: a node without its input
    ModelBuilder b;
    b.classifier();
    onnx::NodeProto& n = *b.graph().mutable_node(index);
    if (n.op_type() == "BatchNormalization") n.set_input(0, "");  // the data input omitted, the weights kept
    else n.clear_input();
    expect_refused(b, {"(" + n.op_type() + ")", "input 0 is missing"});
  }
}

TEST(OnnxImport, RefusesBytesThatAreNotAModel) {
  const std::string good = ModelBuilder().classifier().bytes();
  EXPECT_NE(refusal([&] { parse_onnx_model(good.substr(0, good.size() / 2), "cut.onnx"); }).find("cut.onnx"),
            std::string::npos);
  EXPECT_NE(refusal([&] { parse_onnx_model("not a model at all", "text.onnx"); }).find("not an ONNX model"),
            std::string::npos);
  EXPECT_NE(refusal([&] { read_onnx_model(testing::temp_dir() + "/missing.onnx"); }).find("missing.onnx"),
            std::string::npos);
}

TEST(OnnxImport, ARunTimeShapeErrorNamesTheNodeAndTheInputIsChecked) {
  OnnxModel m = ModelBuilder().classifier().parse();
  GraphNetwork net(m.graph, m.values);
  at::NoGradGuard no_grad;
  const std::string wrong_input = refusal([&] { net.forward(at::zeros({1, 3, 6, 6})); });
  EXPECT_NE(wrong_input.find("[N, 1, 6, 6]"), std::string::npos) << wrong_input;
}

TEST(OnnxImport, WrittenAndReadAgainGivesTheSameNetwork) {
  OnnxModel m = ModelBuilder().classifier().parse();
  GraphNetwork net(m.graph, m.values);
  const std::string path = testing::temp_dir() + "/copy.onnx";
  write_onnx_model(path, net.graph(), [&](const std::string& v) { return net.constant_value(v); });
  OnnxModel again = read_onnx_model(path);
  EXPECT_EQ(again.producer, "bnrecal");
  GraphNetwork copy(again.graph, again.values);
  at::NoGradGuard no_grad;
  net.eval();
  copy.eval();
  at::Tensor x = at::randn({2, 1, 6, 6});
  EXPECT_TRUE(at::equal(net.forward(x), copy.forward(x)));
}

}  // namespace
}  // namespace bnrecal
