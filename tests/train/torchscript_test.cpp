// TorchScript import of scripted modules: the forward graph is walked (inline operations
// included), the result equals the module's forward, and what hemi cannot represent is refused
// naming the operation.
#include "hemi/train/torchscript_import.h"

#include <gtest/gtest.h>

#include "hemi/base/bytes.h"
#include "hemi/nn/interpreter.h"
#include "torchscript_module.h"

namespace hemi::train {
namespace {

using namespace testing;

std::vector<std::string> kinds(const nn::Model& m) {
  std::vector<std::string> k;
  for (const auto& l : m.layers()) k.push_back(nn::layer_kind(l));
  return k;
}

using Kinds = std::vector<std::string>;

// The error of importing `path`, or "" if it imports.
std::string import_error(const std::string& path, const ImportOptions& o) {
  try {
    import_torchscript(path, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(TorchScriptImport, SequentialWithBatchNormMatchesTheModule) {
  torch::manual_seed(11);
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 4, 3, 2, 1), batch_norm(b, 4), square(b), avg_pool2d(b, 2), flatten(b),
                             linear(b, 4 * 4 * 4, 8), poly(b), dropout(b), linear(b, 8, 3)});
  SavedModule saved(root, "seq.pt");

  auto o = gray(15, 15);
  o.class_names = {"a", "b", "c"};
  ImportCheck check;
  auto m = import_torchscript(saved.path, o, &check);
  EXPECT_EQ(kinds(m), (Kinds{"conv2d", "square", "avgpool2d", "flatten", "dense", "polynomial", "dense"}));
  EXPECT_EQ(std::get<nn::Polynomial>(m.layers()[5]).coefficients, (std::vector<double>{0.25, 0.5, 0.125}));
  EXPECT_EQ(m.shapes()[0].to_string(), "4x8x8");
  EXPECT_EQ(m.architecture(), "torchscript:hemi_train_seq.pt");
  EXPECT_EQ(check.samples, 16);
  EXPECT_LE(check.max_difference, check.tolerance);
  EXPECT_GT(check.max_difference, 0.0);  // float32 forward vs double interpreter: close, not equal

  // An independent comparison on an input outside the check's seeded set.
  auto loaded = torch::jit::load(saved.path);
  loaded.eval();
  auto x = torch::randn({1, 1, 15, 15});
  auto want = loaded.forward({x}).toTensor().to(torch::kDouble).contiguous();
  auto got = nn::forward(m, x.data_ptr<float>());
  ASSERT_EQ(got.size(), 3u);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], want.data_ptr<double>()[c], 1e-4 * std::max(1.0, std::abs(got[c])));
}

// The module of issue 10: TenSEAL's tutorial network, activations written inline in forward.
TEST(TorchScriptImport, InlineSquaresAreLayers) {
  torch::manual_seed(3);
  Builder b;
  auto root = with_forward(b, {{"conv1", conv2d(b, 1, 4, 7, 3, 0)}, {"fc1", linear(b, 256, 64)}, {"fc2", linear(b, 64, 10)}},
                           "    x = self.conv1.forward(x)\n"
                           "    x = x * x\n"
                           "    x = x.view(-1, 256)\n"
                           "    x = self.fc1.forward(x)\n"
                           "    x = x * x\n"
                           "    x = self.fc2.forward(x)\n"
                           "    return x\n");
  SavedModule saved(root, "tenseal.pt");
  ImportCheck check;
  auto m = import_torchscript(saved.path, gray(28, 28), &check);
  EXPECT_EQ(kinds(m), (Kinds{"conv2d", "square", "flatten", "dense", "square", "dense"}));
  const auto& c = std::get<nn::Conv2d>(m.layers()[0]);
  EXPECT_EQ(c.stride_h, 3);
  EXPECT_EQ(c.kernel_w, 7);
  EXPECT_EQ(m.class_names().size(), 10u);
  EXPECT_LE(check.max_difference, check.tolerance);
}

