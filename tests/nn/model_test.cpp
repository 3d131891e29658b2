#include "hemi/nn/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "hemi/nn/interpreter.h"
#include "test_models.h"

namespace hemi::nn {
namespace {

std::string create_error(ModelSpec s) {
  auto m = Model::create(std::move(s));
  EXPECT_FALSE(m.ok());
  return m.ok() ? std::string() : m.error();
}

TEST(Model, ShapesAndCounts) {
  auto m = Model::create(testing::every_layer_spec()).value();
  ASSERT_EQ(m.shapes().size(), 7u);
  EXPECT_EQ(m.shapes()[0].to_string(), "2x5x10");
  EXPECT_EQ(m.shapes()[2].to_string(), "2x2x5");
  EXPECT_EQ(m.shapes()[3].to_string(), "20");
  EXPECT_EQ(m.output_shape().to_string(), "2");
  EXPECT_EQ(m.parameter_count(), 36u + 2 + 80 + 8 + 2);
  // conv 1 + poly(2) 2 + pool 1 + flatten 0 + dense 1 + square 1 + dense 1
  EXPECT_EQ(m.multiplicative_depth(), 7);
  EXPECT_NE(m.describe().find("multiplicative depth: 7"), std::string::npos);
}

TEST(Model, DenseInputMismatchNamesTheLayer) {
  auto s = testing::every_layer_spec();
  auto& d = std::get<Dense>(s.layers[4]);
  d.in_features = 25;
  d.weight.resize(100, 0.0);
  EXPECT_EQ(create_error(s), "model: layer 5 (dense): expects 25 inputs, previous layer gives 20");
}

TEST(Model, Rejections) {
  {
    auto s = testing::every_layer_spec();
    std::get<Conv2d>(s.layers[0]).in_channels = 1;
    EXPECT_NE(create_error(s).find("layer 1 (conv2d): expects 1 input channels, previous layer gives 3"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    s.layers.erase(s.layers.begin() + 3);  // no flatten before dense
    EXPECT_NE(create_error(s).find("needs a flat input"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    std::get<Conv2d>(s.layers[0]).weight[3] = std::numeric_limits<double>::quiet_NaN();
    EXPECT_NE(create_error(s).find("weight[3] is not finite (NaN)"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    std::get<Dense>(s.layers[6]).bias[1] = std::numeric_limits<double>::infinity();
    EXPECT_NE(create_error(s).find("bias[1] is not finite (infinite)"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    std::get<Conv2d>(s.layers[0]).weight.pop_back();
    EXPECT_NE(create_error(s).find("weight has 35 values, expected 36"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    s.class_names.push_back("maybe");
    EXPECT_NE(create_error(s).find("gives 2 outputs but there are 3 class names"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    s.input.std[1] = 0;
    EXPECT_NE(create_error(s).find("std must be positive"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    s.input.mean.pop_back();
    EXPECT_NE(create_error(s).find("needs 3 mean and std values"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    s.input.height = 1;  // kernel 3 with padding 1 still fits 1 row; pooling 2x2 does not
    EXPECT_NE(create_error(s).find("layer 3 (avgpool2d): kernel 2x2 does not fit"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    s.layers.resize(3);
    EXPECT_NE(create_error(s).find("output must be flat"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    std::get<Polynomial>(s.layers[1]).coefficients = {1.0, 0.0};
    EXPECT_NE(create_error(s).find("leading coefficient is zero"), std::string::npos);
  }
  {
    auto s = testing::every_layer_spec();
    s.layers.clear();
    EXPECT_NE(create_error(s).find("has no layers"), std::string::npos);
  }
}

TEST(Model, PolynomialDepth) {
  auto depth = [](std::vector<double> c) { return layer_depth(Polynomial{std::move(c)}); };
  EXPECT_EQ(depth({3}), 0);
  EXPECT_EQ(depth({0, 2}), 1);
  EXPECT_EQ(depth({0, 0, 2}), 2);
  EXPECT_EQ(depth({0, 0, 1}), 1);  // c0 + x^(2^j): the squarings alone (pure_power_squarings)
  EXPECT_EQ(depth({0, 0, 0, 1}), 3);
  EXPECT_EQ(depth({0, 0, 0, 0, 2}), 3);
  EXPECT_EQ(depth({0, 0, 0, 0, 1}), 2);
  EXPECT_EQ(depth({0, 0, 0, 0, 0, 1}), 4);
  EXPECT_EQ(layer_depth(Square{}), 1);
  EXPECT_EQ(layer_depth(Flatten{}), 0);
}

BatchNorm make_bn(int n) {
  BatchNorm bn;
  for (int i = 0; i < n; ++i) {
    bn.gamma.push_back(0.5 + 0.25 * i);
    bn.beta.push_back(-0.1 * i + 0.05);
    bn.running_mean.push_back(0.3 - 0.2 * i);
    bn.running_var.push_back(0.8 + 0.5 * i);
  }
  bn.eps = 1e-3;
  return bn;
}

// Folding equals applying batch norm to the layer's output, computed independently.
TEST(Model, FoldBatchNormConvEqualsBatchNormApplied) {
  auto spec = testing::every_layer_spec();
  auto conv = std::get<Conv2d>(spec.layers[0]);
  BatchNorm bn = make_bn(conv.out_channels);

  auto conv_only = [&](const Conv2d& c) {
    ModelSpec s = spec;
    s.layers = {c, Flatten{}};
    s.class_names.assign(c.out_channels * 5 * 10, "x");
    return Model::create(s).value();
  };
  std::vector<double> x(3 * 9 * 9);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37 * i);
  auto plain = forward(conv_only(conv), x.data());
  auto folded = forward(conv_only(fold_batch_norm(conv, bn)), x.data());
  ASSERT_EQ(plain.size(), folded.size());
  for (std::size_t i = 0; i < plain.size(); ++i) {
    std::size_t o = i / 50;
    double want = bn.gamma[o] * (plain[i] - bn.running_mean[o]) / std::sqrt(bn.running_var[o] + bn.eps) + bn.beta[o];
    EXPECT_NEAR(folded[i], want, 1e-12) << i;
  }
}

TEST(Model, FoldBatchNormDenseWithoutBias) {
  Dense d;
  d.in_features = 3;
  d.out_features = 2;
  d.weight = {1, 2, 3, -1, 0.5, 2};
  BatchNorm bn = make_bn(2);
  Dense f = fold_batch_norm(d, bn);
  std::vector<double> x = {0.3, -1.2, 2.0};
  for (int o = 0; o < 2; ++o) {
    double y = 0, yf = f.bias[o];
    for (int i = 0; i < 3; ++i) {
      y += d.weight[o * 3 + i] * x[i];
      yf += f.weight[o * 3 + i] * x[i];
    }
    double want = bn.gamma[o] * (y - bn.running_mean[o]) / std::sqrt(bn.running_var[o] + bn.eps) + bn.beta[o];
    EXPECT_NEAR(yf, want, 1e-12);
  }
}

TEST(Model, FoldBatchNormRejectsMismatch) {
  Dense d;
  d.in_features = 3;
  d.out_features = 2;
  d.weight.assign(6, 1.0);
  EXPECT_THROW(fold_batch_norm(d, make_bn(3)), Error);
  BatchNorm bad = make_bn(2);
  bad.running_var[0] = -1;
  EXPECT_THROW(fold_batch_norm(d, bad), Error);
}

}  // namespace
}  // namespace hemi::nn
