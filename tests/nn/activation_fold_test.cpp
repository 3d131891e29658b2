// Folding quadratic activations into their neighbours (activation_fold.h): the rewritten model
// computes the same logits as the original (plaintext interpreter, random inputs), each
// activation costs one level, and the activations that cannot be folded are kept unchanged
// with the reason.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "hemi/nn/activation_fold.h"
#include "hemi/nn/architectures.h"
#include "hemi/nn/interpreter.h"
#include "hemi/nn/model_file.h"
#include "test_models.h"

namespace hemi::nn {
namespace {

Model build(const std::string& arch, InputSpec input, int classes, Activation act, std::uint64_t seed = 3) {
  ArchitectureOptions o;
  o.input = std::move(input);
  for (int c = 0; c < classes; ++c) o.class_names.push_back("c" + std::to_string(c));
  o.activation = act;
  o.seed = seed;
  return build_architecture(arch, o).value();
}

// Trained-looking quadratics (medcnn's trained ones are near a = 0.2, b = 0.5, c = 0.2), one per
// activation, with a negative a and a zero c among them.
Model with_coefficients(const Model& m) {
  const std::vector<std::vector<double>> coeffs = {
      {0.200675, 0.515286, 0.186555}, {0.0, 0.495776, 0.165684}, {0.23, -0.46, -0.21}, {0.43, 0.73, 0.17}};
  ModelSpec s = m.spec();
  std::size_t k = 0;
  for (auto& l : s.layers)
    if (std::holds_alternative<Polynomial>(l)) l = Polynomial{coeffs[k++ % coeffs.size()]};
  return Model::create(std::move(s)).value();
}

// max |logit difference| / (1 + max |logit|) over `images` random inputs in [-1, 1].
double max_relative_difference(const Model& a, const Model& b, int images, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  double worst = 0;
  for (int i = 0; i < images; ++i) {
    std::vector<double> x(a.input_shape().size());
    for (auto& v : x) v = u(rng);
    const auto ya = forward(a, x.data()), yb = forward(b, x.data());
    EXPECT_EQ(ya.size(), yb.size());
    double diff = 0, mag = 0;
    for (std::size_t k = 0; k < ya.size(); ++k) {
      diff = std::max(diff, std::abs(ya[k] - yb[k]));
      mag = std::max(mag, std::abs(ya[k]));
    }
    worst = std::max(worst, diff / (1 + mag));
  }
  return worst;
}

std::vector<std::string> kinds(const Model& m) {
  std::vector<std::string> k;
  for (auto& l : m.layers()) k.push_back(layer_kind(l));
  return k;
}

TEST(ActivationFold, MedcnnSameLogitsOneLevelPerActivation) {
  const Model m = with_coefficients(build("medcnn", default_input("medcnn"), 4, Activation::kPoly));
  const ActivationFold f = fold_quadratic_activations(m);
  ASSERT_EQ(f.notes.size(), 4u);
  EXPECT_EQ(f.folded(), 4u);
  // Activations before a padded convolution keep their constant (k + y²); before a dense
  // layer the constant goes into its bias (y²).
  EXPECT_EQ(kinds(f.model), (std::vector<std::string>{"conv2d", "polynomial", "conv2d", "polynomial", "avgpool2d", "conv2d",
                                                       "square", "avgpool2d", "flatten", "dense", "square", "dense"}));
  EXPECT_TRUE(f.notes[0].constant_kept);
  EXPECT_TRUE(f.notes[1].constant_kept);
  EXPECT_FALSE(f.notes[2].constant_kept);
  for (std::size_t i : {1u, 3u}) {
    const auto& p = std::get<Polynomial>(f.model.layers()[i]);
    EXPECT_EQ(pure_power_squarings(p), 1) << i;
    EXPECT_EQ(layer_depth(p), 1) << i;
  }
  EXPECT_EQ(m.multiplicative_depth(), 15);  // conv, pool, dense 1 each; quadratics 2 each
  EXPECT_EQ(f.model.multiplicative_depth(), 11);
  EXPECT_LT(max_relative_difference(m, f.model, 6, 1), 1e-12);
  // The shifts and factors are the quadratic's: a (y + b/2a)² + (c − b²/4a).
  EXPECT_DOUBLE_EQ(f.notes[0].factor, 0.186555);
  EXPECT_DOUBLE_EQ(f.notes[0].shift, 0.515286 / (2 * 0.186555));
  EXPECT_NE(f.notes[0].text.find("folded"), std::string::npos);
  // The model as given is untouched (its identity is what plans name).
  EXPECT_EQ(kinds(m)[1], "polynomial");
  EXPECT_EQ(serialize_model(m), serialize_model(with_coefficients(build("medcnn", default_input("medcnn"), 4, Activation::kPoly))));
}

TEST(ActivationFold, MedcnnRgb128) {
  InputSpec in = default_input("medcnn");
  in.color = ColorMode::kRgb;
  in.height = in.width = 128;
  in.mean = {0.5, 0.5, 0.5};
  in.std = {0.5, 0.5, 0.5};
  const Model m = with_coefficients(build("medcnn", in, 3, Activation::kPoly, 9));
  const ActivationFold f = fold_quadratic_activations(m);
  EXPECT_EQ(f.folded(), 4u);
  EXPECT_LT(max_relative_difference(m, f.model, 2, 2), 1e-12);
}

TEST(ActivationFold, SeedCnnWithPoly) {
  // conv without padding -> poly -> flatten -> dense -> poly -> dense: both constants go into
  // the next biases, both activations become x².
  const Model m = with_coefficients(build("seed-cnn", default_input("seed-cnn"), 10, Activation::kPoly));
  const ActivationFold f = fold_quadratic_activations(m);
  EXPECT_EQ(f.folded(), 2u);
  EXPECT_EQ(kinds(f.model), (std::vector<std::string>{"conv2d", "square", "flatten", "dense", "square", "dense"}));
  EXPECT_EQ(f.model.multiplicative_depth(), 5);
  EXPECT_EQ(m.multiplicative_depth(), 7);
  EXPECT_LT(max_relative_difference(m, f.model, 20, 3), 1e-12);
}

TEST(ActivationFold, LeNet1WithPoly) {
  // conv 5x5 (no padding) -> poly -> avgpool -> conv 5x5 -> poly -> avgpool -> flatten -> dense:
  // the factor and constant pass through the poolings.
  const Model m = with_coefficients(build("lenet-1", default_input("lenet-1"), 10, Activation::kPoly));
  const ActivationFold f = fold_quadratic_activations(m);
  EXPECT_EQ(f.folded(), 2u);
  for (const auto& n : f.notes) EXPECT_FALSE(n.constant_kept) << n.text;
  EXPECT_LT(max_relative_difference(m, f.model, 20, 4), 1e-12);
}

TEST(ActivationFold, EveryLayerKindAndBiaslessNeighbours) {
  // conv (pad 1) -> poly -> pool -> flatten -> dense without bias -> square -> dense.
  const Model m = Model::create(testing::every_layer_spec()).value();
  const ActivationFold f = fold_quadratic_activations(m);
  ASSERT_EQ(f.notes.size(), 1u);  // x² is not a polynomial layer: nothing to fold
  EXPECT_TRUE(f.notes[0].folded);
  EXPECT_FALSE(f.notes[0].constant_kept);  // the constant went into the (created) dense bias
  EXPECT_EQ(std::get<Dense>(f.model.layers()[4]).bias.size(), 4u);
  EXPECT_LT(max_relative_difference(m, f.model, 20, 5), 1e-12);

  // A convolution without bias before the activation gets one.
  ModelSpec s = testing::every_layer_spec();
  std::get<Conv2d>(s.layers[0]).bias.clear();
  const Model nb = Model::create(s).value();
  const ActivationFold g = fold_quadratic_activations(nb);
  EXPECT_EQ(g.folded(), 1u);
  EXPECT_EQ(std::get<Conv2d>(g.model.layers()[0]).bias.size(), 2u);
  EXPECT_LT(max_relative_difference(nb, g.model, 20, 6), 1e-12);
}

// A small gray 6x6 model with the given layers.
Model small(std::vector<Layer> layers, int classes = 2) {
  ModelSpec s;
  s.input.height = s.input.width = 6;
  s.layers = std::move(layers);
  for (int c = 0; c < classes; ++c) s.class_names.push_back("c" + std::to_string(c));
  return Model::create(std::move(s)).value();
}

Conv2d conv(int in, int out, int pad, double w) {
  Conv2d c;
  c.in_channels = in;
  c.out_channels = out;
  c.kernel_h = c.kernel_w = 3;
  c.pad_h = c.pad_w = pad;
  for (int i = 0; i < out * in * 9; ++i) c.weight.push_back(w * ((i % 5) - 2));
  c.bias.assign(static_cast<std::size_t>(out), 0.1);
  return c;
}

Dense dense(int in, int out) {
  Dense d;
  d.in_features = in;
  d.out_features = out;
  for (int i = 0; i < in * out; ++i) d.weight.push_back(0.05 * ((i % 7) - 3));
  d.bias.assign(static_cast<std::size_t>(out), -0.2);
  return d;
}

void expect_kept(const Model& m, std::size_t note, const std::string& why) {
  const ActivationFold f = fold_quadratic_activations(m);
  ASSERT_GT(f.notes.size(), note);
  EXPECT_FALSE(f.notes[note].folded);
  EXPECT_NE(f.notes[note].text.find(why), std::string::npos) << f.notes[note].text;
  EXPECT_EQ(f.folded(), 0u);
  EXPECT_EQ(serialize_model(f.model), serialize_model(m));  // nothing changed
}

TEST(ActivationFold, KeptWhenItCannotBeFolded) {
  // a = 0: a degree-1 polynomial (Model::create refuses a zero leading coefficient).
  expect_kept(small({conv(1, 2, 1, 0.1), Polynomial{{0.1, 0.5}}, Flatten{}, dense(72, 2)}), 0, "degree 1");
  // Degree 4.
  expect_kept(small({conv(1, 2, 1, 0.1), Polynomial{{0.1, 0.5, 0.2, 0, 0.01}}, Flatten{}, dense(72, 2)}), 0, "degree 4");
  // The first layer: no linear layer before it to take the shift.
  expect_kept(small({Polynomial{{0.1, 0.5, 0.2}}, conv(1, 2, 1, 0.1), Flatten{}, dense(72, 2)}), 0, "before it");
  // The last layer: nothing after it to take the factor.
  expect_kept(small({conv(1, 2, 1, 0.1), Flatten{}, dense(72, 2), Polynomial{{0.1, 0.5, 0.2}}}), 0, "after it");
  // Two activations in a row: the first has no linear layer after it, the second none before.
  const Model twice = small({conv(1, 2, 1, 0.1), Polynomial{{0.1, 0.5, 0.2}}, Polynomial{{0.0, 1.0, 0.3}}, Flatten{}, dense(72, 2)});
  expect_kept(twice, 0, "after it");
  expect_kept(twice, 1, "before it");
  // A tiny |a|: the shift b / 2a = 2.5e6 would carry values ~2^40 times larger: kept.
  expect_kept(small({conv(1, 2, 1, 0.1), Polynomial{{0.1, 0.5, 1e-7}}, Flatten{}, dense(72, 2)}), 0, "times larger");
}

TEST(ActivationFold, PrecisionBoundIsAnOption) {
  // a = 0.01, b = 0.5: shift 25, (y + 25)² against ~2.2 on |y| <= 4: about 2^8.5.
  const Model m = small({conv(1, 2, 1, 0.1), Polynomial{{0.1, 0.5, 0.01}}, Flatten{}, dense(72, 2)});
  expect_kept(m, 0, "times larger");
  ActivationFoldOptions o;
  o.max_lost_bits = 12;
  const ActivationFold f = fold_quadratic_activations(m, o);
  ASSERT_EQ(f.folded(), 1u);
  EXPECT_GT(f.notes[0].lost_bits, 8);
  EXPECT_LT(f.notes[0].lost_bits, 12);
  EXPECT_LT(max_relative_difference(m, f.model, 20, 7), 1e-11);
  o.input_range = 0;
  EXPECT_THROW(fold_quadratic_activations(m, o), Error);
  o.input_range = 4;
  o.max_lost_bits = -1;
  EXPECT_THROW(fold_quadratic_activations(m, o), Error);
}

TEST(ActivationFold, UnpaddedConvTakesTheConstantPaddedOneDoesNot) {
  const Model unpadded = small({conv(1, 2, 1, 0.1), Polynomial{{0.1, 0.5, 0.2}}, conv(2, 2, 0, 0.2), Flatten{}, dense(32, 2)});
  const ActivationFold f = fold_quadratic_activations(unpadded);
  ASSERT_EQ(f.folded(), 1u);
  EXPECT_FALSE(f.notes[0].constant_kept);
  EXPECT_TRUE(std::holds_alternative<Square>(f.model.layers()[1]));
  EXPECT_LT(max_relative_difference(unpadded, f.model, 20, 8), 1e-12);

  const Model padded = small({conv(1, 2, 1, 0.1), Polynomial{{0.1, 0.5, 0.2}}, conv(2, 2, 1, 0.2), Flatten{}, dense(72, 2)});
  const ActivationFold g = fold_quadratic_activations(padded);
  ASSERT_EQ(g.folded(), 1u);
  EXPECT_TRUE(g.notes[0].constant_kept);
  EXPECT_LT(max_relative_difference(padded, g.model, 20, 9), 1e-12);
  // Folding the constant into the padded convolution's bias anyway would be wrong at the
  // borders: the check that the rule is needed.
  ModelSpec wrong = g.model.spec();
  const double k = std::get<Polynomial>(wrong.layers[1]).coefficients[0];
  auto& c = std::get<Conv2d>(wrong.layers[2]);
  for (int o = 0; o < 2; ++o) {
    double sum = 0;
    for (int j = 0; j < 18; ++j) sum += c.weight[static_cast<std::size_t>(o * 18 + j)];
    c.bias[static_cast<std::size_t>(o)] += k * sum;
  }
  wrong.layers[1] = Square{};
  EXPECT_GT(max_relative_difference(padded, Model::create(wrong).value(), 5, 10), 1e-6);
}

TEST(ActivationFold, PurePowerDepth) {
  EXPECT_EQ(pure_power_squarings(Polynomial{{0.5, 0, 1}}), 1);
  EXPECT_EQ(pure_power_squarings(Polynomial{{0, 0, 1}}), 1);
  EXPECT_EQ(pure_power_squarings(Polynomial{{-2, 0, 0, 0, 1}}), 2);
  EXPECT_EQ(pure_power_squarings(Polynomial{{3, 1}}), 0);
  EXPECT_EQ(pure_power_squarings(Polynomial{{0.5, 0, 2}}), -1);       // not monic
  EXPECT_EQ(pure_power_squarings(Polynomial{{0.5, 0.1, 1}}), -1);     // a linear term
  EXPECT_EQ(pure_power_squarings(Polynomial{{0.5, 0, 0, 1}}), -1);    // x³
  EXPECT_EQ(pure_power_squarings(Polynomial{{7}}), -1);
  EXPECT_EQ(layer_depth(Polynomial{{0.5, 0, 1}}), 1);
  EXPECT_EQ(layer_depth(Polynomial{{0.5, 0, 0, 0, 1}}), 2);
  EXPECT_EQ(layer_depth(Polynomial{{0.5, 0, 2}}), 2);
  EXPECT_EQ(layer_depth(Polynomial{{0.5, 0.1, 0.2}}), 2);
}

}  // namespace
}  // namespace hemi::nn
