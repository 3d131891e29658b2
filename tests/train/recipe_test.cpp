// The training recipe for polynomial networks: schedule values, class weights, best-epoch
// choice, the gradient clip, augmentation, batch-norm folding at export, trained polynomial
// coefficients and the validation split. Generated data only (no ../shared needed).
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "generated_images.h"
#include "hemi/data/split.h"
#include "hemi/nn/interpreter.h"
#include "hemi/train/augment.h"
#include "hemi/train/distill.h"
#include "hemi/train/recipe.h"
#include "hemi/train/torch_model.h"
#include "hemi/train/trainer.h"

namespace hemi::train {
namespace {

TEST(Recipe, ScheduleValues) {
  ScheduleOptions s;
  EXPECT_EQ(learning_rate_at(s, 0.01, 7, 10), 0.01);
  s.kind = LrSchedule::kCosine;
  EXPECT_DOUBLE_EQ(learning_rate_at(s, 0.01, 0, 10), 0.01);
  EXPECT_NEAR(learning_rate_at(s, 0.01, 5, 10), 0.005, 1e-15);
  EXPECT_NEAR(learning_rate_at(s, 0.01, 9, 10), 0.01 * 0.5 * (1 + std::cos(0.9 * 3.14159265358979323846)), 1e-15);
  for (int e = 1; e < 10; ++e) EXPECT_LT(learning_rate_at(s, 0.01, e, 10), learning_rate_at(s, 0.01, e - 1, 10));
  s.kind = LrSchedule::kStep;
  s.step_epochs = 3;
  s.step_gamma = 0.5;
  const double want[] = {1, 1, 1, 0.5, 0.5, 0.5, 0.25};
  for (int e = 0; e < 7; ++e) EXPECT_DOUBLE_EQ(learning_rate_at(s, 1.0, e, 7), want[e]) << e;
  EXPECT_THROW(learning_rate_at(s, 1.0, 7, 7), Error);
  EXPECT_EQ(parse_lr_schedule("cosine"), LrSchedule::kCosine);
  EXPECT_THROW(parse_lr_schedule("linear"), Error);
}

TEST(Recipe, BalancedClassWeightsFromCounts) {
  // 6 images: class 0 x3, class 1 x1, class 3 x2, class 2 absent: w = 6 / (3 n_c).
  auto w = balanced_class_weights({0, 0, 1, 3, 0, 3}, 4);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_DOUBLE_EQ(w[0], 6.0 / 9);
  EXPECT_DOUBLE_EQ(w[1], 2.0);
  EXPECT_EQ(w[2], 0.0);
  EXPECT_DOUBLE_EQ(w[3], 1.0);
  EXPECT_DOUBLE_EQ((3 * w[0] + w[1] + 2 * w[3]) / 6, 1.0);  // support-weighted mean 1
  EXPECT_THROW(balanced_class_weights({0, 4}, 4), Error);
  EXPECT_THROW(balanced_class_weights({0}, 0), Error);
}

TEST(Recipe, BestEpochIsTheBestValidationScore) {
  EXPECT_EQ(best_epoch({0.5, 0.8, 0.7, 0.8}, {1.0, 0.6, 0.5, 0.4}), 3u);  // tie on accuracy: lower loss
  EXPECT_EQ(best_epoch({0.5, 0.8, 0.7, 0.8}, {1.0, 0.4, 0.5, 0.4}), 1u);  // full tie: earlier
  EXPECT_EQ(best_epoch({0.9, 0.1}, {5.0, 0.1}), 0u);                      // accuracy first
  EXPECT_THROW(best_epoch({}, {}), Error);
  EXPECT_THROW(best_epoch({0.5}, {0.1, 0.2}), Error);
}

TEST(Recipe, ClipBoundsTheNorm) {
  torch::manual_seed(3);
  torch::Tensor g = torch::randn({1000}) * 10;
  torch::Tensor before = g.clone();
  const double norm = clip_gradient_norm(g, 1.5);
  EXPECT_NEAR(norm, before.norm().item<double>(), 1e-3);
  EXPECT_LE(g.norm().item<double>(), 1.5 * (1 + 1e-6));  // float rounding of the norm
  EXPECT_GT(g.norm().item<double>(), 1.5 * (1 - 1e-5));
  EXPECT_TRUE(torch::allclose(g * (norm / 1.5), before, 1e-4, 1e-4));  // direction kept
  torch::Tensor small = torch::full({4}, 0.1);
  clip_gradient_norm(small, 1.0);
  EXPECT_TRUE(torch::equal(small, torch::full({4}, 0.1)));  // within the bound: untouched
}

torch::Tensor ramp(int n, int h, int w) {  // every image different, every pixel distinct
  return torch::arange(static_cast<int64_t>(n) * h * w, torch::kFloat).reshape({n, 1, h, w}) / (h * w);
}

TEST(Recipe, AugmentationKeepsShapeAndIsSeeded) {
  Augmentation a;
  a.flip = true;
  a.rotate_degrees = 10;
  a.shift_pixels = 2;
  torch::Tensor x = ramp(8, 12, 12);
  auto g1 = at::detail::createCPUGenerator(42), g2 = at::detail::createCPUGenerator(42),
       g3 = at::detail::createCPUGenerator(43);
  torch::Tensor y1 = augment(x, a, g1), y2 = augment(x, a, g2), y3 = augment(x, a, g3);
  EXPECT_EQ(y1.sizes(), x.sizes());
  EXPECT_TRUE(torch::equal(y1, y2));
  EXPECT_FALSE(torch::equal(y1, y3));
  EXPECT_FALSE(torch::equal(y1, x));
  // Images stay in their places (labels still apply): each output is closest to its own input.
  for (int i = 0; i < 8; ++i) {
    int nearest = 0;
    double best = 1e300;
    for (int j = 0; j < 8; ++j) {
      double d = (y1[i] - x[j]).abs().mean().item<double>();
      if (d < best) best = d, nearest = j;
    }
    EXPECT_EQ(nearest, i);
  }
  // Off: the input itself.
  EXPECT_TRUE(augment(x, Augmentation{}, g1).is_same(x));
}

TEST(Recipe, FlipIsAMirrorAndShiftIsAWholePixelTranslation) {
  torch::Tensor x = ramp(32, 8, 8);
  Augmentation f;
  f.flip = true;
  auto g = at::detail::createCPUGenerator(1);
  torch::Tensor y = augment(x, f, g);
  int flipped = 0;
  for (int i = 0; i < 32; ++i) {
    bool same = torch::equal(y[i], x[i]), mirror = torch::equal(y[i], x[i].flip({2}));
    EXPECT_TRUE(same || mirror) << i;
    flipped += mirror;
  }
  EXPECT_GT(flipped, 4);
  EXPECT_LT(flipped, 28);
  Augmentation s;
  s.shift_pixels = 2;
  y = augment(x, s, g);
  for (int i = 0; i < 32; ++i) {
    // Some (dx, dy) in [-2, 2]² maps the interior exactly.
    bool found = false;
    for (int dy = -2; dy <= 2 && !found; ++dy)
      for (int dx = -2; dx <= 2 && !found; ++dx) {
        auto out = y[i][0].slice(0, 2, 6).slice(1, 2, 6);
        auto in = x[i][0].slice(0, 2 + dy, 6 + dy).slice(1, 2 + dx, 6 + dx);
        found = torch::allclose(out, in, 0, 1e-5);
      }
    EXPECT_TRUE(found) << "image " << i;
  }
}

nn::Model medcnn_for(const data::ImageSet& set, nn::Activation act) {
  nn::ArchitectureOptions o;
  o.input.height = set.height;
  o.input.width = set.width;
  o.input.mean = {0.5};
  o.input.std = {0.5};
  o.class_names = set.class_names;
  o.activation = act;
  return nn::build_architecture("medcnn", o).value();
}

TEST(Recipe, FoldedBatchNormEqualsTorchEvalMode) {
  auto set = test::generated_images(64, 4, 1, 16, 5);
  for (auto act : {nn::Activation::kPoly, nn::Activation::kRelu, nn::Activation::kSquare}) {
    nn::Model m = medcnn_for(set, act);
    torch::manual_seed(0);
    TorchNet net(m, TorchNetOptions{true, true});
    // A few training steps so the running statistics, gammas and betas are far from their start.
    net->train();
    torch::optim::SGD opt(net->parameters(), 0.05);
    auto x = torch::from_blob(set.pixels.data(), {64, 1, 16, 16}, torch::kFloat).clone();
    std::vector<int64_t> l(set.labels.begin(), set.labels.end());
    auto y = torch::tensor(l);
    for (int step = 0; step < 5; ++step) {
      opt.zero_grad();
      torch::nn::functional::cross_entropy(net->forward(x * (1 + 0.3 * step)), y).backward();
      opt.step();
    }
    net->eval();
    torch::Tensor logits = net->forward(x).detach().to(torch::kDouble).contiguous();
    nn::Model folded = net->to_model();
    ASSERT_EQ(folded.layers().size(), m.layers().size());  // no batch-norm layer in the export
    double worst = 0, scale = 1;
    for (int i = 0; i < 64; ++i) {
      auto z = nn::forward(folded, set.image(static_cast<std::size_t>(i)));
      for (int c = 0; c < 4; ++c) {
        worst = std::max(worst, std::abs(z[c] - logits[i][c].item<double>()));
        scale = std::max(scale, std::abs(z[c]));
      }
    }
    EXPECT_LT(worst, 1e-4 * scale) << nn::to_string(act);
    // The batch norms were not trivial (the fold changed the weights beyond float rounding).
    const auto& c0 = std::get<nn::Conv2d>(folded.layers()[0]);
    TorchNet plain(m);
    EXPECT_GT(std::abs(c0.weight[0] - std::get<nn::Conv2d>(plain->to_model().layers()[0]).weight[0]), 1e-3);
  }
}

TEST(Recipe, PolynomialCoefficientsTrainOnlyWhenAsked) {
  auto set = test::generated_images(64, 4, 1, 16, 6);
  nn::Model m = medcnn_for(set, nn::Activation::kPoly);
  TrainOptions o;
  o.epochs = 1;
  o.batch_size = 16;
  o.threads = 1;
  o.batch_norm = true;
  const auto& start = std::get<nn::Polynomial>(m.layers()[1]).coefficients;
  auto fixed = train_model(m, set, o);
  EXPECT_EQ(std::get<nn::Polynomial>(fixed.model.layers()[1]).coefficients, start);
  o.train_polynomials = true;
  auto trained = train_model(m, set, o);
  EXPECT_NE(std::get<nn::Polynomial>(trained.model.layers()[1]).coefficients, start);
}

TEST(Recipe, ValidationKeepsTheBestEpoch) {
  auto set = test::generated_images(120, 4, 1, 16, 7);
  nn::Model m = medcnn_for(set, nn::Activation::kPoly);
  TrainOptions o;
  o.epochs = 5;
  o.batch_size = 16;
  o.threads = 1;
  o.learning_rate = 0.01;
  o.batch_norm = true;
  o.train_polynomials = true;
  o.clip_norm = 1.0;
  o.schedule.kind = LrSchedule::kCosine;
  o.augment.flip = true;
  o.augment.shift_pixels = 1;
  o.class_weights = true;
  o.validation_fraction = 0.25;
  auto r = train_model(m, set, o);
  ASSERT_EQ(r.epochs.size(), 5u);
  EXPECT_EQ(r.validation_images, 32u);  // 30 per class, round(7.5) = 8 each
  EXPECT_EQ(r.train_images, 88u);
  std::vector<double> acc, loss;
  for (const auto& e : r.epochs) {
    ASSERT_TRUE(e.validated);
    acc.push_back(e.validation_accuracy);
    loss.push_back(e.validation_loss);
    EXPECT_GT(e.max_gradient_norm, 0);
  }
  EXPECT_EQ(r.best_epoch, static_cast<int>(best_epoch(acc, loss)) + 1);
  EXPECT_DOUBLE_EQ(r.epochs[1].learning_rate, 0.01 * 0.5 * (1 + std::cos(3.14159265358979323846 / 5)));
  // The model is that epoch's: its interpreter accuracy on the validation images is the score
  // recorded for the epoch (folded batch norm; one image of slack for a float-rounding tie).
  auto vs = validation_split(set.labels, 0.25, o.seed);
  auto ev = evaluate(r.model, data::subset(set, vs.validation), 1);
  EXPECT_NEAR(ev.accuracy, r.epochs[static_cast<std::size_t>(r.best_epoch - 1)].validation_accuracy, 1.0 / 32 + 1e-12);
  // Same options and seed on one thread: the same weights.
  auto again = train_model(m, set, o);
  EXPECT_EQ(std::get<nn::Dense>(again.model.layers()[9]).weight, std::get<nn::Dense>(r.model.layers()[9]).weight);
}

TEST(Recipe, ValidationSplitKeepsCopiesTogether) {
  std::vector<int> labels;
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) {
    labels.push_back(i % 2);
    keys.push_back("k" + std::to_string(i / 4));  // groups of four copies (two of each label's slot)
  }
  auto plain = validation_split(labels, 0.2, 3);
  EXPECT_EQ(plain.validation.size(), 40u);
  auto grouped = validation_split(labels, 0.2, 3, &keys);
  EXPECT_EQ(grouped.train.size() + grouped.validation.size(), 200u);
  std::set<std::string> val_keys;
  for (auto i : grouped.validation) val_keys.insert(keys[i]);
  for (auto i : grouped.train) EXPECT_EQ(val_keys.count(keys[i]), 0u) << "copy " << i << " on both sides";
  EXPECT_FALSE(grouped.validation.empty());
  std::vector<std::string> short_keys(3, "x");
  EXPECT_THROW(validation_split(labels, 0.2, 3, &short_keys), Error);
}

TEST(Recipe, RejectsBadOptions) {
  auto bad = [](auto change) {
    TrainOptions o;
    change(o);
    EXPECT_THROW(validate(o), Error);
  };
  bad([](TrainOptions& o) { o.clip_norm = -1; });
  bad([](TrainOptions& o) { o.schedule.step_epochs = 0; });
  bad([](TrainOptions& o) { o.schedule.step_gamma = 1.5; });
  bad([](TrainOptions& o) { o.augment.rotate_degrees = 270; });
  bad([](TrainOptions& o) { o.augment.shift_pixels = -1; });
  bad([](TrainOptions& o) { o.validation_fraction = 1; });
  // A validation fraction that leaves nothing to validate is refused, naming the counts.
  auto set = test::generated_images(4, 4, 1, 16, 1);
  TrainOptions o;
  o.validation_fraction = 0.1;
  EXPECT_THROW(train_model(medcnn_for(set, nn::Activation::kSquare), set, o), Error);
}

TEST(Recipe, ReluLeastSquaresQuadraticKnownAnswers) {
  // Through (−1, 0), (0, 0), (1, 1) exactly: 0 + x/2 + x²/2.
  auto three = relu_least_squares_quadratic({-1, 0, 1});
  ASSERT_EQ(three.size(), 3u);
  EXPECT_NEAR(three[0], 0, 1e-12);
  EXPECT_NEAR(three[1], 0.5, 1e-12);
  EXPECT_NEAR(three[2], 0.5, 1e-12);
  // All positive: ReLU is x itself.
  auto pos = relu_least_squares_quadratic({0.5, 1, 2, 3, 7});
  EXPECT_NEAR(pos[0], 0, 1e-9);
  EXPECT_NEAR(pos[1], 1, 1e-9);
  EXPECT_NEAR(pos[2], 0, 1e-9);
  // Far off centre (mean 100): the centring keeps it exact.
  auto far = relu_least_squares_quadratic({99, 100, 101});
  EXPECT_NEAR(far[0], 0, 1e-6);
  EXPECT_NEAR(far[1], 1, 1e-9);
  EXPECT_NEAR(far[2], 0, 1e-10);
  // A large standard normal sample: the Hermite projection the poly activation starts at.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> g(0, 1);
  std::vector<double> xs(400000);
  for (double& x : xs) x = g(rng);
  auto fit = relu_least_squares_quadratic(xs);
  auto hermite = nn::relu_fit_quadratic();
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(fit[k], hermite[k], 0.01) << "coefficient " << k;
  EXPECT_THROW(relu_least_squares_quadratic({}), Error);
  EXPECT_THROW(relu_least_squares_quadratic({2, 2, 2}), Error);
  EXPECT_THROW(relu_least_squares_quadratic({1, 2, 1, 2}), Error);  // two values: no unique quadratic
  EXPECT_THROW(relu_least_squares_quadratic({0, 1, std::nan("")}), Error);
}

TEST(Recipe, DistillationLossKnownAnswer) {
  // Student logits (0, 0), teacher (2 ln 3, 0), label 0, T = 2: p_teacher = (3/4, 1/4) at T,
  // p_student = (1/2, 1/2); CE = ln 2; KL = 3/4 ln(3/2) + 1/4 ln(1/2).
  auto student = torch::zeros({1, 2}, torch::kDouble);
  auto teacher = torch::tensor({2 * std::log(3.0), 0.0}, torch::kDouble).reshape({1, 2});
  auto label = torch::zeros({1}, torch::kLong);
  const double ce = std::log(2.0), kl = 0.75 * std::log(1.5) + 0.25 * std::log(0.5);
  Distillation d{true, 2.0, 0.3};
  EXPECT_NEAR(distillation_loss(student, teacher, label, d).item<double>(), 0.7 * ce + 0.3 * 4 * kl, 1e-12);
  d.alpha = 0;
  EXPECT_NEAR(distillation_loss(student, teacher, label, d).item<double>(), ce, 1e-12);
  // A student equal to its teacher has nothing to learn from it: alpha 1 gives 0.
  d.alpha = 1;
  EXPECT_NEAR(distillation_loss(teacher, teacher, label, d).item<double>(), 0, 1e-12);
  // The teacher gets no gradient; the student does.
  auto s = student.clone().requires_grad_(true);
  auto t = teacher.clone().requires_grad_(true);
  d.alpha = 0.5;
  distillation_loss(s, t, label, d).backward();
  EXPECT_FALSE(t.grad().defined());
  ASSERT_TRUE(s.grad().defined());
  EXPECT_GT(s.grad().abs().sum().item<double>(), 0);
}

TEST(Recipe, ReluVersionReplacesEveryPolynomialAndSquare) {
  auto set = test::generated_images(8, 4, 1, 16, 2);
  nn::Model poly = medcnn_for(set, nn::Activation::kPoly);
  nn::Model relu = relu_version(poly);
  ASSERT_EQ(relu.layers().size(), poly.layers().size());
  int relus = 0;
  for (std::size_t i = 0; i < relu.layers().size(); ++i) {
    const bool act = nn::is_activation(poly.layers()[i]);
    EXPECT_EQ(std::holds_alternative<nn::Relu>(relu.layers()[i]), act) << "layer " << i;
    relus += act;
    if (!act) {
      EXPECT_EQ(relu.layers()[i].index(), poly.layers()[i].index()) << "layer " << i;
    }
  }
  EXPECT_EQ(relus, 4);
  EXPECT_EQ(std::get<nn::Conv2d>(relu.layers()[0]).weight, std::get<nn::Conv2d>(poly.layers()[0]).weight);
}

TEST(Recipe, WarmStartSwapsTheReluNetworkToFittedPolynomials) {
  auto set = test::generated_images(96, 4, 1, 16, 8);
  nn::Model m = medcnn_for(set, nn::Activation::kPoly);
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 16;
  o.threads = 1;
  o.learning_rate = 0.01;
  o.batch_norm = true;
  o.train_polynomials = true;
  o.warm_start_epochs = 2;
  auto warm = train_model(m, set, o);
  // The ReLU network trained alone for those 2 epochs, same options and seed.
  TrainOptions ro = o;
  ro.epochs = 2;
  ro.warm_start_epochs = 0;
  ro.train_polynomials = false;
  auto relu = train_model(relu_version(m), set, ro);
  ASSERT_TRUE(warm.at_swap.has_value());
  ASSERT_EQ(warm.epochs.size(), 3u);
  for (int e = 0; e < 2; ++e) {
    EXPECT_TRUE(warm.epochs[e].relu);
    EXPECT_EQ(warm.epochs[e].loss, relu.epochs[e].loss) << "epoch " << e + 1;  // the same trajectory
  }
  EXPECT_FALSE(warm.epochs[2].relu);
  // At the swap the linear layers are the ReLU network's weights (bit for bit) and each
  // activation is the fitted polynomial.
  const auto& swapped = warm.at_swap->layers();
  ASSERT_EQ(warm.warm_start_fits.size(), 4u);
  std::size_t poly = 0;
  for (std::size_t i = 0; i < swapped.size(); ++i) {
    if (auto* c = std::get_if<nn::Conv2d>(&swapped[i])) {
      EXPECT_EQ(c->weight, std::get<nn::Conv2d>(relu.model.layers()[i]).weight) << "layer " << i;
      EXPECT_EQ(c->bias, std::get<nn::Conv2d>(relu.model.layers()[i]).bias) << "layer " << i;
    } else if (auto* d = std::get_if<nn::Dense>(&swapped[i])) {
      EXPECT_EQ(d->weight, std::get<nn::Dense>(relu.model.layers()[i]).weight) << "layer " << i;
    } else if (auto* q = std::get_if<nn::Polynomial>(&swapped[i])) {
      ASSERT_TRUE(std::holds_alternative<nn::Relu>(relu.model.layers()[i]));
      ASSERT_EQ(q->coefficients.size(), 3u);
      for (int k = 0; k < 3; ++k) EXPECT_NEAR(q->coefficients[k], warm.warm_start_fits[poly][k], 1e-6);
      EXPECT_GT(q->coefficients[2], 0) << "a ReLU fit opens upwards";
      ++poly;
    }
  }
  EXPECT_EQ(poly, 4u);
  // Only polynomial epochs can be the result; the exported model has no relu.
  EXPECT_EQ(warm.best_epoch, 3);
  for (const auto& layer : warm.model.layers()) EXPECT_FALSE(std::holds_alternative<nn::Relu>(layer));
}

// Two epochs of a batch-normed polynomial student distilled from its ReLU teacher.
TrainOptions distill_options() {
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 16;
  o.threads = 1;
  o.batch_norm = true;
  o.train_polynomials = true;
  o.distill.enabled = true;
  return o;
}

TEST(Recipe, DistillationTeacherIsTheReluNetworkOnTheSameImages) {
  auto set = test::generated_images(96, 4, 1, 16, 9);
  nn::Model m = medcnn_for(set, nn::Activation::kPoly);
  TrainOptions o = distill_options();
  o.validation_fraction = 0.25;
  o.distill.temperature = 3;
  o.distill.alpha = 0.7;
  std::vector<int> teacher_epochs;
  auto r = train_model(m, set, o, [&](const EpochReport& e) {
    if (e.teacher) teacher_epochs.push_back(e.epoch);
  });
  EXPECT_EQ(teacher_epochs, (std::vector<int>{1, 2}));
  EXPECT_EQ(r.epochs.size(), 2u);
  ASSERT_TRUE(r.teacher.has_value());
  // The teacher is exactly the ReLU network trained alone with the same options: same
  // training images, same validation images held out.
  TrainOptions to = o;
  to.distill.enabled = false;
  to.train_polynomials = false;
  auto alone = train_model(relu_version(m), set, to);
  EXPECT_EQ(r.teacher_best_epoch, alone.best_epoch);
  EXPECT_EQ(std::get<nn::Dense>(r.teacher->layers()[9]).weight, std::get<nn::Dense>(alone.model.layers()[9]).weight);
  // The student differs from the one trained without a teacher.
  TrainOptions plain = o;
  plain.distill.enabled = false;
  auto undistilled = train_model(m, set, plain);
  EXPECT_NE(std::get<nn::Dense>(r.model.layers()[9]).weight, std::get<nn::Dense>(undistilled.model.layers()[9]).weight);
}

TEST(Recipe, BatchNormIdentityLeavesTheNetworkUnchanged) {
  auto set = test::generated_images(64, 4, 1, 16, 11);
  nn::Model m = medcnn_for(set, nn::Activation::kRelu);
  TorchNet plain(m);
  TorchNet with_bn(m, TorchNetOptions{true, false});
  auto x = torch::from_blob(set.pixels.data(), {64, 1, 16, 16}, torch::kFloat).clone();
  with_bn->set_batch_norm_identity(x);
  plain->eval();
  with_bn->eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor want = plain->forward(x), got = with_bn->forward(x);
  EXPECT_LT((got - want).abs().max().item<double>(), 1e-4 * (1 + want.abs().max().item<double>()));
  // Train mode normalizes with the batch's own statistics, which are the ones set: the same again.
  with_bn->train();
  const torch::Tensor train_mode = with_bn->forward(x);
  EXPECT_LT((train_mode - want).abs().max().item<double>(), 1e-3 * (1 + want.abs().max().item<double>()));
  // Exported (batch norm folded), the linear layers are the original ones.
  const nn::Model folded = with_bn->to_model();
  const auto& w0 = std::get<nn::Conv2d>(m.layers()[0]).weight;
  const auto& f0 = std::get<nn::Conv2d>(folded.layers()[0]).weight;
  for (std::size_t i = 0; i < w0.size(); ++i) EXPECT_NEAR(f0[i], w0[i], 1e-5) << i;
}

TEST(Recipe, StudentStartsFromTheTeacher) {
  auto set = test::generated_images(96, 4, 1, 16, 12);
  nn::Model m = medcnn_for(set, nn::Activation::kPoly);
  TrainOptions o = distill_options();
  o.distill.start_from_teacher = true;
  auto r = train_model(m, set, o);
  ASSERT_TRUE(r.teacher.has_value());
  ASSERT_TRUE(r.at_swap.has_value());
  ASSERT_EQ(r.warm_start_fits.size(), 4u);
  // At the start the student is the teacher's linear layers (batch norm the identity) with
  // each ReLU replaced by its fitted quadratic.
  std::size_t poly = 0;
  for (std::size_t i = 0; i < m.layers().size(); ++i) {
    const auto& start = r.at_swap->layers()[i];
    const auto& teacher = r.teacher->layers()[i];
    if (auto* c = std::get_if<nn::Conv2d>(&start)) {
      const auto& t = std::get<nn::Conv2d>(teacher);
      for (std::size_t k = 0; k < t.weight.size(); ++k)
        EXPECT_NEAR(c->weight[k], t.weight[k], 1e-4 * (1 + std::abs(t.weight[k]))) << "layer " << i;
    } else if (auto* q = std::get_if<nn::Polynomial>(&start)) {
      EXPECT_TRUE(std::holds_alternative<nn::Relu>(teacher));
      for (int k = 0; k < 3; ++k) EXPECT_NEAR(q->coefficients[k], r.warm_start_fits[poly][k], 1e-6);
      ++poly;
    }
  }
  EXPECT_EQ(poly, 4u);
  // The student trains its own epochs and differs from the one that starts from scratch.
  EXPECT_EQ(r.epochs.size(), 2u);
  for (const auto& e : r.epochs) EXPECT_FALSE(e.relu);
  TrainOptions scratch = o;
  scratch.distill.start_from_teacher = false;
  auto s = train_model(m, set, scratch);
  EXPECT_NE(std::get<nn::Dense>(r.model.layers()[9]).weight, std::get<nn::Dense>(s.model.layers()[9]).weight);
  // with_weights_of refuses a model of another structure.
  EXPECT_THROW(with_weights_of(m, medcnn_for(test::generated_images(16, 4, 1, 32, 1), nn::Activation::kRelu)), Error);
}

TEST(Recipe, StudentHasItsOwnLearningRate) {
  auto set = test::generated_images(64, 4, 1, 16, 13);
  nn::Model m = medcnn_for(set, nn::Activation::kPoly);
  TrainOptions o = distill_options();
  o.learning_rate = 0.004;
  o.distill.start_from_teacher = true;
  o.distill.student_learning_rate = 0.0005;
  std::vector<double> teacher_lr, student_lr;
  auto r = train_model(m, set, o, [&](const EpochReport& e) { (e.teacher ? teacher_lr : student_lr).push_back(e.learning_rate); });
  // Constant schedule: the teacher trains at --lr, the student at its own rate.
  EXPECT_EQ(teacher_lr, (std::vector<double>{0.004, 0.004}));
  EXPECT_EQ(student_lr, (std::vector<double>{0.0005, 0.0005}));
  // The teacher is the same as without a student rate; the student is not.
  TrainOptions same = o;
  same.distill.student_learning_rate = 0;
  auto s = train_model(m, set, same);
  ASSERT_TRUE(r.teacher && s.teacher);
  EXPECT_EQ(std::get<nn::Dense>(r.teacher->layers()[9]).weight, std::get<nn::Dense>(s.teacher->layers()[9]).weight);
  EXPECT_NE(std::get<nn::Dense>(r.model.layers()[9]).weight, std::get<nn::Dense>(s.model.layers()[9]).weight);
  // The cosine schedule runs from the student's rate.
  o.schedule.kind = LrSchedule::kCosine;
  student_lr.clear();
  train_model(m, set, o, [&](const EpochReport& e) { if (!e.teacher) student_lr.push_back(e.learning_rate); });
  ASSERT_EQ(student_lr.size(), 2u);
  EXPECT_DOUBLE_EQ(student_lr[0], learning_rate_at(o.schedule, 0.0005, 0, 2));
  EXPECT_DOUBLE_EQ(student_lr[1], learning_rate_at(o.schedule, 0.0005, 1, 2));
}

TEST(Recipe, RejectsBadWarmStartAndDistillation) {
  auto bad = [](auto change) {
    TrainOptions o;
    o.train_polynomials = true;
    change(o);
    EXPECT_THROW(validate(o), Error);
  };
  bad([](TrainOptions& o) { o.warm_start_epochs = -1; });
  bad([](TrainOptions& o) { o.warm_start_epochs = o.epochs; });
  bad([](TrainOptions& o) { o.warm_start_epochs = 2, o.train_polynomials = false; });
  bad([](TrainOptions& o) { o.distill.enabled = true, o.distill.temperature = 0; });
  bad([](TrainOptions& o) { o.distill.enabled = true, o.distill.temperature = std::nan(""); });
  bad([](TrainOptions& o) { o.distill.enabled = true, o.distill.alpha = 1.5; });
  bad([](TrainOptions& o) { o.distill.enabled = true, o.distill.alpha = -0.1; });
  bad([](TrainOptions& o) { o.distill.start_from_teacher = true; });  // no teacher
  bad([](TrainOptions& o) { o.distill.enabled = o.distill.start_from_teacher = true, o.train_polynomials = false; });
  bad([](TrainOptions& o) { o.distill.enabled = o.distill.start_from_teacher = true, o.warm_start_epochs = 1; });
  bad([](TrainOptions& o) { o.distill.student_learning_rate = 0.001; });  // no student
  bad([](TrainOptions& o) { o.distill.enabled = true, o.distill.student_learning_rate = -0.001; });
  bad([](TrainOptions& o) { o.distill.enabled = true, o.distill.student_learning_rate = std::nan(""); });
  bad([](TrainOptions& o) { o.distill.enabled = true, o.distill.student_learning_rate = INFINITY; });
  TrainOptions ok;
  ok.train_polynomials = true;
  ok.warm_start_epochs = ok.epochs - 1;
  ok.distill.enabled = true;
  EXPECT_NO_THROW(validate(ok));
  // Models without what the option needs: no polynomial to warm-start (x²), nothing to distil into (ReLU).
  auto set = test::generated_images(16, 4, 1, 16, 1);
  TrainOptions o;
  o.epochs = 2;
  o.train_polynomials = true;
  o.warm_start_epochs = 1;
  EXPECT_THROW(train_model(medcnn_for(set, nn::Activation::kSquare), set, o), Error);
  o.warm_start_epochs = 0;
  o.distill.enabled = true;
  EXPECT_THROW(train_model(medcnn_for(set, nn::Activation::kRelu), set, o), Error);
}

}  // namespace
}  // namespace hemi::train