// Each way of writing x² (and a few polynomials) in forward, between a conv and a linear layer.
TEST(TorchScriptImport, ActivationSpellings) {
  struct Case {
    std::string expr;
    Kinds kinds;
    std::vector<double> poly;  // expected coefficients of a polynomial layer
  };
  const std::vector<Case> cases = {
      {"x * x", {"conv2d", "square", "flatten", "dense"}, {}},
      {"x ** 2", {"conv2d", "square", "flatten", "dense"}, {}},
      {"torch.pow(x, 2)", {"conv2d", "square", "flatten", "dense"}, {}},
      {"x.pow(2.0)", {"conv2d", "square", "flatten", "dense"}, {}},
      {"torch.square(x)", {"conv2d", "square", "flatten", "dense"}, {}},
      {"torch.mul(x, x)", {"conv2d", "square", "flatten", "dense"}, {}},
      {"x * x * x", {"conv2d", "polynomial", "flatten", "dense"}, {0, 0, 0, 1}},
      {"0.5 + 0.25 * x + 0.125 * x * x", {"conv2d", "polynomial", "flatten", "dense"}, {0.5, 0.25, 0.125}},
      {"(x + 1.0) ** 2 - 1.0", {"conv2d", "polynomial", "flatten", "dense"}, {0, 2, 1}},
      {"x * x / 4.0 - x", {"conv2d", "polynomial", "flatten", "dense"}, {0, -1, 0.25}},
      {"1.0 - x", {"conv2d", "flatten", "dense"}, {}},        // affine: folded into the conv
      {"x * 2.0 + x", {"conv2d", "flatten", "dense"}, {}},    // affine: folded into the conv
      {"-x", {"conv2d", "flatten", "dense"}, {}},
  };
  for (const auto& t : cases) {
    SCOPED_TRACE(t.expr);
    torch::manual_seed(5);
    Builder b;
    auto root = with_forward(b, {{"conv", conv2d(b, 1, 2, 3, 1, 0)}, {"fc", linear(b, 2 * 4 * 4, 3)}},
                             "    x = self.conv.forward(x)\n"
                             "    x = " + t.expr + "\n"
                             "    return self.fc.forward(torch.flatten(x, 1))\n");
    SavedModule saved(root, "act.pt");
    auto m = import_torchscript(saved.path, gray(6, 6));
    EXPECT_EQ(kinds(m), t.kinds);
    if (!t.poly.empty()) {
      EXPECT_EQ(std::get<nn::Polynomial>(m.layers()[1]).coefficients, t.poly);
    }
  }
}

// Pooling, flattening and linear layers written as functions in forward.
TEST(TorchScriptImport, FunctionalLayers) {
  struct Case {
    std::string body;
    Kinds kinds;
  };
  const std::vector<Case> cases = {
      {"    x = torch.avg_pool2d(x * x, [2, 2])\n    return self.fc.forward(x.view(x.size(0), -1))\n",
       {"conv2d", "square", "avgpool2d", "flatten", "dense"}},
      {"    x = torch.avg_pool2d(x, 2, 2)\n    return self.fc.forward(x.reshape(x.shape[0], -1))\n",
       {"conv2d", "avgpool2d", "flatten", "dense"}},
      {"    x = torch.adaptive_avg_pool2d(x, [2, 2])\n    return self.fc.forward(x.flatten(1))\n",
       {"conv2d", "avgpool2d", "flatten", "dense"}},
      {"    x = torch.avg_pool2d(x, [2, 2]).contiguous()\n    x = x.view(-1, 8)\n"
       "    return torch.addmm(self.fc.bias, x, self.fc.weight.t())\n",
       {"conv2d", "avgpool2d", "flatten", "dense"}},
      {"    x = torch.flatten(torch.avg_pool2d(x, [2, 2]), 1)\n    return torch.matmul(x, self.fc.weight.t()) + self.fc.bias\n",
       {"conv2d", "avgpool2d", "flatten", "dense"}},
  };
  for (const auto& t : cases) {
    SCOPED_TRACE(t.body);
    torch::manual_seed(6);
    Builder b;
    auto root = with_forward(b, {{"conv", conv2d(b, 1, 2, 3, 1, 0)}, {"fc", linear(b, 2 * 2 * 2, 3)}},
                             "    x = self.conv.forward(x)\n" + t.body);
    SavedModule saved(root, "functional.pt");
    ImportCheck check;
    auto m = import_torchscript(saved.path, gray(6, 6), &check);
    EXPECT_EQ(kinds(m), t.kinds);
    EXPECT_LE(check.max_difference, check.tolerance);
  }
}

// Global average pooling written as a mean over height and width.
TEST(TorchScriptImport, MeanOverHeightAndWidthIsAPool) {
  for (const std::string line : {"x = (x * x).mean([2, 3])", "x = torch.flatten((x * x).mean([-1, -2], True), 1)"}) {
    SCOPED_TRACE(line);
    torch::manual_seed(7);
    Builder b;
    auto root = with_forward(b, {{"conv", conv2d(b, 1, 4, 3, 1, 0)}, {"fc", linear(b, 4, 3)}},
                             "    x = self.conv.forward(x)\n    " + line + "\n    return self.fc.forward(x)\n");
    SavedModule saved(root, "mean.pt");
    ImportCheck check;
    auto m = import_torchscript(saved.path, gray(6, 6), &check);
    EXPECT_EQ(kinds(m), (Kinds{"conv2d", "square", "avgpool2d", "flatten", "dense"}));
    EXPECT_EQ(std::get<nn::AvgPool2d>(m.layers()[2]).kernel_h, 4);
    EXPECT_LE(check.max_difference, check.tolerance);
  }
  Builder b;
  auto root = with_forward(b, {{"conv", conv2d(b, 1, 4, 3, 1, 0)}, {"fc", linear(b, 16, 3)}},
                           "    x = self.conv.forward(x).mean([1])\n    return self.fc.forward(torch.flatten(x, 1))\n");
  SavedModule saved(root, "mean_channels.pt");
  auto e = import_error(saved.path, gray(6, 6));
  EXPECT_TRUE(contains(e, "hemi averages only over height and width")) << e;
}

