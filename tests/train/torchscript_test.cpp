// TorchScript import, on modules built here with the torch::jit::Module API the way Python's
// torch.jit.script lays them out (class names torch.nn.modules.*, hyper-parameters as
// constants, weights as parameters, batch-norm statistics as buffers), then saved and loaded.
#include "hemi/train/torchscript_import.h"

#include <gtest/gtest.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>

#include "hemi/base/bytes.h"
#include "hemi/nn/interpreter.h"

namespace hemi::train {
namespace {

using torch::jit::Module;

struct Builder {
  std::shared_ptr<torch::jit::CompilationUnit> cu = std::make_shared<torch::jit::CompilationUnit>();

  Module make(const std::string& qualified, const std::string& forward_body) {
    Module m(c10::QualifiedName(qualified), cu, /*shouldMangle=*/true);
    pending_.push_back({m, forward_body});
    return m;
  }
  // Methods are defined after attributes and constants exist.
  void finish() {
    for (auto& [m, body] : pending_) m.define("def forward(self, x):\n    return " + body + "\n");
    pending_.clear();
  }

 private:
  std::vector<std::pair<Module, std::string>> pending_;
};

c10::IValue tuple2(int64_t a, int64_t b) { return c10::ivalue::Tuple::create({a, b}); }

Module conv2d(Builder& b, int in, int out, int k, int stride, int pad) {
  // Hyper-parameters are class constants, as torch.jit.script stores __constants__; the
  // C++ compiler cannot read constants added this way, so forward() spells the values out.
  auto s = std::to_string(stride), p = std::to_string(pad);
  auto m = b.make("__torch__.torch.nn.modules.conv.Conv2d",
                  "torch.conv2d(x, self.weight, self.bias, [" + s + ", " + s + "], [" + p + ", " + p + "], [1, 1], 1)");
  m.register_parameter("weight", torch::randn({out, in, k, k}) * 0.3, false);
  m.register_parameter("bias", torch::randn({out}) * 0.1, false);
  auto t = m.type();
  t->addConstant("stride", tuple2(stride, stride));
  t->addConstant("padding", tuple2(pad, pad));
  t->addConstant("dilation", tuple2(1, 1));
  t->addConstant("groups", int64_t{1});
  t->addConstant("padding_mode", std::string("zeros"));
  return m;
}

Module batch_norm2d(Builder& b, int n) {
  auto m = b.make("__torch__.torch.nn.modules.batchnorm.BatchNorm2d",
                  "torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, False, 0.1, "
                  "1e-05, False)");
  m.register_parameter("weight", torch::rand({n}) + 0.5, false);
  m.register_parameter("bias", torch::randn({n}) * 0.2, false);
  m.register_buffer("running_mean", torch::randn({n}) * 0.2);
  m.register_buffer("running_var", torch::rand({n}) + 0.5);
  m.type()->addConstant("eps", 1e-5);
  return m;
}

Module square(Builder& b) { return b.make("__torch__.Square", "x * x"); }

Module poly(Builder& b) {
  auto m = b.make("__torch__.Poly", "self.coefficients[0] + self.coefficients[1] * x + self.coefficients[2] * x * x");
  m.register_attribute("coefficients", c10::ListType::ofFloats(), c10::List<double>({0.25, 0.5, 0.125}));
  return m;
}

Module avg_pool2d(Builder& b, int k) {
  auto ks = std::to_string(k);
  auto m = b.make("__torch__.torch.nn.modules.pooling.AvgPool2d",
                  "torch.avg_pool2d(x, [" + ks + ", " + ks + "], [" + ks + ", " + ks + "], [0, 0], False, True, "
                  "self.divisor_override)");
  auto t = m.type();
  t->addConstant("kernel_size", int64_t{k});
  t->addConstant("stride", int64_t{k});
  t->addConstant("padding", int64_t{0});
  t->addConstant("ceil_mode", false);
  t->addConstant("count_include_pad", true);
  m.register_attribute("divisor_override", c10::OptionalType::create(c10::IntType::get()), c10::IValue());
  return m;
}

Module flatten(Builder& b) {
  auto m = b.make("__torch__.torch.nn.modules.flatten.Flatten", "torch.flatten(x, 1, -1)");
  m.type()->addConstant("start_dim", int64_t{1});
  m.type()->addConstant("end_dim", int64_t{-1});
  return m;
}

Module linear(Builder& b, int in, int out) {
  auto m = b.make("__torch__.torch.nn.modules.linear.Linear", "torch.linear(x, self.weight, self.bias)");
  m.register_parameter("weight", torch::randn({out, in}) * 0.2, false);
  m.register_parameter("bias", torch::randn({out}) * 0.1, false);
  m.type()->addConstant("in_features", int64_t{in});
  m.type()->addConstant("out_features", int64_t{out});
  return m;
}

Module relu(Builder& b) { return b.make("__torch__.torch.nn.modules.activation.ReLU", "torch.relu(x)"); }

// A root module like nn.Sequential: children "0", "1", ... called in order.
Module sequential(Builder& b, const std::vector<Module>& layers) {
  Module root(c10::QualifiedName("__torch__.Net"), b.cu, true);
  std::string body = "x";
  for (std::size_t i = 0; i < layers.size(); ++i) {
    root.register_module("l" + std::to_string(i), layers[i]);
    body = "self.l" + std::to_string(i) + ".forward(" + body + ")";
  }
  b.finish();
  root.define("def forward(self, x):\n    return " + body + "\n");
  return root;
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("hemi_train_" + name)).string();
}

ImportOptions gray(int h, int w) {
  ImportOptions o;
  o.input.height = h;
  o.input.width = w;
  return o;
}

TEST(TorchScriptImport, SequentialWithBatchNormMatchesTheModule) {
  torch::manual_seed(11);
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 4, 3, 2, 1), batch_norm2d(b, 4), square(b), avg_pool2d(b, 2), flatten(b),
                             linear(b, 4 * 4 * 4, 8), poly(b), linear(b, 8, 3)});
  auto path = temp_path("seq.pt");
  root.save(path);

  auto o = gray(15, 15);
  o.class_names = {"a", "b", "c"};
  auto m = import_torchscript(path, o);
  ASSERT_EQ(m.layers().size(), 7u);  // batch norm folded
  EXPECT_EQ(std::string(nn::layer_kind(m.layers()[1])), "square");
  EXPECT_EQ(std::string(nn::layer_kind(m.layers()[5])), "polynomial");
  EXPECT_EQ(m.shapes()[0].to_string(), "4x8x8");
  EXPECT_EQ(m.architecture(), "torchscript:hemi_train_seq.pt");

  auto loaded = torch::jit::load(path);
  loaded.eval();
  auto x = torch::randn({1, 1, 15, 15});
  auto want = loaded.forward({x}).toTensor().to(torch::kDouble).contiguous();
  std::vector<float> px(x.data_ptr<float>(), x.data_ptr<float>() + x.numel());
  auto got = nn::forward(m, px.data());
  ASSERT_EQ(got.size(), 3u);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(got[c], want.data_ptr<double>()[c], 1e-4 * std::max(1.0, std::abs(got[c])));
  std::filesystem::remove(path);
}

