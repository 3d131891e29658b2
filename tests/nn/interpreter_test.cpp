#include "hemi/nn/interpreter.h"

#include <gtest/gtest.h>

#include <cmath>

#include "hemi/base/thread_pool.h"
#include "test_models.h"

namespace hemi::nn {
namespace {

ModelSpec gray(int h, int w, std::vector<Layer> layers, int outputs) {
  ModelSpec s;
  s.input.height = h;
  s.input.width = w;
  s.layers = std::move(layers);
  for (int i = 0; i < outputs; ++i) s.class_names.push_back("c" + std::to_string(i));
  return s;
}

const std::vector<double> kOneToNine = {1, 2, 3, 4, 5, 6, 7, 8, 9};

Conv2d make_conv(int in, int out, int k, int stride, int pad, std::vector<double> w, std::vector<double> b = {}) {
  Conv2d c;
  c.in_channels = in;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = k;
  c.stride_h = c.stride_w = stride;
  c.pad_h = c.pad_w = pad;
  c.weight = std::move(w);
  c.bias = std::move(b);
  return c;
}

// Known answers, computed by hand.
TEST(Interpreter, ConvKnownAnswer) {
  auto m = Model::create(gray(3, 3, {make_conv(1, 1, 2, 1, 0, {1, 2, 3, 4}, {0.5}), Flatten{}}, 4)).value();
  EXPECT_EQ(forward(m, kOneToNine.data()), (std::vector<double>{37.5, 47.5, 67.5, 77.5}));
}

TEST(Interpreter, ConvWithPaddingAndStrideKnownAnswer) {
  auto m = Model::create(gray(3, 3, {make_conv(1, 1, 3, 2, 1, std::vector<double>(9, 1.0)), Flatten{}}, 4)).value();
  EXPECT_EQ(forward(m, kOneToNine.data()), (std::vector<double>{12, 16, 24, 28}));
}

TEST(Interpreter, ConvAcrossChannelsKnownAnswer) {
  ModelSpec s = gray(1, 2, {make_conv(3, 1, 1, 1, 0, {2, -1, 0.5}), Flatten{}}, 2);
  s.input.color = ColorMode::kRgb;
  s.input.mean = {0, 0, 0};
  s.input.std = {1, 1, 1};
  auto m = Model::create(s).value();
  std::vector<float> x = {1, 2, 10, 20, 4, 8};  // R = (1,2), G = (10,20), B = (4,8)
  EXPECT_EQ(forward(m, x.data()), (std::vector<double>{2 - 10 + 2, 4 - 20 + 4}));
}

TEST(Interpreter, PoolSquareDenseKnownAnswer) {
  Dense d;
  d.in_features = 4;
  d.out_features = 2;
  d.weight = {1, 0, 0, 1, 0.5, 0.5, -1, 0};
  d.bias = {0, 1};
  auto m = Model::create(gray(3, 3, {AvgPool2d{2, 2, 1, 1}, Square{}, Flatten{}, d}, 2)).value();
  auto trace = forward_trace(m, kOneToNine.data());
  ASSERT_EQ(trace.size(), 4u);
  EXPECT_EQ(trace[0], (std::vector<double>{3, 4, 6, 7}));
  EXPECT_EQ(trace[1], (std::vector<double>{9, 16, 36, 49}));
  EXPECT_EQ(trace[3], (std::vector<double>{58, -22.5}));
}

TEST(Interpreter, PolynomialKnownAnswer) {
  auto m = Model::create(gray(1, 2, {Polynomial{{1, -1, 0.5}}, Flatten{}}, 2)).value();
  std::vector<double> x = {3, -2};
  EXPECT_EQ(forward(m, x.data()), (std::vector<double>{2.5, 1 + 2 + 2}));
  auto cube = Model::create(gray(1, 2, {Polynomial{{0, 0, 0, 2}}, Flatten{}}, 2)).value();
  EXPECT_EQ(forward(cube, x.data()), (std::vector<double>{54, -16}));
}

// An independent oracle: the convolution written as the dense matrix it is, built by walking
// the inputs (not the kernel), on random weights with stride and padding.
TEST(Interpreter, ConvEqualsItsToeplitzMatrix) {
  const int C = 3, H = 7, W = 6, O = 2, K = 3, S = 2, P = 1;
  Conv2d c = make_conv(C, O, K, S, P, {});
  for (int i = 0; i < O * C * K * K; ++i) c.weight.push_back(std::sin(1.3 * i + 0.2));
  c.bias = {0.3, -0.7};
  ModelSpec s = gray(H, W, {c, Flatten{}}, O * 4 * 3);
  s.input.color = ColorMode::kRgb;
  s.input.mean = {0, 0, 0};
  s.input.std = {1, 1, 1};
  auto m = Model::create(s).value();
  ASSERT_EQ(m.shapes()[0].to_string(), "2x4x3");
  const int OH = 4, OW = 3;
  std::vector<double> x(C * H * W);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::cos(0.77 * i);
  std::vector<double> want(O * OH * OW);
  for (int o = 0; o < O; ++o)
    for (int i = 0; i < OH; ++i)
      for (int j = 0; j < OW; ++j) {
        double acc = c.bias[o];
        for (int ci = 0; ci < C; ++ci)
          for (int r = 0; r < H; ++r)
            for (int q = 0; q < W; ++q) {
              int u = r - i * S + P, v = q - j * S + P;
              if (u >= 0 && u < K && v >= 0 && v < K) acc += c.weight[((o * C + ci) * K + u) * K + v] * x[(ci * H + r) * W + q];
            }
        want[(o * OH + i) * OW + j] = acc;
      }
  auto got = forward(m, x.data());
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12);
}

TEST(Interpreter, SoftmaxIsStableAndSumsToOne) {
  auto p = softmax({1000, 1001, 999});
  double sum = p[0] + p[1] + p[2];
  EXPECT_NEAR(sum, 1.0, 1e-12);
  EXPECT_NEAR(p[1] / p[0], std::exp(1.0), 1e-9);
}

TEST(Interpreter, BatchMatchesSingleImagesAndChecksShape) {
  auto m = testing::seed_cnn();
  const std::size_t n = 5, sz = 28 * 28;
  std::vector<float> px(n * sz);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<float>(std::sin(0.01 * i));
  ThreadPool pool(2);
  auto out = forward_batch(m, {px.data(), n, {1, 28, 28}}, &pool);
  ASSERT_EQ(out.logits.size(), n * 10);
  for (std::size_t i = 0; i < n; ++i) {
    auto one = forward(m, px.data() + i * sz);
    for (int k = 0; k < 10; ++k) EXPECT_EQ(out.logits[i * 10 + k], one[k]);
  }
  auto probs = out.probabilities();
  ASSERT_EQ(probs.size(), n * 10);
  EXPECT_NO_THROW(accuracy(out, std::vector<int>(n, 0)));
  EXPECT_THROW(accuracy(out, std::vector<int>(n + 1, 0)), Error);
  try {
    forward_batch(m, {px.data(), 1, {1, 20, 20}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "forward_batch: images are 1x20x20, the model expects 1x28x28");
  }
}

}  // namespace
}  // namespace hemi::nn