// Batch norm after a linear layer and per-channel constants after a conv fold into the layer.
TEST(TorchScriptImport, FoldsBatchNorm1dAndChannelConstants) {
  torch::manual_seed(8);
  Builder b;
  auto scale = torch::rand({2, 1, 1}) + 0.5;
  auto root = with_forward(b, {{"conv", conv2d(b, 1, 2, 3, 1, 0)}, {"fc", linear(b, 32, 5)},
                               {"bn", batch_norm(b, 5, "BatchNorm1d")}, {"out", linear(b, 5, 2)}},
                           "    x = self.conv.forward(x) * self.scale - self.scale\n"
                           "    x = torch.flatten(x * x, 1)\n"
                           "    return self.out.forward(self.bn.forward(self.fc.forward(x)))\n",
                           [&](Module& r) { r.register_buffer("scale", scale); });
  SavedModule saved(root, "fold.pt");
  ImportCheck check;
  auto m = import_torchscript(saved.path, gray(6, 6), &check);
  EXPECT_EQ(kinds(m), (Kinds{"conv2d", "square", "flatten", "dense", "dense"}));
  EXPECT_LE(check.max_difference, check.tolerance);
}

// A polynomial evaluated by Horner's rule in a loop over a list attribute.
TEST(TorchScriptImport, LoopsOnConstantsAreRun) {
  torch::manual_seed(9);
  Builder b;
  auto root = with_forward(b, {{"conv", conv2d(b, 1, 2, 3, 1, 0)}, {"fc", linear(b, 32, 3)}},
                           "    x = self.conv.forward(x)\n"
                           "    y = x * 0.0\n"
                           "    for c in self.coefficients:\n"
                           "        y = y * x + c\n"
                           "    return self.fc.forward(torch.flatten(y, 1))\n",
                           [](Module& r) {
                             r.register_attribute("coefficients", c10::ListType::ofFloats(),
                                                  c10::List<double>({0.125, 0.5, 0.25}));
                           });
  SavedModule saved(root, "loop.pt");
  ImportCheck check;
  auto m = import_torchscript(saved.path, gray(6, 6), &check);
  EXPECT_EQ(kinds(m), (Kinds{"conv2d", "polynomial", "flatten", "dense"}));
  EXPECT_EQ(std::get<nn::Polynomial>(m.layers()[1]).coefficients, (std::vector<double>{0.25, 0.5, 0.125}));
  EXPECT_LE(check.max_difference, check.tolerance);
}

// A module saved in float64 is run in float64 by the check, and then agrees to rounding.
TEST(TorchScriptImport, DoubleModule) {
  torch::manual_seed(12);
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 2, 3, 1, 0), batch_norm(b, 2), square(b), flatten(b), linear(b, 32, 3)});
  root.to(torch::kDouble);
  SavedModule saved(root, "double.pt");
  ImportCheck check;
  auto m = import_torchscript(saved.path, gray(6, 6), &check);
  EXPECT_EQ(kinds(m), (Kinds{"conv2d", "square", "flatten", "dense"}));
  EXPECT_LT(check.max_difference, 1e-12 * check.scale);
}

TEST(TorchScriptImport, DefaultClassNames) {
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 2, 3, 1, 0), square(b), flatten(b), linear(b, 2 * 4 * 4, 5)});
  SavedModule saved(root, "names.pt");
  auto m = import_torchscript(saved.path, gray(6, 6));
  EXPECT_EQ(m.class_names(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
}

TEST(TorchScriptImport, RefusesUnsupportedOperationsNamingThem) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"x = torch.relu(x)", "unsupported operation 'aten::relu'"},
      {"x = torch.sigmoid(x)", "unsupported operation 'aten::sigmoid'"},
      {"x = torch.max_pool2d(x, [2, 2])", "unsupported operation 'aten::max_pool2d'"},
      {"x = torch.tanh(x) * 2.0", "unsupported operation 'aten::tanh'"},
      {"x = x / (x * x + 1.0)", "divides by an activation"},
      {"x = x ** 0.5", "is not an integer"},
      {"x = torch.avg_pool2d(x, [2, 2], [2, 2], [1, 1])", "padding other than 0"},
      {"x = x + torch.ones(2, 4, 4)", "varies over positions"},
      {"x = x * x * self.g", "per-channel scale or shift after a nonlinear operation"},
      {"self.g.add_(1.0)", "changes a tensor of the module"},
      {"x = torch.relu_(x)", "unsupported operation 'aten::relu_'"},
  };
  for (const auto& [line, want] : cases) {
    SCOPED_TRACE(line);
    Builder b;
    auto root = with_forward(b, {{"conv", conv2d(b, 1, 2, 3, 1, 0)}, {"fc", linear(b, 32, 2)}},
                             "    x = self.conv.forward(x)\n    " + line + "\n    return self.fc.forward(torch.flatten(x, 1))\n",
                             [](Module& r) { r.register_buffer("g", torch::ones({2, 1, 1})); });
    SavedModule saved(root, "unsupported.pt");
    auto e = import_error(saved.path, gray(6, 6));
    EXPECT_TRUE(contains(e, want)) << e;
  }
}

