#include "hemi/train/trainer.h"

#include <gtest/gtest.h>

#include "hemi/data/dataset.h"
#include "hemi/nn/architectures.h"
#include "support/test_data_dir.h"

namespace hemi::train {
namespace {

const data::Dataset& mnist_subset() {
  static const data::Dataset d = [] {
    test_support::use_mnist_or_synthetic();  // real MNIST, or synthetic digits in a bare clone
    data::LoadOptions o;
    o.limit = 2000;
    return data::load_dataset("mnist", o);
  }();
  return d;
}

nn::Model seed_cnn(std::uint64_t seed) {
  nn::ArchitectureOptions o;
  o.input.mean = {0.5};
  o.input.std = {0.5};
  o.class_names = mnist_subset().train.class_names;
  o.seed = seed;
  return nn::build_architecture("seed-cnn", o).value();
}

TEST(Trainer, ShortRunOnMnistSubsetLearns) {
  const auto& d = mnist_subset();
  ASSERT_EQ(d.train.size(), 2000u);
  auto initial = seed_cnn(1);
  double before = evaluate(initial, d.test).accuracy;
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 32;
  o.seed = 1;
  std::vector<EpochReport> seen;
  auto r = train_model(initial, d.train, o, [&](const EpochReport& e) { seen.push_back(e); });
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].epoch, 1);
  EXPECT_GT(seen[0].seconds, 0);
  auto e = evaluate(r.model, d.test);
  EXPECT_EQ(e.count, d.test.size());
  EXPECT_LT(before, 0.3);
  EXPECT_GT(e.accuracy, 0.80) << "loss " << e.loss;
  EXPECT_LT(e.loss, 1.0);
}

TEST(Trainer, DeterministicOnOneThread) {
  const auto& d = mnist_subset();
  data::ImageSet small = d.train;
  small.labels.resize(300);
  small.pixels.resize(300 * small.image_values());
  TrainOptions o;
  o.epochs = 1;
  o.threads = 1;
  o.seed = 42;
  o.noise.enabled = true;
  auto a = train_model(seed_cnn(1), small, o).model;
  auto b = train_model(seed_cnn(1), small, o).model;
  EXPECT_EQ(std::get<nn::Dense>(a.layers()[3]).weight, std::get<nn::Dense>(b.layers()[3]).weight);
  o.seed = 43;
  auto c = train_model(seed_cnn(1), small, o).model;
  EXPECT_NE(std::get<nn::Dense>(a.layers()[3]).weight, std::get<nn::Dense>(c.layers()[3]).weight);
  o.seed = 42;
  o.noise.enabled = false;
  auto n = train_model(seed_cnn(1), small, o).model;
  EXPECT_NE(std::get<nn::Dense>(a.layers()[3]).weight, std::get<nn::Dense>(n.layers()[3]).weight);
}

TEST(Trainer, RejectsBadInput) {
  const auto& d = mnist_subset();
  TrainOptions o;
  o.batch_size = 0;
  EXPECT_THROW(validate(o), Error);
  o = TrainOptions{};
  o.learning_rate = -1;
  EXPECT_THROW(validate(o), Error);
  o = TrainOptions{};
  o.noise.enabled = true;
  o.noise.values.clear();
  EXPECT_THROW(validate(o), Error);

  nn::ArchitectureOptions a;
  a.class_names = {"a", "b"};  // MNIST labels go up to 9
  auto two = nn::build_architecture("seed-cnn", a).value();
  try {
    train_model(two, d.train, TrainOptions{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("the model has 2 classes"), std::string::npos) << e.what();
  }
  a.input = nn::default_input("mri-cnn");
  auto rgb = nn::build_architecture("seed-cnn", a).value();
  EXPECT_THROW(evaluate(rgb, d.test), Error);
  EXPECT_EQ(study_options("brain-mri").epochs, 20);
  EXPECT_EQ(study_options("brain-mri").batch_size, 32);
  EXPECT_EQ(study_options("mnist").batch_size, 64);
}

}  // namespace
}  // namespace hemi::train
