// medcnn (issue 12's reference network), the activation choice and the plaintext-only relu.
#include <gtest/gtest.h>

#include <cmath>

#include "hemi/nn/architectures.h"
#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"

namespace hemi::nn {
namespace {

Model medcnn(int size, ColorMode color, int classes, Activation act = Activation::kDefault) {
  ArchitectureOptions o;
  o.input = default_input("medcnn");
  o.input.color = color;
  o.input.height = o.input.width = size;
  o.input.mean.assign(static_cast<std::size_t>(o.input.channels()), 0.5);
  o.input.std.assign(static_cast<std::size_t>(o.input.channels()), 0.5);
  for (int c = 0; c < classes; ++c) o.class_names.push_back("c" + std::to_string(c));
  o.activation = act;
  return build_architecture("medcnn", o).value();
}

TEST(Medcnn, ShapesAt64Gray) {
  Model m = medcnn(64, ColorMode::kGray, 4);
  EXPECT_EQ(m.input_shape().to_string(), "1x64x64");
  const std::vector<std::string> want = {"16x32x32", "16x32x32", "32x16x16", "32x16x16", "32x8x8", "64x8x8",
                                         "64x8x8",   "64x4x4",   "1024",     "64",       "64",     "4"};
  ASSERT_EQ(m.shapes().size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(m.shapes()[i].to_string(), want[i]) << "layer " << i + 1;
  const auto& c1 = std::get<Conv2d>(m.layers()[0]);
  EXPECT_EQ(c1.kernel_h, 3);
  EXPECT_EQ(c1.stride_h, 2);
  EXPECT_EQ(c1.pad_h, 1);
  const auto& c3 = std::get<Conv2d>(m.layers()[5]);
  EXPECT_EQ(c3.stride_h, 1);
  EXPECT_EQ(c3.pad_h, 1);
  EXPECT_EQ(m.parameter_count(), (1u * 9 * 16 + 16) + (16u * 9 * 32 + 32) + (32u * 9 * 64 + 64) + (1024u * 64 + 64) +
                                     (64u * 4 + 4));
  // Default activation: the trainable quadratic fitted to ReLU, depth 2 each.
  const auto& p = std::get<Polynomial>(m.layers()[1]);
  ASSERT_EQ(p.degree(), 2);
  EXPECT_NEAR(p.coefficients[0], 0.19947114, 1e-8);
  EXPECT_EQ(p.coefficients[1], 0.5);
  // conv 1 + act 2, conv 1 + act 2, pool 1, conv 1 + act 2, pool 1, dense 1 + act 2, dense 1
  EXPECT_EQ(m.multiplicative_depth(), 15);
}

TEST(Medcnn, RgbAnd128AndClasses) {
  Model m = medcnn(64, ColorMode::kRgb, 7, Activation::kSquare);
  EXPECT_EQ(std::get<Conv2d>(m.layers()[0]).in_channels, 3);
  EXPECT_EQ(m.output_shape().to_string(), "7");
  EXPECT_TRUE(std::holds_alternative<Square>(m.layers()[1]));
  EXPECT_EQ(m.multiplicative_depth(), 11);
  Model big = medcnn(128, ColorMode::kGray, 2);
  EXPECT_EQ(big.shapes()[8].to_string(), "4096");  // 64 x 8 x 8
  EXPECT_EQ(std::get<Dense>(big.layers()[9]).in_features, 4096);
}

TEST(Medcnn, WidthsChangeTheConvolutionsAndTheDenseHiddenLayer) {
  ArchitectureOptions o;
  o.input = default_input("medcnn");
  o.class_names = {"a", "b", "c", "d"};
  EXPECT_EQ(medcnn_default_widths(), (std::vector<int>{16, 32, 64, 64}));
  o.widths = medcnn_default_widths();
  const Model same = build_architecture("medcnn", o).value();
  o.widths.clear();
  const Model own = build_architecture("medcnn", o).value();
  EXPECT_EQ(same.spec().layers.size(), own.spec().layers.size());
  EXPECT_EQ(std::get<Dense>(same.layers()[9]).weight, std::get<Dense>(own.layers()[9]).weight);  // same draws

  o.widths = {8, 24, 40, 128};
  const Model m = build_architecture("medcnn", o).value();
  const std::vector<std::string> want = {"8x32x32", "8x32x32", "24x16x16", "24x16x16", "24x8x8", "40x8x8",
                                         "40x8x8",  "40x4x4",  "640",      "128",      "128",    "4"};
  ASSERT_EQ(m.shapes().size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(m.shapes()[i].to_string(), want[i]) << "layer " << i + 1;
  EXPECT_EQ(m.parameter_count(), (1u * 9 * 8 + 8) + (8u * 9 * 24 + 24) + (24u * 9 * 40 + 40) + (640u * 128 + 128) +
                                     (128u * 4 + 4));
  EXPECT_EQ(m.multiplicative_depth(), 15);  // widths never change the depth

  o.widths = {16, 32, 64};
  EXPECT_NE(build_architecture("medcnn", o).error().find("four values"), std::string::npos);
  o.widths = {16, 32, 0, 64};
  EXPECT_NE(build_architecture("medcnn", o).error().find("[1, 4096], got 0"), std::string::npos);
  o.widths = {4, 4, 4, 4};
  o.input = default_input("seed-cnn");
  EXPECT_NE(build_architecture("seed-cnn", o).error().find("medcnn only"), std::string::npos);
}

TEST(Medcnn, ParsesAndPrintsWidths) {
  EXPECT_EQ(parse_widths("16,32,64,128"), (std::vector<int>{16, 32, 64, 128}));
  EXPECT_EQ(widths_to_string({16, 32, 64, 128}), "16,32,64,128");
  for (const char* bad : {"", "16,32,64", "16,32,64,128,1", "16,,64,128", "16,32,64,0", "16,32,64,5000", "a,32,64,128",
                          "16, 32,64,128", "-1,32,64,128"}) {
    try {
      parse_widths(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("widths '"), std::string::npos) << e.what();
    }
  }
}

TEST(Medcnn, ReluIsPlaintextOnly) {
  Model m = medcnn(64, ColorMode::kGray, 4, Activation::kRelu);
  for (std::size_t i : {1u, 3u, 6u, 10u}) EXPECT_TRUE(std::holds_alternative<Relu>(m.layers()[i])) << i;
  EXPECT_EQ(plaintext_only_layer(m.layers()), "layer 2 (relu)");
  EXPECT_NE(plaintext_only_reason(m.layers()).find("ReLU models are plaintext only"), std::string::npos);
  EXPECT_EQ(plaintext_only_reason(medcnn(64, ColorMode::kGray, 4).layers()), "");
  EXPECT_EQ(std::string(layer_kind(Layer{Relu{}})), "relu");
}

TEST(Medcnn, ReluInterpreterAndFileRoundTrip) {
  ModelSpec s;
  s.input.height = s.input.width = 1;
  s.layers = {Flatten{}, Dense{1, 3, {1.0, -1.0, 2.0}, {0.5, 0.0, -3.0}}, Relu{}};
  s.class_names = {"a", "b", "c"};
  Model m = Model::create(s).value();
  const double x = 1.25;
  auto y = forward(m, &x);
  ASSERT_EQ(y.size(), 3u);
  EXPECT_EQ(y[0], 1.75);  // max(0, 1.25 + 0.5)
  EXPECT_EQ(y[1], 0.0);   // max(0, -1.25)
  EXPECT_EQ(y[2], 0.0);   // max(0, 2.5 - 3)
  const std::string path = ::testing::TempDir() + "/relu.hemi";
  save_model(m, path);
  Model back = load_model(path);
  ASSERT_EQ(back.layers().size(), 3u);
  EXPECT_TRUE(std::holds_alternative<Relu>(back.layers()[2]));
}

TEST(Medcnn, ActivationNames) {
  EXPECT_EQ(parse_activation("square"), Activation::kSquare);
  EXPECT_EQ(parse_activation("x2"), Activation::kSquare);
  EXPECT_EQ(parse_activation("poly"), Activation::kPoly);
  EXPECT_EQ(parse_activation("relu"), Activation::kRelu);
  EXPECT_THROW(parse_activation("tanh"), Error);
  try {
    parse_activation("gelu");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'gelu'"), std::string::npos);
  }
  // Every architecture takes the choice; seed-cnn with relu has relu where x² was.
  ArchitectureOptions o;
  o.input = default_input("seed-cnn");
  o.class_names = {"a", "b"};
  o.activation = Activation::kRelu;
  Model m = build_architecture("seed-cnn", o).value();
  EXPECT_TRUE(std::holds_alternative<Relu>(m.layers()[1]));
  EXPECT_TRUE(is_architecture("medcnn"));
  EXPECT_EQ(architecture_names().back(), "medcnn");
}

TEST(Medcnn, ReluFitIsTheLeastSquaresQuadraticUnderANormalInput) {
  // Oracle: minimise E[(relu(x) - q(x))²], x ~ N(0, 1), by numerical integration and the 3x3
  // normal equations; the closed form in relu_fit_quadratic must agree.
  double g[3][3] = {}, b[3] = {};
  const double h = 1e-3;
  for (double x = -10; x <= 10; x += h) {
    double w = std::exp(-x * x / 2) / std::sqrt(2 * 3.14159265358979323846) * h;
    double p[3] = {1, x, x * x};
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) g[i][j] += w * p[i] * p[j];
      b[i] += w * p[i] * (x > 0 ? x : 0);
    }
  }
  // Cramer's rule.
  auto det = [](double m[3][3]) {
    return m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
           m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  };
  const double d = det(g);
  auto fit = relu_fit_quadratic();
  for (int k = 0; k < 3; ++k) {
    double m[3][3];
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 3; ++j) m[i][j] = j == k ? b[i] : g[i][j];
    EXPECT_NEAR(det(m) / d, fit[k], 1e-4) << "coefficient " << k;
  }
}

}  // namespace
}  // namespace hemi::nn