TEST(TorchScriptImport, ErrorNamesTheModuleAndSource) {
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 2, 3, 1, 0), relu(b), flatten(b), linear(b, 32, 2)});
  SavedModule saved(root, "relu.pt");
  auto e = import_error(saved.path, gray(6, 6));
  EXPECT_TRUE(contains(e, "torchscript '" + saved.path + "': unsupported operation 'aten::relu' in 'l1' (\"return torch.relu(x)\", <string>:2)"))
      << e;
}

TEST(TorchScriptImport, RefusesWhatIsNotAChain) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // a residual connection
      {"    y = self.conv.forward(x)\n    return self.fc.forward(torch.flatten(y + x, 1))\n", "combines two different activations"},
      // an activation used again after a later layer
      {"    y = self.conv.forward(x)\n    z = self.conv.forward(y)\n    w = y * y\n    return self.fc.forward(torch.flatten(z + w, 1))\n",
       "from before the latest layer"},
      // reshapes that do not keep the batch dimension
      {"    x = self.conv.forward(x)\n    return self.fc.forward(x.view(1, -1))\n", "reshapes a [3, 1, 6, 6] activation"},
      {"    x = self.conv.forward(x)\n    return self.fc.forward(x.view(-1))\n", "reshapes"},
      {"    return self.fc.forward(torch.flatten(self.conv.forward(x), 0))\n", "flattens dimensions 0 to 3"},
      // a linear layer on a C x H x W activation applies to its last dimension
      {"    return self.fc2.forward(self.conv.forward(x))\n", "applies to the last dimension of a 1x6x6 activation"},
      // control flow that depends on the data
      {"    y = self.conv.forward(x)\n    if bool(y.sum() > 0):\n        y = y * y\n    return self.fc.forward(torch.flatten(y, 1))\n",
       "unsupported operation 'aten::sum'"},
      {"    return self.fc.forward(torch.flatten(torch.conv2d(x, self.conv.weight, None, [1, 1], [1, 1], [2, 2], 1), 1))\n",
       "dilation other than 1"},
      // not one tensor of logits computed from the input
      {"    y = self.conv.forward(x)\n    return (self.fc.forward(torch.flatten(y, 1)), y)\n",
       "forward returns Tuple[Tensor, Tensor]; hemi needs one tensor of logits"},
      {"    return self.fc.weight\n", "forward returns a constant"},
      {"    return x\n", "forward returns its input unchanged"},
  };
  for (const auto& [body, want] : cases) {
    SCOPED_TRACE(body);
    Builder b;
    auto root = with_forward(b, {{"conv", conv2d(b, 1, 1, 3, 1, 1)}, {"fc", linear(b, 36, 2)}, {"fc2", linear(b, 6, 2)}},
                             body);
    SavedModule saved(root, "chain.pt");
    auto e = import_error(saved.path, gray(6, 6));
    EXPECT_TRUE(contains(e, want)) << e;
  }
}

TEST(TorchScriptImport, ShapeMismatchAndBadFiles) {
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 2, 3, 1, 0), flatten(b), linear(b, 32, 2)});
  SavedModule saved(root, "shape.pt");
  auto e = import_error(saved.path, gray(7, 7));  // 2x5x5 = 50 features, the linear layer wants 32
  EXPECT_TRUE(contains(e, "'aten::linear' in 'l2'")) << e;
  EXPECT_TRUE(contains(e, "dense: expects 32 inputs, previous layer gives 50")) << e;

  EXPECT_TRUE(contains(import_error(temp_path("missing.pt"), gray(6, 6)), "no such file"));
  EXPECT_THROW(import_torchscript(saved.path, gray(7, 7)), InputError);  // the file's fault, not hemi's
  auto junk = temp_path("junk.pt");
  write_file(junk, Bytes(100, 7));
  EXPECT_TRUE(contains(import_error(junk, gray(6, 6)), "cannot load"));
  std::filesystem::remove(junk);
}

}  // namespace
}  // namespace hemi::train
