// Test helpers: TorchScript modules built in C++ the way torch.jit.script lays them out (class
// names torch.nn.modules.*, weights as parameters, batch-norm statistics as buffers, forward
// compiled from TorchScript source), saved to a temporary file for import.
#pragma once

#include <torch/script.h>
#include <torch/torch.h>

#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "hemi/train/torchscript_import.h"

namespace hemi::train::testing {

using torch::jit::Module;

struct Builder {
  std::shared_ptr<torch::jit::CompilationUnit> cu = std::make_shared<torch::jit::CompilationUnit>();

  // A module whose forward is `return <body>`.
  Module make(const std::string& qualified, const std::string& body) {
    return make_methods(qualified, "def forward(self, x):\n    return " + body + "\n");
  }
  // A module with the given methods (TorchScript source).
  Module make_methods(const std::string& qualified, const std::string& source) {
    Module m(c10::QualifiedName(qualified), cu, /*shouldMangle=*/true);
    m.register_attribute("training", c10::BoolType::get(), true);
    pending_.push_back({m, source});
    return m;
  }
  // Methods are defined after attributes and submodules exist.
  void finish() {
    for (auto& [m, source] : pending_) m.define(source);
    pending_.clear();
  }

 private:
  std::vector<std::pair<Module, std::string>> pending_;
};

inline c10::IValue tuple2(int64_t a, int64_t b) { return c10::ivalue::Tuple::create({a, b}); }

// nn.Conv2d as scripted: forward calls _conv_forward, which branches on padding_mode.
inline Module conv2d(Builder& b, int in, int out, int k, int stride, int pad) {
  auto s = std::to_string(stride), p = std::to_string(pad);
  auto m = b.make_methods("__torch__.torch.nn.modules.conv.Conv2d",
                          "def forward(self, x):\n"
                          "    return self._conv_forward(x, self.weight, self.bias)\n"
                          "def _conv_forward(self, input, weight, bias: Optional[Tensor]):\n"
                          "    if self.padding_mode != 'zeros':\n"
                          "        return torch.conv2d(torch.constant_pad_nd(input, [" + p + ", " + p + ", " + p + ", " +
                              p + "], 0.0), weight, bias, [" + s + ", " + s + "], [0, 0], [1, 1], 1)\n"
                          "    return torch.conv2d(input, weight, bias, [" + s + ", " + s + "], [" + p + ", " + p +
                              "], [1, 1], 1)\n");
  m.register_parameter("weight", torch::randn({out, in, k, k}) * 0.3, false);
  m.register_parameter("bias", torch::randn({out}) * 0.1, false);
  m.register_attribute("padding_mode", c10::StringType::get(), std::string("zeros"));
  return m;
}

// nn.BatchNorm2d / BatchNorm1d as scripted: updates its counter only in training mode.
inline Module batch_norm(Builder& b, int n, const char* type = "BatchNorm2d") {
  auto m = b.make_methods(std::string("__torch__.torch.nn.modules.batchnorm.") + type,
                          "def forward(self, x):\n"
                          "    if self.training:\n"
                          "        self.num_batches_tracked.add_(1)\n"
                          "    return torch.batch_norm(x, self.weight, self.bias, self.running_mean, self.running_var, "
                          "self.training, 0.1, 1e-05, False)\n");
  m.register_parameter("weight", torch::rand({n}) + 0.5, false);
  m.register_parameter("bias", torch::randn({n}) * 0.2, false);
  m.register_buffer("running_mean", torch::randn({n}) * 0.2);
  m.register_buffer("running_var", torch::rand({n}) + 0.5);
  m.register_buffer("num_batches_tracked", torch::zeros({}, torch::kLong));
  return m;
}

inline Module square(Builder& b) { return b.make("__torch__.Square", "x * x"); }

inline Module poly(Builder& b) {
  auto m = b.make("__torch__.Poly", "self.coefficients[0] + self.coefficients[1] * x + self.coefficients[2] * x * x");
  m.register_attribute("coefficients", c10::ListType::ofFloats(), c10::List<double>({0.25, 0.5, 0.125}));
  return m;
}

inline Module avg_pool2d(Builder& b, int k) {
  auto ks = std::to_string(k);
  auto m = b.make("__torch__.torch.nn.modules.pooling.AvgPool2d",
                  "torch.avg_pool2d(x, [" + ks + ", " + ks + "], [" + ks + ", " + ks + "], [0, 0], False, True, "
                  "self.divisor_override)");
  m.register_attribute("divisor_override", c10::OptionalType::create(c10::IntType::get()), c10::IValue());
  return m;
}

inline Module flatten(Builder& b) { return b.make("__torch__.torch.nn.modules.flatten.Flatten", "torch.flatten(x, 1, -1)"); }

inline Module linear(Builder& b, int in, int out) {
  auto m = b.make("__torch__.torch.nn.modules.linear.Linear", "torch.linear(x, self.weight, self.bias)");
  m.register_parameter("weight", torch::randn({out, in}) * 0.2, false);
  m.register_parameter("bias", torch::randn({out}) * 0.1, false);
  return m;
}

inline Module relu(Builder& b) { return b.make("__torch__.torch.nn.modules.activation.ReLU", "torch.relu(x)"); }

inline Module dropout(Builder& b) {
  return b.make("__torch__.torch.nn.modules.dropout.Dropout", "torch.dropout(x, 0.5, self.training)");
}

// A root module like nn.Sequential: children "l0", "l1", ... called in order.
inline Module sequential(Builder& b, const std::vector<Module>& layers) {
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

// A root module with the named children and a forward written out in TorchScript.
inline Module with_forward(Builder& b, const std::vector<std::pair<std::string, Module>>& children,
                           const std::string& forward_body,
                           const std::function<void(Module&)>& setup = {}) {
  Module root(c10::QualifiedName("__torch__.Net"), b.cu, true);
  for (const auto& [name, m] : children) root.register_module(name, m);
  if (setup) setup(root);  // attributes forward uses
  b.finish();
  root.define("def forward(self, x):\n" + forward_body);
  return root;
}

inline std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("hemi_train_" + name)).string();
}

// A saved module, removed again at scope exit.
struct SavedModule {
  std::string path;
  SavedModule(Module& m, const std::string& name) : path(temp_path(name)) { m.save(path); }
  ~SavedModule() { std::filesystem::remove(path); }
};

inline ImportOptions gray(int h, int w) {
  ImportOptions o;
  o.input.height = h;
  o.input.width = w;
  o.input.mean = {0.5};
  o.input.std = {0.5};
  return o;
}

}  // namespace hemi::train::testing