TEST(TorchScriptImport, InsertsFlattenAndNamesClasses) {
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 2, 3, 1, 0), square(b), linear(b, 2 * 4 * 4, 5)});
  auto path = temp_path("noflatten.pt");
  root.save(path);
  auto m = import_torchscript(path, gray(6, 6));
  ASSERT_EQ(m.layers().size(), 4u);
  EXPECT_EQ(std::string(nn::layer_kind(m.layers()[2])), "flatten");
  EXPECT_EQ(m.class_names(), (std::vector<std::string>{"0", "1", "2", "3", "4"}));
  std::filesystem::remove(path);
}

TEST(TorchScriptImport, NamesTheFirstUnsupportedLayer) {
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 2, 3, 1, 0), relu(b), flatten(b), linear(b, 32, 2)});
  auto path = temp_path("relu.pt");
  root.save(path);
  try {
    import_torchscript(path, gray(6, 6));
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "torchscript '" + path + "': unsupported layer 'l1' (ReLU)");
  }
  std::filesystem::remove(path);
}

TEST(TorchScriptImport, ShapeMismatchAndBadFiles) {
  Builder b;
  auto root = sequential(b, {conv2d(b, 1, 2, 3, 1, 0), flatten(b), linear(b, 32, 2)});
  auto path = temp_path("shape.pt");
  root.save(path);
  try {
    import_torchscript(path, gray(7, 7));  // 2x5x5 = 50 features, the linear layer wants 32
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'l2' (Linear): expects 32 inputs, previous layer gives 50"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove(path);

  EXPECT_THROW(import_torchscript(temp_path("missing.pt"), gray(6, 6)), Error);
  auto junk = temp_path("junk.pt");
  write_file(junk, Bytes(100, 7));
  try {
    import_torchscript(junk, gray(6, 6));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot load"), std::string::npos) << e.what();
  }
  std::filesystem::remove(junk);
}

}  // namespace
}  // namespace hemi::train
