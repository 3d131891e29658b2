// TorchScript import of traced modules (parameters as attributes, hyper-parameters as
// constants in the graph, no module attributes such as `stride`), and the check of every
// import against the module's own forward.
#include <gtest/gtest.h>
#include <torch/csrc/jit/frontend/tracer.h>

#include "hemi/nn/interpreter.h"
#include "hemi/train/torchscript_import.h"
#include "torchscript_module.h"

namespace hemi::train {
namespace {

using namespace testing;
using torch::jit::Graph;
using torch::jit::Value;

// A module holding only parameters, as torch.jit.trace saves nn.Conv2d / nn.Linear.
Module parameters_only(Builder& b, const std::string& type, const torch::Tensor& weight, const torch::Tensor& bias) {
  Module m(c10::QualifiedName("__torch__.torch.nn.modules." + type), b.cu, true);
  m.register_parameter("weight", weight, false);
  m.register_parameter("bias", bias, false);
  return m;
}

// Records fn with libtorch's tracer and installs the trace as m.forward, as torch.jit.trace
// does (_create_method_from_trace): parameters of m become prim::GetAttr, everything else a
// constant of the trace.
void trace_forward(Module& m, const std::function<torch::Tensor(const torch::Tensor&)>& fn, const torch::Tensor& example) {
  auto traced = torch::jit::tracer::trace(
      {example}, [&](torch::jit::Stack in) -> torch::jit::Stack { return {fn(in[0].toTensor())}; },
      [](const torch::autograd::Variable&) { return std::string(); }, /*strict=*/false, /*force_outplace=*/false, &m);
  auto* f = m._ivalue()->compilation_unit()->create_function(c10::QualifiedName(*m.type()->name(), "forward"),
                                                              traced.first->graph);
  m.type()->addMethod(f);
}

struct TenSealNet {
  torch::Tensor w1 = torch::randn({4, 1, 7, 7}) * 0.3, b1 = torch::randn({4}) * 0.1;
  torch::Tensor w2 = torch::randn({64, 256}) * 0.1, b2 = torch::randn({64}) * 0.1;
  torch::Tensor w3 = torch::randn({10, 64}) * 0.2, b3 = torch::randn({10}) * 0.1;
};

// The issue-10 network traced as one flat graph (self.conv1.weight, ... as GetAttr chains).
TEST(TorchScriptTraced, FlatTraceOfTheInlineSquareNet) {
  torch::manual_seed(21);
  TenSealNet p;
  Builder b;
  Module root(c10::QualifiedName("__torch__.Net"), b.cu, true);
  root.register_module("conv1", parameters_only(b, "conv.Conv2d", p.w1, p.b1));
  root.register_module("fc1", parameters_only(b, "linear.Linear", p.w2, p.b2));
  root.register_module("fc2", parameters_only(b, "linear.Linear", p.w3, p.b3));
  trace_forward(
      root,
      [&](const torch::Tensor& in) {
        // What torch.jit.trace records for nn.Conv2d(1, 4, 7, stride=3).
        auto x = at::_convolution(in, p.w1, p.b1, {3, 3}, {0, 0}, {1, 1}, false, {0, 0}, 1, false, false, true, true);
        x = x * x;
        x = x.view({-1, 256});
        x = torch::linear(x, p.w2, p.b2);
        x = x * x;
        return torch::linear(x, p.w3, p.b3);
      },
      torch::randn({1, 1, 28, 28}));
  SavedModule saved(root, "traced_flat.pt");
  ImportCheck check;
  auto m = import_torchscript(saved.path, gray(28, 28), &check);
  std::vector<std::string> kinds;
  for (const auto& l : m.layers()) kinds.push_back(nn::layer_kind(l));
  EXPECT_EQ(kinds, (std::vector<std::string>{"conv2d", "square", "flatten", "dense", "square", "dense"}));
  EXPECT_EQ(std::get<nn::Conv2d>(m.layers()[0]).stride_w, 3);
  EXPECT_LE(check.max_difference, check.tolerance);
}

// The structure torch.jit.trace saves for nn.Module children: each child has its own traced
// forward, and the root's graph calls them (prim::CallMethod) between inline operations.
TEST(TorchScriptTraced, TracedChildrenCalledFromTheRoot) {
  torch::manual_seed(22);
  TenSealNet p;
  auto bn_mean = torch::randn({4}) * 0.2, bn_var = torch::rand({4}) + 0.5;
  auto bn_w = torch::rand({4}) + 0.5, bn_b = torch::randn({4}) * 0.2;
  Builder b;
  Module root(c10::QualifiedName("__torch__.Net"), b.cu, true);
  auto conv1 = parameters_only(b, "conv.Conv2d", p.w1, p.b1);
  trace_forward(conv1, [&](const torch::Tensor& x) { return torch::conv2d(x, p.w1, p.b1, {3, 3}); },
                torch::randn({1, 1, 28, 28}));
  auto bn = parameters_only(b, "batchnorm.BatchNorm2d", bn_w, bn_b);
  bn.register_buffer("running_mean", bn_mean);
  bn.register_buffer("running_var", bn_var);
  trace_forward(
      bn,
      [&](const torch::Tensor& x) { return torch::batch_norm(x, bn_w, bn_b, bn_mean, bn_var, false, 0.1, 1e-5, false); },
      torch::randn({1, 4, 8, 8}));
  auto fc1 = parameters_only(b, "linear.Linear", p.w2, p.b2);
  trace_forward(fc1, [&](const torch::Tensor& x) { return torch::linear(x, p.w2, p.b2); }, torch::randn({1, 256}));
  auto fc2 = parameters_only(b, "linear.Linear", p.w3, p.b3);
  trace_forward(fc2, [&](const torch::Tensor& x) { return torch::linear(x, p.w3, p.b3); }, torch::randn({1, 64}));
  root.register_module("conv1", conv1);
  root.register_module("bn", bn);
  root.register_module("fc1", fc1);
  root.register_module("fc2", fc2);

  auto g = std::make_shared<Graph>();
  Value* self = g->addInput("self")->setType(root.type());
  Value* x = g->addInput("x")->setType(c10::TensorType::get());
  auto call = [&](const std::string& child, Value* in) {
    Value* m = g->insertGetAttr(self, child);
    auto* n = g->insertNode(g->create(c10::prim::CallMethod, {m, in}));
    n->s_(c10::attr::name, "forward");
    return n->output()->setType(c10::TensorType::get());
  };
  x = call("bn", call("conv1", x));
  x = g->insert(c10::aten::pow, {x, 2});
  x = g->insert(c10::aten::avg_pool2d, {x, std::vector<int64_t>{2, 2}});
  // x.view(x.size(0), -1) as torch.jit.trace records it: the batch size traced as a tensor.
  Value* batch = g->insert(c10::aten::size, {x, 0});
  Value* batch_tensor = g->insertNode(g->create(c10::prim::NumToTensor, {batch}))->output()->setType(c10::TensorType::get());
  Value* shape = g->insertNode(g->createList(c10::IntType::get(), {g->insert(c10::aten::Int, {batch_tensor}),
                                                                    g->insertConstant(-1)}))->output();
  x = g->insert(c10::aten::view, {x, shape});
  x = g->insert(c10::aten::mul, {x, x});
  x = g->insert(c10::aten::view, {x, std::vector<int64_t>{-1, 64}});  // a no-op: already flat
  x = call("fc2", g->insert(c10::aten::mul, {x, 0.5}));
  g->registerOutput(x);
  // fc1 stays unused: the graph, not the list of children, decides.
  root.type()->addMethod(
      b.cu->create_function(c10::QualifiedName(*root.type()->name(), "forward"), g));

  SavedModule saved(root, "traced_children.pt");
  ImportCheck check;
  auto m = import_torchscript(saved.path, gray(28, 28), &check);
  std::vector<std::string> kinds;
  for (const auto& l : m.layers()) kinds.push_back(nn::layer_kind(l));
  // batch norm folded into conv1; pow(x, 2) then avg pool; x*x then 0.5·x: one polynomial
  EXPECT_EQ(kinds, (std::vector<std::string>{"conv2d", "square", "avgpool2d", "flatten", "polynomial", "dense"}));
  EXPECT_EQ(std::get<nn::Polynomial>(m.layers()[4]).coefficients, (std::vector<double>{0, 0, 0.5}));
  EXPECT_LE(check.max_difference, check.tolerance);
}

// The check itself: the model the old importer built for the issue-10 network (squares
// dropped) is refused against the module.
TEST(TorchScriptCheck, RefusesAModelThatDiffersFromTheModule) {
  torch::manual_seed(23);
  Builder b;
  auto root = with_forward(b, {{"conv1", conv2d(b, 1, 4, 7, 3, 0)}, {"fc1", linear(b, 256, 64)}, {"fc2", linear(b, 64, 10)}},
                           "    x = self.conv1.forward(x)\n    x = x * x\n    x = x.view(-1, 256)\n"
                           "    x = self.fc1.forward(x)\n    x = x * x\n    return self.fc2.forward(x)\n");
  SavedModule saved(root, "check.pt");
  auto good = import_torchscript(saved.path, gray(28, 28));
  ImportCheck ok = check_torchscript(saved.path, good, gray(28, 28));
  EXPECT_LE(ok.max_difference, ok.tolerance);

  nn::ModelSpec wrong = good.spec();
  wrong.layers = {wrong.layers[0], wrong.layers[2], wrong.layers[3], wrong.layers[5]};  // conv, flatten, dense, dense
  auto bad = nn::Model::create(wrong).value();
  try {
    check_torchscript(saved.path, bad, gray(28, 28));
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("differs from the module's forward by up to"), std::string::npos) << e.what();
  }

