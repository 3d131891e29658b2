#include "hemi/train/torch_model.h"

#include <gtest/gtest.h>

#include <cmath>

#include "hemi/nn/architectures.h"
#include "hemi/nn/interpreter.h"

namespace hemi::train {
namespace {

// Every layer kind: rgb 9x9 -> conv (stride, padding) -> poly -> pool -> flatten -> dense ->
// square -> dense.
nn::Model every_layer_model() {
  nn::ModelSpec s;
  s.input.color = nn::ColorMode::kRgb;
  s.input.height = 9;
  s.input.width = 9;
  s.input.mean = {0, 0, 0};
  s.input.std = {1, 1, 1};
  nn::Conv2d c;
  c.in_channels = 3;
  c.out_channels = 2;
  c.kernel_h = 3;
  c.kernel_w = 2;
  c.stride_h = 2;
  c.stride_w = 1;
  c.pad_h = 1;
  c.pad_w = 1;
  for (int i = 0; i < 36; ++i) c.weight.push_back(0.3 * std::sin(0.9 * i));
  c.bias = {0.1, -0.2};
  s.layers = {c, nn::Polynomial{{0.25, 0.5, 0.125}}, nn::AvgPool2d{2, 2, 2, 2}, nn::Flatten{}};
  nn::Dense d;
  d.in_features = 20;
  d.out_features = 4;
  for (int i = 0; i < 80; ++i) d.weight.push_back(0.2 * std::cos(1.7 * i));
  s.layers.push_back(d);  // no bias
  s.layers.push_back(nn::Square{});
  nn::Dense e;
  e.in_features = 4;
  e.out_features = 3;
  e.weight = {1, -1, 0.5, 2, -0.5, 0.25, 1, 1, 0.1, 0.2, 0.3, -0.4};
  e.bias = {0.5, -0.5, 0.0};
  s.layers.push_back(e);
  s.class_names = {"a", "b", "c"};
  return nn::Model::create(s).value();
}

std::vector<float> inputs(std::size_t n) {
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>(std::sin(0.31 * i) + 0.5 * std::cos(0.07 * i));
  return x;
}

void expect_matches_interpreter(const nn::Model& m, std::size_t count) {
  auto sz = m.input_shape().size();
  auto x = inputs(count * sz);
  auto k = static_cast<std::size_t>(m.classes());
  for (bool dbl : {true, false}) {
    auto t = torch_logits(m, x.data(), count, dbl);
    ASSERT_EQ(t.size(), count * k);
    for (std::size_t i = 0; i < count; ++i) {
      auto want = nn::forward(m, x.data() + i * sz);
      for (std::size_t c = 0; c < k; ++c) {
        double tol = dbl ? 1e-10 : 1e-5 * std::max(1.0, std::abs(want[c]));
        EXPECT_NEAR(t[i * k + c], want[c], tol) << (dbl ? "double" : "float") << " image " << i << " class " << c;
      }
    }
  }
}

TEST(TorchModel, ForwardEqualsInterpreterEveryLayer) { expect_matches_interpreter(every_layer_model(), 4); }

TEST(TorchModel, ForwardEqualsInterpreterArchitectures) {
  nn::ArchitectureOptions o;
  o.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  o.seed = 3;
  expect_matches_interpreter(nn::build_architecture("seed-cnn", o).value(), 3);
  o.input = nn::default_input("mri-cnn");
  o.class_names = {"no", "yes"};
  expect_matches_interpreter(nn::build_architecture("mri-cnn", o).value(), 2);
}

TEST(TorchModel, ExportReturnsTheWeights) {
  auto m = every_layer_model();
  TorchNet net(m);
  auto back = net->to_model();
  ASSERT_EQ(back.layers().size(), m.layers().size());
  const auto& a = std::get<nn::Conv2d>(m.layers()[0]).weight;
  const auto& b = std::get<nn::Conv2d>(back.layers()[0]).weight;
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(b[i], static_cast<double>(static_cast<float>(a[i])));
  EXPECT_TRUE(std::get<nn::Dense>(back.layers()[4]).bias.empty());
}

// Folding batch norm into a conv equals libtorch's Conv2d followed by BatchNorm2d (eval mode).
TEST(TorchModel, FoldBatchNormEqualsTorchBatchNorm) {
  torch::manual_seed(5);
  torch::nn::Conv2d conv(torch::nn::Conv2dOptions(2, 3, 3).stride(1).padding(1));
  torch::nn::BatchNorm2d bn(torch::nn::BatchNorm2dOptions(3).eps(1e-3));
  {
    torch::NoGradGuard g;
    bn->weight.uniform_(0.5, 1.5);
    bn->bias.uniform_(-0.5, 0.5);
    bn->running_mean.uniform_(-0.3, 0.3);
    bn->running_var.uniform_(0.5, 2.0);
  }
  bn->eval();
  conv->to(torch::kDouble);
  bn->to(torch::kDouble);
  auto x = torch::randn({1, 2, 5, 5}, torch::kDouble);
  auto want = bn->forward(conv->forward(x)).flatten();

  auto vec = [](const torch::Tensor& t) {
    auto c = t.detach().to(torch::kDouble).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  nn::Conv2d c;
  c.in_channels = 2;
  c.out_channels = 3;
  c.kernel_h = c.kernel_w = 3;
  c.pad_h = c.pad_w = 1;
  c.weight = vec(conv->weight);
  c.bias = vec(conv->bias);
  nn::BatchNorm b{vec(bn->weight), vec(bn->bias), vec(bn->running_mean), vec(bn->running_var), 1e-3};
  nn::ModelSpec s;
  s.input.color = nn::ColorMode::kGray;
  s.input.height = s.input.width = 5;
  // The model input is gray; feed two channels by putting the conv after a 1->2 identity conv.
  nn::Conv2d split;
  split.in_channels = 1;
  split.out_channels = 2;
  split.weight = {1, 1};
  split.bias = {0, 0};
  s.layers = {split, nn::fold_batch_norm(c, b), nn::Flatten{}};
  s.class_names.assign(75, "x");
  // Feed channel 0 = channel 1 = x[0,0] (the identity split duplicates it).
  x.select(1, 1).copy_(x.select(1, 0));
  want = bn->forward(conv->forward(x)).flatten();
  auto m = nn::Model::create(s).value();
  auto got = nn::forward(m, vec(x.select(1, 0)).data());
  auto w = vec(want);
  ASSERT_EQ(got.size(), w.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], w[i], 1e-10) << i;
}

}  // namespace
}  // namespace hemi::train