  // A model with the wrong number of outputs.
  nn::ModelSpec fewer = good.spec();
  std::get<nn::Dense>(fewer.layers.back()).out_features = 9;
  std::get<nn::Dense>(fewer.layers.back()).weight.resize(9 * 64);
  std::get<nn::Dense>(fewer.layers.back()).bias.resize(9);
  fewer.class_names.resize(9);
  EXPECT_THROW(check_torchscript(saved.path, nn::Model::create(fewer).value(), gray(28, 28)), InputError);

  auto o = gray(28, 28);
  o.check_samples = 0;
  EXPECT_THROW(check_torchscript(saved.path, good, o), Error);
  o = gray(28, 28);
  o.check_tolerance = 0;
  EXPECT_THROW(check_torchscript(saved.path, good, o), Error);
}

// Imports the graph walk gets wrong are caught by the check: an in-place change seen through an
// alias, and a forward that draws random numbers.
TEST(TorchScriptCheck, RefusesImportsThatDifferFromForward) {
  for (const std::string body : {"    x = self.conv.forward(x)\n    y = x.contiguous()\n    x.mul_(2.0)\n"
                                 "    return self.fc.forward(torch.flatten(y, 1))\n",
                                 "    x = self.conv.forward(x) * (1.0 + torch.rand(1))\n    return self.fc.forward(torch.flatten(x, 1))\n"}) {
    SCOPED_TRACE(body);
    Builder b;
    auto root = with_forward(b, {{"conv", conv2d(b, 1, 2, 3, 1, 0)}, {"fc", linear(b, 32, 2)}}, body);
    SavedModule saved(root, "differs.pt");
    try {
      import_torchscript(saved.path, gray(6, 6));
      FAIL() << "expected a refusal";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("differs from the module's forward"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace hemi::train
